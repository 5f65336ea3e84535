"""Conformance checks for ECG estimators, each a separate function.

Plugin authors run the same checks as the built-in models::

    from ecgsk.testing import check_estimator, parametrize_with_checks

    table = check_estimator(MyModel)          # every parameter set of get_test_params()
    print(table)                              # check -> passed / failed / skipped, with reasons

    @parametrize_with_checks([MyModel])       # one pytest test per check
    def test_ecgsk_compatible(estimator, check):
        check(estimator)

Every check takes one estimator instance, raises :class:`AssertionError`
(message starting with the check's name) when a rule is broken, and raises
:class:`SkipCheck` when the estimator's tags make it inapplicable.
"""

import copy
import functools
import os
import pickle
import tempfile
import warnings

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from sklearn.preprocessing import FunctionTransformer

from ..base import ESTIMATOR_TAGS, get_parameter_constraints, get_tags
from ..pipeline import ECGPipeline
from ..utils.validation import check_ecg_array
from .gaussian import GaussianECGGenerator

__all__ = ["check_estimator", "parametrize_with_checks", "CheckTable", "SkipCheck", "CHECKS"]

_KINDS = ("generator", "reconstructor", "risk", "transformer")


class SkipCheck(Exception):
    """A check that does not apply to this estimator; the message says why."""


class CheckTable(dict):
    """Check name -> ``{"status": "passed"|"failed"|"skipped", "reason": str}``.

    ``str(table)`` is a readable table; :attr:`failed` lists the failures.
    """

    @property
    def failed(self):
        return [name for name, row in self.items() if row["status"] == "failed"]

    @property
    def passed(self):
        return [name for name, row in self.items() if row["status"] == "passed"]

    @property
    def skipped(self):
        return [name for name, row in self.items() if row["status"] == "skipped"]

    def __str__(self):
        width = max((len(name) for name in self), default=5)
        lines = [f"{'check':<{width}}  status   reason"]
        lines += [f"{name:<{width}}  {row['status']:<7}  {row['reason']}" for name, row in self.items()]
        return "\n".join(lines)


def _fail(check, message):
    raise AssertionError(f"[{check}] {message}")


def _kind(est):
    kinds = get_tags(est)["kind"] if hasattr(est, "get_tags") else ()
    for kind in ("risk", "reconstructor", "generator", "transformer"):
        if kind in kinds:
            return kind
    if hasattr(est, "transform"):
        return "transformer"
    _fail("kind", f"{type(est).__name__} declares none of the kinds {_KINDS} in its tags")


def _sample_conditions(fit_params):
    conditions = fit_params.get("conditions")
    return {} if conditions is None else {"conditions": conditions.iloc[:1]}


def _all_conditions(fit_params):
    conditions = fit_params.get("conditions")
    return {} if conditions is None else {"conditions": conditions}


def _output(est, kind, X, fit_params):
    """The estimator's main output, for comparisons."""
    if kind == "generator":
        return est.sample(3, random_state=0, **_sample_conditions(fit_params))
    if kind == "risk":
        return est.predict_risk(X, **_all_conditions(fit_params))
    return est.transform(X)


def _consume(est, kind, X, fit_params):
    """Call the method that reads ECGs after fitting."""
    if kind == "risk":
        return est.predict_risk(X, **_all_conditions(fit_params))
    if kind == "generator":
        return est.score(X, **_all_conditions(fit_params))
    return est.transform(X)


def _equal(a, b, atol=1e-5):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=1e-5, equal_nan=True)


def _params_equal(p1, p2):
    if p1.keys() != p2.keys():
        return False
    for key in p1:
        a, b = p1[key], p2[key]
        if isinstance(a, BaseEstimator):
            continue
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            if not np.array_equal(np.asarray(a), np.asarray(b)):
                return False
        elif a is not b and a != b:
            return False
    return True


def _fit(est, X, fit_params):
    params = dict(fit_params)
    y = params.pop("y", None)
    return est.fit(X, **params) if y is None else est.fit(X, y, **params)


def _test_data(est, random_state=0):
    if hasattr(est, "get_test_data"):
        X, fit_params = est.get_test_data(n_ecgs=8, random_state=random_state)
    else:  # a third-party transformer without our mixins
        from ..datasets import make_synthetic_ecgs

        X, fit_params = make_synthetic_ecgs(8, n_leads=1, n_samples=1000, random_state=random_state), {}
    return check_ecg_array(X), fit_params


# One fitted copy per checked instance, shared by the checks that only read it.
_FITTED = {}


def _fitted(est):
    key = id(est)
    cached = _FITTED.get(key)
    if cached is not None and cached[0] is est:
        return cached[1:]
    X, fit_params = _test_data(est)
    fitted = _fit(clone(est), X, fit_params)
    _FITTED.clear()  # keep one entry: checks of one instance run together
    _FITTED[key] = (est, fitted, X, fit_params)
    return fitted, X, fit_params


# -- the checks -------------------------------------------------------------------
def check_clone_and_params(est):
    """clone, get_params and set_params round-trip; __init__ stores parameters unchanged."""
    name = type(est).__name__
    params = est.get_params(deep=False)
    try:
        cloned = clone(est)
    except Exception as exc:
        _fail("check_clone_and_params", f"clone({name}) failed: {type(exc).__name__}: {exc}")
    if not _params_equal(cloned.get_params(deep=False), params):
        _fail("check_clone_and_params", f"clone({name}) does not reproduce get_params()")
    if hasattr(cloned, "n_features_in_"):
        _fail("check_clone_and_params", f"clone({name}) carries fitted state n_features_in_")
    cloned.set_params(**params)
    if not _params_equal(cloned.get_params(deep=False), params):
        _fail("check_clone_and_params", "set_params(**get_params()) changed the parameters")
    for key, value in params.items():
        stored = getattr(est, key, object())
        if stored is not value and not isinstance(value, np.ndarray) and stored != value:
            _fail("check_clone_and_params", f"{name}.{key} is not stored unchanged by __init__")


def check_get_test_params(est):
    """get_test_params() returns a non-empty list of dicts that construct the estimator."""
    cls = est if isinstance(est, type) else type(est)
    if not hasattr(cls, "get_test_params"):
        _fail("check_get_test_params", f"{cls.__name__} must define the classmethod get_test_params()")
    test_params = cls.get_test_params()
    if not isinstance(test_params, list) or not all(isinstance(p, dict) for p in test_params):
        _fail("check_get_test_params", "get_test_params() must return a list of dicts")
    if not test_params:
        _fail("check_get_test_params", f"{cls.__name__}.get_test_params() yields no test instance")
    for params in test_params:
        cls(**params)


def check_tags(est):
    """Tags come from the checked vocabulary, declare a kind, and sklearn sees 3-D input."""
    tags = get_tags(est)
    unknown = set(tags) - set(ESTIMATOR_TAGS)
    if unknown:
        _fail("check_tags", f"unknown tags {sorted(unknown)}")
    if not tags["kind"] or not set(tags["kind"]) <= set(_KINDS):
        _fail("check_tags", f"tag 'kind' must name one or more of {_KINDS}; got {tags['kind']!r}")
    if not est.__sklearn_tags__().input_tags.three_d_array:
        _fail("check_tags", "__sklearn_tags__().input_tags.three_d_array must be True")
    length_param = tags["fixed_length_param"]
    if length_param is not None and length_param not in est.get_params(deep=False):
        _fail("check_tags", f"fixed_length_param={length_param!r} is not a parameter")


def check_parameter_constraints(est):
    """Constraints name real parameters, accept the defaults, and fit rejects a bad value by name."""
    constraints = get_parameter_constraints(est)
    if not constraints:
        raise SkipCheck("declares no parameter_constraints")
    params = est.get_params(deep=False)
    missing = sorted(set(constraints) - set(params))
    if missing:
        _fail("check_parameter_constraints", f"constraints declared for non-parameters {missing}")
    est._validate_params()  # the test parameters themselves must be valid
    X, fit_params = _test_data(est)
    bad = object()  # no declared form accepts a bare object
    for name, accepted in constraints.items():
        if accepted == "no_validation" or object in accepted:
            continue
        try:
            _fit(clone(est).set_params(**{name: bad}), X, fit_params)
        except ValueError as exc:
            if name not in str(exc):
                _fail("check_parameter_constraints", f"the error for a bad {name} does not name it: {exc}")
        except Exception as exc:
            _fail("check_parameter_constraints",
                  f"fit with a bad {name} raised {type(exc).__name__}, expected ValueError: {exc}")
        else:
            _fail("check_parameter_constraints", f"fit accepted an invalid {name}={bad!r}")


def check_not_fitted(est):
    """Using an unfitted estimator raises NotFittedError."""
    if not get_tags(est)["requires_fit"]:
        raise SkipCheck("tag requires_fit=False: usable without fit")
    X, fit_params = _test_data(est)
    try:
        _output(clone(est), _kind(est), X, fit_params)
    except NotFittedError:
        return
    except Exception as exc:
        _fail("check_not_fitted", f"raised {type(exc).__name__} instead of NotFittedError: {exc}")
    _fail("check_not_fitted", "an unfitted estimator did not raise NotFittedError")


def check_fit(est):
    """fit returns self, mutates neither its parameters nor X, and records n_features_in_ (leads)."""
    X, fit_params = _test_data(est)
    fresh = clone(est)
    before = copy.deepcopy(fresh.get_params(deep=False))
    X_before = X.copy()
    if _fit(fresh, X, fit_params) is not fresh:
        _fail("check_fit", "fit must return self")
    if not _params_equal(fresh.get_params(deep=False), before):
        _fail("check_fit", "fit changed its constructor parameters")
    if not np.array_equal(X, X_before):
        _fail("check_fit", "fit modified X in place")
    if getattr(fresh, "n_features_in_", None) != X.shape[1]:
        _fail("check_fit", f"n_features_in_ should be the number of leads {X.shape[1]}, "
                           f"got {getattr(fresh, 'n_features_in_', None)}")


def check_output(est):
    """The main output is finite, float and of the contract's shape."""
    fitted, X, fit_params = _fitted(est)
    kind = _kind(est)
    out = np.asarray(_output(fitted, kind, X, fit_params))
    if not np.isfinite(out).all():
        _fail("check_output", "produced NaN or inf")
    if kind == "generator" and (out.ndim != 3 or out.shape[0] != 3 or out.dtype != np.float32):
        _fail("check_output", f"sample(3) must be float32 (3, leads, T); got {out.dtype} {out.shape}")
    if kind == "reconstructor" and out.shape != (len(X), 12, X.shape[2]):
        _fail("check_output", f"transform must return {(len(X), 12, X.shape[2])}; got {out.shape}")
    if kind == "risk" and out.shape != (len(X),):
        _fail("check_output", f"predict_risk must return shape ({len(X)},); got {out.shape}")
    if kind == "transformer" and out.ndim != 3:
        _fail("check_output", f"transform must return a 3-D batch; got shape {out.shape}")


def check_sample_random_state(est):
    """sample(random_state=0) is repeatable and iter_samples yields the requested batches."""
    if _kind(est) != "generator":
        raise SkipCheck("not a generator")
    fitted, X, fit_params = _fitted(est)
    cond = _sample_conditions(fit_params)
    if not _equal(fitted.sample(3, random_state=0, **cond), fitted.sample(3, random_state=0, **cond)):
        _fail("check_sample_random_state", "sample(random_state=0) gave different ECGs on two calls")
    batches = list(fitted.iter_samples(5, batch_size=2, random_state=0, **cond))
    if [len(b) for b in batches] != [2, 2, 1] or not all(np.isfinite(b).all() for b in batches):
        _fail("check_sample_random_state", "iter_samples(5, batch_size=2) must yield finite batches of 2, 2, 1")
    again = list(fitted.iter_samples(5, batch_size=2, random_state=0, **cond))
    if not all(_equal(a, b) for a, b in zip(batches, again)):
        _fail("check_sample_random_state", "iter_samples(random_state=0) is not repeatable")


def check_pickle(est):
    """Outputs are unchanged by a pickle round trip."""
    fitted, X, fit_params = _fitted(est)
    kind = _kind(est)
    restored = pickle.loads(pickle.dumps(fitted))
    if not _equal(_output(fitted, kind, X, fit_params), _output(restored, kind, X, fit_params)):
        _fail("check_pickle", "outputs differ after a pickle round trip")


def check_save_load(est):
    """save writes one file, and Cls.load gives back the estimator with identical outputs and sample stream."""
    cls = type(est)
    if not callable(getattr(est, "save", None)) or not callable(getattr(cls, "load", None)):
        raise SkipCheck(f"{cls.__name__} has no save/load (it does not use ecgsk's mixins)")
    fitted, X, fit_params = _fitted(est)
    kind = _kind(est)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.ecgsk")
        try:
            fitted.save(path)
        except NotImplementedError as exc:
            raise SkipCheck(f"save is not implemented: {exc}") from exc
        loaded = cls.load(path)
    if type(loaded) is not cls:
        _fail("check_save_load", f"load returned a {type(loaded).__name__}, not a {cls.__name__}")
    if not _params_equal(fitted.get_params(deep=False), loaded.get_params(deep=False)):
        _fail("check_save_load", "get_params() differs after save/load")
    same = _equal if get_tags(est)["non_deterministic"] else (lambda a, b: np.array_equal(a, b, equal_nan=True))
    if not same(_output(fitted, kind, X, fit_params), _output(loaded, kind, X, fit_params)):
        _fail("check_save_load", "outputs differ after save/load")
    if kind == "generator":
        # the default stream (sample(random_state=None)) continues where the saved one stood
        reference = pickle.loads(pickle.dumps(fitted))
        cond = _sample_conditions(fit_params)
        if not same(reference.sample(2, **cond), loaded.sample(2, **cond)):
            _fail("check_save_load", "the default sample stream differs after save/load")


def check_determinism(est):
    """Two fits with random_state=0 give identical outputs (and identical default sample streams)."""
    if get_tags(est)["non_deterministic"]:
        raise SkipCheck("tag non_deterministic=True")
    params = est.get_params(deep=False)
    kind = _kind(est)
    if "random_state" not in params and kind == "generator":
        raise SkipCheck("generator without a random_state parameter")
    X, fit_params = _test_data(est)
    seed = {"random_state": 0} if "random_state" in params else {}
    e1 = _fit(clone(est).set_params(**seed), X, fit_params)
    e2 = _fit(clone(est).set_params(**seed), X, fit_params)
    if not _equal(_output(e1, kind, X, fit_params), _output(e2, kind, X, fit_params)):
        _fail("check_determinism", "two fits with random_state=0 give different outputs")
    if kind == "generator":
        cond = _sample_conditions(fit_params)
        if not _equal(e1.sample(2, **cond), e2.sample(2, **cond)):
            _fail("check_determinism", "sample() without random_state differs between identically fitted models")


def check_bad_input(est):
    """1-D, 4-D, NaN, inf and empty input raise ValueError in fit and in the fitted methods."""
    fitted, X, fit_params = _fitted(est)
    kind = _kind(est)
    mask = np.arange(X.size).reshape(X.shape) == 5
    bad_inputs = {"1-D": X[0, 0], "4-D": X[None], "NaN": np.where(mask, np.nan, X),
                  "inf": np.where(mask, np.inf, X), "empty": X[:0]}
    for label, bad in bad_inputs.items():
        params = fit_params if label != "empty" else {
            k: (v[:0] if hasattr(v, "__len__") else v) for k, v in fit_params.items()}
        for where, call in (("fit", lambda: _fit(clone(est), bad, params)),
                            (f"{kind} method", lambda: _consume(fitted, kind, bad, fit_params))):
            try:
                call()
            except ValueError:
                continue
            except Exception as exc:
                _fail("check_bad_input", f"{where} on {label} input raised {type(exc).__name__}, "
                                         f"expected ValueError: {exc}")
            _fail("check_bad_input", f"{where} on {label} input did not raise ValueError")


def check_wrong_leads(est):
    """A fitted estimator rejects a batch with the wrong number of leads, saying so."""
    fitted, X, fit_params = _fitted(est)
    n = X.shape[1]
    bad = 5 if _kind(est) == "reconstructor" else (n + 1 if n + 1 != 12 else n + 2)
    wrong = np.zeros((len(X), bad, X.shape[2]), np.float32) + X[:, :1]
    try:
        _consume(fitted, _kind(est), wrong, fit_params)
    except ValueError as exc:
        if "lead" not in str(exc):
            _fail("check_wrong_leads", f"the wrong-lead-count error should mention leads; got: {exc}")
        return
    _fail("check_wrong_leads", f"input with {bad} leads (fitted on {n}) did not raise ValueError")


def _pipeline(est, fit_params):
    identity = FunctionTransformer(validate=False)
    if _kind(est) == "transformer":
        steps = [("identity", identity), ("step", clone(est)), ("model", GaussianECGGenerator(random_state=0))]
        return ECGPipeline(steps), {}
    routed = {f"model__{k}": v for k, v in fit_params.items() if k != "y"}
    return ECGPipeline([("identity", identity), ("model", clone(est))]), routed


def check_pipeline(est):
    """The estimator works as a step of ECGPipeline with the same results."""
    fitted, X, fit_params = _fitted(est)
    kind = _kind(est)
    pipe, pipe_params = _pipeline(est, fit_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        pipe.fit(X, fit_params.get("y"), **pipe_params)
    out = _output(fitted, kind, X, fit_params)
    if kind == "generator":
        if np.asarray(pipe.sample(2, **_sample_conditions(fit_params))).shape[0] != 2:
            _fail("check_pipeline", "ECGPipeline.sample(2) did not return 2 ECGs")
    elif kind == "risk":
        if not _equal(pipe.predict_risk(X, **_all_conditions(fit_params)), out):
            _fail("check_pipeline", "predict_risk through an identity ECGPipeline differs from the bare estimator")
    else:
        transformed = pipe.transform(X) if kind == "reconstructor" else pipe[:-1].transform(X)
        if not _equal(transformed, out, atol=1e-4):
            _fail("check_pipeline", "transform through an identity ECGPipeline differs from the bare estimator")


def check_cross_val_score(est):
    """cross_val_score runs, routing conditions through metadata routing, and gives finite scores."""
    X, fit_params = _test_data(est)
    cv_est = clone(est) if _kind(est) != "transformer" else _pipeline(est, fit_params)[0]
    routed = {k: v for k, v in fit_params.items() if k != "y"}
    with config_context(enable_metadata_routing=bool(routed)):
        if routed:
            cv_est.set_fit_request(**{k: True for k in routed})
            cv_est.set_score_request(**{k: True for k in routed})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            scores = cross_val_score(cv_est, X, fit_params.get("y"), cv=KFold(2, shuffle=True, random_state=0),
                                     params=routed or None, error_score="raise")
    if not np.isfinite(scores).all():
        _fail("check_cross_val_score", f"cross_val_score gave non-finite scores {scores}")


#: Every check, in the order check_estimator runs them.
CHECKS = (
    check_clone_and_params,
    check_get_test_params,
    check_tags,
    check_parameter_constraints,
    check_not_fitted,
    check_fit,
    check_output,
    check_sample_random_state,
    check_pickle,
    check_save_load,
    check_determinism,
    check_bad_input,
    check_wrong_leads,
    check_pipeline,
    check_cross_val_score,
)


def _instances(estimator):
    """Instances to check: every parameter set of get_test_params() for a class."""
    if not isinstance(estimator, type):
        return [estimator]
    params_list = estimator.get_test_params() if hasattr(estimator, "get_test_params") else None
    return [estimator(**params) for params in (params_list or [])]


def check_estimator(estimator, raise_exceptions=True, exclude=()):
    """Run every conformance check on an estimator class or instance.

    Parameters
    ----------
    estimator : estimator instance or class
        A class is checked with every parameter set of ``get_test_params()``;
        a class whose ``get_test_params()`` yields no instance fails.
    raise_exceptions : bool, default=True
        After running every check, raise an :class:`AssertionError` listing the
        failed checks (chained from the first failure).  With False, only
        return the table.
    exclude : iterable of str, default=()
        Names of checks to skip (reported as skipped).

    Returns
    -------
    CheckTable
        Check name -> ``{"status", "reason"}``.  With several test instances
        the names carry the instance index: ``check_fit[1]``.

    Examples
    --------
    >>> from ecgsk.testing import check_estimator, GaussianECGGenerator
    >>> table = check_estimator(GaussianECGGenerator(random_state=0))
    >>> table["check_pickle"]["status"]
    'passed'
    """
    exclude = set(exclude)
    unknown = exclude - {c.__name__ for c in CHECKS}
    if unknown:
        raise ValueError(f"exclude names unknown checks {sorted(unknown)}; known: {[c.__name__ for c in CHECKS]}")
    table = CheckTable()
    first_error = None
    instances = _instances(estimator)
    if not instances:
        name = getattr(estimator, "__name__", type(estimator).__name__)
        first_error = AssertionError(f"[check_get_test_params] {name}.get_test_params() yields no test instance")
        table["check_get_test_params"] = {"status": "failed", "reason": str(first_error)}
    for index, instance in enumerate(instances):
        suffix = f"[{index}]" if len(instances) > 1 else ""
        for check in CHECKS:
            label = check.__name__ + suffix
            if check.__name__ in exclude:
                table[label] = {"status": "skipped", "reason": "excluded"}
                continue
            try:
                check(instance)
            except SkipCheck as exc:
                table[label] = {"status": "skipped", "reason": str(exc)}
            except Exception as exc:  # every failure is reported, not just the first
                table[label] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
                first_error = first_error or exc
            else:
                table[label] = {"status": "passed", "reason": ""}
    _FITTED.clear()
    if raise_exceptions and table.failed:
        lines = [f"{name}: {table[name]['reason']}" for name in table.failed]
        raise AssertionError("ecgsk checks failed:\n" + "\n".join(lines)) from first_error
    return table


def parametrize_with_checks(estimators):
    """A pytest ``parametrize`` decorator yielding ``(estimator, check)`` pairs.

    Each check becomes its own test, named ``Class(params)-check_name``.  A
    check that does not apply calls ``pytest.skip`` with the reason from the
    tags.  A class whose ``get_test_params()`` yields no instance produces one
    failing ``check_get_test_params`` case.

    Parameters
    ----------
    estimators : list of estimator classes or instances
        A class is checked with each parameter set of its
        ``get_test_params()``; an instance as it is.

    Returns
    -------
    decorator
        ``pytest.mark.parametrize("estimator, check", ...)``.

    Examples
    --------
    >>> from ecgsk.testing import parametrize_with_checks, GaussianECGGenerator
    >>> @parametrize_with_checks([GaussianECGGenerator])
    ... def test_ecgsk_compatible(estimator, check):
    ...     check(estimator)
    """
    import pytest

    def skipping(check):
        @functools.wraps(check)
        def run(estimator):
            try:
                check(estimator)
            except SkipCheck as exc:
                pytest.skip(str(exc))
            return "passed"  # a failing check raises before this
        return run

    cases, ids = [], []
    for estimator in estimators:
        instances = _instances(estimator)
        if not instances:
            cases.append((estimator, skipping(check_get_test_params)))
            ids.append(f"{getattr(estimator, '__name__', estimator)}-check_get_test_params")
            continue
        for instance in instances:
            for check in CHECKS:
                cases.append((instance, skipping(check)))
                ids.append(f"{instance!r}-{check.__name__}".replace("\n", "").replace(" ", ""))
    return pytest.mark.parametrize("estimator, check", cases, ids=ids)
