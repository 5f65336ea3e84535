"""ecgsk.preprocessing.resampling: polyphase resampling and its inverse."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ecgsk.preprocessing import BandpassFilter, Resample

from _checks import assert_rejects_nan_and_wrong_leads, ecg_batches

FS = 500


def test_sklearn_checks_on_single_lead_input():
    from ecgsk.testing import run_sklearn_checks

    results = run_sklearn_checks(Resample())  # raises on any unexpected failure
    assert any(r["status"] == "passed" for r in results)


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


_batches = ecg_batches


@pytest.mark.parametrize("est", [Resample(fs_out=250, fs=FS), Resample(fs_out=360, fs=FS)], ids=lambda e: repr(e))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_resample_is_linear_with_the_documented_length(est, data):
    X = data.draw(_batches)
    Y = data.draw(hnp.arrays(np.float32, X.shape, elements=st.floats(-5, 5, width=32)))
    a, b = data.draw(st.floats(-3, 3)), data.draw(st.floats(-3, 3))
    f = est.fit(X)
    out = f.transform(X)
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[:2] == X.shape[:2]
    assert out.shape[2] == int(np.ceil(X.shape[2] * f.up_ / f.down_))  # ceil(n_samples * fs_out / fs)
    assert np.isfinite(out).all()
    combo = f.transform((a * X + b * Y).astype(np.float32))
    expected = a * out + b * f.transform(Y)
    scale = abs(a) * np.abs(X).max() + abs(b) * np.abs(Y).max() + 1.0
    np.testing.assert_allclose(combo, expected, atol=2e-4 * scale * 10)
