"""Declared parameter constraints of the preprocessing transformers, checked by ``fit``.

Every transformer declares its parameters once in ``parameter_constraints``
(DESIGN.md section 5); :class:`ecgsk.base.BaseECGTransformer` checks them at
the start of ``fit``, before it looks at the data, and a bad value gives a
``ValueError`` that names the class, the parameter, what is accepted and what
was given.
"""

import numpy as np
import pytest

from ecgsk.base import get_parameter_constraints
from ecgsk.preprocessing import (
    ALL_TRANSFORMERS,
    AmplitudeScaler,
    BandpassFilter,
    BaselineWanderRemoval,
    BeatSegmenter,
    Crop,
    FilterChain,
    LeadSelector,
    MedianBeat,
    NotchFilter,
    Resample,
    RPeakDetector,
    WindowSegmenter,
)


@pytest.mark.parametrize("cls", ALL_TRANSFORMERS, ids=lambda c: c.__name__)
def test_every_parameter_is_declared(cls):
    assert set(get_parameter_constraints(cls)) == set(cls().get_params(deep=False))


BAD = [
    (BandpassFilter, "fs", "500"),
    (BandpassFilter, "low", -1.0),
    (BandpassFilter, "high", np.nan),
    (BandpassFilter, "order", 0),
    (BandpassFilter, "zero_phase", "yes"),
    (NotchFilter, "freq", None),
    (NotchFilter, "quality", 0),
    (NotchFilter, "harmonics", 0),
    (NotchFilter, "zero_phase", 1),
    (BaselineWanderRemoval, "method", "spline"),
    (BaselineWanderRemoval, "cutoff", 300),
    (BaselineWanderRemoval, "order", 1.5),
    (BaselineWanderRemoval, "fs", 0),
    (FilterChain, "filters", []),
    (FilterChain, "filters", [BandpassFilter(fs=500), NotchFilter(fs=250)]),
    (FilterChain, "filters", [BandpassFilter(), NotchFilter(zero_phase=False)]),
    (FilterChain, "filters", [BaselineWanderRemoval(method="median")]),
    (Resample, "fs", np.inf),
    (Resample, "fs_out", -250),
    (AmplitudeScaler, "method", "minmax"),
    (AmplitudeScaler, "per_lead", "yes"),
    (LeadSelector, "leads", ()),
    (LeadSelector, "leads", ("I", 2)),
    (LeadSelector, "input_leads", 12),
    (Crop, "length", 0),
    (Crop, "offset", -1),
    (WindowSegmenter, "length", 2.5),
    (WindowSegmenter, "stride", 0),
    (MedianBeat, "length", 1),
    (MedianBeat, "fs", 50),
    (MedianBeat, "r_offset", 400),
    (MedianBeat, "method", "pan-tompkins"),
    (BeatSegmenter, "length", True),
    (BeatSegmenter, "method", None),
    (RPeakDetector, "fs", 99.9),
    (RPeakDetector, "method", "pan-tompkins"),
    (RPeakDetector, "combine", "mean"),
    (RPeakDetector, "vote_tolerance", -0.1),
    (RPeakDetector, "min_votes", 0),
    (RPeakDetector, "refine", None),
]


@pytest.mark.parametrize("cls, name, value", BAD, ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_bad_parameter_is_rejected_at_fit(cls, name, value, x_small):
    est = cls(**{name: value})  # the constructor only stores it
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: {name} must be .+; got "):
        est.fit(x_small)
    assert not hasattr(est, "n_features_in_")  # rejected before the data were looked at


def test_bad_parameter_set_after_construction_is_rejected_at_fit(x_small):
    est = BandpassFilter().fit(x_small)
    est.set_params(high=400)  # above fs / 2 = 250 Hz
    with pytest.raises(ValueError, match=r"BandpassFilter: high must be .*Nyquist frequency fs / 2.*; got 400"):
        est.fit(x_small)


def test_filter_chain_checks_each_filter_s_own_parameters(x_small):
    with pytest.raises(ValueError, match=r"^BandpassFilter: order must be an integer in \[1, inf\); got 0"):
        FilterChain([BandpassFilter(order=0), NotchFilter()]).fit(x_small)
