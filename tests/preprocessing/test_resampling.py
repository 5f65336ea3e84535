"""ecgsk.preprocessing.resampling: polyphase resampling and its inverse."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecgsk.preprocessing import BandpassFilter, Resample

from _checks import assert_linear, assert_rejects_nan_and_wrong_leads, assert_sklearn_checks_pass

FS = 500


def test_sklearn_checks_on_single_lead_input():
    assert_sklearn_checks_pass(Resample())


def test_resample_rates_and_inverse(ludb):
    X = ludb[0][:4]
    rs = Resample(fs_out=250, fs=FS).fit(X)
    Y = rs.transform(X)
    assert rs.fs_out_ == 250.0 and Y.shape == (4, 12, 2500) and Y.dtype == np.float32
    back = rs.inverse_transform(Y)
    assert back.shape == X.shape
    # A band-limited ECG survives 500 -> 250 -> 500 Hz away from the edges.
    Xf = BandpassFilter(high=40, fs=FS).fit_transform(X)
    back = rs.inverse_transform(rs.transform(Xf))
    assert np.abs(back - Xf)[..., 100:-100].max() < 0.05
    assert Resample(fs_out=360, fs=FS).fit(X).transform(X).shape[-1] == 3600


def test_bad_fs_out_raises_clear_error(x_small):
    with pytest.raises(ValueError, match="positive sampling rate"):
        Resample(fs_out=0).fit(x_small)


def test_nan_and_wrong_leads_raise(x_small):
    est = Resample().fit(x_small)
    assert_rejects_nan_and_wrong_leads(est, x_small)


@pytest.mark.parametrize("est", [Resample(fs_out=250, fs=FS), Resample(fs_out=360, fs=FS)], ids=lambda e: repr(e))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_resample_is_linear_with_the_documented_length(est, data):
    X, out = assert_linear(est, data)
    assert out.shape[2] == int(np.ceil(X.shape[2] * est.up_ / est.down_))  # ceil(n_samples * fs_out / fs)
