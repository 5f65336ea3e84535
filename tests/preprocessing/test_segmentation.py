"""ecgsk.preprocessing.segmentation: Crop, WindowSegmenter, MedianBeat and BeatSegmenter."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from ecgsk.preprocessing import BeatSegmenter, Crop, MedianBeat, WindowSegmenter, repeat_for_windows

from _checks import assert_rejects_nan_and_wrong_leads

FS = 500


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "est, match",
    [
        (Crop(length=2000), "offset \\+ length"),
        (WindowSegmenter(length=2000), "shorter than length"),
        (MedianBeat(length=2000), "shorter than one beat"),
        (MedianBeat(length=400, r_offset=500), "r_offset"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseEstimator) else "",
)
def test_bad_parameters_raise_clear_errors(est, match, x_small):
    with pytest.raises(ValueError, match=match):
        est.fit(x_small)


def test_nan_and_wrong_leads_raise(x_small):
    est = MedianBeat().fit(x_small)
    assert_rejects_nan_and_wrong_leads(est, x_small)


# -- behaviour on real data ------------------------------------------------------------------
def test_crop_and_windows(ludb):
    X = ludb[0][:3]
    assert Crop(length=1000, offset=250).fit_transform(X).shape == (3, 12, 1000)
    np.testing.assert_array_equal(Crop(length=1000, offset=250).fit_transform(X), X[..., 250:1250])
    seg = WindowSegmenter(length=2000, stride=1000).fit(X)
    W = seg.transform(X)
    assert W.shape == (3 * 4, 12, 2000)
    np.testing.assert_array_equal(W[5], X[1, :, 1000:3000])  # record 1, window 1
    y = np.array([10, 20, 30])
    assert seg.repeat(y).tolist() == [10] * 4 + [20] * 4 + [30] * 4
    assert repeat_for_windows(y, 4).shape == (12,)


def test_beat_segmenter_matches_median_beat(ludb):
    X = ludb[0][:3]
    seg = BeatSegmenter(fs=FS).fit(X)
    beats, record = seg.segment(X)
    assert beats.shape[1:] == (12, 400) and len(beats) == len(record) >= 3 * 7
    assert np.array_equal(np.unique(record), [0, 1, 2])
    np.testing.assert_array_equal(seg.transform(X), beats)


def documented_beat_magnitude(B):
    """Independent re-statement of the documented fiducial: sum_l |lead - median| / max."""
    centred = B - np.median(B, axis=-1, keepdims=True)
    a = np.abs(centred)
    return (a / a.max(axis=-1, keepdims=True)).sum(axis=-2)


def test_median_beat_r_peak_at_fixed_index_on_ludb(ludb):
    X = ludb[0]
    mb = MedianBeat(length=400, fs=FS).fit(X)
    B = mb.transform(X)
    assert B.shape == (200, 12, 400) and mb.r_index_ == 125
    # Every record's median beat peaks (multi-lead QRS magnitude) at r_index_ +- 2 samples.
    peak = documented_beat_magnitude(B).argmax(axis=-1)
    assert np.all(np.abs(peak - mb.r_index_) <= 2), np.flatnonzero(np.abs(peak - mb.r_index_) > 2) + 1
    # Lead II's largest deflection (R or S) is within 20 ms of it in nearly all records.
    lead_ii = np.abs(B[:, 1] - np.median(B[:, 1], axis=-1, keepdims=True)).argmax(axis=-1)
    assert np.mean(np.abs(lead_ii - mb.r_index_) <= 10) >= 0.9


# -- issue 15: a record too short for R-peak detection (regression tests) -----------------------
@pytest.mark.parametrize("cls", [MedianBeat, BeatSegmenter])
def test_beat_transformers_state_the_length_rpeak_detection_needs(cls):
    # issue 15: MedianBeat(length=300) on a 300-sample record raised neurokit2's signal_smooth() error
    X = np.random.default_rng(0).standard_normal((2, 1, 300)).astype(np.float32)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: .*300 samples.*at least 375 samples"):
        cls(length=300).fit_transform(X)
    fitted = cls(length=300).fit(np.random.default_rng(1).standard_normal((2, 1, 2000)).astype(np.float32))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: .*at least 375 samples"):
        fitted.transform(X)
