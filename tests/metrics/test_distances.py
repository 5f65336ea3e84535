"""Tests for ecgsk.metrics.distances: MMD, seed MMD and the Fréchet feature distance."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecgsk import metrics as M
from ecgsk.datasets import make_synthetic_ecgs


@pytest.fixture(scope="module")
def beats():
    """Short single-lead segments (fast)."""
    return make_synthetic_ecgs(60, n_leads=1, n_samples=500, random_state=0)


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


def test_frechet_methods_agree_on_singular_covariances():
    """8 ECGs, 32 features: rank-7 covariances, where Tr((S1 S2)^1/2) is hardest to compute."""
    X = make_synthetic_ecgs(8, n_leads=2, n_samples=1000, random_state=0)
    Y = 1.2 * make_synthetic_ecgs(8, n_leads=2, n_samples=1000, random_state=1)
    assert M.ecg_features(X).shape[1] > len(X)  # more features than ECGs: singular covariances
    for standardize in ("pooled", None):
        eigh = M.frechet_feature_distance(X, Y, standardize=standardize)
        assert eigh > 0
        assert eigh == pytest.approx(M.frechet_feature_distance(X, Y, standardize=standardize, method="sqrtm"),
                                     rel=1e-4)
        # Tr((S S)^1/2) = Tr(S): an identical set is at distance 0 even with a singular covariance
        assert M.frechet_feature_distance(X, X, standardize=standardize) == pytest.approx(0.0, abs=1e-6)
    # Tr((S1 S2)^1/2) = Tr((S2 S1)^1/2): with pooled scaling the distance is symmetric
    assert M.frechet_feature_distance(Y, X) == pytest.approx(M.frechet_feature_distance(X, Y), rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 5), st.integers(0, 2**16))
def test_mmd_symmetry_property(m, n, dim, seed):
    rng = np.random.RandomState(seed)
    A, B = rng.randn(m, 1, dim), rng.randn(n, 1, dim) + rng.randn()
    assert M.mmd(A, B) == pytest.approx(M.mmd(B, A), rel=1e-9, abs=1e-12)
    assert M.mmd(A, B, bandwidth=0.7) == pytest.approx(M.mmd(B, A, bandwidth=0.7), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("params, match", [({"block": 0}, "mmd_seed: block must be"),
                                           ({"block": -1}, "mmd_seed: block must be"),
                                           ({"bandwidth": 0}, "mmd_seed: bandwidth must be")])
def test_mmd_seed_range_checks_its_parameters(params, match):
    x = np.random.default_rng(0).standard_normal((2, 1, 50))
    with pytest.raises(ValueError, match=match):
        M.mmd_seed(x, x + 0.1, **params)
