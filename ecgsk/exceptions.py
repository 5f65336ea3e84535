"""Exceptions and warnings of ecgsk (layer 1: imports nothing from ecgsk).

- :class:`ECGFileError`: a file that cannot be read as an ECG.
- :class:`ModelFileError`: a file that cannot be read as a saved ecgsk estimator.
- :class:`TrainingDivergedError`: a training loss became NaN or infinite.
- :class:`NotFittedError`: scikit-learn's, re-exported.
- :class:`PluginWarning`: an ``ecgsk.models`` entry point could not be loaded.
- :class:`UnitsWarning`: an ECG batch looks like microvolts rather than millivolts.
"""

__all__ = ["ECGFileError", "ModelFileError", "TrainingDivergedError", "NotFittedError", "PluginWarning",
           "UnitsWarning"]


class ECGFileError(ValueError):
    """A file that cannot be read as an ECG: corrupt, truncated or malformed.

    The message always names the file.

    Examples
    --------
    >>> try:
    ...     raise ECGFileError("rec.asc: expected 8 integers per line")
    ... except ValueError as exc:
    ...     print(exc)
    rec.asc: expected 8 integers per line
    """


class ModelFileError(ValueError):
    """A file that cannot be read as a saved ecgsk estimator.

    Raised by :func:`ecgsk.load`, ``Estimator.load`` and
    :func:`ecgsk.io.read_estimator_file` for a missing, empty, truncated or
    corrupt file, a file that is not an ecgsk model file (a pickle, a zip
    archive such as a ``torch.save`` checkpoint, random bytes), a newer file
    format version, a model class that is unknown or not the one asked for,
    and tensors that do not fit the model (wrong shape, missing or extra
    keys).  The message always names the file and says what is wrong.

    Examples
    --------
    >>> try:
    ...     raise ModelFileError("model.ecgsk: the file is empty")
    ... except ValueError as exc:
    ...     print(exc)
    model.ecgsk: the file is empty
    """


class TrainingDivergedError(RuntimeError):
    """A training loss became NaN or infinite.

    Parameters
    ----------
    message : str
        What diverged.
    epoch, step : int, optional
        Where it happened (epochs count from 1, steps within the epoch from 0).
    key : str, optional
        The name of the logged loss that was not finite.
    """

    def __init__(self, message, *, epoch=None, step=None, key=None):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.key = key


class PluginWarning(UserWarning):
    """An ``ecgsk.models`` entry point could not be loaded; the other plugins are unaffected.

    The message names the model, its distribution and the error.  Also
    re-exported as ``ecgsk.registry.PluginWarning``.
    """


class UnitsWarning(UserWarning):
    """An ECG batch whose amplitudes look like microvolts, not millivolts.

    Raised by :func:`ecgsk.utils.validation.check_ecg_array` (once per call)
    when the median absolute peak-to-peak amplitude over the leads exceeds
    50 mV, which no real ECG reaches; divide such data by 1000.
    """


def __getattr__(name):
    # scikit-learn's NotFittedError is re-exported lazily: importing scikit-learn costs about a second,
    # and ``import ecgsk`` (which loads this module through the registry) must stay fast
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
