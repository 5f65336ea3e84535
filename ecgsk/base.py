"""Mixins, tags and the one validation helper every ecgsk estimator uses.

The public methods (``fit``, ``sample``, ``transform``, ``predict_risk``,
``score``) live here.  They validate input against the data contract of
DESIGN.md section 1, check fitted state, and then call a private hook that a
model implements: ``_fit``, ``_sample``, ``_transform``, ``_predict_risk``.
A model file therefore holds its network, its loss and its hooks, and no
validation code.

This module never imports torch.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .utils.validation import (
    check_conditions,
    check_ecg_array,
    check_float_param,
    check_int_param,
    check_n_samples,
    check_survival_target,
    reject_sample_weight,
)

__all__ = [
    "check_ecg_array",
    "check_survival_target",
    "check_conditions",
    "check_n_samples",
    "ECGEstimatorMixin",
    "GeneratorMixin",
    "ReconstructorMixin",
    "RiskMixin",
    "BaseECGTransformer",
    "InvertibleTransformerMixin",
    "NotFittedError",
]


class ECGEstimatorMixin:
    """Shared behaviour of all ecgsk estimators: tags, input checks, RNG streams.

    Subclasses may set the class attributes

    - ``_n_leads_fit``: the lead count(s) ``fit`` accepts (``None`` for any),
    - ``_min_samples``: the shortest accepted signal,
    - ``_length_param``: the parameter that fixes the signal length, if any,
    - ``_accepts_conditions``: whether ``conditions`` may be given.
    """

    _n_leads_fit = None
    _min_samples = 1
    _length_param = None
    _accepts_conditions = False
    _requires_conditions = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = False
        return tags

    # -- validation ---------------------------------------------------------
    def _expected_fit_leads(self):
        n_leads = getattr(self, "n_leads", None)
        if isinstance(n_leads, numbers.Integral) and not isinstance(n_leads, bool):
            return int(n_leads)
        return self._n_leads_fit

    def _required_length(self, reset):
        """The signal length this estimator needs, or None for any length.

        Models whose networks have a fixed input length name the parameter in
        the class attribute ``_length_param`` (``"length"``, ``"beat_length"``
        ...); after fitting, the fitted length is required.
        """
        if self._length_param is None:
            return None
        if not reset and getattr(self, "n_timepoints_in_", None) is not None:
            return self.n_timepoints_in_
        return getattr(self, self._length_param, None)

    def _validate_ecg(self, X, *, reset, n_leads=None, name="X"):
        """Check X; on ``reset`` record ``n_features_in_`` (the number of leads)."""
        if n_leads is None:
            n_leads = self._expected_fit_leads() if reset else self.n_features_in_
        X = check_ecg_array(X, n_leads=n_leads, min_samples=self._min_samples, name=name)
        length = self._required_length(reset)
        if length is not None and X.shape[2] != length:
            raise ValueError(
                f"{name} has {X.shape[2]} samples per lead but {type(self).__name__} expects exactly {length} "
                f"({self._length_param}={getattr(self, self._length_param, None)}; shape received: {X.shape}). "
                "Segment or crop the ECGs first (ecgsk.preprocessing.Crop, WindowSegmenter, BeatSegmenter, "
                f"MedianBeat), or change {self._length_param}"
            )
        if reset:
            self.n_features_in_ = X.shape[1]
            self.n_timepoints_in_ = X.shape[2]
        return X

    def _check_conditions_arg(self, conditions, n, *, allow_broadcast=False):
        if conditions is None:
            if self._requires_conditions:
                raise ValueError(f"{type(self).__name__} needs `conditions` (one row per ECG)")
            return None
        if not self._accepts_conditions:
            raise ValueError(
                f"{type(self).__name__} does not use `conditions`; got a value for it. "
                "Pass conditions only to conditional models."
            )
        return check_conditions(conditions, n, allow_broadcast=allow_broadcast)

    def _check_fitted(self):
        check_is_fitted(self, "n_features_in_")

    def _start_rngs(self):
        """Seed the fit RNG and the stream that ``sample(random_state=None)`` draws from."""
        rng = check_random_state(getattr(self, "random_state", None))
        fit_seed, sample_seed = rng.randint(0, 2**31 - 1, size=2)
        self._sample_rng_ = np.random.RandomState(sample_seed)
        return np.random.RandomState(fit_seed)

    # -- testing hooks ------------------------------------------------------
    @classmethod
    def get_test_params(cls):
        """Small parameter sets that fit in seconds on a CPU (override in models)."""
        return [{}]

    def _get_test_data(self, n_ecgs=8, random_state=0):
        """Return ``(X, fit_params)`` suitable for fitting this estimator in tests.

        The default builds synthetic ECGs whose lead count and length follow the
        estimator's parameters (``n_leads``, ``length``, ``segment_length`` or
        ``beat_length``); models with other needs override it.
        """
        from .datasets import make_synthetic_ecgs

        n_leads = self._expected_fit_leads()
        if not isinstance(n_leads, numbers.Integral):
            n_leads = 1 if n_leads is None else tuple(n_leads)[0]
        length = None
        for attr in ("length", "segment_length", "beat_length", "window"):
            value = getattr(self, attr, None)
            if isinstance(value, numbers.Integral):
                length = int(value)
                break
        fs = getattr(self, "fs", 500) or 500
        if length is None:
            length = max(int(fs), self._min_samples)
        X = make_synthetic_ecgs(n_ecgs, n_leads=n_leads, fs=fs, n_samples=length, random_state=random_state)
        fit_params = {}
        rng = np.random.RandomState(random_state)
        if self._requires_conditions:
            import pandas as pd

            fit_params["conditions"] = pd.DataFrame(
                {"age": rng.uniform(20, 80, n_ecgs), "sex": rng.randint(0, 2, n_ecgs)}
            )
        if isinstance(self, RiskMixin):
            time = rng.exponential(10.0, n_ecgs)
            event = rng.rand(n_ecgs) < 0.7
            event[:2] = True
            fit_params["y"] = np.column_stack([event, time])
        return X, fit_params


class GeneratorMixin(ECGEstimatorMixin):
    """Mixin for generative models: ``fit(X)`` then ``sample(n_samples)``.

    ``score(X)`` is the negative RBF MMD between ``sample(len(X))`` and ``X``
    on ECG features (higher is better).
    """

    _estimator_type = "generator"

    def fit(self, X, y=None, conditions=None):
        """Fit the generator on ECGs in mV.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
        y : ignored
        conditions : DataFrame or array-like, optional
            Per-ECG covariates, for conditional models only.

        Returns
        -------
        self
        """
        X = self._validate_ecg(X, reset=True)
        conditions = self._check_conditions_arg(conditions, len(X))
        rng = self._start_rngs()
        fit_params = {} if conditions is None else {"conditions": conditions}
        self._fit(X, y, rng=rng, **fit_params)
        return self

    def sample(self, n_samples=1, *, conditions=None, random_state=None):
        """Generate ECGs.

        Parameters
        ----------
        n_samples : int, default=1
            How many ECGs to generate.
        conditions : DataFrame or array-like, optional
            Covariates for conditional models; a single row is repeated.
        random_state : int, RandomState or None
            ``None`` draws from the estimator's own stream, seeded in ``fit``
            from ``random_state``, so that identically fitted models produce
            identical sequences of samples.

        Returns
        -------
        ndarray of float32, shape (n_samples, n_leads, n_timepoints)
            ECGs in mV.
        """
        self._check_fitted()
        n_samples = check_n_samples(n_samples)
        conditions = self._check_conditions_arg(conditions, n_samples, allow_broadcast=True)
        rng = self._sample_rng_ if random_state is None else check_random_state(random_state)
        out = self._sample(n_samples, conditions, rng)
        return np.asarray(out, dtype=np.float32)

    def score(self, X, y=None, conditions=None, sample_weight=None):
        """Negative feature-space RBF MMD between samples and ``X`` (higher is better).

        ``sample_weight`` exists so that scikit-learn's Pipeline can route
        metadata; weights are not supported and must be None.
        """
        from .metrics import mmd

        reject_sample_weight(sample_weight)
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        conditions = self._check_conditions_arg(conditions, len(X))
        generated = self.sample(len(X), conditions=conditions, random_state=0)
        return -float(mmd(generated, X, features=True))

    def _fit(self, X, y=None, *, rng, **fit_params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample(self, n_samples, conditions, rng):  # pragma: no cover - abstract
        raise NotImplementedError


class ReconstructorMixin(ECGEstimatorMixin):
    """Mixin for lead-I -> 12-lead reconstruction.

    ``fit`` takes 12-lead ECGs; ``transform`` takes lead I as ``(n, 1, T)`` or a
    12-lead batch (lead I is read from it) and returns ``(n, 12, T)``.
    ``score`` is the mean Pearson r over the 11 reconstructed leads.
    """

    _estimator_type = "reconstructor"
    _n_leads_fit = 12

    def fit(self, X, y=None):
        """Learn the map from lead I to the other leads from 12-lead ECGs in mV."""
        X = self._validate_ecg(X, reset=True)
        rng = self._start_rngs()
        self._fit(X, y, rng=rng)
        return self

    def transform(self, X):
        """Reconstruct 12 leads from lead I.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, 1, T) or (n_ecgs, 12, T)

        Returns
        -------
        ndarray of float32, shape (n_ecgs, 12, T)
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False, n_leads=(1, self.n_features_in_))
        lead_i = X[:, :1, :]
        out = np.asarray(self._transform(lead_i), dtype=np.float32)
        # Lead I is known exactly; never return a modified copy of it.
        out[:, 0, :] = lead_i[:, 0, :]
        return out

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Mean Pearson r over the 11 reconstructed leads (higher is better).

        ``sample_weight`` must be None (it exists for Pipeline metadata routing).
        """
        from .metrics import pearson_per_lead

        reject_sample_weight(sample_weight)
        self._check_fitted()
        X = self._validate_ecg(X, reset=False, n_leads=self.n_features_in_)
        return float(np.mean(pearson_per_lead(X[:, 1:], self.transform(X)[:, 1:])))

    def _fit(self, X, y=None, *, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


class RiskMixin(ECGEstimatorMixin):
    """Mixin for risk models: ``fit(X, y)`` with a survival target, ``predict_risk(X)``.

    A higher risk means an earlier event; ``score`` is Harrell's C-index.
    """

    _estimator_type = "risk"

    def fit(self, X, y, conditions=None):
        """Fit on ECGs and a survival target ``y`` (structured ``(event, time)`` or ``(n, 2)``)."""
        X = self._validate_ecg(X, reset=True)
        event, time = check_survival_target(y, len(X))
        conditions = self._check_conditions_arg(conditions, len(X))
        rng = self._start_rngs()
        fit_params = {} if conditions is None else {"conditions": conditions}
        self._fit(X, (event, time), rng=rng, **fit_params)
        return self

    def predict_risk(self, X, conditions=None):
        """Risk scores of shape (n_ecgs,); higher means an earlier event."""
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        conditions = self._check_conditions_arg(conditions, len(X))
        return np.asarray(self._predict_risk(X, conditions), dtype=np.float64).reshape(len(X))

    def predict(self, X, conditions=None):
        """Alias of :meth:`predict_risk`."""
        return self.predict_risk(X, conditions=conditions)

    def score(self, X, y, conditions=None, sample_weight=None):
        """Harrell's C-index of the predicted risk (higher is better).

        ``sample_weight`` must be None (it exists for Pipeline metadata routing).
        """
        from .metrics import concordance_index

        reject_sample_weight(sample_weight)
        risk = self.predict_risk(X, conditions=conditions)
        return float(concordance_index(y, risk))

    def _fit(self, X, y, *, rng, **fit_params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_risk(self, X, conditions):  # pragma: no cover - abstract
        raise NotImplementedError


class BaseECGTransformer(ECGEstimatorMixin, TransformerMixin, BaseEstimator):
    """Base for preprocessing transformers over ``(n, leads, T)`` batches in mV.

    Subclasses implement ``_fit(X)`` (optional; stateless by default) and
    ``_transform(X)``, and ``_inverse_transform(X)`` where invertible.
    """

    def fit(self, X, y=None):
        """Validate ``X`` and learn any state; returns ``self``."""
        X = self._validate_ecg(X, reset=True)
        self._fit(X)
        return self

    def transform(self, X):
        """Apply the transform to a batch in mV."""
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        return self._transform(X)

    def _fit(self, X):
        return self

    def _transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


class InvertibleTransformerMixin:
    """Adds ``inverse_transform`` to a :class:`BaseECGTransformer` with ``_inverse_transform``.

    Put it first in the bases: ``class Scaler(InvertibleTransformerMixin, BaseECGTransformer)``.
    The lead count accepted is ``_n_leads_inverse()``, by default the fitted one.
    """

    def _n_leads_inverse(self):
        return self.n_features_in_

    def inverse_transform(self, X):
        """Map transformed ECGs back to the input space (in mV)."""
        self._check_fitted()
        X = check_ecg_array(X, n_leads=self._n_leads_inverse(), name="X")
        return self._inverse_transform(X)

    def _inverse_transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError
