"""Cropping, sliding windows and beat segmentation (no torch).

Transformers that keep one row per record (:class:`Crop`, :class:`MedianBeat`)
work everywhere, supervised or not.  :class:`WindowSegmenter` and
:class:`BeatSegmenter` turn one record into many rows; they are for
unsupervised fits only (generators), since ``y`` and CV groups no longer line
up with the rows.  :func:`repeat_for_windows` repeats per-record targets or
groups to match windows when you need them (for example ``GroupKFold`` by
record).
"""

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..base import BaseECGTransformer
from ..utils.constraints import Interval, Options
from ._constraints import RPEAK_SAMPLING_RATE
from .rpeaks import detect_rpeaks, min_rpeak_samples

__all__ = ["Crop", "WindowSegmenter", "repeat_for_windows", "MedianBeat", "BeatSegmenter", "beat_magnitude"]


def _synthetic(n_ecgs, n_leads, n_samples, fs, random_state):
    from ..datasets import make_synthetic_ecgs

    return make_synthetic_ecgs(n_ecgs, n_leads=n_leads, fs=fs, n_samples=n_samples, random_state=random_state)


class Crop(BaseECGTransformer):
    """Keep ``length`` samples starting at ``offset``: one row per record.

    Parameters
    ----------
    length : int, default=2500
        Samples to keep.
    offset : int, default=0
        First sample kept.

    Raises
    ------
    ValueError
        If a signal has fewer than ``offset + length`` samples.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> Crop(length=1000, offset=500).fit_transform(X).shape
    (2, 12, 1000)
    """

    parameter_constraints = {
        "length": [Interval(numbers.Integral, 1, None)],
        "offset": [Interval(numbers.Integral, 0, None)],
    }

    tags = {"lazy_input": True}  # row-wise: a memmap or ECGDataset is transformed a chunk at a time

    def __init__(self, length=2500, offset=0):
        self.length = length
        self.offset = offset

    def _check(self, X):
        length, offset = int(self.length), int(self.offset)
        if X.shape[2] < offset + length:
            raise ValueError(
                f"Crop: X has {X.shape[2]} samples per lead but offset + length = {offset + length} are needed"
            )
        return length, offset

    def _fit(self, X):
        self._check(X)
        return self

    def _transform(self, X):
        length, offset = self._check(X)
        return np.ascontiguousarray(X[:, :, offset:offset + length])

    def get_test_data(self, n_ecgs=8, random_state=0):
        return _synthetic(n_ecgs, 2, int(self.length) + int(self.offset) + 100, 500, random_state), {}

    @classmethod
    def get_test_params(cls):
        return [{"length": 400}, {"length": 300, "offset": 50}]


class WindowSegmenter(BaseECGTransformer):
    """Cut every record into windows of ``length`` samples every ``stride`` samples.

    One record becomes ``1 + (n_samples - length) // stride`` rows, record by
    record (record 0's windows first).  **Unsupervised use only**: the number
    of rows changes, so ``y`` and CV groups no longer match; use
    :func:`repeat_for_windows` (or :meth:`repeat`) to repeat them.

    Parameters
    ----------
    length : int, default=1000
        Window length in samples.
    stride : int, optional
        Step between window starts; default ``length`` (no overlap).

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)   # 5000 samples
    >>> seg = WindowSegmenter(length=1000, stride=500).fit(X)
    >>> seg.transform(X).shape, seg.n_windows(5000)
    ((18, 12, 1000), 9)
    >>> seg.repeat([0, 1], n_samples=5000).tolist()[:10]
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    """

    parameter_constraints = {
        "length": [Interval(numbers.Integral, 1, None)],
        "stride": [None, Interval(numbers.Integral, 1, None)],
    }

    def __init__(self, length=1000, stride=None):
        self.length = length
        self.stride = stride

    def _params(self):
        self._validate_params()  # n_windows and repeat work before fit too
        length = int(self.length)
        return length, length if self.stride is None else int(self.stride)

    def n_windows(self, n_samples):
        """Windows cut from a record of ``n_samples`` samples.

        Parameters
        ----------
        n_samples : int
            Record length in samples.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            When the record is shorter than one window.
        """
        length, stride = self._params()
        if n_samples < length:
            raise ValueError(f"WindowSegmenter: records have {n_samples} samples, shorter than length={length}")
        return 1 + (n_samples - length) // stride

    def repeat(self, y_or_groups, n_samples=None):
        """Repeat per-record ``y`` or groups to match the windows of records of ``n_samples`` samples.

        Parameters
        ----------
        y_or_groups : array-like or DataFrame, one row per record
            Targets, groups or conditions of the records.
        n_samples : int, optional
            Record length in samples; default the length seen in ``fit``.

        Returns
        -------
        ndarray or DataFrame with one row per window
        """
        if n_samples is None:
            self._check_fitted()
            n_samples = self.n_timepoints_in_
        return repeat_for_windows(y_or_groups, self.n_windows(n_samples))

    def _fit(self, X):
        self.n_windows(X.shape[2])
        return self

    def _transform(self, X):
        length, stride = self._params()
        n_win = self.n_windows(X.shape[2])
        view = sliding_window_view(X, length, axis=-1)[:, :, ::stride][:, :, :n_win]  # (n, L, W, length)
        return np.ascontiguousarray(view.transpose(0, 2, 1, 3)).reshape(-1, X.shape[1], length)

    def get_test_data(self, n_ecgs=8, random_state=0):
        return _synthetic(n_ecgs, 2, 3 * int(self.length), 500, random_state), {}

    @classmethod
    def get_test_params(cls):
        return [{"length": 250}, {"length": 300, "stride": 100}]


def repeat_for_windows(y_or_groups, n_windows_per_record):
    """Repeat per-record targets or groups so they line up with windows or beats.

    Parameters
    ----------
    y_or_groups : array-like or DataFrame, one row per record
    n_windows_per_record : int or array-like of int
        Windows per record: one number for all records (:class:`WindowSegmenter`)
        or one per record (:meth:`BeatSegmenter.segment` counts).

    Returns
    -------
    ndarray or DataFrame with one row per window

    Examples
    --------
    >>> repeat_for_windows(["a", "b"], 2).tolist()
    ['a', 'a', 'b', 'b']
    >>> repeat_for_windows([1, 2], [1, 3]).tolist()
    [1, 2, 2, 2]
    """
    counts = np.asarray(n_windows_per_record)
    if hasattr(y_or_groups, "iloc"):
        n = len(y_or_groups)
        idx = np.repeat(np.arange(n), counts if counts.ndim else int(counts))
        return y_or_groups.iloc[idx].reset_index(drop=True)
    arr = np.asarray(y_or_groups)
    if counts.ndim and len(counts) != len(arr):
        raise ValueError(f"got {len(counts)} window counts for {len(arr)} records")
    return np.repeat(arr, counts if counts.ndim else int(counts), axis=0)


class _BeatBase(BaseECGTransformer):
    """Shared parameters and beat extraction of :class:`MedianBeat` and :class:`BeatSegmenter`."""

    parameter_constraints = {
        "length": [Interval(numbers.Integral, 2, None)],
        "fs": [RPEAK_SAMPLING_RATE],
        "r_offset": [None, Interval(numbers.Integral, 0, "length", closed="left")],
        "method": [Options("neurokit", "xqrs")],
    }

    def _r_index(self):
        length = int(self.length)
        if self.r_offset is None:
            return min(int(round(0.25 * float(self.fs))), length // 2)
        return int(self.r_offset)

    def _check_length(self, X):
        if X.shape[2] < self.length:
            raise ValueError(f"{type(self).__name__}: records have {X.shape[2]} samples, shorter than one beat "
                             f"(length={self.length})")
        need = min_rpeak_samples(self.fs, self.method, X.shape[1])
        if X.shape[2] < need:
            raise ValueError(f"{type(self).__name__}: records have {X.shape[2]} samples per lead, but finding "
                             f"their R peaks (method={self.method!r}, fs={float(self.fs):g} Hz) needs at least "
                             f"{need} samples")

    def _fit(self, X):
        self.r_index_ = self._r_index()
        self._check_length(X)
        return self

    def _peaks(self, X):
        self._check_length(X)
        return detect_rpeaks(X, self.fs, method=self.method)

    def _cut(self, record, peaks):
        """(n_beats, n_leads, length) complete beat windows of one record (n_leads, n_samples)."""
        r, length, n_samples = self.r_index_, int(self.length), record.shape[-1]
        starts = np.asarray(peaks, dtype=np.int64) - r
        starts = starts[(starts >= 0) & (starts + length <= n_samples)]
        idx = starts[:, None] + np.arange(length)[None, :]
        return np.ascontiguousarray(record[:, idx].transpose(1, 0, 2))

    def _beats(self, X):
        """List over records of (n_beats, n_leads, length) arrays."""
        return [self._cut(X[i], p) for i, p in enumerate(self._peaks(X))]

    def get_test_data(self, n_ecgs=8, random_state=0):
        fs = self.fs if isinstance(self.fs, numbers.Real) and self.fs >= 100 else 500
        return _synthetic(n_ecgs, 2, max(int(4 * fs), 3 * int(self.length)), fs, random_state), {}


def beat_magnitude(beat):
    """QRS magnitude of one beat ``(n_leads, length)``: sum over leads of ``|lead - median| / max``.

    Each lead is centred on its median and scaled by its largest absolute
    value, so every lead weighs the same; the maximum marks the QRS complex.

    Parameters
    ----------
    beat : ndarray of shape (n_leads, length)
        One beat in mV.

    Returns
    -------
    ndarray of shape (length,)

    Examples
    --------
    >>> import numpy as np
    >>> beat = np.zeros((2, 9)); beat[:, 4] = [1.0, -3.0]
    >>> int(np.argmax(beat_magnitude(beat)))
    4
    """
    centred = beat - np.median(beat, axis=-1, keepdims=True)
    a = np.abs(centred)
    scale = a.max(axis=-1, keepdims=True)
    return (a / np.where(scale > 0, scale, 1.0)).sum(axis=0)


class MedianBeat(_BeatBase):
    """One R-peak-aligned median beat per record: ``(n_ecgs, n_leads, length)``.

    R peaks are found with :func:`~ecgsk.preprocessing.detect_rpeaks` (all
    leads vote; the beat is placed at the multi-lead QRS-magnitude maximum),
    every complete beat window is cut out, and the sample-wise median over a
    record's beats is taken.  The template is then re-centred (at most twice,
    by at most 50 ms) so that its own QRS-magnitude maximum
    (:func:`beat_magnitude`) lies exactly at ``r_index_``: the R peak sits at
    index ``r_index_`` of every output: by default ``round(0.25 * fs)`` (index 125 at 500 Hz), leaving
    0.25 s for the P wave before it and ``length - r_index_`` samples (0.55 s
    with the defaults) for the T wave after.  One row per record, so it works
    in supervised pipelines; it is the cVAE's input.

    Parameters
    ----------
    length : int, default=400
        Beat length in samples.
    fs : float, default=500
        Sampling rate in Hz.
    r_offset : int, optional
        Index of the R peak in the beat; default ``min(round(0.25 * fs), length // 2)``.
    method : {"neurokit", "xqrs"}, default="neurokit"
        Single-lead R-peak detector.

    Attributes
    ----------
    r_index_ : int
        Index of the R peak in every output beat.

    Raises
    ------
    ValueError
        If a record is shorter than ``length`` or holds no complete beat.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(3, n_leads=12, random_state=0)
    >>> mb = MedianBeat(length=400, fs=500).fit(X)
    >>> mb.transform(X).shape, mb.r_index_
    ((3, 12, 400), 125)
    """

    tags = {"lazy_input": True}  # row-wise: a memmap or ECGDataset is transformed a chunk at a time

    def __init__(self, length=400, fs=500, r_offset=None, method="neurokit"):
        self.length = length
        self.fs = fs
        self.r_offset = r_offset
        self.method = method

    def _transform(self, X):
        out = np.empty((X.shape[0], X.shape[1], int(self.length)), dtype=np.float32)
        r = self.r_index_
        half = max(1, int(round(0.05 * float(self.fs))))
        lo, hi = max(0, r - half), min(int(self.length), r + half + 1)
        for i, peaks in enumerate(self._peaks(X)):
            beats = self._cut(X[i], peaks)
            if len(beats) == 0:
                raise ValueError(f"MedianBeat: record {i} has no complete beat of length {self.length} "
                                 f"(R peaks found: {len(peaks)}; too few or too close to the edges)")
            median = np.median(beats, axis=0)
            # Re-centre on the template's own fiducial point: the QRS-magnitude
            # maximum of the median beat, searched within +-50 ms of r_index_.
            for _ in range(2):
                shift = lo + int(np.argmax(beat_magnitude(median)[lo:hi])) - r
                if shift == 0:
                    break
                shifted = self._cut(X[i], peaks + shift)
                if len(shifted) == 0:
                    break
                peaks, beats = peaks + shift, shifted
                median = np.median(beats, axis=0)
            out[i] = median
        return out

    @classmethod
    def get_test_params(cls):
        return [{"length": 300}, {"length": 200, "fs": 250, "r_offset": 60}]


class BeatSegmenter(_BeatBase):
    """All complete R-peak-aligned beats of all records, stacked: unsupervised only.

    Rows are beats, record by record; :meth:`segment` also returns each beat's
    record index (use it with :func:`repeat_for_windows` or as CV groups).
    Alignment is as in :class:`MedianBeat` (R peak at ``r_index_``).

    Parameters
    ----------
    length : int, default=400
    fs : float, default=500
    r_offset : int, optional
    method : {"neurokit", "xqrs"}, default="neurokit"

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> seg = BeatSegmenter().fit(X)
    >>> beats, record = seg.segment(X)
    >>> beats.shape[1:], sorted(set(record.tolist()))
    ((12, 400), [0, 1])
    """

    def __init__(self, length=400, fs=500, r_offset=None, method="neurokit"):
        self.length = length
        self.fs = fs
        self.r_offset = r_offset
        self.method = method

    def segment(self, X):
        """Return ``(beats, record_index)``: beats ``(n_beats, n_leads, length)`` and their record numbers.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.

        Returns
        -------
        beats : ndarray of float32, shape (n_beats, n_leads, length)
        record_index : ndarray of int, shape (n_beats,)
            The record each beat comes from (for :func:`repeat_for_windows`
            counts or groups).
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        beats = self._beats(X)
        record = np.concatenate([np.full(len(b), i) for i, b in enumerate(beats)])
        return self._stack(beats, X), record

    def _stack(self, beats, X):
        stacked = np.concatenate(beats, axis=0) if beats else np.empty((0, X.shape[1], self.length), np.float32)
        if len(stacked) == 0:
            raise ValueError("BeatSegmenter: no complete beat found in any record")
        return stacked.astype(np.float32, copy=False)

    def _transform(self, X):
        return self._stack(self._beats(X), X)

    @classmethod
    def get_test_params(cls):
        return [{"length": 300}]
