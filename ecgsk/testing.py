"""Conformance checks for 3-D ECG estimators: ``check_estimator``.

Plugin authors run the same checks as the built-in models::

    from ecgsk.testing import check_estimator
    check_estimator(MyModel)            # every parameter set of get_test_params()
    check_estimator(MyModel(width=4))   # one instance

Each check raises an :class:`AssertionError` (or the estimator's own error)
whose message starts with the check's name, so a failure says what rule was
broken.
"""

import copy
import pickle
import warnings

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from sklearn.preprocessing import FunctionTransformer

from .base import GeneratorMixin, ReconstructorMixin, RiskMixin, check_ecg_array
from .pipeline import ECGPipeline

__all__ = ["check_estimator", "GaussianECGGenerator", "SKLEARN_EXPECTED_FAILURES", "run_sklearn_checks"]


class GaussianECGGenerator(GeneratorMixin, BaseEstimator):
    """A per-sample Gaussian generator: the smallest honest generative model.

    It learns the mean and standard deviation of every (lead, time) sample and
    draws independent Gaussians.  Used as the final step when checking
    transformers in pipelines, and as a floor in benchmarks.

    Examples
    --------
    >>> import numpy as np
    >>> gen = GaussianECGGenerator(random_state=0).fit(np.zeros((3, 2, 10)))
    >>> gen.sample(2).shape
    (2, 2, 10)
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit(self, X, y=None, *, rng):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0)

    def _sample(self, n_samples, conditions, rng):
        noise = rng.standard_normal((n_samples,) + self.mean_.shape)
        return self.mean_ + self.std_ * noise

    def score(self, X, y=None, conditions=None, sample_weight=None):
        """Negative MMD on features (higher is better)."""
        return super().score(X, y, conditions=conditions, sample_weight=sample_weight)

    def _validate_ecg(self, X, *, reset, n_leads=None, name="X"):
        X = super()._validate_ecg(X, reset=reset, n_leads=n_leads, name=name)
        if not reset and X.shape[2] != self.mean_.shape[1]:
            raise ValueError(f"X has {X.shape[2]} samples per lead but the model was fitted on {self.mean_.shape[1]}")
        return X


def _fail(check, message):
    raise AssertionError(f"[{check}] {message}")


def _kind(est):
    if isinstance(est, RiskMixin):
        return "risk"
    if isinstance(est, ReconstructorMixin):
        return "reconstructor"
    if isinstance(est, GeneratorMixin):
        return "generator"
    if hasattr(est, "transform"):
        return "transformer"
    _fail("kind", f"{type(est).__name__} is none of generator, reconstructor, risk model or transformer")


def _output(est, kind, X, fit_params):
    """The estimator's main output, for comparisons."""
    conditions = fit_params.get("conditions")
    cond_kw = {} if conditions is None else {"conditions": conditions}
    if kind == "generator":
        return est.sample(3, random_state=0, **({} if conditions is None else {"conditions": conditions.iloc[:1]}))
    if kind == "risk":
        return est.predict_risk(X, **cond_kw)
    return est.transform(X)


def _equal(a, b, atol=1e-5):
    if isinstance(a, tuple):
        return all(_equal(x, y, atol) for x, y in zip(a, b))
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
    if y is None:
        return est.fit(X, **params)
    return est.fit(X, y, **params)


def _wrong_leads(est, X):
    """A batch with a lead count the fitted estimator must reject."""
    n = X.shape[1]
    bad = n + 1 if n + 1 != 12 else n + 2
    if isinstance(est, ReconstructorMixin):
        bad = 5
    return np.concatenate([X] * 3, axis=1)[:, :bad] if bad <= 3 * n else np.zeros((len(X), bad, X.shape[2]), np.float32)


def _consume(est, kind, X, fit_params):
    """Call the method that reads ECGs after fitting."""
    conditions = fit_params.get("conditions")
    cond_kw = {} if conditions is None else {"conditions": conditions}
    if kind == "risk":
        return est.predict_risk(X, **cond_kw)
    if kind == "generator":
        return est.score(X, **cond_kw)
    return est.transform(X)


def check_estimator(estimator, *, random_state=0, verbose=False):
    """Run ecgsk's conformance checks on an estimator class or instance.

    Parameters
    ----------
    estimator : estimator instance or class
        A class is checked with every parameter set of ``get_test_params()``.
    random_state : int, default=0
        Seed for the test data.
    verbose : bool, default=False
        Print each check's name as it passes.

    Returns
    -------
    list of str
        Names of the checks that ran (all passed).

    Raises
    ------
    AssertionError
        The first check that fails, with a message naming it.

    Examples
    --------
    >>> from ecgsk.testing import check_estimator, GaussianECGGenerator
    >>> "pickle" in check_estimator(GaussianECGGenerator(random_state=0))
    True
    """
    if isinstance(estimator, type):
        ran = []
        for params in estimator.get_test_params():
            ran += check_estimator(estimator(**params), random_state=random_state, verbose=verbose)
        return ran

    ran = []

    def passed(name):
        ran.append(name)
        if verbose:
            print(f"  ok  {name}")

    est = estimator
    kind = _kind(est)
    name = type(est).__name__

    # -- construction and parameters --------------------------------------------
    params = est.get_params(deep=False)
    try:
        cloned = clone(est)
    except Exception as exc:
        _fail("clone", f"clone({name}) failed: {type(exc).__name__}: {exc}")
    if not _params_equal(cloned.get_params(deep=False), params):
        _fail("clone", f"clone({name}) does not reproduce get_params()")
    if hasattr(cloned, "n_features_in_"):
        _fail("clone", f"clone({name}) carries fitted state n_features_in_")
    cloned.set_params(**params)
    if not _params_equal(cloned.get_params(deep=False), params):
        _fail("set_params", "set_params(**get_params()) changed the parameters")
    for key, value in params.items():
        if getattr(est, key, object()) is not value and not isinstance(value, (np.ndarray,)):
            if getattr(est, key, object()) != value:
                _fail("init_params", f"{name}.{key} is not stored unchanged by __init__")
    passed("clone_and_params")

    if not hasattr(est, "get_test_params"):
        _fail("get_test_params", f"{name} must define the classmethod get_test_params()")
    test_params = type(est).get_test_params()
    if not isinstance(test_params, list) or not all(isinstance(p, dict) for p in test_params):
        _fail("get_test_params", "get_test_params() must return a list of dicts")
    passed("get_test_params")

    tags = est.__sklearn_tags__()
    if not tags.input_tags.three_d_array:
        _fail("tags", f"{name}.__sklearn_tags__() must declare input_tags.three_d_array=True")
    passed("tags")

    if hasattr(est, "_get_test_data"):
        X, fit_params = est._get_test_data(n_ecgs=8, random_state=random_state)
    else:  # a third-party transformer without our mixins
        from .datasets import make_synthetic_ecgs

        X, fit_params = make_synthetic_ecgs(8, n_leads=1, n_samples=1000, random_state=random_state), {}
    X = check_ecg_array(X)

    # -- unfitted use ------------------------------------------------------------
    if tags.requires_fit:
        fresh = clone(est)
        try:
            _output(fresh, kind, X, fit_params)
        except NotFittedError:
            pass
        except Exception as exc:
            _fail("not_fitted", f"unfitted {name} raised {type(exc).__name__} instead of NotFittedError: {exc}")
        else:
            _fail("not_fitted", f"unfitted {name} did not raise NotFittedError")
        passed("not_fitted")

    # -- fit ---------------------------------------------------------------------
    est = clone(est)
    before = copy.deepcopy(est.get_params(deep=False))
    X_before = X.copy()
    returned = _fit(est, X, fit_params)
    if returned is not est:
        _fail("fit_returns_self", f"{name}.fit must return self")
    if not _params_equal(est.get_params(deep=False), before):
        _fail("fit_does_not_mutate_params", f"{name}.fit changed its constructor parameters")
    if not np.array_equal(X, X_before):
        _fail("fit_does_not_mutate_input", f"{name}.fit modified X in place")
    if getattr(est, "n_features_in_", None) != X.shape[1]:
        _fail("n_features_in", f"n_features_in_ should be the number of leads {X.shape[1]}, "
                               f"got {getattr(est, 'n_features_in_', None)}")
    passed("fit")

    # -- outputs -----------------------------------------------------------------
    out = _output(est, kind, X, fit_params)
    out_arr = np.asarray(out)
    if not np.isfinite(out_arr).all():
        _fail("output_finite", f"{name} produced NaN or inf")
    if kind == "generator" and (out_arr.ndim != 3 or out_arr.shape[0] != 3 or out_arr.dtype != np.float32):
        _fail("sample_shape", f"sample(3) must be float32 (3, leads, T); got {out_arr.dtype} {out_arr.shape}")
    if kind == "reconstructor" and out_arr.shape != (len(X), 12, X.shape[2]):
        _fail("transform_shape", f"transform must return (n, 12, T) = {(len(X), 12, X.shape[2])}; got {out_arr.shape}")
    if kind == "risk" and out_arr.shape != (len(X),):
        _fail("predict_risk_shape", f"predict_risk must return shape ({len(X)},); got {out_arr.shape}")
    if kind == "transformer" and out_arr.ndim != 3:
        _fail("transform_shape", f"transform must return a 3-D batch; got shape {out_arr.shape}")
    passed("output")

    if kind == "generator":
        again = est.sample(3, random_state=0, **({} if "conditions" not in fit_params
                                                  else {"conditions": fit_params["conditions"].iloc[:1]}))
        if not _equal(out, again):
            _fail("sample_random_state", "sample(random_state=0) gave different ECGs on two calls")
        passed("sample_random_state")

    # -- pickle ------------------------------------------------------------------
    restored = pickle.loads(pickle.dumps(est))
    if not _equal(out, _output(restored, kind, X, fit_params)):
        _fail("pickle", f"{name} gives different outputs after a pickle round trip")
    passed("pickle")

    # -- determinism -------------------------------------------------------------
    if "random_state" in params or kind != "generator":
        e1 = _fit(clone(estimator).set_params(**({"random_state": 0} if "random_state" in params else {})), X, fit_params)
        e2 = _fit(clone(estimator).set_params(**({"random_state": 0} if "random_state" in params else {})), X, fit_params)
        if not _equal(_output(e1, kind, X, fit_params), _output(e2, kind, X, fit_params)):
            _fail("determinism", f"two fits of {name} with random_state=0 give different outputs")
        if kind == "generator":
            s1 = e1.sample(2, **({} if "conditions" not in fit_params else {"conditions": fit_params["conditions"].iloc[:1]}))
            s2 = e2.sample(2, **({} if "conditions" not in fit_params else {"conditions": fit_params["conditions"].iloc[:1]}))
            if not _equal(s1, s2):
                _fail("determinism", "sample() without random_state differs between two identically fitted models")
        passed("determinism")

    # -- bad input ---------------------------------------------------------------
    bad_inputs = {
        "1-D": X[0, 0],
        "4-D": X[None],
        "NaN": np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X),
        "inf": np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X),
        "empty": X[:0],
    }
    for label, bad in bad_inputs.items():
        try:
            _fit(clone(est), bad, fit_params if label != "empty" else {
                k: (v[:0] if hasattr(v, "__len__") else v) for k, v in fit_params.items()})
        except ValueError:
            pass
        except Exception as exc:
            _fail("bad_input", f"fit on {label} input raised {type(exc).__name__}, expected ValueError: {exc}")
        else:
            _fail("bad_input", f"fit on {label} input did not raise ValueError")
        try:
            _consume(est, kind, bad, fit_params)
        except ValueError:
            pass
        except Exception as exc:
            _fail("bad_input", f"{kind} method on {label} input raised {type(exc).__name__}, expected ValueError: {exc}")
        else:
            _fail("bad_input", f"{kind} method on {label} input did not raise ValueError")
    try:
        _consume(est, kind, _wrong_leads(est, X), fit_params)
    except ValueError as exc:
        if "lead" not in str(exc):
            _fail("bad_input", f"the wrong-lead-count error should mention leads; got: {exc}")
    else:
        _fail("bad_input", "input with the wrong number of leads did not raise ValueError")
    passed("bad_input")

    # -- pipelines and cross-validation -----------------------------------------
    identity = FunctionTransformer(validate=False)
    if kind == "transformer":
        pipe = ECGPipeline([("identity", identity), ("step", clone(est)), ("model", GaussianECGGenerator(random_state=0))])
        pipe_params = {}
    else:
        pipe = ECGPipeline([("identity", identity), ("model", clone(est))])
        pipe_params = {f"model__{k}": v for k, v in fit_params.items() if k != "y"}
    y = fit_params.get("y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        pipe.fit(X, y, **pipe_params)
    if kind == "generator":
        sampled = pipe.sample(2, **({} if "conditions" not in fit_params else {"conditions": fit_params["conditions"].iloc[:1]}))
        if np.asarray(sampled).shape[0] != 2:
            _fail("pipeline", "ECGPipeline.sample(2) did not return 2 ECGs")
    elif kind == "risk":
        risk = pipe.predict_risk(X, **({} if "conditions" not in fit_params else {"conditions": fit_params["conditions"]}))
        if not _equal(risk, out):
            _fail("pipeline", "predict_risk through an identity ECGPipeline differs from the bare estimator")
    else:
        transformed = pipe.transform(X) if kind == "reconstructor" else pipe[:-1].transform(X)
        if not _equal(transformed, out, atol=1e-4):
            _fail("pipeline", "transform through an identity ECGPipeline differs from the bare estimator")
    passed("pipeline")

    cv_est = clone(est) if kind != "transformer" else pipe
    cv = KFold(2, shuffle=True, random_state=0)
    routed = {k: v for k, v in fit_params.items() if k != "y"}
    with config_context(enable_metadata_routing=bool(routed)):
        if routed:
            cv_est.set_fit_request(**{k: True for k in routed})
            cv_est.set_score_request(**{k: True for k in routed})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            scores = cross_val_score(cv_est, X, y, cv=cv, params=routed or None, error_score="raise")
    if not np.isfinite(scores).all():
        _fail("cross_val_score", f"cross_val_score gave non-finite scores {scores}")
    passed("cross_val_score")
    return ran


#: scikit-learn checks that cannot apply to ECG estimators, with the reason.
SKLEARN_EXPECTED_FAILURES = {
    "check_fit2d_1feature": "one sample per ECG is not a signal; filters need a minimum length",
    "check_fit2d_1sample": "a batch of one single-sample ECG is not a signal",
    "check_fit1d": "1-D input is rejected with a ValueError by design (DESIGN.md 1); sklearn expects it",
    "check_transformer_data_not_an_array": "sklearn's _NotAnArray wrapper is converted, but lead-count checks differ",
    "check_estimators_dtypes": "integer-coded random data are not ECGs in mV; float32 output by design",
    "check_transformer_general": "transformers return 3-D (n, leads, T) batches, sklearn expects 2-D",
    "check_transformer_preserve_dtypes": "ECG batches are float32 by the data contract, whatever the input dtype",
    "check_methods_sample_order_invariance": "generators have no per-sample predictions",
    "check_methods_subset_invariance": "generators have no per-sample predictions",
    "check_fit_idempotent": "3-D output compared as 2-D",
    "check_fit_check_is_fitted": "stateless filters are usable without fit",
    "check_n_features_in_after_fitting": "n_features_in_ counts leads; sklearn's error message check expects features",
    "check_dict_unchanged": "3-D output",
    "check_dont_overwrite_parameters": "fit records n_timepoints_in_, a public fitted attribute sklearn does not expect",
    "check_estimators_pickle": "3-D output compared as 2-D",
    "check_readonly_memmap_input": "3-D output compared as 2-D",
    "check_n_features_in": "n_features_in_ counts leads, which is 1 for 2-D single-lead input, not X.shape[1]",
}


def run_sklearn_checks(estimator, expected_failed_checks=None):
    """Run scikit-learn's own ``check_estimator`` on single-lead 2-D input.

    A 2-D array ``(n_ecgs, n_samples)`` is a valid single-lead batch, so
    scikit-learn's generic checks apply in part.  The checks listed in
    :data:`SKLEARN_EXPECTED_FAILURES` (plus ``expected_failed_checks``) are
    allowed to fail for the reasons given there.

    Returns
    -------
    list of dict
        scikit-learn's results.

    Raises
    ------
    AssertionError
        If a check outside the expected list fails.
    """
    from sklearn.utils.estimator_checks import check_estimator as sk_check_estimator

    expected = dict(SKLEARN_EXPECTED_FAILURES)
    expected.update(expected_failed_checks or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = sk_check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        lines = [f"{r['check_name']}: {type(r['exception']).__name__}: {r['exception']}" for r in failed]
        raise AssertionError("[sklearn_checks] unexpected scikit-learn check failures:\n" + "\n".join(lines))
    return results
