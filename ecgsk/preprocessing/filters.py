"""Zero-phase IIR filters over whole ECG batches (no torch).

Every filter here designs SciPy second-order sections (SOS) once, caches them,
and filters the whole ``(n_ecgs, n_leads, n_samples)`` batch in one
:func:`scipy.signal.sosfiltfilt` call along the last axis, in float32 and on
C-contiguous memory.  No Python loop runs over records or leads.

:class:`FilterChain` stacks the sections of several filters into one cascade,
so a band-pass and a notch cost a single forward-backward pass.
"""

import numbers
from functools import lru_cache

import numpy as np
from scipy import ndimage, signal

from ..base import BaseECGTransformer
from ..utils.constraints import Interval, Options, Satisfies
from ._constraints import SAMPLING_RATE, frequency_below_nyquist, harmonics_below_nyquist

__all__ = ["BandpassFilter", "NotchFilter", "BaselineWanderRemoval", "FilterChain", "combine_filters"]


# -- cached designs (keys are plain floats/ints, results read-only) -------------
def _frozen(sos):
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    sos.setflags(write=False)
    return sos


@lru_cache(maxsize=256)
def _butter_sos(order, low, high, fs):
    if low is not None and high is not None:
        return _frozen(signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos"))
    if low is not None:
        return _frozen(signal.butter(order, low, btype="highpass", fs=fs, output="sos"))
    return _frozen(signal.butter(order, high, btype="lowpass", fs=fs, output="sos"))


@lru_cache(maxsize=256)
def _notch_sos(freqs, quality, fs):
    sections = []
    for f in freqs:
        b, a = signal.iirnotch(f, quality, fs=fs)
        sections.append(signal.tf2sos(b, a))
    return _frozen(np.vstack(sections))


def _padlen(sos):
    """The edge padding :func:`scipy.signal.sosfiltfilt` uses by default."""
    n_sections = sos.shape[0]
    ntaps = 2 * n_sections + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * ntaps


def _apply_sos(sos, X, zero_phase, owner):
    """Filter a validated float32 batch along its last axis with one SOS cascade."""
    n_samples = X.shape[-1]
    pad = _padlen(sos)
    if zero_phase and n_samples <= pad:
        raise ValueError(
            f"{owner}: X has {n_samples} samples per lead, but zero-phase filtering with "
            f"{sos.shape[0]} second-order section(s) pads {pad} samples at each edge and needs "
            f"more than {pad} samples; use longer signals or a lower filter order"
        )
    sos32 = sos.astype(np.float32)
    if zero_phase:
        out = signal.sosfiltfilt(sos32, X, axis=-1, padlen=pad)
    else:
        zi = signal.sosfilt_zi(sos32).astype(np.float32)  # (n_sections, 2)
        zi = zi[:, None, None, :] * X[None, :, :, :1]  # steady state at the first sample
        out, _ = signal.sosfilt(sos32, X, axis=-1, zi=zi)
    return np.ascontiguousarray(out, dtype=np.float32)


class _SOSFilter(BaseECGTransformer):
    """Base of the SOS filters: ``fit`` designs ``sos_``, ``transform`` applies it.

    Row-wise, so a memmap or an :class:`~ecgsk.datasets.ECGDataset` is
    filtered a chunk of ECGs at a time (tag ``lazy_input``); the output is one
    array in memory.
    """

    zero_phase = True
    tags = {"lazy_input": True}

    def _design(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, X):
        self.sos_ = self._design()
        self._check_length(X)
        return self

    def _check_length(self, X):
        if getattr(self, "zero_phase", True) and X.shape[-1] <= _padlen(self.sos_):
            _apply_sos(self.sos_, np.asarray(X[:1])[:, :1], True, type(self).__name__)  # raises the ValueError

    def _transform(self, X):
        return _apply_sos(self.sos_, X, getattr(self, "zero_phase", True), type(self).__name__)

    @property
    def padlen_(self):
        """Samples of edge padding the zero-phase filter needs (signals must be longer)."""
        return _padlen(self.sos_)

    def get_test_data(self, n_ecgs=8, random_state=0):
        from ..datasets import make_synthetic_ecgs

        fs = self.fs if isinstance(self.fs, numbers.Real) and self.fs > 0 else 500
        X = make_synthetic_ecgs(n_ecgs, n_leads=2, fs=fs, n_samples=int(2 * fs), random_state=random_state)
        return X, {}


class BandpassFilter(_SOSFilter):
    """Butterworth band-pass filter, zero-phase by default, over a whole ECG batch.

    Parameters
    ----------
    low : float or None, default=0.5
        Lower cutoff in Hz (removes baseline wander).  ``None`` gives a low-pass.
    high : float or None, default=40
        Upper cutoff in Hz (removes muscle noise).  ``None`` gives a high-pass.
        Must lie below the Nyquist frequency ``fs / 2``.
    order : int, default=4
        Butterworth order (per band edge).  With ``zero_phase`` the effective
        order doubles.
    zero_phase : bool, default=True
        Filter forwards and backwards (:func:`scipy.signal.sosfiltfilt`), so
        waves keep their timing.  ``False`` gives a causal filter.
    fs : float, default=500
        Sampling rate in Hz.

    Attributes
    ----------
    sos_ : ndarray of shape (n_sections, 6)
        The designed second-order sections (cached across instances).
    n_features_in_ : int
        Number of leads seen in ``fit``.

    Raises
    ------
    ValueError
        If a cutoff is at or above ``fs / 2``, ``low >= high``, or a signal is
        too short for the filter's edge padding.

    See Also
    --------
    FilterChain : run a band-pass and a notch as one cascade.  Each zero-phase
        pass costs about the same whatever its number of sections, so fusing
        halves the time of ``BandpassFilter`` then ``NotchFilter``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> BandpassFilter(low=0.5, high=40).fit_transform(X).shape
    (2, 12, 5000)
    """

    parameter_constraints = {
        "fs": [SAMPLING_RATE],
        "low": [None, frequency_below_nyquist(below="high")],
        "high": [Satisfies(lambda value, params: value is None and params.get("low") is not None,
                           "None (when low is given)"),
                 frequency_below_nyquist()],
        "order": [Interval(numbers.Integral, 1, None)],
        "zero_phase": [bool],
    }

    def __init__(self, low=0.5, high=40, order=4, zero_phase=True, fs=500):
        self.low = low
        self.high = high
        self.order = order
        self.zero_phase = zero_phase
        self.fs = fs

    def _design(self):
        low = None if self.low is None else float(self.low)
        high = None if self.high is None else float(self.high)
        return _butter_sos(int(self.order), low, high, float(self.fs))

    @classmethod
    def get_test_params(cls):
        return [{}, {"low": None, "high": 30, "order": 2, "zero_phase": False, "fs": 250}]


class NotchFilter(_SOSFilter):
    """IIR notch filter for powerline interference (50 or 60 Hz), zero-phase.

    Parameters
    ----------
    freq : float, default=50
        Powerline frequency in Hz (50 in Europe/Asia, 60 in the Americas).
    quality : float, default=30
        Quality factor ``freq / bandwidth``; higher is narrower.
    harmonics : bool or int, default=False
        ``False`` notches ``freq`` only.  An integer ``k`` notches ``freq,
        2*freq, ..., k*freq`` (all must lie below ``fs / 2``); ``True``
        notches every multiple of ``freq`` below ``fs / 2``.
    zero_phase : bool, default=True
        Forward-backward filtering.
    fs : float, default=500
        Sampling rate in Hz.

    Attributes
    ----------
    sos_ : ndarray of shape (n_notches, 6)
        One second-order section per notched frequency.
    freqs_ : tuple of float
        The notched frequencies.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=1, random_state=0)
    >>> NotchFilter(freq=50, harmonics=2).fit(X).freqs_
    (50.0, 100.0)
    """

    parameter_constraints = {
        "fs": [SAMPLING_RATE],
        "freq": [frequency_below_nyquist()],
        "quality": [Interval(numbers.Real, 0, None, closed="neither")],
        "harmonics": [Options(False, True), harmonics_below_nyquist()],
        "zero_phase": [bool],
    }

    def __init__(self, freq=50, quality=30, harmonics=False, zero_phase=True, fs=500):
        self.freq = freq
        self.quality = quality
        self.harmonics = harmonics
        self.zero_phase = zero_phase
        self.fs = fs

    def _frequencies(self):
        fs, base, h = float(self.fs), float(self.freq), self.harmonics
        if h is False:
            k = 1
        elif h is True:  # every multiple of freq below fs / 2
            k = int(np.ceil(fs / 2.0 / base)) - 1
            while k * base >= fs / 2.0:
                k -= 1
        else:
            k = int(h)
        return tuple(float(base * i) for i in range(1, k + 1)), fs

    def _design(self):
        freqs, fs = self._frequencies()
        self.freqs_ = freqs
        return _notch_sos(freqs, float(self.quality), fs)

    @classmethod
    def get_test_params(cls):
        return [{}, {"freq": 60, "quality": 20, "harmonics": True, "fs": 500}]


class BaselineWanderRemoval(_SOSFilter):
    """Remove baseline wander with a high-pass filter or a two-stage median filter.

    Parameters
    ----------
    method : {"highpass", "median"}, default="highpass"
        ``"highpass"``: zero-phase Butterworth high-pass at ``cutoff``.
        ``"median"``: the baseline is estimated by a 200 ms then a 600 ms
        moving median (de Chazal et al., 2004) and subtracted; ``cutoff`` is
        unused.  For speed the medians run on every ``fs // 50``-th sample (a
        50 Hz grid) and the baseline is linearly interpolated back.  The
        median method is non-linear but keeps ST levels.
    cutoff : float, default=0.5
        High-pass cutoff in Hz.
    order : int, default=2
        Butterworth order of the high-pass.
    fs : float, default=500
        Sampling rate in Hz.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=1, random_state=0) + 1.0  # 1 mV offset
    >>> Y = BaselineWanderRemoval(method="median").fit_transform(X)
    >>> bool(abs(np.median(Y)) < 0.05)
    True
    """

    parameter_constraints = {
        "fs": [SAMPLING_RATE],
        "method": [Options("highpass", "median")],
        "cutoff": [frequency_below_nyquist()],
        "order": [Interval(numbers.Integral, 1, None)],
    }

    def __init__(self, method="highpass", cutoff=0.5, order=2, fs=500):
        self.method = method
        self.cutoff = cutoff
        self.order = order
        self.fs = fs

    def _design(self):
        return _butter_sos(int(self.order), float(self.cutoff), None, float(self.fs))

    def _median_grid(self):
        """Decimation step and the two median windows (in grid points) of the median method."""
        fs = float(self.fs)
        step = max(1, int(fs // 50))  # a 50 Hz grid is ample for a baseline below 1 Hz
        w1 = int(round(0.2 * fs / step)) | 1  # odd windows keep the filter centred
        w2 = int(round(0.6 * fs / step)) | 1
        return step, w1, w2

    def _check_length(self, X):
        if self.method == "median":
            return
        super()._check_length(X)

    def _transform(self, X):
        if self.method == "highpass":
            return super()._transform(X)
        step, w1, w2 = self._median_grid()
        n_samples = X.shape[-1]
        grid = X[..., ::step]
        baseline = ndimage.median_filter(grid, size=(1, 1, w1), mode="nearest")
        baseline = ndimage.median_filter(baseline, size=(1, 1, w2), mode="nearest")
        if step > 1:  # back to the full rate by linear interpolation along time
            pos = np.arange(n_samples) / step
            left = np.minimum(pos.astype(np.intp), grid.shape[-1] - 1)
            right = np.minimum(left + 1, grid.shape[-1] - 1)
            frac = (pos - left).astype(np.float32)
            baseline = baseline[..., left] * (1 - frac) + baseline[..., right] * frac
        return np.ascontiguousarray(X - baseline, dtype=np.float32)

    @classmethod
    def get_test_params(cls):
        return [{}, {"method": "median", "fs": 250}]


class FilterChain(BaseECGTransformer):
    """Several SOS filters run as one cascade: a single forward-backward pass.

    Cascading the second-order sections of, say, a band-pass and a notch filter
    gives the same frequency response as applying them one after the other,
    at the cost of one :func:`scipy.signal.sosfiltfilt` call.  Away from the
    edges (the padding, a few dozen samples) the output equals the two-step
    result to float32 precision; within the padding the edge handling differs
    slightly.

    Parameters
    ----------
    filters : list of estimators or None, default=None
        ``None`` means ``[BandpassFilter(), NotchFilter()]`` at 500 Hz.
        Otherwise :class:`BandpassFilter`, :class:`NotchFilter` or
        :class:`BaselineWanderRemoval` (``method="highpass"``), all with the
        same ``fs`` and ``zero_phase``.

    Attributes
    ----------
    sos_ : ndarray of shape (n_sections, 6)
        The stacked sections.
    filters_ : list
        Fitted clones of ``filters``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> chain = FilterChain([BandpassFilter(), NotchFilter()])
    >>> chain.fit_transform(X).shape
    (2, 12, 5000)
    """

    parameter_constraints = {
        "filters": [None, Satisfies(
            lambda value, params: _is_chainable(value),
            "None or a non-empty list of linear SOS filters (BandpassFilter, NotchFilter, "
            "BaselineWanderRemoval(method='highpass')) that share one fs and one zero_phase",
        )],
    }

    def __init__(self, filters=None):
        self.filters = filters

    def _fit(self, X):
        from sklearn.base import clone

        filters = [BandpassFilter(), NotchFilter()] if self.filters is None else list(self.filters)
        fitted = []
        for f in filters:
            f = clone(f)
            f._validate_params()  # each filter's own constraints (cutoffs below fs / 2, ...)
            f.sos_ = f._design()
            f.n_features_in_ = X.shape[1]
            fitted.append(f)
        fs = {float(f.fs) for f in fitted}
        phases = {bool(getattr(f, "zero_phase", True)) for f in fitted}
        self.filters_ = fitted
        self.zero_phase_ = phases.pop()
        self.fs_ = fs.pop()
        self.sos_ = np.vstack([f.sos_ for f in fitted])
        if self.zero_phase_ and X.shape[-1] <= _padlen(self.sos_):
            _apply_sos(self.sos_, X[:1, :1], True, "FilterChain")
        return self

    def _transform(self, X):
        return _apply_sos(self.sos_, X, self.zero_phase_, "FilterChain")

    def get_test_data(self, n_ecgs=8, random_state=0):
        from ..datasets import make_synthetic_ecgs

        return make_synthetic_ecgs(n_ecgs, n_leads=2, n_samples=1000, random_state=random_state), {}

    @classmethod
    def get_test_params(cls):
        # ``filters=None`` is BandpassFilter() then NotchFilter(); a list of
        # estimators cannot pass the clone-equality check.
        return [{}]


def _is_chainable(filters):
    """Whether ``filters`` is a non-empty list of linear SOS filters sharing fs and zero_phase."""
    filters = list(filters)
    if not filters or not all(isinstance(f, _SOSFilter) and getattr(f, "method", "highpass") == "highpass"
                              for f in filters):
        return False
    return len({f.fs for f in filters}) == 1 and len({bool(getattr(f, "zero_phase", True)) for f in filters}) == 1


def combine_filters(*filters):
    """Return a :class:`FilterChain` of the given SOS filters (one filtering pass).

    Parameters
    ----------
    *filters : BandpassFilter, NotchFilter or BaselineWanderRemoval
        The filters, in order.

    Returns
    -------
    FilterChain

    Examples
    --------
    >>> chain = combine_filters(BandpassFilter(), NotchFilter(freq=60))
    >>> type(chain).__name__
    'FilterChain'
    """
    return FilterChain(list(filters))
