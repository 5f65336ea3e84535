"""Signal-processing transformers for ECG batches ``(n_ecgs, n_leads, n_samples)`` in mV.

Never imports torch.

- Filters: :class:`BandpassFilter`, :class:`NotchFilter`,
  :class:`BaselineWanderRemoval`, :class:`FilterChain` (one SOS cascade,
  :func:`combine_filters`).
- Resampling: :class:`Resample`.
- Scaling: :class:`AmplitudeScaler`.
- Leads: :class:`LeadDeriver` (8 -> 12), :class:`LeadSelector`.
- Segmentation: :class:`Crop`, :class:`WindowSegmenter` (+
  :func:`repeat_for_windows`), :class:`MedianBeat`, :class:`BeatSegmenter`.
- R peaks: :class:`RPeakDetector`, :func:`detect_rpeaks`, :func:`heart_rate`, :func:`qrs_magnitude`,
  :func:`min_rpeak_samples`.
- Covariates: :class:`ConditionEncoder` (per-record conditions to standardised numbers).

Examples
--------
>>> from ecgsk.pipeline import make_pipeline
>>> from ecgsk.preprocessing import BandpassFilter, NotchFilter, LeadSelector
>>> pipe = make_pipeline(BandpassFilter(), NotchFilter(), LeadSelector(("I",)))
>>> [name for name, _ in pipe.steps]
['bandpassfilter', 'notchfilter', 'leadselector']
"""

from .conditions import ConditionEncoder
from .filters import BandpassFilter, BaselineWanderRemoval, FilterChain, NotchFilter, combine_filters
from .leads import LeadDeriver, LeadSelector
from .resampling import Resample
from .rpeaks import RPeakDetector, detect_rpeaks, heart_rate, min_rpeak_samples, qrs_magnitude
from .scaling import AmplitudeScaler
from .segmentation import BeatSegmenter, Crop, MedianBeat, WindowSegmenter, beat_magnitude, repeat_for_windows

__all__ = [
    "BandpassFilter",
    "NotchFilter",
    "BaselineWanderRemoval",
    "FilterChain",
    "combine_filters",
    "Resample",
    "AmplitudeScaler",
    "LeadDeriver",
    "LeadSelector",
    "Crop",
    "WindowSegmenter",
    "repeat_for_windows",
    "MedianBeat",
    "BeatSegmenter",
    "beat_magnitude",
    "RPeakDetector",
    "detect_rpeaks",
    "min_rpeak_samples",
    "heart_rate",
    "qrs_magnitude",
    "ConditionEncoder",
]

#: Every transformer class, for conformance tests.
ALL_TRANSFORMERS = (
    BandpassFilter, NotchFilter, BaselineWanderRemoval, FilterChain, Resample, AmplitudeScaler,
    LeadDeriver, LeadSelector, Crop, WindowSegmenter, MedianBeat, BeatSegmenter, RPeakDetector,
)
