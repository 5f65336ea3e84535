import numpy as np
import pytest
from sklearn.base import BaseEstimator

from ecgsk.base import GeneratorMixin
from ecgsk.testing import GaussianECGGenerator, check_estimator, run_sklearn_checks

from _stubs import AmplitudeRisk, GainScaler, LeastSquaresReconstructor

EXPECTED_CHECKS = {
    "clone_and_params", "get_test_params", "tags", "fit", "output", "pickle",
    "determinism", "bad_input", "pipeline", "cross_val_score",
}


@pytest.mark.parametrize(
    "estimator", [GaussianECGGenerator(random_state=0), LeastSquaresReconstructor(), AmplitudeRisk(), GainScaler()],
    ids=["generator", "reconstructor", "risk", "transformer"],
)
def test_conforming_estimators_pass(estimator):
    ran = check_estimator(estimator)
    assert EXPECTED_CHECKS <= set(ran)


def test_class_is_checked_with_every_test_param_set():
    ran = check_estimator(GaussianECGGenerator)
    assert ran.count("pickle") == len(GaussianECGGenerator.get_test_params())


class _FitReturnsNone(GaussianECGGenerator):
    def fit(self, X, y=None, conditions=None):
        super().fit(X, y)
        return None


class _MutatesParams(GaussianECGGenerator):
    def _fit(self, X, y=None, *, rng):
        super()._fit(X, rng=rng)
        self.random_state = 123


class _IgnoresRandomState(GaussianECGGenerator):
    def _sample(self, n_samples, conditions, rng):
        return self.mean_ + self.std_ * np.random.standard_normal((n_samples,) + self.mean_.shape)


class _NoValidation(GeneratorMixin, BaseEstimator):
    """Skips the mixin's fit and so accepts NaN."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None, conditions=None):
        X = np.asarray(X, dtype=np.float32)
        X = X if X.ndim == 3 else X.reshape(len(X), 1, -1)
        self.n_features_in_ = X.shape[1]
        self._sample_rng_ = np.random.RandomState(0)
        self.mean_ = np.nan_to_num(X).mean(axis=0) if len(X) else np.zeros((1, 1))
        return self

    def _sample(self, n_samples, conditions, rng):
        return np.repeat(self.mean_[None], n_samples, axis=0)


class _RenamesParam(GaussianECGGenerator):
    def __init__(self, random_state=None):
        self.random_state = None if random_state is None else random_state + 1


@pytest.mark.parametrize(
    "estimator,check",
    [
        (_FitReturnsNone(random_state=0), "fit_returns_self"),
        (_MutatesParams(random_state=0), "fit_does_not_mutate_params"),
        (_IgnoresRandomState(random_state=0), "sample_random_state"),
        (_NoValidation(random_state=0), "bad_input"),
        (_RenamesParam(random_state=0), "clone"),
    ],
)
def test_non_conforming_estimators_fail_with_named_check(estimator, check):
    with pytest.raises(AssertionError, match=rf"\[{check}\]"):
        check_estimator(estimator)


def test_sklearn_checks_on_single_lead_input():
    results = run_sklearn_checks(GainScaler())
    statuses = {r["status"] for r in results}
    assert "passed" in statuses
    passed = [r["check_name"] for r in results if r["status"] == "passed"]
    assert "check_get_params_invariance" in passed
