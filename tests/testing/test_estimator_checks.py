import numpy as np
import pytest
from sklearn.base import BaseEstimator

from ecgsk.base import GeneratorMixin
from ecgsk.testing import GaussianECGGenerator, check_estimator, run_sklearn_checks

from _stubs import AmplitudeRisk, GainScaler, LeastSquaresReconstructor

from ecgsk.testing import CHECKS, parametrize_with_checks

EXPECTED_CHECKS = {c.__name__ for c in CHECKS} - {"check_parameter_constraints", "check_sample_random_state",
                                                  "check_not_fitted"}


@pytest.mark.parametrize(
    "estimator", [GaussianECGGenerator(random_state=0), LeastSquaresReconstructor(), AmplitudeRisk(), GainScaler()],
    ids=["generator", "reconstructor", "risk", "transformer"],
)
def test_conforming_estimators_pass(estimator):
    table = check_estimator(estimator)
    assert table.failed == []
    assert EXPECTED_CHECKS <= set(table.passed)


class TwoSets(GaussianECGGenerator):
    @classmethod
    def get_test_params(cls):
        return [{"random_state": 0}, {"random_state": 1}]


class NoInstances(GaussianECGGenerator):
    @classmethod
    def get_test_params(cls):
        return []


def test_class_is_checked_with_every_test_param_set():
    table = check_estimator(TwoSets)
    assert {"check_pickle[0]", "check_pickle[1]"} <= set(table.passed)


def test_model_without_test_instances_fails():
    table = check_estimator(NoInstances, raise_exceptions=False)
    assert table.failed == ["check_get_test_params"]
    with pytest.raises(AssertionError, match="yields no test instance"):
        check_estimator(NoInstances)


def test_table_reports_every_failure_and_exclusions():
    table = check_estimator(_NoValidation(random_state=0), raise_exceptions=False, exclude=["check_pipeline"])
    assert table["check_bad_input"]["status"] == "failed"
    assert "did not raise ValueError" in table["check_bad_input"]["reason"]
    assert table["check_pipeline"] == {"status": "skipped", "reason": "excluded"}
    assert table["check_fit"]["status"] == "passed"  # later checks still ran
    assert "check_bad_input" in str(table)
    with pytest.raises(ValueError, match="unknown checks"):
        check_estimator(GaussianECGGenerator(), exclude=["check_nonsense"])


class _NonDeterministic(GaussianECGGenerator):
    tags = {"non_deterministic": True}


def test_non_deterministic_tag_skips_determinism_with_reason():
    table = check_estimator(_NonDeterministic(random_state=0))
    assert table["check_determinism"] == {"status": "skipped", "reason": "tag non_deterministic=True"}


class _BadConstraintHandling(GaussianECGGenerator):
    """Declares a constraint, then its fit swallows the error."""

    parameter_constraints = {"random_state": ["random_state"]}

    def _validate_params(self):
        return None


def test_constraint_check_catches_unvalidated_params():
    table = check_estimator(_BadConstraintHandling(random_state=0), raise_exceptions=False)
    assert table["check_parameter_constraints"]["status"] == "failed"
    assert "random_state" in table["check_parameter_constraints"]["reason"]


@parametrize_with_checks([GaussianECGGenerator, LeastSquaresReconstructor])
def test_parametrize_with_checks(estimator, check):
    assert check(estimator) == "passed"


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
        (_FitReturnsNone(random_state=0), "check_fit"),
        (_MutatesParams(random_state=0), "check_fit"),
        (_IgnoresRandomState(random_state=0), "check_sample_random_state"),
        (_NoValidation(random_state=0), "check_bad_input"),
        (_RenamesParam(random_state=0), "check_clone_and_params"),
    ],
)
def test_non_conforming_estimators_fail_with_named_check(estimator, check):
    table = check_estimator(estimator, raise_exceptions=False)
    assert check in table.failed
    with pytest.raises(AssertionError, match=check):
        check_estimator(estimator)


def test_sklearn_checks_on_single_lead_input():
    results = run_sklearn_checks(GainScaler())
    statuses = {r["status"] for r in results}
    assert "passed" in statuses
    passed = [r["check_name"] for r in results if r["status"] == "passed"]
    assert "check_get_params_invariance" in passed
