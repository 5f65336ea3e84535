"""Tests of ecgsk.utils.validation.check_ecg_array's issue-15 behaviour: overflow and units."""

import warnings

import numpy as np
import pytest

from ecgsk.exceptions import UnitsWarning
from ecgsk.utils.validation import check_ecg_array


def test_float64_above_float32_range_is_named_overflow():
    # issue 15: 1e300 was reported as "contains NaN or infinite values"
    X = np.zeros((1, 1, 10))
    X[0, 0, 3] = 1e300
    with pytest.raises(ValueError, match=r"X has 1 value\(s\) that overflow float32 \(largest magnitude 1e\+300"):
        check_ecg_array(X)
    X[0, 0, 3] = -1e39
    with pytest.raises(ValueError, match="overflow float32"):
        check_ecg_array(X)


def test_real_nan_and_inf_are_still_named_as_such():
    for bad in (np.nan, np.inf):
        X = np.zeros((1, 1, 10))
        X[0, 0, 0] = bad
        with pytest.raises(ValueError, match=r"contains 1 NaN or infinite value") as info:
            check_ecg_array(X)
        assert "overflow" not in str(info.value)


def test_microvolts_warn_once_with_the_conversion():
    # issue 15: data in uV (values of thousands) was accepted without a word
    rng = np.random.default_rng(0)
    X_mv = rng.standard_normal((5, 12, 500)) * 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_ecg_array(X_mv)  # millivolts: silent
    with pytest.warns(UnitsWarning) as record:
        check_ecg_array(X_mv * 1000)
    assert len(record) == 1
    message = str(record[0].message)
    assert "microvolts" in message and "divide it by 1000" in message
    assert issubclass(UnitsWarning, UserWarning)


def test_units_threshold_is_the_median_peak_to_peak():
    X = np.zeros((3, 1, 10))
    X[:, 0, 0] = [49.0, 49.0, 1000.0]  # one lead with a huge artefact: median ptp 49 mV, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_ecg_array(X)
    X[:, 0, 0] = [51.0, 51.0, 0.0]
    with pytest.warns(UnitsWarning, match="51 mV"):
        check_ecg_array(X)
