"""Tests for ecgsk.metrics.privacy: memorization_ratio."""

import numpy as np
import pytest

from ecgsk import metrics as M
from ecgsk.datasets import make_synthetic_ecgs


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
    # a generated ECG equal to a train and a holdout ECG: ratio 1, finite
    Z = np.zeros((2, 1, 5))
    assert M.memorization_ratio(Z, Z, Z) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same"):
        M.memorization_ratio(G, R, rng.randn(6, 1, 4))


def test_memorization_ratio_is_exact_across_chunk_boundaries():
    """More generated ECGs and reference ECGs than one chunk holds: still the exact nearest neighbours."""
    rng = np.random.RandomState(1)
    G, R, H = (rng.randn(k, 1, 4).astype(np.float32).astype(np.float64) for k in (300, 2100, 2050))  # ECGs are float32

    def nearest(A, B):
        d2 = ((A.reshape(len(A), 1, -1) - B.reshape(1, len(B), -1)) ** 2).sum(axis=-1)
        return np.sqrt(d2.min(axis=1))

    expected = nearest(G, R) / nearest(G, H)
    np.testing.assert_allclose(M.memorization_ratio(G, R, H, reduce=None), expected, rtol=1e-7)
