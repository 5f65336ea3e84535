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

from .utils.constraints import Interval, Options, Satisfies, validate_params
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
    "ESTIMATOR_TAGS",
    "get_tags",
    "get_parameter_constraints",
    "Interval",
    "Options",
    "Satisfies",
    "check_int_param",
    "check_float_param",
]


#: The tag vocabulary: name -> (default, meaning).  Tags not listed here are an error.
ESTIMATOR_TAGS = {
    "kind": ((), "what the estimator is: a tuple of 'generator', 'reconstructor', 'risk', 'transformer'"),
    "conditional": (False, "fit/sample/predict_risk accept per-ECG `conditions` (a DataFrame)"),
    "requires_conditions": (False, "`conditions` must be given"),
    "n_leads": (None, "lead count(s) fit accepts: None for any, an int or a tuple; an `n_leads` parameter overrides"),
    "min_samples": (1, "the shortest accepted signal, in samples"),
    "min_fit_ecgs": (1, "the fewest ECGs fit accepts (e.g. 2 for batch norm)"),
    "fixed_length_param": (None, "the parameter that fixes the input length, or None for any length"),
    "non_deterministic": (False, "fit is not reproducible under random_state (the determinism check is skipped)"),
    "python_dependencies": ((), "Python packages the model needs beyond ecgsk's core, e.g. ('torch',)"),
    "requires_fit": (True, "the estimator must be fitted before use"),
}


def _check_tag_names(owner, tags):
    if not isinstance(tags, dict):
        raise TypeError(f"{owner}.tags must be a dict of tag name -> value; got {type(tags).__name__}")
    unknown = sorted(set(tags) - set(ESTIMATOR_TAGS))
    if unknown:
        raise TypeError(f"{owner} declares unknown tag(s) {unknown}; known tags: {sorted(ESTIMATOR_TAGS)}")


def get_tags(estimator):
    """Return the tags of an estimator class or instance, defaults filled in.

    Tags are declared in the class attribute ``tags`` (a dict) and merged along
    the class hierarchy, the most derived class winning; ``kind`` is the union
    of the kinds of all the mixins.  Objects without ecgsk mixins get the
    defaults.

    Examples
    --------
    >>> from ecgsk.testing import GaussianECGGenerator
    >>> get_tags(GaussianECGGenerator)["kind"]
    ('generator',)
    """
    cls = estimator if isinstance(estimator, type) else type(estimator)
    tags = {name: default for name, (default, _) in ESTIMATOR_TAGS.items()}
    kinds = []
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("tags")
        if isinstance(declared, dict):
            for kind in declared.get("kind", ()):
                if kind not in kinds:
                    kinds.append(kind)
            tags.update(declared)
    tags["kind"] = tuple(kinds)
    return tags


def get_parameter_constraints(estimator):
    """The declared parameter constraints of a class or instance, merged along its hierarchy."""
    cls = estimator if isinstance(estimator, type) else type(estimator)
    merged = {}
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("parameter_constraints")
        if isinstance(declared, dict):
            merged.update(declared)
    return merged


class ECGEstimatorMixin:
    """Shared behaviour of all ecgsk estimators: tags, declared parameters, input checks, RNG streams.

    Subclasses declare

    - ``tags``: a dict over the vocabulary :data:`ESTIMATOR_TAGS` (an unknown
      name is a ``TypeError`` when the class is defined);
    - ``parameter_constraints``: a dict from parameter name to accepted forms
      (:mod:`ecgsk.utils.constraints`), checked at the start of every ``fit``.
    """

    tags = {}
    parameter_constraints = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _check_tag_names(cls.__name__, cls.__dict__.get("tags", {}))
        constraints = cls.__dict__.get("parameter_constraints", {})
        if not isinstance(constraints, dict):
            raise TypeError(f"{cls.__name__}.parameter_constraints must be a dict; got {type(constraints).__name__}")

    @classmethod
    def get_tags(cls):
        """This estimator's tags (see :func:`ecgsk.base.get_tags`)."""
        return get_tags(cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = bool(get_tags(self)["non_deterministic"])
        tags.requires_fit = bool(get_tags(self)["requires_fit"])
        return tags

    def _validate_params(self):
        """Check the constructor parameters against ``parameter_constraints`` (called by ``fit``)."""
        validate_params(self.get_params(deep=False), get_parameter_constraints(self), owner=type(self).__name__)

    # -- validation ---------------------------------------------------------
    def _expected_fit_leads(self):
        n_leads = getattr(self, "n_leads", None)
        if isinstance(n_leads, numbers.Integral) and not isinstance(n_leads, bool):
            return int(n_leads)
        return get_tags(self)["n_leads"]

    def _required_length(self, reset):
        """The signal length this estimator needs, or None for any length.

        Models whose networks have a fixed input length name the parameter in
        the tag ``fixed_length_param`` (``"length"``, ``"beat_length"`` ...);
        after fitting, the fitted length is required.
        """
        param = get_tags(self)["fixed_length_param"]
        if param is None:
            return None
        if not reset and getattr(self, "n_timepoints_in_", None) is not None:
            return self.n_timepoints_in_
        return getattr(self, param, None)

    def _validate_ecg(self, X, *, reset, n_leads=None, name="X"):
        """Check X; on ``reset`` record ``n_features_in_`` (the number of leads)."""
        if n_leads is None:
            n_leads = self._expected_fit_leads() if reset else self.n_features_in_
        tags = get_tags(self)
        X = check_ecg_array(X, n_leads=n_leads, min_samples=tags["min_samples"], name=name)
        if reset and len(X) < tags["min_fit_ecgs"]:
            raise ValueError(f"{type(self).__name__} needs at least {tags['min_fit_ecgs']} ECGs to fit; got {len(X)}")
        length = self._required_length(reset)
        if length is not None and X.shape[2] != length:
            raise ValueError(
                f"{name} has {X.shape[2]} samples per lead but {type(self).__name__} expects exactly {length} "
                f"({tags['fixed_length_param']}={getattr(self, tags['fixed_length_param'], None)}; "
                f"shape received: {X.shape}). Segment or crop the ECGs first (ecgsk.preprocessing.Crop, "
                f"WindowSegmenter, BeatSegmenter, MedianBeat), or change {tags['fixed_length_param']}"
            )
        if reset:
            self.n_features_in_ = X.shape[1]
            self.n_timepoints_in_ = X.shape[2]
        return X

    def _check_conditions_arg(self, conditions, n, *, allow_broadcast=False):
        tags = get_tags(self)
        if conditions is None:
            if tags["requires_conditions"]:
                raise ValueError(f"{type(self).__name__} needs `conditions` (one row per ECG)")
            return None
        if not tags["conditional"]:
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

    def get_test_data(self, n_ecgs=8, random_state=0):
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
            length = max(int(fs), get_tags(self)["min_samples"])
        X = make_synthetic_ecgs(n_ecgs, n_leads=n_leads, fs=fs, n_samples=length, random_state=random_state)
        fit_params = {}
        rng = np.random.RandomState(random_state)
        if get_tags(self)["requires_conditions"]:
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

    tags = {"kind": ("generator",)}

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
        self._validate_params()
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

    def iter_samples(self, n_samples, *, batch_size=64, conditions=None, random_state=None, integers=False):
        """Generate ECGs batch by batch, for outputs larger than memory.

        Parameters
        ----------
        n_samples : int
            How many ECGs to generate in all.
        batch_size : int, default=64
            ECGs per yielded batch (the last one may be smaller).
        conditions : DataFrame or array-like, optional
            Covariates for conditional models: one row (repeated) or one row
            per ECG.
        random_state : int, RandomState or None
            As in :meth:`sample`; one stream runs through all the batches.
        integers : bool, default=False
            Yield the model's native integer output in microvolts (int32)
            instead of float32 millivolts.  Models whose networks define an
            integer scale (Pulse2Pulse's ``int(output * 6000)``) yield exactly
            those integers; others yield ``ecgsk.io.mv_to_asc_microvolts`` of
            their millivolts.

        Yields
        ------
        ndarray of shape (batch, n_leads, n_timepoints)

        Examples
        --------
        >>> import numpy as np
        >>> from ecgsk.testing import GaussianECGGenerator
        >>> gen = GaussianECGGenerator(random_state=0).fit(np.zeros((3, 2, 10)))
        >>> [b.shape[0] for b in gen.iter_samples(5, batch_size=2)]
        [2, 2, 1]
        """
        self._check_fitted()
        n_samples = check_n_samples(n_samples)
        batch_size = check_int_param(batch_size, "batch_size")
        conditions = self._check_conditions_arg(conditions, n_samples, allow_broadcast=True)
        rng = self._sample_rng_ if random_state is None else check_random_state(random_state)
        for raw in self._sample_batches(n_samples, conditions, rng, batch_size):
            if integers:
                yield np.asarray(self._raw_to_microvolts(raw), dtype=np.int32)
                continue
            batch = np.asarray(self._raw_to_mv(raw), dtype=np.float32)
            if not np.isfinite(batch).all():
                raise ValueError(f"{type(self).__name__} generated non-finite values; the model has diverged")
            yield batch

    def _sample_batches(self, n_samples, conditions, rng, batch_size):
        """Yield raw output batches; by default one :meth:`_sample_raw` call per batch."""
        done = 0
        while done < n_samples:
            size = min(batch_size, n_samples - done)
            part = None if conditions is None else conditions.iloc[done:done + size].reset_index(drop=True)
            yield self._sample_raw(size, part, rng)
            done += size

    def _sample_raw(self, n_samples, conditions, rng):
        """The network's raw output for one batch; by default :meth:`_sample` in mV."""
        return self._sample(n_samples, conditions, rng)

    def _raw_to_mv(self, raw):
        """Raw output to float32 millivolts (identity by default)."""
        return raw

    def _raw_to_microvolts(self, raw):
        """Raw output to integer microvolts (truncated toward zero, as deepfake-ecg writes them)."""
        from .io import mv_to_asc_microvolts

        mv = np.asarray(self._raw_to_mv(raw), dtype=np.float32)
        if not np.isfinite(mv).all():
            raise ValueError(f"{type(self).__name__} generated non-finite values; the model has diverged")
        return mv_to_asc_microvolts(mv)

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

    tags = {"kind": ("reconstructor",), "n_leads": 12}

    def fit(self, X, y=None):
        """Learn the map from lead I to the other leads from 12-lead ECGs in mV."""
        self._validate_params()
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

    tags = {"kind": ("risk",)}

    def fit(self, X, y, conditions=None):
        """Fit on ECGs and a survival target ``y`` (structured ``(event, time)`` or ``(n, 2)``)."""
        self._validate_params()
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

    tags = {"kind": ("transformer",)}

    def fit(self, X, y=None):
        """Validate ``X`` and learn any state; returns ``self``."""
        self._validate_params()
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
