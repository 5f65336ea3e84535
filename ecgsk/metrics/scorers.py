"""Scorers for ``scoring=`` in scikit-learn model selection.

:class:`ECGScorer`, the ready-made scorers (:data:`reconstruction_pearson_scorer`,
:data:`reconstruction_rmse_scorer`, :data:`generation_mmd_scorer`,
:data:`generation_frechet_scorer`, :data:`concordance_scorer`), :data:`SCORERS`
and :func:`get_scorer`.  All returned values are greater-is-better.
"""

import copy
import numbers

import numpy as np

from ..utils.validation import check_ecg_array
from .distances import frechet_feature_distance, mmd
from .signal import pearson_per_lead, rmse
from .survival import concordance_index

__all__ = [
    "ECGScorer",
    "reconstruction_pearson_scorer",
    "reconstruction_rmse_scorer",
    "generation_mmd_scorer",
    "generation_frechet_scorer",
    "concordance_scorer",
    "get_scorer",
    "SCORERS",
]


# ---------------------------------------------------------------------------
# scorers
# ---------------------------------------------------------------------------
def _estimator_fs(estimator, default=500):
    fs = getattr(estimator, "fs", None)
    if fs is None and hasattr(estimator, "steps"):
        for _, step in reversed(estimator.steps):
            fs = getattr(step, "fs", None)
            if fs is not None:
                break
    return fs if isinstance(fs, numbers.Real) and fs > 0 else default


def _reconstruction_pair(estimator, X, y):
    X = check_ecg_array(X, name="X")
    reference = X if y is None else check_ecg_array(y, n_leads=12, name="y")
    if reference.shape[1] != 12:
        raise ValueError(f"reconstruction scorers need 12-lead references; got {reference.shape[1]} lead(s)")
    estimate = check_ecg_array(estimator.transform(X), n_leads=12, name="transform(X)")
    return reference[:, 1:], estimate[:, 1:]


def _score_reconstruction_pearson(estimator, X, y=None, **kwargs):
    ref, est = _reconstruction_pair(estimator, X, y)
    return float(np.mean(pearson_per_lead(ref, est)))


def _score_reconstruction_rmse(estimator, X, y=None, **kwargs):
    ref, est = _reconstruction_pair(estimator, X, y)
    return rmse(ref, est)


def _generated_like(estimator, X, conditions):
    X = check_ecg_array(X, name="X")
    kwargs = {"random_state": 0}
    if conditions is not None:
        kwargs["conditions"] = conditions
    return X, estimator.sample(len(X), **kwargs)


def _score_generation_mmd(estimator, X, y=None, conditions=None, **kwargs):
    X, generated = _generated_like(estimator, X, conditions)
    return mmd(generated, X, features=True, fs=_estimator_fs(estimator))


def _score_generation_frechet(estimator, X, y=None, conditions=None, **kwargs):
    X, generated = _generated_like(estimator, X, conditions)
    return frechet_feature_distance(X, generated, fs=_estimator_fs(estimator))


def _score_concordance(estimator, X, y=None, conditions=None, **kwargs):
    if y is None:
        raise ValueError("concordance_scorer needs a survival target y")
    kw = {} if conditions is None else {"conditions": conditions}
    if hasattr(estimator, "predict_risk"):
        risk = estimator.predict_risk(X, **kw)
    else:
        risk = estimator.predict(X, **kw)
    return concordance_index(y, risk)


class ECGScorer:
    """A scikit-learn compatible scorer: ``scorer(estimator, X, y=None, **metadata)`` → float.

    Usable wherever scikit-learn accepts ``scoring=`` (``cross_val_score``,
    ``cross_validate``, ``GridSearchCV``).  Following scikit-learn's
    convention the returned value is always *greater-is-better*: metrics where
    lower is better are negated (``sign=-1``), like ``neg_mean_squared_error``.

    **Metadata routing.**  Scorers whose metric can use per-ECG
    ``conditions`` (generation and concordance scorers) request ``conditions``
    for ``score`` by default.  With ``sklearn.set_config(enable_metadata_routing=True)``,
    ``cross_validate(est, X, y, scoring=scorer, params={"conditions": c})``
    then passes the test fold's rows of ``c`` to both ``fit`` (if the
    estimator requests it via ``set_fit_request(conditions=True)``) and the
    scorer, which forwards them to ``sample``/``predict_risk``.  Turn this off
    with ``scorer.set_score_request(conditions=False)``.  Without metadata
    routing, scikit-learn passes no metadata to scorers: conditional
    generators are then sampled without conditions (or fail if they need
    them); score such models by hand in that case.

    Parameters
    ----------
    name : str
    score_func : callable ``(estimator, X, y=None, **metadata) -> float``
    sign : {1, -1}
        Multiplies the metric.
    metadata : tuple of str
        Metadata the scorer requests by default.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> from ecgsk.models.linear import LinearLeadReconstructor
    >>> X = make_synthetic_ecgs(9, n_leads=12, n_samples=1000, random_state=0)
    >>> r = cross_val_score(LinearLeadReconstructor(), X, cv=3, scoring=reconstruction_pearson_scorer)
    >>> bool((r > 0.5).all())
    True
    >>> e = cross_val_score(LinearLeadReconstructor(), X, cv=3, scoring=get_scorer("neg_reconstruction_rmse"))
    >>> bool((e < 0).all())
    True
    """

    def __init__(self, name, score_func, sign=1, metadata=()):
        self.name = name
        self._score_func = score_func
        self._sign = sign
        self._metadata = {m: True for m in metadata}

    def __call__(self, estimator, X, y=None, **kwargs):
        unknown = set(kwargs) - set(self._metadata)
        if unknown:
            raise TypeError(f"{self.name} scorer got unexpected metadata {sorted(unknown)}")
        return self._sign * float(self._score_func(estimator, X, y, **kwargs))

    @property
    def greater_is_better(self):
        """Always True for the returned value; the underlying metric is lower-is-better when ``sign`` is -1."""
        return True

    def set_score_request(self, **kwargs):
        """Request (True), refuse (False) or alias (str) metadata for ``score``.

        Parameters
        ----------
        **kwargs : bool or str
            One entry per metadata name the scorer accepts (e.g.
            ``conditions=True``); any other name raises ``TypeError``.

        Returns
        -------
        self : ECGScorer
        """
        for key, value in kwargs.items():
            if key not in self._metadata:
                raise TypeError(f"{self.name} scorer does not accept metadata {key!r}")
            self._metadata[key] = value
        return self

    def get_metadata_routing(self):
        """The scorer's metadata request (scikit-learn routing protocol)."""
        from sklearn.utils.metadata_routing import MetadataRequest

        request = MetadataRequest(owner=type(self).__name__)
        for key, value in self._metadata.items():
            request.score.add_request(param=key, alias=value)
        return request

    def __repr__(self):
        return f"ECGScorer({self.name!r}, sign={self._sign})"


#: Mean Pearson r over the 11 reconstructed leads (II..V6); higher is better.
#: ``X`` is the 12-lead reference (lead I is read from it), or give the 12-lead
#: reference as ``y`` and any input ``transform`` accepts as ``X``.
reconstruction_pearson_scorer = ECGScorer("reconstruction_pearson", _score_reconstruction_pearson)
#: Negative RMSE (mV) over the 11 reconstructed leads (RMSE: lower is better).
reconstruction_rmse_scorer = ECGScorer("neg_reconstruction_rmse", _score_reconstruction_rmse, sign=-1)
#: Negative feature-space MMD² between ``sample(len(X), random_state=0)`` and ``X``
#: (MMD: lower is better); same value as ``GeneratorMixin.score``.
generation_mmd_scorer = ECGScorer("neg_generation_mmd", _score_generation_mmd, sign=-1, metadata=("conditions",))
#: Negative Fréchet feature distance between ``X`` and ``sample(len(X), random_state=0)``.
generation_frechet_scorer = ECGScorer(
    "neg_generation_frechet", _score_generation_frechet, sign=-1, metadata=("conditions",)
)
#: Harrell's C-index of ``predict_risk(X)`` against the survival target ``y``; higher is better.
concordance_scorer = ECGScorer("concordance", _score_concordance, metadata=("conditions",))

SCORERS = {
    "reconstruction_pearson": reconstruction_pearson_scorer,
    "neg_reconstruction_rmse": reconstruction_rmse_scorer,
    "neg_generation_mmd": generation_mmd_scorer,
    "neg_generation_frechet": generation_frechet_scorer,
    "concordance": concordance_scorer,
}
_ALIASES = {
    "reconstruction_rmse": "neg_reconstruction_rmse",
    "generation_mmd": "neg_generation_mmd",
    "generation_frechet": "neg_generation_frechet",
    "c_index": "concordance",
    "concordance_index": "concordance",
}


def get_scorer(name):
    """Return a fresh copy of an ecgsk scorer by name, or fall back to scikit-learn's.

    ecgsk names: ``"reconstruction_pearson"``, ``"neg_reconstruction_rmse"``
    (alias ``"reconstruction_rmse"``), ``"neg_generation_mmd"`` (alias
    ``"generation_mmd"``), ``"neg_generation_frechet"`` (alias
    ``"generation_frechet"``), ``"concordance"`` (aliases ``"c_index"``,
    ``"concordance_index"``).  Any other string goes to
    :func:`sklearn.metrics.get_scorer`.  All returned values are
    greater-is-better.

    Parameters
    ----------
    name : str
        Scorer name.

    Returns
    -------
    callable
        ``scorer(estimator, X, y=None, **metadata)``.

    Examples
    --------
    >>> get_scorer("reconstruction_rmse")
    ECGScorer('neg_reconstruction_rmse', sign=-1)
    >>> get_scorer("accuracy")
    make_scorer(accuracy_score, response_method='predict')
    """
    if callable(name):
        return name
    key = _ALIASES.get(name, name)
    if key in SCORERS:
        return copy.deepcopy(SCORERS[key])
    from sklearn.metrics import get_scorer as sk_get_scorer

    try:
        return sk_get_scorer(name)
    except ValueError as exc:
        raise ValueError(
            f"unknown scorer {name!r}; ecgsk scorers are {sorted(SCORERS) + sorted(_ALIASES)}, "
            "or use a scikit-learn scorer name"
        ) from exc
