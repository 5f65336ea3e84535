"""Conformance checks for ECG estimators (layer 6).

- :func:`check_estimator`: run every check, get a table of check -> passed /
  failed / skipped with reasons.
- :func:`parametrize_with_checks`: one pytest test per check.
- The checks themselves (``check_fit``, ``check_pickle`` ...), in
  :data:`CHECKS`.
- :class:`GaussianECGGenerator`: the smallest honest generator, a floor.
- :func:`run_sklearn_checks`: scikit-learn's own checks on 2-D single-lead input.

Examples
--------
>>> from ecgsk.testing import check_estimator, GaussianECGGenerator
>>> check_estimator(GaussianECGGenerator(random_state=0)).failed
[]
"""

from .estimator_checks import CHECKS, CheckTable, SkipCheck, check_estimator, parametrize_with_checks
from .gaussian import GaussianECGGenerator
from .sklearn_checks import SKLEARN_EXPECTED_FAILURES, run_sklearn_checks

__all__ = [
    "check_estimator",
    "parametrize_with_checks",
    "CheckTable",
    "SkipCheck",
    "CHECKS",
    "GaussianECGGenerator",
    "SKLEARN_EXPECTED_FAILURES",
    "run_sklearn_checks",
]
