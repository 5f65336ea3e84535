"""Helpers shared by the preprocessing test modules: a hypothesis strategy of ECG batches and one input check."""

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
