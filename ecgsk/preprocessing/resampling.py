"""Polyphase resampling of ECG batches (no torch)."""

from fractions import Fraction

import numpy as np
from scipy import signal

from ..base import BaseECGTransformer, InvertibleTransformerMixin
from ._constraints import SAMPLING_RATE

__all__ = ["Resample"]


def _ratio(fs_out, fs):
    ratio = Fraction(str(float(fs_out))) / Fraction(str(float(fs)))
    ratio = ratio.limit_denominator(1000)
    return ratio.numerator, ratio.denominator


class Resample(InvertibleTransformerMixin, BaseECGTransformer):
    """Change the sampling rate with polyphase filtering (:func:`scipy.signal.resample_poly`).

    The output has ``ceil(n_samples * fs_out / fs)`` samples per lead at
    ``fs_out`` Hz; downstream steps must be given ``fs=fs_out``.  The whole
    batch is resampled in one call along the last axis.  ``inverse_transform``
    resamples back to ``fs`` (for example, a model trained at 250 Hz returns
    its samples at 500 Hz in a pipeline); its output has
    ``ceil(n_samples * fs / fs_out)`` samples, which for non-integer ratios
    may exceed the original length by one sample.

    Parameters
    ----------
    fs_out : float
        Output sampling rate in Hz.
    fs : float, default=500
        Input sampling rate in Hz.

    Attributes
    ----------
    fs_out_ : float
        The output sampling rate.
    up_, down_ : int
        The rational ratio ``fs_out / fs = up_ / down_`` (denominator at most 1000).

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)   # 500 Hz, 10 s
    >>> rs = Resample(fs_out=250).fit(X)
    >>> rs.transform(X).shape, rs.fs_out_
    ((2, 12, 2500), 250.0)
    """

    parameter_constraints = {"fs_out": [SAMPLING_RATE], "fs": [SAMPLING_RATE]}

    def __init__(self, fs_out=250, fs=500):
        self.fs_out = fs_out
        self.fs = fs

    def _fit(self, X):
        fs, fs_out = float(self.fs), float(self.fs_out)
        self.up_, self.down_ = _ratio(fs_out, fs)
        self.fs_out_ = fs_out
        return self

    @staticmethod
    def _resample(X, up, down):
        if up == down:
            return X.copy()
        out = signal.resample_poly(X, up, down, axis=-1)
        return np.ascontiguousarray(out, dtype=np.float32)

    def _transform(self, X):
        return self._resample(X, self.up_, self.down_)

    def _inverse_transform(self, X):
        return self._resample(X, self.down_, self.up_)

    @classmethod
    def get_test_params(cls):
        return [{"fs_out": 250}, {"fs_out": 360, "fs": 500}]
