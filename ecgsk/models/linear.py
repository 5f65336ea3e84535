"""Linear lead-I -> 12-lead reconstruction: ridge regression on lagged lead-I samples.

The floor that learned reconstructors (:class:`~ecgsk.models.ekgan.EKGAN`,
:class:`~ecgsk.models.ekgan.Pix2PixReconstructor`) must beat.  NumPy only.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator

from ..base import Interval, ReconstructorMixin
from ..datasets.dataset import is_lazy_ecg
from ..leads import derive_12_from_8

__all__ = ["LinearLeadReconstructor"]

# Positions of the independent leads II, V1..V6 in LEADS_12.
_INDEPENDENT = [1, 6, 7, 8, 9, 10, 11]


def _lags(n_lags, max_lag):
    if n_lags == 1:
        return np.zeros(1, dtype=int)
    return np.unique(np.round(np.linspace(-max_lag, max_lag, n_lags)).astype(int))


def _lagged(lead_i, lags):
    """Lagged copies of lead I, shape (n, T, n_lags); edges are reflected (clamped if short)."""
    n, T = lead_i.shape
    pad = int(np.abs(lags).max()) if len(lags) else 0
    if pad:
        mode = "reflect" if T > pad else "edge"
        lead_i = np.pad(lead_i, ((0, 0), (pad, pad)), mode=mode)
    idx = np.arange(T)[:, None] + pad + lags[None, :]
    return lead_i[:, idx]


class LinearLeadReconstructor(ReconstructorMixin, BaseEstimator):
    """Ridge regression from a window of lagged lead-I samples to the other leads.

    At each time ``t`` the features are lead I at ``t + lag`` for ``n_lags``
    lags spread evenly over ``[-max_lag, max_lag]`` samples (standardised with
    statistics learned in ``fit``).  One closed-form ridge regression per
    independent lead (II, V1-V6) is solved on all time points of all training
    records; III, aVR, aVL and aVF are then derived by Einthoven/Goldberger
    from lead I and the predicted lead II, so the output is consistent.  This
    is a linear FIR filter from lead I to each lead: it captures the average
    projection of the cardiac dipole, nothing record-specific.

    Parameters
    ----------
    n_lags : int, default=31
        Number of lagged lead-I samples per feature vector.
    max_lag : int, default=60
        Largest lag in samples (60 samples = 120 ms at 500 Hz).
    alpha : float, default=1e-3
        Ridge penalty, relative to the number of training time points (the
        penalty is ``alpha * n_points`` on standardised features, whose
        Gram diagonal is about ``n_points``), so that its effect does not
        depend on the amount of data.
    fs : float, default=500
        Sampling rate in Hz (recorded; the lags are in samples).
    chunk_size : int, default=32
        Records processed at once when accumulating the normal equations;
        bounds memory.  A memory-mapped array or an
        :class:`~ecgsk.datasets.ECGDataset` is read this many records at a
        time, never whole: one pass for the lead-I mean and standard
        deviation (combined over chunks in float64), one for the normal
        equations.

    Attributes
    ----------
    lags_ : ndarray of int
        The lags used, in samples.
    coef_ : ndarray of shape (7, n_lags)
        Weights for II, V1-V6 on the standardised lagged lead I.
    intercept_ : ndarray of shape (7,)
        Intercepts in mV.
    x_mean_, x_scale_ : float
        Lead-I normalisation learned in ``fit``.
    n_features_in_ : int
        Number of leads seen in ``fit`` (12).

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, random_state=0)
    >>> rec = LinearLeadReconstructor().fit(X)
    >>> rec.transform(X[:, :1]).shape
    (8, 12, 5000)
    >>> rec.score(X) > 0.5
    True
    """

    tags = {"lazy_input": True}
    parameter_constraints = {
        "n_lags": [Interval(Integral, 1, None)],
        "max_lag": [Interval(Integral, 0, None)],
        "alpha": [Interval(Real, 0, None)],
        "fs": [Interval(Real, 0, None, closed="neither")],
        "chunk_size": [Interval(Integral, 1, None)],
    }

    def __init__(self, n_lags=31, max_lag=60, alpha=1e-3, fs=500, chunk_size=32):
        self.n_lags = n_lags
        self.max_lag = max_lag
        self.alpha = alpha
        self.fs = fs
        self.chunk_size = chunk_size

    @classmethod
    def get_test_params(cls):
        return [{"n_lags": 5, "max_lag": 8}, {"n_lags": 1, "max_lag": 0, "alpha": 0.1}]

    def _lead_i_moments(self, X):
        """Mean and standard deviation of lead I over all records: at once for an array, else over chunks."""
        if not is_lazy_ecg(X):
            lead_i = X[:, 0].astype(np.float64)
            return float(lead_i.mean()), float(lead_i.std())
        count, mean, m2 = 0, 0.0, 0.0
        for start in range(0, len(X), self.chunk_size):
            part = np.asarray(X[start:start + self.chunk_size])[:, 0].astype(np.float64)
            n, m = part.size, float(part.mean())
            total = count + n
            delta = m - mean  # Chan et al.'s pairwise update of the mean and the sum of squared deviations
            mean += delta * n / total
            m2 += float(((part - m) ** 2).sum()) + delta**2 * count * n / total
            count = total
        return mean, math.sqrt(m2 / count)

    def _fit(self, X, y=None, *, rng):
        lags = _lags(self.n_lags, self.max_lag)
        mean, std = self._lead_i_moments(X)
        self.x_mean_ = mean
        self.x_scale_ = std or 1.0
        k = len(lags)
        # Normal equations with an intercept column, accumulated chunk by chunk (a memmap or ECGDataset is
        # read one chunk at a time).
        gram = np.zeros((k + 1, k + 1))
        cross = np.zeros((k + 1, len(_INDEPENDENT)))
        for start in range(0, len(X), self.chunk_size):
            records = np.asarray(X[start:start + self.chunk_size])
            lead_i = records[:, 0].astype(np.float64)
            feats = _lagged((lead_i - self.x_mean_) / self.x_scale_, lags)
            feats = feats.reshape(-1, k)
            feats = np.hstack([feats, np.ones((len(feats), 1))])
            tgt = records[:, _INDEPENDENT].astype(np.float64).transpose(0, 2, 1).reshape(-1, len(_INDEPENDENT))
            gram += feats.T @ feats
            cross += feats.T @ tgt
        n_points = gram[-1, -1]
        penalty = np.full(k + 1, float(self.alpha) * n_points)
        penalty[-1] = 0.0  # the intercept is not penalised
        solution = np.linalg.solve(gram + np.diag(penalty) + 1e-9 * np.eye(k + 1), cross)
        self.lags_ = lags
        self.coef_ = solution[:-1].T.astype(np.float64)
        self.intercept_ = solution[-1].astype(np.float64)
        return self

    def _transform(self, X):
        lead_i = X[:, 0].astype(np.float64)
        n, T = lead_i.shape
        out8 = np.empty((n, 8, T), dtype=np.float32)
        out8[:, 0] = lead_i
        for start in range(0, n, self.chunk_size):
            feats = _lagged((lead_i[start:start + self.chunk_size] - self.x_mean_) / self.x_scale_, self.lags_)
            pred = feats @ self.coef_.T + self.intercept_  # (chunk, T, 7)
            out8[start:start + self.chunk_size, 1:] = pred.transpose(0, 2, 1)
        return derive_12_from_8(out8)
