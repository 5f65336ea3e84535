"""Mixins, tags and the one validation helper every ecgsk estimator uses.

The public methods (``fit``, ``sample``, ``transform``, ``predict_risk``,
``score``) live here.  They validate input against the data contract of
DESIGN.md section 1, check fitted state, and then call a private hook that a
model implements: ``_fit``, ``_sample``, ``_transform``, ``_predict_risk``.
A model file therefore holds its network, its loss and its hooks, and no
validation code.

This module never imports torch.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

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


def check_ecg_array(X, *, n_leads=None, min_samples=1, name="X", copy=False):
    """Validate an ECG batch and return it as float32 ``(n_ecgs, n_leads, n_samples)``.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        ECGs in millivolts.  A 2-D array is single-lead and is promoted to
        ``(n_ecgs, 1, n_samples)``.
    n_leads : int or sequence of int, optional
        The accepted number(s) of leads.
    min_samples : int, default=1
        The shortest accepted signal, in samples.
    name : str, default="X"
        Name used in error messages.
    copy : bool, default=False
        Force a copy even when no conversion is needed.

    Returns
    -------
    ndarray of float32, shape (n_ecgs, n_leads, n_samples)

    Raises
    ------
    TypeError
        For non-numeric data (as NumPy does).
    ValueError
        For 1-D or >3-D input, an empty batch, NaN/inf values, the wrong number
        of leads or too few samples.  The message says what was expected and
        what was received.

    Examples
    --------
    >>> import numpy as np
    >>> check_ecg_array(np.zeros((4, 500))).shape
    (4, 1, 500)
    """
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise ValueError(f"{name}: sparse input is not supported; pass a dense array of ECGs in mV")
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(
            f"{name} must be an array of shape (n_ecgs, n_leads, n_samples); could not convert it: {exc}"
        ) from exc
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} must be real-valued; got dtype {arr.dtype}")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold numbers (millivolts); got dtype object: {exc}") from exc
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers (millivolts); got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, None, :]
    elif arr.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_ecgs, n_leads, n_samples), or (n_ecgs, n_samples) for a "
            f"single lead; got a {arr.ndim}-D array of shape {arr.shape}. Reshape your data, e.g. "
            "X[None, None, :] for one single-lead ECG"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least 1 ECG, got shape {arr.shape}")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(
            f"{name} has no leads or no samples: got shape {arr.shape}; "
            f"0 feature(s) (shape=({arr.shape[0]}, 0)) while a minimum of 1 is required."
        )
    if n_leads is not None:
        allowed = (n_leads,) if isinstance(n_leads, numbers.Integral) else tuple(n_leads)
        if arr.shape[1] not in allowed:
            expected = allowed[0] if len(allowed) == 1 else " or ".join(map(str, allowed))
            raise ValueError(
                f"{name} has {arr.shape[1]} lead(s) but {expected} lead(s) were expected "
                f"(shape received: {arr.shape}; layout is (n_ecgs, n_leads, n_samples))"
            )
    if arr.shape[2] < min_samples:
        raise ValueError(
            f"{name} has {arr.shape[2]} samples per lead but at least {min_samples} are needed "
            f"(shape received: {arr.shape})"
        )
    arr = arr.astype(np.float32, copy=copy)
    if not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); expected finite millivolts")
    return np.ascontiguousarray(arr)


def check_n_samples(n_samples):
    """Validate the number of ECGs to generate."""
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples}")
    return int(n_samples)


def check_survival_target(y, n_expected=None):
    """Return ``(event, time)`` arrays from a survival target.

    Parameters
    ----------
    y : structured array with fields ``event`` and ``time``, or array of shape (n, 2)
        The scikit-survival layout, or a 2-column array ``(event, time)``.
    n_expected : int, optional
        Number of rows required (the number of ECGs).

    Returns
    -------
    event : ndarray of bool, shape (n,)
    time : ndarray of float64, shape (n,)

    Examples
    --------
    >>> event, time = check_survival_target([[1, 5.0], [0, 3.0]])
    >>> event.tolist(), time.tolist()
    ([True, False], [5.0, 3.0])
    """
    if y is None:
        raise ValueError("a survival target y is required: a structured array (event, time) or an (n, 2) array")
    arr = np.asarray(y)
    if arr.dtype.names is not None:
        names = {n.lower(): n for n in arr.dtype.names}
        if "event" not in names or "time" not in names:
            raise ValueError(f"structured survival target needs fields 'event' and 'time'; got {arr.dtype.names}")
        event, time = arr[names["event"]], arr[names["time"]]
    else:
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(
                f"survival target must be a structured array (event, time) or shape (n, 2); got shape {arr.shape}"
            )
        event, time = arr[:, 0], arr[:, 1]
    event_f = np.asarray(event, dtype=float)
    if not np.isin(event_f, (0.0, 1.0)).all():
        raise ValueError("survival event indicators must be 0/1 or boolean")
    time = np.asarray(time, dtype=np.float64)
    if not np.isfinite(time).all() or (time < 0).any():
        raise ValueError("survival times must be finite and non-negative")
    if n_expected is not None and len(time) != n_expected:
        raise ValueError(f"survival target has {len(time)} rows but X has {n_expected} ECGs")
    return event_f.astype(bool), time


def check_conditions(conditions, n_expected=None, *, allow_broadcast=False):
    """Validate per-record covariates and return them as a pandas DataFrame.

    Parameters
    ----------
    conditions : DataFrame or array-like of shape (n, n_covariates)
        One row per ECG.
    n_expected : int, optional
        Number of rows required.
    allow_broadcast : bool, default=False
        Accept a single row and repeat it ``n_expected`` times (one subject,
        many samples).
    """
    import pandas as pd

    if conditions is None:
        raise ValueError("this model needs `conditions`: a DataFrame or 2-D array with one row per ECG")
    if isinstance(conditions, pd.Series):
        conditions = conditions.to_frame().T if n_expected == 1 or allow_broadcast else conditions.to_frame()
    if isinstance(conditions, pd.DataFrame):
        frame = conditions.reset_index(drop=True)
    else:
        arr = np.asarray(conditions)
        if arr.ndim == 1:
            arr = arr[None, :] if allow_broadcast else arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"conditions must be 2-D (n_ecgs, n_covariates); got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[f"c{i}" for i in range(arr.shape[1])])
    if len(frame) == 0:
        raise ValueError("conditions is empty; expected one row per ECG")
    if n_expected is not None and len(frame) != n_expected:
        if allow_broadcast and len(frame) == 1:
            frame = pd.concat([frame] * n_expected, ignore_index=True)
        else:
            raise ValueError(f"conditions has {len(frame)} rows but {n_expected} were expected (one per ECG)")
    return frame


def _reject_sample_weight(sample_weight):
    if sample_weight is not None:
        raise ValueError("sample_weight is not supported by ecgsk scores; pass None")


def check_int_param(value, name, minimum=1, *, owner=None):
    """Check an integer hyper-parameter and return it as ``int``.

    Parameters
    ----------
    value : object
        The parameter's value; booleans are refused.
    name : str
        The parameter's name, for the error message.
    minimum : int, default=1
        Smallest accepted value.
    owner : str, optional
        Class or function name prefixed to the message.

    Raises
    ------
    ValueError
        If ``value`` is not an integer ``>= minimum``.

    Examples
    --------
    >>> check_int_param(3, "latent_dim")
    3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_float_param(value, name, minimum=0.0, *, strict=False, maximum=None, allow_none=False):
    """Check a real hyper-parameter and return it as ``float`` (or None).

    Parameters
    ----------
    value : object
        The parameter's value; booleans, NaN and infinities are refused.
    name : str
        The parameter's name, for the error message.
    minimum : float, default=0.0
        Lower bound, included unless ``strict``.
    strict : bool, default=False
        Require ``value > minimum``.
    maximum : float, optional
        Exclusive upper bound.
    allow_none : bool, default=False
        Accept None (and return it), for "use the default" parameters.

    Raises
    ------
    ValueError
        If ``value`` is out of range or not a finite real number.

    Examples
    --------
    >>> check_float_param(0.5, "validation_fraction", strict=True, maximum=1.0)
    0.5
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    ok = ok and (value > minimum if strict else value >= minimum) and (maximum is None or value < maximum)
    if not ok:
        bound = f"> {minimum}" if strict else f">= {minimum}"
        upper = f" and < {maximum}" if maximum is not None else ""
        none = "None or " if allow_none else ""
        raise ValueError(f"{name} must be {none}a finite number {bound}{upper}; got {value!r}")
    return float(value)


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

        _reject_sample_weight(sample_weight)
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

        _reject_sample_weight(sample_weight)
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

        _reject_sample_weight(sample_weight)
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
