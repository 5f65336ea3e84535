"""Tiny honest estimators used by the core tests (no torch)."""

import numpy as np
from sklearn.base import BaseEstimator

from ecgsk.base import BaseECGTransformer, InvertibleTransformerMixin, ReconstructorMixin, RiskMixin


class GainScaler(InvertibleTransformerMixin, BaseECGTransformer):
    """Divides every lead by its fitted max-abs amplitude."""

    def _fit(self, X):
        self.scale_ = np.abs(X).max(axis=(0, 2)) + 1e-6

    def _transform(self, X):
        return X / self.scale_[None, :, None]

    def _inverse_transform(self, X):
        return X * self.scale_[None, :, None]


class LeastSquaresReconstructor(ReconstructorMixin, BaseEstimator):
    """Each lead as a least-squares multiple of lead I."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit(self, X, y=None, *, rng):
        lead_i = X[:, :1]
        self.coef_ = (X * lead_i).sum(axis=(0, 2)) / max(float((lead_i**2).sum()), 1e-12)

    def _transform(self, X):
        return X * self.coef_[None, :, None]


class AmplitudeRisk(RiskMixin, BaseEstimator):
    """Risk = a fitted sign times the mean absolute amplitude of the first lead."""

    tags = {"conditional": True}

    def __init__(self, lead=0):
        self.lead = lead

    def _fit(self, X, y, *, rng, conditions=None):
        event, time = y
        amp = np.abs(X[:, self.lead]).mean(axis=1)
        self.sign_ = -1.0 if np.corrcoef(amp, time)[0, 1] > 0 else 1.0

    def _predict_risk(self, X, conditions):
        risk = self.sign_ * np.abs(X[:, self.lead]).mean(axis=1)
        if conditions is not None:
            risk = risk + 0.0 * conditions.to_numpy(dtype=float).sum(axis=1)
        return risk
