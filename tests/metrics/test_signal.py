"""Tests for ecgsk.metrics.signal (rmse, prd, prd_seed, pearson_per_lead) and the package import."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ecgsk import metrics as M


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


# -- issue 15: prd keeps its documented promise (regression test) ----------------------------------
def test_prd_of_an_all_zero_reference_is_huge_but_finite():
    # issue 15: prd(zeros, ones) returned inf although the docstring promises a large finite value
    zeros, ones = np.zeros((2, 1, 10)), np.ones((2, 1, 10))
    for value in (M.prd(zeros, ones), M.prd_seed(zeros, ones)):
        assert np.isfinite(value) and value > 1e100
    assert np.isfinite(M.prd(zeros, ones, reduce=None)).all()
    assert M.prd(zeros, zeros) == 0.0
    np.testing.assert_allclose(M.prd_seed(ones, 2 * ones), M.prd(ones, 2 * ones) / 10)
