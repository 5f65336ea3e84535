"""Amplitude scaling of ECG batches for training, invertible back to mV (no torch)."""

import numpy as np

from ..base import BaseECGTransformer, InvertibleTransformerMixin
from ..utils.constraints import Options

__all__ = ["AmplitudeScaler"]


class AmplitudeScaler(InvertibleTransformerMixin, BaseECGTransformer):
    """Scale ECG amplitudes for training and map samples back to mV.

    Parameters
    ----------
    method : {"maxabs", "standard"}, default="maxabs"
        ``"maxabs"`` divides by the largest absolute value seen in ``fit``;
        ``"standard"`` subtracts the mean and divides by the standard deviation.
    per_lead : bool, default=True
        One statistic per lead (over records and time) or one for the batch.

    Attributes
    ----------
    center_ : ndarray of shape (1, n_leads or 1, 1)
        Subtracted offset (zeros for ``"maxabs"``).
    scale_ : ndarray of shape (1, n_leads or 1, 1)
        Divisor; a zero statistic becomes 1.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(4, n_leads=12, random_state=0)
    >>> sc = AmplitudeScaler().fit(X)
    >>> float(np.abs(sc.transform(X)).max())
    1.0
    >>> bool(np.allclose(sc.inverse_transform(sc.transform(X)), X, atol=1e-5))
    True
    """

    parameter_constraints = {"method": [Options("maxabs", "standard")], "per_lead": [bool]}

    def __init__(self, method="maxabs", per_lead=True):
        self.method = method
        self.per_lead = per_lead

    def _fit(self, X):
        axes = (0, 2) if self.per_lead else (0, 1, 2)
        X64 = X.astype(np.float64)
        if self.method == "maxabs":
            center = np.zeros((1, X.shape[1] if self.per_lead else 1, 1))
            scale = np.abs(X64).max(axis=axes, keepdims=True)
        else:
            center = X64.mean(axis=axes, keepdims=True)
            scale = X64.std(axis=axes, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
        self.center_ = center.astype(np.float32)
        self.scale_ = scale.astype(np.float32)
        return self

    def _transform(self, X):
        return ((X - self.center_) / self.scale_).astype(np.float32)

    def _inverse_transform(self, X):
        return (X * self.scale_ + self.center_).astype(np.float32)

    @classmethod
    def get_test_params(cls):
        return [{}, {"method": "standard", "per_lead": False}]
