"""Parameter constraints shared by the preprocessing transformers (no torch).

These are accepted forms for the ``parameter_constraints`` dicts that
:class:`~ecgsk.base.BaseECGTransformer` checks at the start of ``fit`` (see
:mod:`ecgsk.utils.constraints`).  Rules that relate two parameters (a cutoff
below the Nyquist frequency ``fs / 2``) read the other one from the
estimator's parameters; when that one is itself invalid the rule is skipped,
and the other parameter's own constraint reports it.
"""

import math
import numbers

import numpy as np

from ..utils.constraints import Satisfies


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)


def _is_positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) and value >= 1


#: A positive, finite sampling rate in Hz.
SAMPLING_RATE = Satisfies(lambda value, params: _is_real(value) and value > 0, "a positive sampling rate in Hz")

#: A sampling rate high enough for R-peak detection (neurokit2's and XQRS's filters need fs >= 100 Hz).
RPEAK_SAMPLING_RATE = Satisfies(lambda value, params: _is_real(value) and value >= 100,
                                "a sampling rate in Hz with fs >= 100 (needed for R-peak detection)")


def frequency_below_nyquist(below=None):
    """A positive frequency in Hz under the Nyquist frequency ``fs / 2`` (and under parameter ``below``).

    Parameters
    ----------
    below : str, optional
        Another parameter (a frequency) that the value must also lie under,
        when that parameter is a number.
    """
    def ok(value, params):
        if not (_is_real(value) and value > 0):
            return False
        fs = params.get("fs")
        if _is_real(fs) and fs > 0 and value >= fs / 2:
            return False
        other = params.get(below) if below else None
        return not (_is_real(other) and value >= other)

    words = "a positive frequency in Hz below the Nyquist frequency fs / 2"
    return Satisfies(ok, words + (f" and below {below}" if below else ""))


def harmonics_below_nyquist():
    """A positive integer ``k`` whose harmonic ``k * freq`` lies under ``fs / 2``."""
    def ok(value, params):
        if not _is_positive_int(value):
            return False
        freq, fs = params.get("freq"), params.get("fs")
        return not (_is_real(freq) and _is_real(fs) and value * freq >= fs / 2)

    return Satisfies(ok, "a positive integer k with harmonic k * freq below the Nyquist frequency fs / 2")
