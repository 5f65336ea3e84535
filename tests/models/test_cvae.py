"""ConditionalVAE and CoxConditionalVAE: conformance, conditions, training on the engine, routing, pipelines."""

import copy
import json
import os
import pickle
import shutil
import subprocess
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.exceptions import TrainingDivergedError
from ecgsk.models.cvae import ConditionalVAE, CoxConditionalVAE
from ecgsk.nn.callbacks import Callback, EarlyStopping
from ecgsk.nn.survival import cox_ph_loss

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


def _spy_initial_network(monkeypatch, cls=ConditionalVAE):
    """Record the state of the network each fit builds, before training."""
    captured = {}
    original = cls._build_modules

    def spy(self):
        built = original(self)
        captured["init"] = copy.deepcopy(built["network_"].state_dict())
        return built

    monkeypatch.setattr(cls, "_build_modules", spy)
    return captured


def _losses(est, key="loss"):
    return [h[key] for h in est.history_]


def test_training_changes_parameters_and_loss_is_finite(data, monkeypatch):
    X, C, _ = data
    captured = _spy_initial_network(monkeypatch)
    est = _tiny(max_epochs=5).fit(X, conditions=C)
    assert len(est.history_) == est.n_iter_ == 5 and [h["epoch"] for h in est.history_] == [1, 2, 3, 4, 5]
    for record in est.history_:
        assert {"epoch", "dur", "loss", "recon", "kl"} <= set(record)
        assert all(np.isfinite(record[k]) for k in ("loss", "recon", "kl"))
        assert record["loss"] == pytest.approx(record["recon"] + est.kl_weight * record["kl"], rel=1e-5)
    assert _losses(est)[-1] < _losses(est)[0]
    final = est.network_.state_dict()
    changed = [k for k, v in captured["init"].items() if v.is_floating_point() and not torch.equal(v, final[k])]
    assert "mu.weight" in changed and "dec_dense.0.weight" in changed


@pytest.mark.parametrize("cls", [ConditionalVAE, CoxConditionalVAE])
@pytest.mark.parametrize("which", [0, 1])
def test_test_params_train_finite_and_change_every_parameter(cls, which, monkeypatch):
    est = cls(**cls.get_test_params()[which])
    captured = _spy_initial_network(monkeypatch, cls)
    X, fit_params = est.get_test_data(n_ecgs=8, random_state=0)
    y = fit_params.pop("y", None)
    est.fit(X, y, **fit_params) if y is not None else est.fit(X, **fit_params)
    assert est.n_iter_ == len(est.history_) >= 1
    losses = [v for h in est.history_ for k, v in h.items() if k not in ("epoch", "dur")]
    assert losses and np.isfinite(losses).all()
    final = est.network_.state_dict()
    params = dict(est.network_.named_parameters())
    unchanged = [k for k in params if torch.equal(captured["init"][k], final[k])]
    assert not unchanged, unchanged


def test_cox_training_changes_risk_head(data, monkeypatch):
    X, C, y = data
    captured = _spy_initial_network(monkeypatch, CoxConditionalVAE)
    est = _tiny(CoxConditionalVAE, max_epochs=3, head_init="random").fit(X, y, conditions=C)
    assert {"loss", "recon", "kl", "cox", "valid_loss", "valid_cox"} <= set(est.history_[-1])
    assert np.isfinite(_losses(est)).all() and np.isfinite(_losses(est, "cox")).all()
    assert not torch.equal(captured["init"]["risk.weight"], est.network_.risk.weight.detach())


@pytest.mark.parametrize("cls", [ConditionalVAE, CoxConditionalVAE])
def test_a_huge_learning_rate_raises_training_diverged(cls, data):
    X, C, y = data
    est = _tiny(cls, lr=1e12, max_epochs=20, early_stopping=False)
    with pytest.raises(TrainingDivergedError) as info:
        est.fit(X, y, conditions=C) if cls is CoxConditionalVAE else est.fit(X, conditions=C)
    assert info.value.epoch >= 1
    # the estimator is left at its last finite epoch, or unfitted when there was none
    if getattr(est, "history_", None):
        assert len(est.history_) == est.n_iter_ < info.value.epoch
        assert np.isfinite(est.sample(2, conditions=C.iloc[:1])).all()


def test_same_random_state_same_model(data):
    X, C, _ = data
    a, b = _tiny().fit(X, conditions=C), _tiny().fit(X, conditions=C)
    assert _losses(a) == _losses(b)
    np.testing.assert_array_equal(a.transform(X, conditions=C), b.transform(X, conditions=C))
    np.testing.assert_array_equal(a.sample(3, conditions=C.iloc[:1], random_state=5),
                                  b.sample(3, conditions=C.iloc[:1], random_state=5))
    other = _tiny(random_state=1).fit(X, conditions=C)
    assert not np.array_equal(other.transform(X, conditions=C), a.transform(X, conditions=C))


@pytest.mark.parametrize("cls", [ConditionalVAE, CoxConditionalVAE])
def test_warm_start_continues_training(cls, data):
    X, C, y = data
    fit = (lambda e: e.fit(X, y, conditions=C)) if cls is CoxConditionalVAE else (lambda e: e.fit(X, conditions=C))
    est = fit(_tiny(cls, warm_start=True, max_epochs=2, early_stopping=False))
    network, scale, head = est.network_, est.ecg_scale_.copy(), None
    if cls is CoxConditionalVAE:
        head = est.network_.risk.weight.detach().clone()
    first = copy.deepcopy(est.network_.state_dict())
    fit(est)
    assert est.n_iter_ == 4 and [h["epoch"] for h in est.history_] == [1, 2, 3, 4]
    assert est.network_ is network  # the same network, trained further
    np.testing.assert_array_equal(est.ecg_scale_, scale)
    assert any(not torch.equal(first[k], v) for k, v in est.network_.state_dict().items())
    if head is not None:  # the head is not initialised again from the conditions
        assert not torch.equal(head, torch.zeros_like(head)) and not torch.equal(
            est.network_.risk.weight[0, :2].detach(), torch.zeros(2))
    # a parameter that changes the network starts afresh
    est.set_params(latent_dim=3)
    fit(est)
    assert est.n_iter_ == 2 and est.transform(X, conditions=C).shape == (len(X), 3)
    # without warm_start every fit starts afresh
    cold = fit(_tiny(cls, max_epochs=2, early_stopping=False))
    fit(cold)
    assert cold.n_iter_ == 2


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
    est = _tiny().fit(X, conditions=C)
    with pytest.raises(ValueError, match="columns"):
        est.sample(2, conditions=pd.DataFrame({"bmi": [25.0]}))
    with pytest.raises(ValueError, match=r"unknown columns \['bmi'\]"):  # an extra column is not ignored
        est.sample(2, conditions={"age": 50, "sex": "F", "bmi": 25.0})
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
    scores = _losses(est, "valid_loss")
    assert len(scores) == est.n_iter_ <= 40
    assert scores[est.best_epoch_ - 1] == min(scores)
    assert est.n_iter_ < 40 and est.n_iter_ - est.best_epoch_ == 2  # stopped once the patience ran out
    # the kept weights are the best epoch's: the validation loss is recomputed from them
    valid = _validation_rows(ConditionalVAE, dict(early_stopping=True, n_iter_no_change=2, max_epochs=40,
                                                  lr=0.05), X, None, C)
    Xv, Cv = X[valid], C.iloc[valid]
    mu = est.transform(Xv, conditions=Cv)
    rec = est._scaled(est.inverse_transform(mu, conditions=Cv))
    mse = float(((rec - est._scaled(Xv)) ** 2).reshape(len(valid), -1).mean(1).mean())
    assert mse == pytest.approx(_losses(est, "valid_recon")[est.best_epoch_ - 1], rel=1e-4)


def _validation_rows(cls, params, X, y, C):
    """The rows a fit with these parameters holds out (the engine's split, seen through a spy)."""
    seen = {}
    original = cls._split_validation

    def spy(self, data, n_rows, seed):
        out = original(self, data, n_rows, seed)
        seen["valid"] = out[1]
        return out

    cls._split_validation = spy
    try:
        est = _tiny(cls, **{**params, "max_epochs": 1})
        est.fit(X, y, conditions=C) if y is not None else est.fit(X, conditions=C)
    finally:
        cls._split_validation = original
    return seen["valid"]


class _Keys(Callback):
    def on_train_begin(self, estimator, ctx):
        estimator.callback_types_ = []

    def on_epoch_end(self, estimator, ctx, record):
        estimator.callback_types_ = sorted(record)


def test_early_stopping_maps_onto_the_engine_callback(data):
    X, C, _ = data
    # (the patience n_iter_no_change and the restored best weights: test_early_stopping_keeps_best)
    # without early_stopping nothing is held out: every row trains, no valid_* keys, no best_epoch_
    plain = _tiny(validation_fraction=0.5).fit(X, conditions=C)
    assert not any(k.startswith("valid_") for k in plain.history_[-1]) and not hasattr(plain, "best_epoch_")
    assert _validation_rows(ConditionalVAE, dict(validation_fraction=0.5), X, None, C).size == 0
    # a held-out share follows validation_fraction
    assert _validation_rows(ConditionalVAE, dict(early_stopping=True, validation_fraction=0.25), X, None, C).size == 6
    # a user's EarlyStopping takes the place of the default one, and a valid_* monitor holds rows out
    user = _tiny(max_epochs=30, lr=0.05, validation_fraction=0.25,
                 callbacks=[EarlyStopping("valid_recon", patience=1)]).fit(X, conditions=C)
    assert "valid_recon" in user.history_[-1] and user.n_iter_ - user.best_epoch_ <= 1
    both = _tiny(max_epochs=30, lr=0.05, early_stopping=True, n_iter_no_change=50,
                 callbacks=[EarlyStopping("valid_loss", patience=1)]).fit(X, conditions=C)
    assert both.n_iter_ < 30 and both.n_iter_ - both.best_epoch_ == 1  # patience 1, not 50
    # too few rows to hold any out: early stopping is off and max_epochs run
    tiny = _tiny(early_stopping=True, validation_fraction=0.5, max_epochs=3).fit(X[:3], conditions=C.iloc[:3])
    assert tiny.n_iter_ == 3 and not hasattr(tiny, "best_epoch_")
    assert "valid_loss" not in tiny.history_[-1]
    # a refit without early stopping drops the best_epoch_ of an earlier one
    est = _tiny(early_stopping=True, n_iter_no_change=2, max_epochs=5).fit(X, conditions=C)
    assert hasattr(est, "best_epoch_")
    est.set_params(early_stopping=False).fit(X, conditions=C)
    assert not hasattr(est, "best_epoch_")


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
    original = CoxConditionalVAE._split_validation

    def spy(self, data_, n_rows, seed):
        out = original(self, data_, n_rows, seed)
        splits.append(out)
        return out

    monkeypatch.setattr(CoxConditionalVAE, "_split_validation", spy)
    est = _tiny(CoxConditionalVAE, early_stopping=True, validation_fraction=0.5, n_iter_no_change=3,
                max_epochs=30, lr=0.02).fit(X, y, conditions=C)
    train, val = splits[0]
    assert len(val) == 12 and len(np.intersect1d(val, train)) == 0
    # stratified by event: the held-out share of events is the training share
    assert y["event"][val].sum() in (np.floor(y["event"].sum() / 2), np.ceil(y["event"].sum() / 2))
    scores = _losses(est, "valid_loss")
    assert scores == _losses(est, "valid_cox")  # the monitored score is the Cox term alone
    assert len(scores) == est.n_iter_ and 1 <= est.best_epoch_ <= est.n_iter_
    assert scores[est.best_epoch_ - 1] == min(scores)
    # the kept weights are the best epoch's: recompute the monitored Cox loss on the validation rows
    risk = est.predict_risk(X[val], conditions=C.iloc[val])
    again = float(cox_ph_loss(torch.as_tensor(risk), y["time"][val], y["event"][val].astype(float)))
    assert again == pytest.approx(min(scores), rel=1e-5, abs=1e-6)
    # without early stopping the last epoch is kept, and there is no best epoch
    plain = _tiny(CoxConditionalVAE, early_stopping=False).fit(X, y, conditions=C)
    assert plain.n_iter_ == 2 and not hasattr(plain, "best_epoch_")


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
    seen = []

    class Rows(Callback):
        def on_batch_end(self, estimator, ctx, logs):
            seen.append(ctx.step)

    est = _tiny(ConditionalVAE, batch_size=8, max_epochs=1, callbacks=[Rows()]).fit(X[:9], conditions=C.iloc[:9])
    assert est.n_iter_ == 1 and len(est.history_) == 1 and np.isfinite(est.history_[0]["loss"])
    assert seen == [0]  # one batch of 9


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


_DDP_COX_WORKER = textwrap.dedent('''
    import json, sys
    import numpy as np, torch, torch.distributed as dist
    from ecgsk.models.cvae import CoxConditionalVAE
    from ecgsk.nn import distributed as dist_utils

    est = CoxConditionalVAE(**CoxConditionalVAE.get_test_params()[0])
    X, fit_params = est.get_test_data(n_ecgs=8, random_state=0)
    y = fit_params.pop("y")
    y[:, 1] = np.random.RandomState(3).permutation(8) + 1.0  # distinct times
    est.set_params(max_epochs=1, early_stopping=False).fit(X, y, **fit_params)  # under DDP
    rank, world = dist.get_rank(), dist.get_world_size()
    data = est._training_data(X, (y[:, 0], y[:, 1]), conditions=fit_params["conditions"], reset=False)
    full = {k: torch.as_tensor(v) for k, v in data.items()}
    shard = {k: v[rank::world] for k, v in full.items()}  # interleaved: local risk sets differ from global ones
    net = est.network_.eval()  # eval: batch norm uses its running statistics, so rows do not interact

    def grads(batch, gather):
        net.zero_grad()
        terms, _ = est._loss_terms(net, batch, sample=False, gather=gather)
        terms["loss"].backward()
        return {k: float(v) for k, v in terms.items()}, [p.grad.detach().clone() for p in net.parameters()]

    single, single_grads = grads(full, None)
    local, _ = grads(shard, None)
    gathered, shard_grads = grads(shard, dist_utils.all_gather_with_grad)
    for g in shard_grads:  # what DDP does: average the gradients over the processes
        dist.all_reduce(g)
        g /= world
    err = max(float((a - b).abs().max() / (b.abs().max() + 1e-12)) for a, b in zip(shard_grads, single_grads))
    if rank == 0:
        with open(sys.argv[1], "w") as fh:
            json.dump({"single": single, "gathered": gathered, "local": local, "grad_err": err,
                       "world": world}, fh)
    dist.barrier()  # no rank leaves (and tears gloo down) while another still talks to it
    dist.destroy_process_group()
    import os
    os._exit(0)  # skip interpreter teardown: a leftover C++ thread there aborts the process now and then
''')


@pytest.mark.distributed
def test_cox_loss_under_torch_distributed_uses_the_global_risk_sets(tmp_path):
    torchrun = shutil.which("torchrun")
    assert torchrun, "torchrun comes with torch; it must be on PATH"
    worker = tmp_path / "worker.py"
    worker.write_text(_DDP_COX_WORKER)
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env["CUDA_VISIBLE_DEVICES"] = ""
    result = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", str(worker), str(out)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    got = json.loads(out.read_text())
    assert got["world"] == 2
    # the Cox term of half a batch per process, with gathered risk sets, is the single-process one
    assert got["gathered"]["cox"] == pytest.approx(got["single"]["cox"], rel=1e-6)
    assert got["local"]["cox"] != pytest.approx(got["single"]["cox"], rel=1e-3)  # local risk sets would differ
    # and so is the total loss's gradient, once averaged over the processes as DDP does
    assert got["grad_err"] < 1e-4


def test_diagnosis_conditions_sample_and_survive_save_load(data, tmp_path):
    import ecgsk

    X, C, _ = data
    labels = [["MI"], ["NORM"], ["STTC", "MI"], ["NORM"]] * 6
    C = C.assign(dx=labels)
    est = _tiny().fit(X, conditions=C)
    assert est.conditions_encoder_.feature_names_out_ == ["age", "sex", "dx=MI", "dx=NORM", "dx=STTC"]
    assert est.condition_columns_ == ["age", "sex", "dx"]
    subject = {"age": 60, "sex": "M", "dx": ["MI"]}
    beats = est.sample(3, conditions=subject, random_state=1)
    assert beats.shape == (3, 12, L) and np.isfinite(beats).all()
    # the diagnosis reaches the decoder: the same latent draws give other beats for another diagnosis
    other = est.sample(3, conditions={**subject, "dx": ["NORM"]}, random_state=1)
    assert np.abs(other - beats).max() > 1e-4
    path = tmp_path / "cvae.ecgsk"
    est.save(path)
    loaded = ecgsk.load(path)
    np.testing.assert_array_equal(loaded.sample(3, conditions=subject, random_state=1), beats)
    assert loaded.conditions_encoder_.kinds_ == est.conditions_encoder_.kinds_
    with pytest.raises(ValueError, match="unknown label"):
        loaded.sample(1, conditions={**subject, "dx": ["HYP"]})
    with pytest.raises(ValueError, match="unknown column"):
        loaded.sample(1, conditions={**subject, "bmi": 25.0})
    with pytest.warns(UserWarning, match="far outside"):
        loaded.sample(1, conditions={**subject, "age": 300})


def test_head_refit_cv_ridge_is_the_penalised_cox_on_the_latent(data):
    import torch

    from ecgsk.nn.survival import fit_linear_cox

    X, C, y = data
    est = _tiny(CoxConditionalVAE, head_refit="cv_ridge", max_epochs=2).fit(X, y, conditions=C)
    assert est.head_penalty_ in CoxConditionalVAE._HEAD_PENALTIES
    # the head equals the penalised Cox fit on [latent mean, conditions] of every training row
    mu = est.transform(X, conditions=C)
    features = torch.tensor(np.hstack([mu, est._encode_conditions(C)]), dtype=torch.float64)
    latent = torch.arange(features.shape[1]) < est.latent_dim
    penalty = torch.where(latent, torch.tensor(est.head_penalty_, dtype=torch.float64),
                          torch.tensor(1e-4, dtype=torch.float64))
    time, event = torch.tensor(np.ascontiguousarray(y["time"])), torch.tensor(y["event"].astype(np.float64))
    ref = fit_linear_cox(features, time, event, penalty)
    np.testing.assert_allclose(est.network_.risk.weight.detach().numpy()[0], ref.numpy(), rtol=1e-3, atol=1e-4)
    risk = est.predict_risk(X, conditions=C)
    assert np.isfinite(risk).all()
    # reproducible, and "none" leaves no head_penalty_
    again = _tiny(CoxConditionalVAE, head_refit="cv_ridge", max_epochs=2).fit(X, y, conditions=C)
    np.testing.assert_array_equal(again.predict_risk(X, conditions=C), risk)
    plain = _tiny(CoxConditionalVAE, max_epochs=2).fit(X, y, conditions=C)
    assert not hasattr(plain, "head_penalty_")
    with pytest.raises(ValueError, match="head_refit"):
        _tiny(CoxConditionalVAE, head_refit="lasso").fit(X, y, conditions=C)


def test_latent_sampling_mixture_follows_the_training_latent_means(data, tmp_path):
    from sklearn.mixture import GaussianMixture

    X, C, _ = data
    est = _tiny(latent_sampling="mixture", latent_components=3, max_epochs=3).fit(X, conditions=C)
    weights, means, chol = est.latent_mixture_weights_, est.latent_mixture_means_, est.latent_mixture_cholesky_
    assert weights.shape == (3,) and means.shape == (3, 2) and chol.shape == (3, 2, 2)
    assert np.isclose(weights.sum(), 1.0)
    # a mixture of the training beats' latent means: its mean is theirs
    mu = est.transform(X, conditions=C)
    np.testing.assert_allclose(weights @ means, mu.mean(axis=0), atol=1e-3)
    # the latent draws of sample() come from the mixture: they score better under it than N(0, I) draws do
    reference = GaussianMixture(3, covariance_type="full")
    reference.weights_, reference.means_ = weights, means
    reference.covariances_ = chol @ np.swapaxes(chol, 1, 2)
    reference.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(reference.covariances_))
    subject = {"age": [50], "sex": ["F"]}
    beats = est.sample(200, conditions=subject, random_state=1)
    codes = est.transform(beats, conditions=pd.DataFrame({"age": [50] * 200, "sex": ["F"] * 200}))
    prior_codes = est.transform(_tiny(max_epochs=3).fit(X, conditions=C).sample(200, conditions=subject,
                                                                                  random_state=1),
                                conditions=pd.DataFrame({"age": [50] * 200, "sex": ["F"] * 200}))
    assert reference.score(codes) > reference.score(prior_codes)
    assert np.isfinite(beats).all()
    # reproducible, saved and loaded with the mixture
    np.testing.assert_array_equal(est.sample(5, conditions=subject, random_state=2),
                                  est.sample(5, conditions=subject, random_state=2))
    est.save(tmp_path / "mix.ecgsk")
    loaded = ConditionalVAE.load(tmp_path / "mix.ecgsk")
    np.testing.assert_array_equal(loaded.latent_mixture_cholesky_, chol)
    np.testing.assert_array_equal(loaded.sample(5, conditions=subject, random_state=2),
                                  est.sample(5, conditions=subject, random_state=2))
    # the prior fits no mixture, and a refit with the prior drops an old one
    est.set_params(latent_sampling="prior").fit(X, conditions=C)
    assert not hasattr(est, "latent_mixture_weights_")
    with pytest.raises(ValueError, match="latent_sampling"):
        _tiny(latent_sampling="posterior").fit(X, conditions=C)
    with pytest.raises(ValueError, match="latent_components"):
        _tiny(latent_sampling="mixture", latent_components=0).fit(X, conditions=C)


@pytest.mark.parametrize("cls", [ConditionalVAE, CoxConditionalVAE])
def test_latent_sampling_mixture_trains_and_changes_parameters(cls, data, monkeypatch):
    X, C, y = data
    captured = _spy_initial_network(monkeypatch, cls)
    est = _tiny(cls, latent_sampling="mixture", max_epochs=3)
    est.fit(X, y, conditions=C) if cls is CoxConditionalVAE else est.fit(X, conditions=C)
    assert all(np.isfinite(v) for h in est.history_ for k, v in h.items() if k not in ("epoch", "dur"))
    final = est.network_.state_dict()
    assert not [k for k, _ in est.network_.named_parameters() if torch.equal(captured["init"][k], final[k])]
    assert est.latent_mixture_means_.shape == (min(10, len(X)), est.latent_dim)
    assert np.isfinite(est.sample(3, conditions={"age": [50], "sex": ["M"]}, random_state=0)).all()
