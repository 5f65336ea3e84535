import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from ecgsk.base import check_conditions, check_ecg_array, check_n_samples, check_survival_target
from ecgsk.testing import GaussianECGGenerator

from _stubs import AmplitudeRisk, LeastSquaresReconstructor


def test_2d_is_promoted_to_single_lead():
    X = check_ecg_array(np.zeros((3, 100), dtype=np.float64))
    assert X.shape == (3, 1, 100) and X.dtype == np.float32


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.zeros(10), "1-D array"),
        (np.zeros((2, 3, 4, 5)), "4-D array"),
        (np.zeros((0, 12, 100)), "empty batch"),
        (np.full((2, 1, 10), np.nan), "NaN or infinite"),
        (np.full((2, 1, 10), np.inf), "NaN or infinite"),
    ],
)
def test_bad_input_messages(bad, match):
    with pytest.raises(ValueError, match=match):
        check_ecg_array(bad)


def test_non_numeric_is_a_type_error():
    with pytest.raises(TypeError, match="numbers"):
        check_ecg_array(np.array([["a", "b"]]))


def test_lead_count_message_says_expected_and_received():
    with pytest.raises(ValueError) as info:
        check_ecg_array(np.zeros((2, 3, 10)), n_leads=12)
    msg = str(info.value)
    assert "3 lead(s)" in msg and "12 lead(s) were expected" in msg and "(2, 3, 10)" in msg


def test_min_samples():
    with pytest.raises(ValueError, match="at least 50"):
        check_ecg_array(np.zeros((2, 1, 10)), min_samples=50)


def test_n_samples_validation():
    assert check_n_samples(3) == 3
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="positive integer"):
            check_n_samples(bad)


def test_survival_target_layouts():
    structured = np.array([(True, 2.0), (False, 5.0)], dtype=[("event", bool), ("time", float)])
    e1, t1 = check_survival_target(structured)
    e2, t2 = check_survival_target(np.array([[1, 2.0], [0, 5.0]]))
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(t1, t2)
    with pytest.raises(ValueError, match="rows"):
        check_survival_target(structured, n_expected=3)
    with pytest.raises(ValueError, match="0/1"):
        check_survival_target(np.array([[2, 1.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        check_survival_target(np.array([[1, -1.0]]))


def test_conditions_broadcast_and_errors():
    frame = check_conditions(pd.DataFrame({"age": [30.0], "sex": [1]}), 4, allow_broadcast=True)
    assert len(frame) == 4 and (frame["age"] == 30.0).all()
    with pytest.raises(ValueError, match="rows"):
        check_conditions(np.zeros((2, 2)), 3)


def test_generator_sample_stream_and_errors(ecg12):
    gen = GaussianECGGenerator(random_state=0)
    with pytest.raises(NotFittedError):
        gen.sample(2)
    gen.fit(ecg12)
    a, b = gen.sample(2), gen.sample(2)
    assert a.shape == (2, 12, 1000) and a.dtype == np.float32
    assert not np.allclose(a, b), "successive sample() calls should continue the stream"
    # A clone fitted the same way reproduces the whole stream.
    other = clone(gen).fit(ecg12)
    np.testing.assert_array_equal(other.sample(2), a)
    with pytest.raises(ValueError, match="does not use `conditions`"):
        gen.sample(2, conditions=[[1.0]])
    with pytest.raises(ValueError, match="positive integer"):
        gen.sample(0)


def test_generator_score_prefers_real_distribution(ecg12):
    from ecgsk.datasets import make_synthetic_ecgs

    X = make_synthetic_ecgs(40, n_leads=1, n_samples=1000, random_state=1)
    gen = GaussianECGGenerator(random_state=0).fit(X)
    good = gen.score(make_synthetic_ecgs(40, n_leads=1, n_samples=1000, random_state=2))
    shifted = gen.score(make_synthetic_ecgs(40, n_leads=1, n_samples=1000, random_state=2) * 3 + 1)
    assert np.isfinite(good) and good > shifted


def test_reconstructor_contract(ecg12):
    rec = LeastSquaresReconstructor().fit(ecg12)
    assert rec.n_features_in_ == 12
    out_from_12 = rec.transform(ecg12)
    out_from_1 = rec.transform(ecg12[:, :1])
    np.testing.assert_array_equal(out_from_12, out_from_1)
    np.testing.assert_array_equal(out_from_1[:, 0], ecg12[:, 0])
    with pytest.raises(ValueError, match="lead"):
        rec.transform(ecg12[:, :5])
    with pytest.raises(ValueError, match="12 lead"):
        LeastSquaresReconstructor().fit(ecg12[:, :8])
    assert -1.0 <= rec.score(ecg12) <= 1.0


def test_risk_routing_in_cross_validate_and_grid_search(rng):
    from ecgsk.datasets import make_synthetic_ecgs

    X = make_synthetic_ecgs(30, n_leads=2, n_samples=500, random_state=0)
    amp = np.abs(X[:, 0]).mean(axis=1)
    y = np.array(list(zip(rng.rand(30) < 0.8, 1.0 / amp)), dtype=[("event", bool), ("time", float)])
    cond = pd.DataFrame({"age": rng.uniform(20, 80, 30)})
    with config_context(enable_metadata_routing=True):
        model = AmplitudeRisk().set_fit_request(conditions=True).set_score_request(conditions=True)
        res = cross_validate(model, X, y, cv=KFold(3), params={"conditions": cond})
        assert (res["test_score"] > 0.9).all()
        grid = GridSearchCV(model, {"lead": [0, 1]}, cv=KFold(3)).fit(X, y, conditions=cond)
        assert grid.best_params_["lead"] in (0, 1)
    risk = AmplitudeRisk().fit(X, y).predict(X)
    assert risk.shape == (30,)


def test_tags_declare_three_d():
    tags = GaussianECGGenerator().__sklearn_tags__()
    assert tags.input_tags.three_d_array


class _FixedLengthGenerator(GaussianECGGenerator):
    tags = {"fixed_length_param": "length"}

    def __init__(self, length=100, random_state=None):
        self.length = length
        self.random_state = random_state


def test_fixed_length_models_reject_other_lengths_before_fitting_state():
    gen = _FixedLengthGenerator(length=100)
    with pytest.raises(ValueError, match="expects exactly 100"):
        gen.fit(np.zeros((4, 1, 120)))
    assert not hasattr(gen, "n_features_in_"), "a rejected fit must not leave the model looking fitted"
    gen.fit(np.random.RandomState(0).randn(4, 1, 100))
    with pytest.raises(ValueError, match="Segment or crop"):
        gen.score(np.zeros((4, 1, 90)))


def test_parameter_checkers():
    from ecgsk.base import check_float_param, check_int_param

    assert check_int_param(3, "n") == 3 and check_int_param(0, "n", 0) == 0
    for bad in (0, True, 2.0, "3"):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            check_int_param(bad, "n")
    with pytest.raises(ValueError, match="Crop: length"):
        check_int_param(-1, "length", owner="Crop")
    assert check_float_param(0.0, "w") == 0.0 and check_float_param(None, "w", allow_none=True) is None
    for bad, kw in ((0.0, {"strict": True}), (1.0, {"maximum": 1.0}), (float("nan"), {}), (float("inf"), {}),
                    (False, {}), (None, {}), (-0.1, {})):
        with pytest.raises(ValueError, match="w must be"):
            check_float_param(bad, "w", **kw)


def test_check_conditions_takes_one_subject_or_columns_as_a_dict():
    one = check_conditions({"age": 30, "sex": "F"}, 3, allow_broadcast=True)
    assert list(one.columns) == ["age", "sex"] and len(one) == 3 and (one["sex"] == "F").all()
    cols = check_conditions({"age": [30, 70], "sex": ["F", "M"]}, 2)
    assert cols["age"].tolist() == [30, 70]
    with pytest.raises(ValueError, match="rows"):
        check_conditions({"age": [30, 70]}, 3)


def test_non_finite_output_is_an_error_not_silent():
    """Issue 15: data scaled by 1e30 trained EKGAN, Pix2Pix and the cVAE into NaN output, returned silently."""
    from ecgsk.datasets import make_synthetic_ecgs
    from ecgsk.exceptions import UnitsWarning
    from ecgsk.models.cvae import ConditionalVAE
    from ecgsk.models.ekgan import EKGAN
    from ecgsk.models.pix2pix import Pix2PixReconstructor

    X = make_synthetic_ecgs(8, n_leads=12, n_samples=1000, random_state=0) * 1e30
    for cls in (EKGAN, Pix2PixReconstructor):
        with pytest.warns(UnitsWarning):
            est = cls(**cls.get_test_params()[0]).fit(X)
        with pytest.raises(ValueError, match=rf"{cls.__name__}\.transform produced \d+ non-finite value"):
            est.transform(X[:2, :1])
    beats = make_synthetic_ecgs(8, n_leads=12, n_samples=80, random_state=0) * 1e30
    conditions = pd.DataFrame({"age": np.arange(8) * 5 + 30.0, "sex": ["M", "F"] * 4})
    with pytest.warns(UnitsWarning):
        cvae = ConditionalVAE(**ConditionalVAE.get_test_params()[0]).fit(beats, conditions=conditions)
    with pytest.raises(ValueError, match=r"ConditionalVAE\.sample produced \d+ non-finite value"):
        cvae.sample(2, conditions={"age": [50.0, 60.0], "sex": ["M", "F"]})


# -- lazily read input (a memmap or an ECGDataset) ------------------------------------------------------------------
class _LazyReconstructor(LeastSquaresReconstructor):
    tags = {"lazy_input": True}

    def __init__(self, random_state=None):
        super().__init__(random_state=random_state)
        self.seen_ = []

    def _fit(self, X, y=None, *, rng):
        return super()._fit(np.asarray(X), y, rng=rng)  # small test data: read whole on purpose

    def _transform(self, X):
        self.seen_.append(type(X).__name__ + str(len(X)))
        return super()._transform(X)


class _LazyRisk(AmplitudeRisk):
    tags = {"lazy_input": True}

    def _predict_risk(self, X, conditions):
        assert isinstance(X, np.ndarray) and len(X) <= 2 and len(conditions) == len(X)
        return super()._predict_risk(X, conditions) + conditions["age"].to_numpy()  # row by row


def test_lazy_transform_and_predict_risk_run_chunk_by_chunk(ecg12, tmp_path, monkeypatch):
    """With the tag, transform and predict_risk read a memmap LAZY_CHUNK_SIZE ECGs at a time (conditions sliced)."""
    from ecgsk import base
    from ecgsk.base import get_tags

    path = tmp_path / "x.npy"
    np.save(path, ecg12)
    mm = np.load(path, mmap_mode="r")
    monkeypatch.setattr(base, "LAZY_CHUNK_SIZE", 2)
    rec = _LazyReconstructor().fit(ecg12)
    assert get_tags(rec)["lazy_input"]
    lazy_out = rec.transform(mm)
    assert rec.seen_ == ["ndarray2"] * 3  # six ECGs, three chunks of two, each an in-memory array
    np.testing.assert_array_equal(lazy_out, rec.transform(ecg12))
    np.testing.assert_array_equal(lazy_out[:, 0], ecg12[:, 0])  # lead I given back exactly
    y = np.column_stack([np.ones(6), np.arange(1.0, 7.0)])
    cond = pd.DataFrame({"age": np.arange(30.0, 36.0)})
    risk = _LazyRisk().fit(ecg12, y, conditions=cond)
    expected = AmplitudeRisk._predict_risk(risk, ecg12, cond) + cond["age"].to_numpy()
    np.testing.assert_allclose(risk.predict_risk(mm, conditions=cond), expected, rtol=1e-12)
    # without the tag the memmap is read whole as before
    assert isinstance(LeastSquaresReconstructor().fit(mm).transform(mm), np.ndarray)
