"""Evaluation a user can trust in one call: every metric next to its floor (NumPy/SciPy/scikit-learn, no torch).

:class:`EvaluationReport` holds a list of :class:`MetricResult`, each with the
model's value, the real-against-real (or reference) floor with its interval,
trivial baselines, the rule that decides its verdict, and the verdict.
"""

from .generator import c2st_permutation_pvalue, evaluate_generator, prdc
from .report import REPORT_KINDS, EvaluationReport, MetricResult

__all__ = ["evaluate_generator", "prdc", "c2st_permutation_pvalue", "EvaluationReport", "MetricResult", "REPORT_KINDS"]

# Reconstruction and risk reports (issue 14, items 2-3).
from .reconstruction import evaluate_reconstruction  # noqa: E402
from .risk import evaluate_risk  # noqa: E402

__all__ += ["evaluate_reconstruction", "evaluate_risk"]
