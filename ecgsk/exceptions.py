"""Exceptions and warnings of ecgsk (layer 1: imports nothing from ecgsk).

- :class:`ECGFileError`: a file that cannot be read as an ECG.
- :class:`TrainingDivergedError`: a training loss became NaN or infinite.
- :class:`NotFittedError`: scikit-learn's, re-exported.
"""

from sklearn.exceptions import NotFittedError

__all__ = ["ECGFileError", "TrainingDivergedError", "NotFittedError"]


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
