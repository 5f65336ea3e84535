"""Evaluation a user can trust in one call: every metric next to its floor (NumPy/SciPy/scikit-learn, no torch).

:class:`EvaluationReport` holds a list of :class:`MetricResult`, each with the
model's value, the real-against-real (or reference) floor with its interval,
trivial baselines, the rule that decides its verdict, and the verdict.
"""

from .report import REPORT_KINDS, EvaluationReport, MetricResult

__all__ = ["EvaluationReport", "MetricResult", "REPORT_KINDS"]
