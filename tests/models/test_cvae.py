"""ConditionalVAE and CoxConditionalVAE: conformance, conditions, training, routing, pipelines."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.models.cvae import ConditionalVAE, CoxConditionalVAE
from ecgsk.testing import check_estimator

L = 80  # beat length used throughout: small and fast


def _tiny(cls=ConditionalVAE, **kw):
    params = dict(latent_dim=2, beat_length=L, max_epochs=2, batch_size=8, kernel_size=9, device="cpu",
                  random_state=0)
    params.update(kw)
    return cls(**params)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    n = 24
    X = make_synthetic_ecgs(n, n_leads=12, n_samples=L, random_state=0)
    C = pd.DataFrame({"age": rng.uniform(20, 80, n).round(), "sex": rng.choice(["M", "F"], n)})
    # risk grows with R amplitude in lead II: a target the latent can carry
    amp = X[:, 1].max(axis=1)
    time = rng.exponential(10 * np.exp(-2.0 * (amp - amp.mean()) / amp.std()))
    event = rng.rand(n) < 0.8
    y = np.array(list(zip(event, time)), dtype=[("event", bool), ("time", float)])
    return X, C, y


def test_kinds_and_registry():
    from ecgsk.registry import model_kind

    assert model_kind(ConditionalVAE) == "generator"
    assert "risk" in model_kind(CoxConditionalVAE)
    assert hasattr(CoxConditionalVAE, "sample")


def test_training_changes_parameters_and_loss_is_finite(data, monkeypatch):
    X, C, _ = data
    captured = {}
    original = ConditionalVAE._build_network

    def spy(self, n_cond):
        net = original(self, n_cond)
        captured["init"] = copy.deepcopy(net.state_dict())
        return net

    monkeypatch.setattr(ConditionalVAE, "_build_network", spy)
    est = _tiny(max_epochs=5).fit(X, conditions=C)
    assert len(est.loss_curve_) == est.n_iter_ == 5
    assert np.isfinite(est.loss_curve_).all()
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    final = est.network_.state_dict()
    changed = [k for k, v in captured["init"].items() if v.is_floating_point() and not torch.equal(v, final[k])]
    assert "mu.weight" in changed and "dec_dense.0.weight" in changed


def test_cox_training_changes_risk_head(data, monkeypatch):
    X, C, y = data
    captured = {}
    original = ConditionalVAE._build_network

    def spy(self, n_cond):
        net = original(self, n_cond)
        captured["risk"] = net.risk.weight.detach().clone()
        return net

    monkeypatch.setattr(ConditionalVAE, "_build_network", spy)
    est = _tiny(CoxConditionalVAE, max_epochs=3).fit(X, y, conditions=C)
    assert np.isfinite(est.loss_curve_).all()
    assert not torch.equal(captured["risk"], est.network_.risk.weight.detach())


def test_outputs_shapes_and_units(data):
    X, C, _ = data
    est = _tiny(max_epochs=20, latent_dim=3, lr=3e-3).fit(X, conditions=C)
    Z = est.transform(X, conditions=C)
    assert Z.shape == (len(X), 3) and Z.dtype == np.float32
    rec = est.inverse_transform(Z, conditions=C)
    assert rec.shape == X.shape
    # reconstruction in mV beats predicting each lead's mean
    base = ((X - X.mean(axis=(0, 2), keepdims=True)) ** 2).mean()
    assert ((rec - X) ** 2).mean() < base
    samples = est.sample(50, conditions=C.iloc[:1], random_state=0)
    assert samples.shape == (50, 12, L) and samples.dtype == np.float32
    assert np.abs(samples.mean(axis=(0, 2)) - X.mean(axis=(0, 2))).max() < 0.5  # mV, not scaled units
    assert np.isfinite(est.score(X, conditions=C))
    assert est.score_samples(X, conditions=C).shape == (len(X),)


def test_sex_codings_are_equivalent(data):
    X, C, _ = data
    male = (C["sex"] == "M").to_numpy()
    codings = [
        C,
        C.assign(sex=np.where(male, "male", "female")),
        C.assign(sex=np.where(male, " Male", "FEMALE")),
        C.assign(sex=male.astype(int)),
        C.assign(sex=male),
    ]
    outs = [_tiny().fit(X, conditions=c).transform(X, conditions=c) for c in codings]
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], atol=1e-5)
    # a numpy array with the same columns works positionally
    est = _tiny().fit(X, conditions=codings[3])
    np.testing.assert_allclose(est.transform(X, conditions=codings[3].to_numpy()), outs[0], atol=1e-5)


def test_conditions_are_standardised_in_fit(data):
    X, C, _ = data
    est = _tiny().fit(X, conditions=C)
    enc = est.conditions_encoder_.transform(C)
    np.testing.assert_allclose(enc.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(enc.std(axis=0), 1, atol=1e-4)
    assert est.condition_columns_ == ["age", "sex"]


def test_single_row_is_one_subject(data):
    X, C, _ = data
    est = _tiny().fit(X, conditions=C)
    a = est.sample(4, conditions=C.iloc[[3]], random_state=1)
    b = est.sample(4, conditions=pd.concat([C.iloc[[3]]] * 4), random_state=1)
    c = est.sample(4, conditions={"age": [C.age[3]], "sex": [C.sex[3]]}, random_state=1)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)
    # columns are matched by name, whatever their order
    d = est.sample(4, conditions=C.iloc[[3]][["sex", "age"]], random_state=1)
    np.testing.assert_allclose(a, d)


def test_condition_errors(data):
    X, C, y = data
    with pytest.raises(ValueError, match="conditions"):
        _tiny().fit(X)
    with pytest.raises(ValueError, match="conditions"):
        _tiny(CoxConditionalVAE).fit(X, y)
    with pytest.raises(ValueError, match="missing"):
        _tiny().fit(X, conditions=C.assign(age=np.where(np.arange(len(C)) == 2, np.nan, C.age)))
    with pytest.raises(ValueError, match="levels"):
        _tiny().fit(X, conditions=C.assign(site=["a", "b", "c"] * 8))
    est = _tiny().fit(X, conditions=C)
    with pytest.raises(ValueError, match="columns"):
        est.sample(2, conditions=pd.DataFrame({"bmi": [25.0]}))
    with pytest.raises(ValueError, match="unknown"):
        est.sample(2, conditions=pd.DataFrame({"age": [50], "sex": ["X"]}))
    with pytest.raises(ValueError, match="rows"):
        est.transform(X, conditions=C.iloc[:3])


def test_parameter_and_length_errors(data):
    X, C, _ = data
    with pytest.raises(ValueError, match="beat_length"):
        _tiny(beat_length=100).fit(X, conditions=C)
    est = _tiny(beat_length=None).fit(X, conditions=C)  # None infers the length
    assert est.n_timepoints_in_ == L
    with pytest.raises(ValueError, match="beat_length"):
        est.transform(make_synthetic_ecgs(3, n_samples=L + 10, random_state=0), conditions=C.iloc[:3])
    for bad in ({"latent_dim": 0}, {"lr": 0.0}, {"batch_size": 1}, {"kl_weight": -1.0}):
        with pytest.raises(ValueError):
            _tiny(**bad).fit(X, conditions=C)
    with pytest.raises(ValueError, match="ties"):
        _tiny(CoxConditionalVAE, ties="exact").fit(X, data[2], conditions=C)
    with pytest.raises(ValueError, match="latent_dim"):
        est.inverse_transform(np.zeros((2, 5)), conditions=C.iloc[:1])


def test_early_stopping_keeps_best(data):
    X, C, _ = data
    est = _tiny(early_stopping=True, n_iter_no_change=2, max_epochs=40, lr=0.05).fit(X, conditions=C)
    assert len(est.validation_scores_) == est.n_iter_
    assert est.n_iter_ <= 40


def test_reproducible_and_pickle(data):
    X, C, y = data
    a = _tiny(CoxConditionalVAE).fit(X, y, conditions=C)
    b = _tiny(CoxConditionalVAE).fit(X, y, conditions=C)
    np.testing.assert_array_equal(a.predict_risk(X, conditions=C), b.predict_risk(X, conditions=C))
    np.testing.assert_array_equal(a.sample(3, conditions=C.iloc[:1]), b.sample(3, conditions=C.iloc[:1]))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(restored.predict_risk(X, conditions=C), a.predict_risk(X, conditions=C))
    np.testing.assert_allclose(restored.predict(X, conditions=C), a.predict_risk(X, conditions=C))


def test_cross_validate_and_grid_search_route_conditions(data):
    X, C, _ = data
    with config_context(enable_metadata_routing=True):
        est = _tiny().set_fit_request(conditions=True).set_score_request(conditions=True)
        res = cross_validate(est, X, params={"conditions": C}, cv=KFold(3, shuffle=True, random_state=0))
        assert np.isfinite(res["test_score"]).all()
        grid = GridSearchCV(est, {"latent_dim": [2, 3]}, cv=KFold(2, shuffle=True, random_state=0))
        grid.fit(X, conditions=C)
        assert grid.best_params_["latent_dim"] in (2, 3)
        assert grid.best_estimator_.sample(2, conditions=C.iloc[:1]).shape == (2, 12, L)


def test_cox_cross_validate_routes_conditions(data):
    X, C, y = data
    with config_context(enable_metadata_routing=True):
        est = _tiny(CoxConditionalVAE).set_fit_request(conditions=True).set_score_request(conditions=True)
        res = cross_validate(est, X, y, params={"conditions": C}, cv=KFold(3, shuffle=True, random_state=0))
    assert ((res["test_score"] >= 0) & (res["test_score"] <= 1)).all()


def test_cox_learns_a_latent_risk(data):
    X, C, y = data
    est = _tiny(CoxConditionalVAE, max_epochs=40, latent_dim=3, lr=3e-3).fit(X, y, conditions=C)
    assert est.score(X, y, conditions=C) > 0.7  # training C-index; the signal is in the beats
    assert est.sample(2, conditions=C.iloc[:1]).shape == (2, 12, L)


def test_cox_in_pipeline_with_median_beat():
    from ecgsk.pipeline import make_pipeline
    from ecgsk.preprocessing import MedianBeat

    rng = np.random.RandomState(1)
    n = 12
    records = make_synthetic_ecgs(n, n_leads=12, duration=3.0, random_state=1)
    C = pd.DataFrame({"age": rng.uniform(30, 80, n), "sex": rng.choice(["F", "M"], n)})
    y = np.column_stack([rng.rand(n) < 0.8, rng.exponential(5, n)])
    y[:2, 0] = 1
    # 1) step__conditions without routing
    pipe = make_pipeline(MedianBeat(length=200), _tiny(CoxConditionalVAE, beat_length=200))
    pipe.fit(records, y, coxconditionalvae__conditions=C)
    risk = pipe.predict_risk(records, conditions=C)
    assert risk.shape == (n,) and np.isfinite(risk).all()
    # 2) metadata routing through cross_validate
    with config_context(enable_metadata_routing=True):
        model = _tiny(CoxConditionalVAE, beat_length=200).set_fit_request(conditions=True)
        model.set_score_request(conditions=True)
        pipe = make_pipeline(MedianBeat(length=200), model)
        res = cross_validate(pipe, records, y, params={"conditions": C}, cv=KFold(2, shuffle=True, random_state=0))
    assert np.isfinite(res["test_score"]).all()


def test_clone_keeps_params():
    est = CoxConditionalVAE(cox_weight=10.0, ties="efron", latent_dim=4)
    params = clone(est).get_params()
    assert params["cox_weight"] == 10.0 and params["ties"] == "efron" and params["latent_dim"] == 4


def test_risk_head_with_conditions(data):
    X, C, y = data
    est = _tiny(CoxConditionalVAE, risk_conditions=True).fit(X, y, conditions=C)
    assert tuple(est.network_.risk.weight.shape) == (1, 2 + 2)  # latent 2 + (age, sex)
    risk = est.predict_risk(X, conditions=C)
    assert risk.shape == (len(X),) and np.isfinite(risk).all()
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.predict_risk(X, conditions=C), risk)


def test_cox_early_stopping_restores_best_epoch(data, monkeypatch):
    X, C, y = data
    splits = []
    original = CoxConditionalVAE._validation_split

    def spy(self, n, rng, survival):
        out = original(self, n, rng, survival)
        splits.append(out)
        return out

    monkeypatch.setattr(CoxConditionalVAE, "_validation_split", spy)
    est = _tiny(CoxConditionalVAE, early_stopping=True, validation_fraction=0.5, n_iter_no_change=3,
                max_epochs=30, lr=0.02).fit(X, y, conditions=C)
    val, train = splits[0]
    assert len(val) == 12 and len(np.intersect1d(val, train)) == 0
    assert y["event"][val].sum() >= 1  # stratified by event
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ and 1 <= est.best_epoch_ <= est.n_iter_
    assert scores[est.best_epoch_ - 1] == min(scores)
    # the kept weights are the best epoch's: recompute the monitored Cox loss on the validation rows
    Xs = torch.as_tensor(est._scaled(X[val]).astype(np.float32))
    Cs = torch.as_tensor(est._encode_conditions(C.iloc[val]))
    s = (torch.as_tensor(y["event"][val].astype(np.float32)), torch.as_tensor(y["time"][val]))
    with torch.no_grad():
        again = est._validation_loss(est.network_, Xs, Cs, s)
    assert again == pytest.approx(min(scores), rel=1e-5, abs=1e-6)
    # without early stopping the last epoch is kept
    assert _tiny(CoxConditionalVAE, early_stopping=False).fit(X, y, conditions=C).best_epoch_ == 2


def test_head_init_from_conditions(data):
    from lifelines import CoxPHFitter

    X, C, y = data
    est = _tiny(CoxConditionalVAE, risk_conditions=True, head_init="conditions", lr=1e-12,
                max_epochs=1, early_stopping=False).fit(X, y, conditions=C)
    w = est.network_.risk.weight.detach().numpy()[0]
    np.testing.assert_allclose(w[:2], 0.0, atol=1e-6)  # latent part starts at zero
    Cs = pd.DataFrame(est._encode_conditions(C), columns=["age", "sex"])
    ref = CoxPHFitter().fit(Cs.assign(t=y["time"], e=y["event"].astype(int)), "t", "e").params_.to_numpy()
    np.testing.assert_allclose(w[2:], ref, atol=0.02)


def test_last_batch_of_one_row_is_merged(data):
    # 9 rows in batches of 8 leave a last batch of 1, which batch norm cannot take: it joins the first
    X, C, _ = data
    est = _tiny(ConditionalVAE, batch_size=8, max_epochs=1).fit(X[:9], conditions=C.iloc[:9])
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1 and np.isfinite(est.loss_curve_[0])


def test_head_init_auto_follows_risk_conditions(data):
    X, C, y = data
    kw = dict(lr=1e-12, max_epochs=1, early_stopping=False)
    auto = _tiny(CoxConditionalVAE, **kw).fit(X, y, conditions=C)  # defaults: risk_conditions, head_init="auto"
    explicit = _tiny(CoxConditionalVAE, head_init="conditions", **kw).fit(X, y, conditions=C)
    np.testing.assert_allclose(auto.network_.risk.weight.detach().numpy(),
                               explicit.network_.risk.weight.detach().numpy())
    assert np.abs(auto.network_.risk.weight.detach().numpy()[0, 2:]).max() > 0.05  # a fitted head, not zeros
    # without the conditions in the head, "auto" falls back to the random initialisation (no error)
    plain = _tiny(CoxConditionalVAE, risk_conditions=False, **kw).fit(X, y, conditions=C)
    assert tuple(plain.network_.risk.weight.shape) == (1, 2)
    assert np.abs(plain.network_.risk.weight.detach().numpy()).max() > 0  # PyTorch's init, not the zeroed start


def test_head_l2_shrinks_latent_weights(data):
    X, C, y = data
    kw = dict(risk_conditions=True, max_epochs=10, lr=0.01, early_stopping=False)
    free = _tiny(CoxConditionalVAE, **kw).fit(X, y, conditions=C)
    tied = _tiny(CoxConditionalVAE, head_l2=100.0, **kw).fit(X, y, conditions=C)
    norm = lambda e: float((e.network_.risk.weight.detach()[0, :2] ** 2).sum())  # noqa: E731
    assert norm(tied) < norm(free)


def test_head_param_errors(data):
    X, C, y = data
    with pytest.raises(ValueError, match="risk_conditions"):
        _tiny(CoxConditionalVAE, risk_conditions=False, head_init="conditions").fit(X, y, conditions=C)
    with pytest.raises(ValueError, match="head_init"):
        _tiny(CoxConditionalVAE, head_init="zeros").fit(X, y, conditions=C)
    with pytest.raises(ValueError, match="head_l2"):
        _tiny(CoxConditionalVAE, head_l2=-1.0).fit(X, y, conditions=C)
