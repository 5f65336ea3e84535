"""The smallest honest generative model, used as a floor and in pipeline checks."""

from sklearn.base import BaseEstimator

from ..base import GeneratorMixin

__all__ = ["GaussianECGGenerator"]


class GaussianECGGenerator(GeneratorMixin, BaseEstimator):
    """A per-sample Gaussian generator: the smallest honest generative model.

    It learns the mean and standard deviation of every (lead, time) sample and
    draws independent Gaussians.  Used as the final step when checking
    transformers in pipelines, and as a floor in benchmarks.

    Parameters
    ----------
    random_state : int, RandomState or None, default=None
        Makes ``sample`` reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> gen = GaussianECGGenerator(random_state=0).fit(np.zeros((3, 2, 10)))
    >>> gen.sample(2).shape
    (2, 2, 10)
    """

    parameter_constraints = {"random_state": ["random_state"]}

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit(self, X, y=None, *, rng):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0)

    def _sample(self, n_samples, conditions, rng):
        noise = rng.standard_normal((n_samples,) + self.mean_.shape)
        return self.mean_ + self.std_ * noise

    def score(self, X, y=None, conditions=None, sample_weight=None):
        """Negative MMD on features (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            Real ECGs in mV.
        y : None
            Ignored.
        conditions : None
            Ignored (the model is unconditional).
        sample_weight : None
            Only ``None`` is accepted.

        Returns
        -------
        float
        """
        return super().score(X, y, conditions=conditions, sample_weight=sample_weight)

    def _validate_ecg(self, X, *, reset, n_leads=None, name="X"):
        X = super()._validate_ecg(X, reset=reset, n_leads=n_leads, name=name)
        if not reset and X.shape[2] != self.mean_.shape[1]:
            raise ValueError(f"X has {X.shape[2]} samples per lead but the model was fitted on {self.mean_.shape[1]}")
        return X
