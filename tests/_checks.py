"""Checks shared by test modules: a hypothesis strategy of ECG batches, input rejection, linearity, scikit-learn's
generic checks and the limb-lead relations of 12-lead output."""

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: Batches of 1-3 ECGs, 1-3 leads, 200-600 samples, values in [-5, 5] mV.
ecg_batches = hnp.arrays(
    np.float32,
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(200, 600)),
    elements=st.floats(-5, 5, width=32),
)


def assert_rejects_nan_and_wrong_leads(fitted, X):
    """A fitted transformer raises on a NaN and on a lead count other than the fitted one."""
    bad = X.copy()
    bad[0, 3, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted.transform(bad)
    with pytest.raises(ValueError, match="lead"):
        fitted.transform(X[:, :8])


def assert_sklearn_checks_pass(est):
    """scikit-learn's generic checks run on ``est`` (raising on any unexpected failure) and at least one passes."""
    from ecgsk.testing import run_sklearn_checks

    results = run_sklearn_checks(est)
    assert any(r["status"] == "passed" for r in results)


def assert_linear(fitted, data):
    """``fitted.transform`` is linear: T(aX + bY) = aT(X) + bT(Y) on a drawn batch pair; returns T(X) for more checks."""
    X = data.draw(ecg_batches)
    Y = data.draw(hnp.arrays(np.float32, X.shape, elements=st.floats(-5, 5, width=32)))
    a, b = data.draw(st.floats(-3, 3)), data.draw(st.floats(-3, 3))
    out = fitted.fit(X).transform(X)
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[:2] == X.shape[:2]
    assert np.isfinite(out).all()
    combo = fitted.transform((a * X + b * Y).astype(np.float32))
    expected = a * out + b * fitted.transform(Y)
    scale = abs(a) * np.abs(X).max() + abs(b) * np.abs(Y).max() + 1.0
    np.testing.assert_allclose(combo, expected, atol=2e-3 * scale)
    return X, out


def assert_einthoven_limb_leads(out, lead_i):
    """12-lead output keeps lead I as given, and leads III, aVR, aVL, aVF follow from I and II."""
    np.testing.assert_array_equal(out[:, 0], lead_i)
    I, II = out[:, 0].astype(np.float64), out[:, 1].astype(np.float64)
    np.testing.assert_allclose(out[:, 2], II - I, atol=1e-5)
    np.testing.assert_allclose(out[:, 3], -(I + II) / 2, atol=1e-5)
    np.testing.assert_allclose(out[:, 4], I - II / 2, atol=1e-5)
    np.testing.assert_allclose(out[:, 5], II - I / 2, atol=1e-5)
