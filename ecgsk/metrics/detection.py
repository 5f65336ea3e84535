"""Event-detection metrics: :func:`peak_detection_f1` (higher is better).
"""

import numbers

import numpy as np

from ..utils.constraints import Interval, validate_params

__all__ = ["peak_detection_f1"]


def peak_detection_f1(detections, references, tol, spans=None, *, return_counts=False):
    """F1 of detected peaks (e.g. R peaks) against reference positions. Higher is better.

    Detections are matched one-to-one, greedily, to the nearest unused
    reference within ``tol`` samples; counts are pooled over records.

    Parameters
    ----------
    detections, references : sequence of array-like of int
        Per record, the detected and the reference sample indices.
    tol : float
        Matching tolerance in samples (e.g. ``0.075 * fs``).
    spans : sequence of (int, int), optional
        Per record, the annotated span; detections outside it are ignored.
    return_counts : bool, default=False
        Also return ``{"tp": ..., "fp": ..., "fn": ...}``.

    Returns
    -------
    float, or (float, dict) with ``return_counts=True``

    Examples
    --------
    >>> peak_detection_f1([[100, 300, 500]], [[102, 298]], tol=5)
    0.8
    """
    validate_params({"tol": tol, "return_counts": return_counts},
                    {"tol": [Interval(numbers.Real, 0, None)], "return_counts": [bool]}, owner="peak_detection_f1")
    if len(detections) != len(references):
        raise ValueError(f"{len(detections)} detection lists but {len(references)} reference lists")
    tp = fp = fn = 0
    for k, (det, ref) in enumerate(zip(detections, references)):
        det, ref = np.sort(np.asarray(det)), np.sort(np.asarray(ref))
        if spans is not None:
            lo, hi = spans[k]
            det = det[(det >= lo) & (det <= hi)]
        used = np.zeros(len(ref), bool)
        hits = 0
        for p in det:
            if len(ref) == 0:
                break
            d = np.abs(ref - p).astype(float)
            d[used] = np.inf
            j = int(np.argmin(d))
            if d[j] <= tol:
                used[j] = True
                hits += 1
        tp += hits
        fp += len(det) - hits
        fn += len(ref) - hits
    f1 = 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0
    return (f1, {"tp": tp, "fp": fp, "fn": fn}) if return_counts else f1
