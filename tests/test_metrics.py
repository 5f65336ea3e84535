"""Tests for ecgsk.metrics: known values, properties, features, scorers."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from ecgsk import metrics as M
from ecgsk.base import GeneratorMixin, ReconstructorMixin, RiskMixin
from ecgsk.datasets import make_synthetic_ecgs


@pytest.fixture(scope="module")
def beats():
    """Short single-lead segments (fast)."""
    return make_synthetic_ecgs(60, n_leads=1, n_samples=500, random_state=0)


# ---------------------------------------------------------------------------
# paired metrics: known values
# ---------------------------------------------------------------------------
def test_rmse_prd_known_values():
    x = np.array([[3.0, 4.0, 0.0, 0.0]])
    y = np.array([[0.0, 0.0, 0.0, 0.0]])
    # RMSE = sqrt((9 + 16) / 4) = 2.5 ; PRD = 100 * sqrt(25 / 25) = 100
    assert M.rmse(x, y) == pytest.approx(2.5)
    assert M.prd(x, y) == pytest.approx(100.0)
    y2 = np.array([[3.0, 4.0, 0.0, 1.0]])
    # sum of squared error 1, energy 25 -> PRD = 100 * sqrt(1/25) = 20
    assert M.prd(x, y2) == pytest.approx(20.0)
    # the seed paper's PRD = sqrt(100 * 1 / 25) = 2
    assert M.prd_seed(x, y2) == pytest.approx(2.0)


def test_reduce_options_and_per_pair_arrays():
    x = np.ones((3, 2, 4))
    y = x * np.array([1.0, 0.5, 0.0])[:, None, None]
    per = M.prd(x, y, reduce=None)
    np.testing.assert_allclose(per, [0.0, 50.0, 100.0])
    np.testing.assert_allclose(M.prd_seed(x, y, reduce=None), np.sqrt(100 * np.array([0.0, 0.25, 1.0])))
    assert M.prd_seed(x, y, reduce="max") == pytest.approx(10.0)
    assert M.prd_seed(x, y, reduce="min") == pytest.approx(0.0)
    assert M.rmse(x, y, reduce="median") == pytest.approx(0.5)
    assert M.rmse(x, y, reduce=False).shape == (3,)
    with pytest.raises(ValueError, match="reduce"):
        M.rmse(x, y, reduce="sum")


def test_prd_seed_is_prd_over_ten():
    rng = np.random.RandomState(0)
    x, y = rng.randn(5, 2, 30), rng.randn(5, 2, 30)
    np.testing.assert_allclose(M.prd_seed(x, y, reduce=None), M.prd(x, y, reduce=None) / 10.0)


def test_pair_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        M.rmse(np.zeros((2, 10)), np.zeros((2, 11)))


def test_pearson_per_lead():
    t = np.linspace(0, 6, 200)
    x = np.stack([np.sin(t), np.cos(t), np.zeros_like(t)])[None]
    y = np.stack([3 * np.sin(t) + 1, -np.cos(t), np.sin(t)])[None]
    np.testing.assert_allclose(M.pearson_per_lead(x, y), [1.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(M.pearson_per_lead(x, y), M.pearson_per_lead(y, x), atol=1e-12)


# ---------------------------------------------------------------------------
# MMD
# ---------------------------------------------------------------------------
def _brute_mmd2(A, B, sigma):
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))  # noqa: E731
    m, n = len(A), len(B)
    kxx = sum(k(A[i], A[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(B[i], B[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(k(A[i], B[j]) for i in range(m) for j in range(n)) / (m * n)
    return kxx + kyy - 2 * kxy


def test_mmd_matches_brute_force_and_is_symmetric():
    rng = np.random.RandomState(1)
    # ECG batches are float32 by contract; compare on the float32 values
    A, B = (a.astype(np.float32).astype(np.float64) for a in (rng.randn(5, 1, 3), rng.randn(7, 1, 3) + 0.5))
    expected = _brute_mmd2(A.reshape(5, -1), B.reshape(7, -1), sigma=1.3)
    assert M.mmd(A, B, bandwidth=1.3) == pytest.approx(expected, rel=1e-10)
    assert M.mmd(B, A, bandwidth=1.3) == pytest.approx(expected, rel=1e-10)
    assert M.mmd(A, B) == pytest.approx(M.mmd(B, A), rel=1e-10)  # median bandwidth is pooled


def test_mmd_same_distribution_near_zero_shifted_positive(beats):
    A, B = beats[:30], beats[30:]
    same = M.mmd(A, B, features=True)
    shifted = M.mmd(A, B * 1.8 + 0.3, features=True)
    assert abs(same) < 0.05
    assert shifted > 0.1
    assert shifted > 5 * abs(same)
    assert M.mmd(A, A + 1.0) > abs(M.mmd(A, B))


def test_mmd_unbiased_can_be_negative_and_averages_to_zero():
    rng = np.random.RandomState(0)
    vals = [M.mmd(rng.randn(10, 1, 2), rng.randn(10, 1, 2), bandwidth=1.0) for _ in range(200)]
    assert min(vals) < 0  # the unbiased estimate is not clipped
    assert abs(np.mean(vals)) < 3 * np.std(vals) / np.sqrt(len(vals))
    # identical sets: the biased estimate would be 0, the unbiased one is negative
    X = rng.randn(6, 1, 4)
    assert M.mmd(X, X, bandwidth=1.0) < 0


def test_mmd_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        M.mmd(np.zeros((1, 1, 5)), np.zeros((3, 1, 5)))


def test_mmd_seed_formula():
    rng = np.random.RandomState(0)
    x, y = (a.astype(np.float32).astype(np.float64) for a in (rng.randn(3, 1, 12), rng.randn(3, 1, 12) * 2))
    per = M.mmd_seed(x, y, reduce=None)
    expected = [_brute_mmd2(x[i, 0][:, None], y[i, 0][:, None], sigma=1.0) for i in range(3)]
    np.testing.assert_allclose(per, expected, rtol=1e-10)
    assert M.mmd_seed(x, y) == pytest.approx(np.mean(expected))
    assert M.mmd_seed(x, y, reduce="max") == pytest.approx(max(expected))
    # blocked computation gives the same numbers
    np.testing.assert_allclose(M.mmd_seed(x, y, reduce=None, block=5), per, rtol=1e-12)
    # identical signals: unbiased estimate is negative (-(2/T) sum over i of k(x_i,x_i) ... ), not 0
    assert M.mmd_seed(x, x, reduce="max") < 0
    # multi-lead: per-lead values are averaged
    x2, y2 = rng.randn(2, 3, 8), rng.randn(2, 3, 8)
    lead_vals = np.array([[M.mmd_seed(x2[i : i + 1, lead], y2[i : i + 1, lead]) for lead in range(3)] for i in range(2)])
    np.testing.assert_allclose(M.mmd_seed(x2, y2, reduce=None), lead_vals.mean(axis=1))


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------
def test_feature_names_match_columns():
    for n_leads in (1, 2, 8, 12):
        X = make_synthetic_ecgs(2, n_leads=n_leads, n_samples=1000, random_state=0)
        F, names = M.ecg_features(X, return_names=True)
        assert F.shape == (2, len(names)) == (2, len(M.feature_names(n_leads)))
        assert len(set(names)) == len(names)
    assert M.feature_names(12)[:2] == ["I_std", "I_p01"]
    assert "corr_I_II" in M.feature_names(12)
    assert M.feature_names(8)[14] == "II_std"


@pytest.mark.parametrize(
    "X",
    [
        np.zeros((3, 12, 5000)),
        np.zeros((2, 1, 400)),
        np.ones((2, 2, 400)),
        np.zeros((1, 1, 1)),
        np.zeros((2, 3, 2)),
        np.full((2, 1, 50), 1e4),
    ],
    ids=["zeros-12x5000", "zeros-beat", "constant", "one-sample", "two-samples", "large-constant"],
)
def test_features_finite_on_degenerate_input(X):
    F = M.ecg_features(X)
    assert np.isfinite(F).all()
    assert F.shape == (len(X), len(M.feature_names(X.shape[1])))


def test_features_heart_rate_and_morphology_on_synthetic():
    rates = [50.0, 72.0, 110.0]
    X = np.concatenate(
        [make_synthetic_ecgs(2, n_leads=12, heart_rate=(r, r), hrv=0.0, random_state=i) for i, r in enumerate(rates)]
    )
    F, names = M.ecg_features(X, return_names=True)
    col = {n: F[:, i] for i, n in enumerate(names)}
    np.testing.assert_allclose(col["heart_rate"], np.repeat(rates, 2), rtol=0.04)
    assert (col["rr_cv"] < 0.05).all()
    # the simulator's QRS (Q at -25 ms, S at +28 ms, widths 10-12 ms) spans ~60-100 ms
    assert ((col["qrs_width"] > 30) & (col["qrs_width"] < 130)).all()
    # amplitudes: R in V4 ~1.4 mV, deep S in V2 (~-1.4 mV), upright T in V3
    assert (col["V4_r_amp"] > 0.8).all() and (col["V2_s_amp"] < -0.8).all() and (col["V3_t_amp"] > 0.15).all()
    # leads derived from I and II are correlated as expected: aVR ~ -(I+II)/2
    assert (col["corr_II_aVR"] < -0.8).all()


def test_features_on_single_beats_fall_back_without_nan():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=400, heart_rate=(60, 60), random_state=0)
    F, names = M.ecg_features(X, return_names=True)
    assert np.isfinite(F).all()
    hr = F[:, names.index("heart_rate")]
    assert ((hr == 0) | ((hr > 30) & (hr < 200))).all()  # 0 flags "undefined"
    assert (F[:, names.index("II_r_amp")] > 0.3).all()


def test_features_chunking_is_invariant():
    X = make_synthetic_ecgs(5, n_leads=3, n_samples=1500, random_state=3)
    np.testing.assert_allclose(M.ecg_features(X), M.ecg_features(X, chunk_size=2), rtol=1e-10, atol=1e-12)


def test_features_reject_bad_input():
    with pytest.raises(ValueError):
        M.ecg_features(np.full((2, 1, 10), np.nan))
    with pytest.raises(ValueError, match="fs"):
        M.ecg_features(np.zeros((2, 1, 10)), fs=0)


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 700)),
        elements=st.floats(-50, 50, allow_nan=False, width=32),
    ),
    st.sampled_from([1, 10, 100, 250, 360, 500, 1000]),
)
def test_features_finite_property(X, fs):
    F = M.ecg_features(X, fs=fs)
    assert F.shape == (X.shape[0], len(M.feature_names(X.shape[1])))
    assert np.isfinite(F).all()


def test_ludb_sinus_heart_rates(data_dir):
    from ecgsk.datasets import load_ludb

    X, meta = load_ludb(data_dir / "ludb")
    F, names = M.ecg_features(X[:40], return_names=True)
    hr = F[:, names.index("heart_rate")]
    sinus = meta["diagnoses"][:40].apply(lambda d: any("sinus" in s.lower() for s in d)).to_numpy()
    assert sinus.sum() >= 20
    assert ((hr[sinus] > 40) & (hr[sinus] < 150)).all(), hr[sinus]
    qrs = F[:, names.index("qrs_width")]
    assert 60 < np.median(qrs) < 120  # LUDB delineation: median QRS ~92 ms
    assert np.isfinite(F).all()


def test_cpsc2019_heart_rate_against_reference_r_peaks(data_dir):
    from ecgsk.datasets import load_cpsc2019

    X, r_peaks = load_cpsc2019(data_dir / "cpsc2019")
    F, names = M.ecg_features(X, fs=500, return_names=True)
    hr = F[:, names.index("heart_rate")]
    ref = np.array([60.0 / np.median(np.diff(np.sort(np.ravel(r)))) * 500 for r in r_peaks])
    err = np.abs(hr - ref)
    assert np.median(err) < 3.0  # noisy, partly arrhythmic records: most within a few bpm
    assert np.mean(err < 10.0) > 0.7


# ---------------------------------------------------------------------------
# Fréchet
# ---------------------------------------------------------------------------
def test_frechet_zero_for_identical_positive_for_shifted(beats):
    assert M.frechet_feature_distance(beats, beats) == pytest.approx(0.0, abs=1e-6)
    same = M.frechet_feature_distance(beats[:30], beats[30:])
    shifted = M.frechet_feature_distance(beats[:30], 2.0 * beats[30:])
    assert shifted > 2 * same > 0
    assert M.frechet_feature_distance(beats[30:], beats[:30]) == pytest.approx(same, rel=1e-6)


def test_frechet_matches_closed_form():
    from scipy import linalg

    rng = np.random.RandomState(0)
    X = make_synthetic_ecgs(40, n_leads=1, n_samples=600, random_state=1)
    Y = X * rng.uniform(0.7, 1.3, size=(40, 1, 1))
    A, B = M.ecg_features(X), M.ecg_features(Y)
    keep = (A.std(axis=0) > 0) | (B.std(axis=0) > 0)
    A, B = A[:, keep], B[:, keep]
    S1, S2 = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    ref = np.sum((A.mean(0) - B.mean(0)) ** 2) + np.trace(S1 + S2 - 2 * np.real(linalg.sqrtm(S1 @ S2)))
    # raw features are badly scaled: the distance is a small difference of large traces
    tol = 1e-7 * (np.trace(S1) + np.trace(S2))
    assert M.frechet_feature_distance(X, Y, standardize=None, method="sqrtm") == pytest.approx(ref, abs=tol)
    assert M.frechet_feature_distance(X, Y, standardize=None) == pytest.approx(ref, abs=tol)
    # on standardised features the two methods agree closely
    assert M.frechet_feature_distance(X, Y) == pytest.approx(M.frechet_feature_distance(X, Y, method="sqrtm"), rel=1e-6)
    # standardising by the reference set changes the scale but stays >= 0
    assert M.frechet_feature_distance(X, Y, standardize="reference") >= 0


def test_frechet_errors():
    X = np.zeros((3, 1, 100))
    with pytest.raises(ValueError, match="at least 2"):
        M.frechet_feature_distance(X[:1], X)
    with pytest.raises(ValueError, match="leads"):
        M.frechet_feature_distance(X, np.zeros((3, 2, 100)))
    with pytest.raises(ValueError, match="standardize"):
        M.frechet_feature_distance(X, X, standardize="bogus")
    with pytest.raises(ValueError, match="method"):
        M.frechet_feature_distance(X, X, method="bogus")


def test_trace_sqrt_product_methods_agree_on_singular_covariances():
    rng = np.random.RandomState(0)
    A, B = rng.randn(8, 20), rng.randn(8, 20) @ rng.randn(20, 20) * 0.3
    S1, S2 = np.cov(A, rowvar=False), np.cov(B, rowvar=False)  # rank 7 < 20
    eigh = M._trace_sqrt_product(S1, S2, "eigh")
    assert eigh == pytest.approx(M._trace_sqrt_product(S1, S2, "sqrtm"), rel=1e-4)
    assert M._trace_sqrt_product(S1, S1, "eigh") == pytest.approx(np.trace(S1), rel=1e-9)
    assert M._trace_sqrt_product(S1, S2, "eigh") == pytest.approx(M._trace_sqrt_product(S2, S1, "eigh"), rel=1e-9)


# ---------------------------------------------------------------------------
# memorisation
# ---------------------------------------------------------------------------
def test_memorization_ratio_copies_vs_fresh():
    X = make_synthetic_ecgs(120, n_leads=2, n_samples=400, random_state=0)
    train, holdout, fresh = X[:40], X[40:80], X[80:]
    copies = M.memorization_ratio(train[:20], train, holdout, reduce=None)
    assert copies.shape == (20,)
    assert copies.max() < 1e-3
    noisy = train[:20] + 0.001 * np.random.RandomState(0).randn(*train[:20].shape)
    assert M.memorization_ratio(noisy, train, holdout) < 0.2
    ratio = M.memorization_ratio(fresh, train, holdout)
    assert 0.75 < ratio < 1.33


def test_memorization_ratio_chunking_and_edge_cases():
    rng = np.random.RandomState(0)
    G, R, H = (rng.randn(k, 1, 5).astype(np.float32).astype(np.float64) for k in (7, 9, 6))
    d = lambda a, B: np.sqrt(((B - a) ** 2).sum(axis=(1, 2))).min()  # noqa: E731
    expected = np.array([d(g, R) / d(g, H) for g in G])
    np.testing.assert_allclose(M.memorization_ratio(G, R, H, reduce=None), expected, rtol=1e-9)
    np.testing.assert_allclose(M._nn_dist(G.reshape(7, -1), R.reshape(9, -1), block_g=2, block_r=3),
                               [d(g, R) for g in G], rtol=1e-9)
    # a generated ECG equal to a train and a holdout ECG: ratio 1, finite
    Z = np.zeros((2, 1, 5))
    assert M.memorization_ratio(Z, Z, Z) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same"):
        M.memorization_ratio(G, R, rng.randn(6, 1, 4))


# ---------------------------------------------------------------------------
# concordance
# ---------------------------------------------------------------------------
def _harrell(event, time, risk):
    num = den = 0.0
    for i in range(len(time)):
        for j in range(len(time)):
            if event[i] and time[i] < time[j]:
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return num / den


def test_concordance_hand_example():
    # times 1(event) 2(censored) 3(event) 4(event); comparable pairs: (1,2) (1,3) (1,4) (3,4)
    y = np.array([[1, 1.0], [0, 2.0], [1, 3.0], [1, 4.0]])
    risk = np.array([4.0, 1.0, 2.0, 3.0])
    # (1,2): 4>1 ok; (1,3): 4>2 ok; (1,4): 4>3 ok; (3,4): 2<3 wrong -> 3/4
    assert M.concordance_index(y, risk) == pytest.approx(0.75)
    # a tie counts one half: (3,4) tied -> 3.5/4
    assert M.concordance_index(y, [4.0, 1.0, 3.0, 3.0]) == pytest.approx(0.875)
    structured = np.array([(True, 1.0), (False, 2.0), (True, 3.0), (True, 4.0)], dtype=[("event", "?"), ("time", "f8")])
    assert M.concordance_index(structured, risk) == pytest.approx(0.75)


def test_concordance_against_lifelines_and_brute_force():
    from lifelines.utils import concordance_index as lifelines_cindex

    rng = np.random.RandomState(0)
    time = rng.exponential(5, 60)
    event = rng.rand(60) < 0.6
    risk = -time + rng.randn(60) * 3
    ours = M.concordance_index(np.column_stack([event, time]), risk)
    assert ours == pytest.approx(lifelines_cindex(time, -risk, event))
    assert ours == pytest.approx(1.0 - lifelines_cindex(time, risk, event))
    assert ours == pytest.approx(_harrell(event, time, risk))
    assert ours > 0.6


def test_concordance_errors():
    with pytest.raises(ValueError, match="values"):
        M.concordance_index([[1, 1.0], [1, 2.0]], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        M.concordance_index([[1, 1.0], [1, 2.0]], [1.0, np.nan])


# ---------------------------------------------------------------------------
# classifier two-sample test
# ---------------------------------------------------------------------------
def test_classifier_two_sample_test():
    X = make_synthetic_ecgs(80, n_leads=1, n_samples=1000, random_state=0)
    same = M.classifier_two_sample_test(X[:40], X[40:])
    assert set(same) >= {"logistic_regression", "gradient_boosting", "chance", "n_splits"}
    assert 0.2 <= same["logistic_regression"] <= 0.8
    assert 0.2 <= same["gradient_boosting"] <= 0.8
    assert len(same["logistic_regression_folds"]) == 5
    different = M.classifier_two_sample_test(X[:40], 3.0 * X[40:])
    assert different["logistic_regression"] > 0.9 and different["gradient_boosting"] > 0.9
    small = M.classifier_two_sample_test(X[:3], X[3:10])
    assert small["n_splits"] == 3 and small["chance"] == pytest.approx(0.7)


# ---------------------------------------------------------------------------
# scorers
# ---------------------------------------------------------------------------
class _MeanGainReconstructor(ReconstructorMixin, BaseEstimator):
    """Lead k = gain_k * lead I, gains by least squares; ``shrink`` degrades it."""

    def __init__(self, shrink=1.0):
        self.shrink = shrink

    def _fit(self, X, y=None, *, rng):
        lead_i = X[:, :1]
        self.gain_ = (X * lead_i).sum(axis=(0, 2)) / max((lead_i**2).sum(), 1e-12)

    def _transform(self, X):
        return self.shrink * self.gain_[None, :, None] * X


class _BootstrapGenerator(GeneratorMixin, BaseEstimator):
    """Resamples training ECGs, times ``scale``; records the conditions it sees."""

    tags = {"conditional": True}
    seen = []

    def __init__(self, scale=1.0):
        self.scale = scale

    def _fit(self, X, y=None, *, rng, conditions=None):
        self.X_ = X
        type(self).seen.append(("fit", None if conditions is None else len(conditions)))

    def _sample(self, n_samples, conditions, rng):
        type(self).seen.append(("sample", None if conditions is None else len(conditions)))
        return self.scale * self.X_[rng.randint(len(self.X_), size=n_samples)]


class _AmplitudeRisk(RiskMixin, BaseEstimator):
    def __init__(self, sign=1.0):
        self.sign = sign

    def _fit(self, X, y, *, rng):
        pass

    def _predict_risk(self, X, conditions):
        return self.sign * X.std(axis=(1, 2))


def test_reconstruction_scorers_in_cross_val_score():
    X = make_synthetic_ecgs(12, n_leads=12, n_samples=500, random_state=0)
    cv = KFold(3)
    r = cross_val_score(_MeanGainReconstructor(), X, scoring=M.reconstruction_pearson_scorer, cv=cv)
    assert r.shape == (3,) and np.all((r > -1) & (r <= 1))
    neg = cross_val_score(_MeanGainReconstructor(), X, scoring=M.reconstruction_rmse_scorer, cv=cv)
    assert np.all(neg < 0)
    worse = cross_val_score(_MeanGainReconstructor(shrink=0.0), X, scoring=M.get_scorer("reconstruction_rmse"), cv=cv)
    assert np.all(worse < neg)  # greater is better: the better model scores higher
    # pearson scorer agrees with ReconstructorMixin.score
    est = _MeanGainReconstructor().fit(X)
    assert M.reconstruction_pearson_scorer(est, X) == pytest.approx(est.score(X))
    # reference given separately as y
    assert M.reconstruction_rmse_scorer(est, X[:, :1], X) == pytest.approx(-M.rmse(X[:, 1:], est.transform(X)[:, 1:]))


def test_generation_scorer_grid_search():
    X = make_synthetic_ecgs(30, n_leads=1, n_samples=800, random_state=0)
    est = _BootstrapGenerator().fit(X)
    assert M.generation_mmd_scorer(est, X) == pytest.approx(est.score(X))
    grid = GridSearchCV(_BootstrapGenerator(), {"scale": [0.3, 1.0, 3.0]}, scoring=M.generation_mmd_scorer, cv=3)
    grid.fit(X)
    assert grid.best_params_ == {"scale": 1.0}
    fr = cross_val_score(_BootstrapGenerator(), X, scoring=M.get_scorer("generation_frechet"), cv=3)
    assert np.all(fr <= 0)


def test_concordance_scorer_in_cross_val_score():
    rng = np.random.RandomState(0)
    X = make_synthetic_ecgs(30, n_leads=1, n_samples=300, random_state=0) * rng.uniform(0.5, 2, (30, 1, 1))
    amp = X.std(axis=(1, 2))
    y = np.column_stack([np.ones(30), 10.0 / amp])  # larger amplitude -> earlier event
    good = cross_val_score(_AmplitudeRisk(), X, y, scoring=M.concordance_scorer, cv=3)
    bad = cross_val_score(_AmplitudeRisk(sign=-1.0), X, y, scoring=M.get_scorer("c_index"), cv=3)
    np.testing.assert_allclose(good, 1.0)
    np.testing.assert_allclose(bad, 0.0)
    with pytest.raises(ValueError, match="survival"):
        M.concordance_scorer(_AmplitudeRisk().fit(X, y), X)


def test_scorer_metadata_routing_passes_conditions():
    import sklearn

    X = make_synthetic_ecgs(12, n_leads=1, n_samples=300, random_state=0)
    cond = pd.DataFrame({"age": np.arange(12.0)})
    _BootstrapGenerator.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        est = _BootstrapGenerator().set_fit_request(conditions=True)
        res = cross_validate(est, X, scoring=M.generation_mmd_scorer, cv=KFold(3), params={"conditions": cond})
    assert np.isfinite(res["test_score"]).all()
    assert ("fit", 8) in _BootstrapGenerator.seen and ("sample", 4) in _BootstrapGenerator.seen
    # turning the request off keeps conditions away from the scorer
    scorer = M.get_scorer("generation_mmd").set_score_request(conditions=False)
    _BootstrapGenerator.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        cross_validate(est, X, scoring=scorer, cv=KFold(3), params={"conditions": cond})
    assert ("sample", None) in _BootstrapGenerator.seen
    assert M.generation_mmd_scorer._metadata == {"conditions": True}  # get_scorer returned a copy
    # several scorers at once, and GridSearchCV routing conditions to fit and scorer
    _BootstrapGenerator.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        res = cross_validate(
            est, X, cv=KFold(3), params={"conditions": cond},
            scoring={"mmd": M.generation_mmd_scorer, "fd": M.generation_frechet_scorer},
        )
        grid = GridSearchCV(est, {"scale": [0.5, 1.0]}, scoring=M.generation_mmd_scorer, cv=KFold(3))
        grid.fit(X, conditions=cond)
    assert np.isfinite(res["test_mmd"]).all() and (res["test_fd"] <= 0).all()
    assert ("sample", None) not in _BootstrapGenerator.seen


def test_get_scorer():
    assert M.get_scorer("concordance_index") is not M.concordance_scorer
    assert M.get_scorer("neg_reconstruction_rmse")._sign == -1
    assert callable(M.get_scorer("accuracy"))  # falls back to scikit-learn
    with pytest.raises(ValueError, match="unknown scorer"):
        M.get_scorer("no_such_metric")
    with pytest.raises(TypeError, match="metadata"):
        M.reconstruction_pearson_scorer(None, None, None, conditions=1)


def test_import_is_light():
    code = "import sys, ecgsk.metrics; print(sorted(m for m in ('torch', 'lifelines', 'neurokit2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(2, 40)),
           elements=st.floats(-10, 10, allow_nan=False, width=32)),
    st.floats(0.1, 10.0),
    st.integers(0, 2**16),
)
def test_paired_metric_properties(x, scale, seed):
    y = x + np.random.RandomState(seed).randn(*x.shape).astype(np.float32)
    assert M.rmse(x, y) == pytest.approx(M.rmse(y, x))
    assert M.rmse(x, x) == 0.0 and M.prd(x, x) == 0.0
    assert M.rmse(scale * x, scale * y) == pytest.approx(scale * M.rmse(x, y), rel=1e-4, abs=1e-6)
    if (np.sum(x.astype(np.float32) ** 2, axis=(1, 2)) > 1e-3).all():
        # PRD is scale invariant; the seed variant is PRD / 10
        assert M.prd(scale * x, scale * y) == pytest.approx(M.prd(x, y), rel=1e-3)
        assert M.prd_seed(x, y) == pytest.approx(M.prd(x, y) / 10.0, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 5), st.integers(0, 2**16))
def test_mmd_symmetry_property(m, n, dim, seed):
    rng = np.random.RandomState(seed)
    A, B = rng.randn(m, 1, dim), rng.randn(n, 1, dim) + rng.randn()
    assert M.mmd(A, B) == pytest.approx(M.mmd(B, A), rel=1e-9, abs=1e-12)
    assert M.mmd(A, B, bandwidth=0.7) == pytest.approx(M.mmd(B, A, bandwidth=0.7), rel=1e-9, abs=1e-12)


def test_scorers_pickle():
    import pickle

    for name in ("reconstruction_pearson", "neg_reconstruction_rmse", "neg_generation_mmd", "concordance"):
        scorer = M.get_scorer(name)
        clone = pickle.loads(pickle.dumps(scorer))
        assert repr(clone) == repr(scorer) and clone._metadata == scorer._metadata


def test_peak_detection_f1_matches_one_to_one():
    from ecgsk.metrics import peak_detection_f1

    # Two detections near one reference count once; the far one is a false positive.
    f1, counts = peak_detection_f1([[100, 103, 400]], [[101, 250]], tol=5, return_counts=True)
    assert counts == {"tp": 1, "fp": 2, "fn": 1}
    assert f1 == pytest.approx(2 / (2 + 2 + 1))
    assert peak_detection_f1([[10, 500]], [[10, 20]], tol=3, spans=[(0, 100)]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="reference lists"):
        peak_detection_f1([[1]], [[1], [2]], tol=1)
