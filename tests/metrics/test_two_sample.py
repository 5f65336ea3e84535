"""Tests for ecgsk.metrics.two_sample: classifier_two_sample_test."""

import pytest

from ecgsk import metrics as M
from ecgsk.datasets import make_synthetic_ecgs


# ---------------------------------------------------------------------------
# classifier two-sample test
# ---------------------------------------------------------------------------
def test_classifier_two_sample_test():
    X = make_synthetic_ecgs(80, n_leads=1, n_samples=1000, random_state=0)
    same = M.classifier_two_sample_test(X[:40], X[40:])
    assert set(same) >= {"logistic_regression", "gradient_boosting", "chance", "n_splits"}
    assert 0.2 <= same["logistic_regression"] <= 0.8
    assert 0.2 <= same["gradient_boosting"] <= 0.8
    assert len(same["logistic_regression_folds"]) == 5
    different = M.classifier_two_sample_test(X[:40], 3.0 * X[40:])
    assert different["logistic_regression"] > 0.9 and different["gradient_boosting"] > 0.9
    small = M.classifier_two_sample_test(X[:3], X[3:10])
    assert small["n_splits"] == 3 and small["chance"] == pytest.approx(0.7)


@pytest.mark.parametrize("cv", [1, 0, -1, 2.5])
def test_classifier_two_sample_test_range_checks_cv(cv):
    X = make_synthetic_ecgs(6, n_leads=1, n_samples=600, random_state=0)
    with pytest.raises(ValueError, match="classifier_two_sample_test: cv must be an integer in"):
        M.classifier_two_sample_test(X, X + 0.1, cv=cv)
