"""Risk metrics: Harrell's :func:`concordance_index` (higher is better).

lifelines is imported lazily, inside the function.
"""

import numpy as np

from ..utils.validation import check_survival_target

__all__ = ["concordance_index"]


# ---------------------------------------------------------------------------
# survival
# ---------------------------------------------------------------------------
def concordance_index(y, risk):
    """Harrell's C-index where a higher ``risk`` means an earlier event. **Higher is better.**

    0.5 is random ordering, 1.0 perfect.  Tied risks count 1/2.

    Parameters
    ----------
    y : structured array (event, time) or array of shape (n, 2)
        Survival target.
    risk : array-like of shape (n,)

    Raises
    ------
    ValueError
        If there is no comparable pair, e.g. every event is censored.

    Notes
    -----
    lifelines' ``concordance_index`` expects predicted *times* (higher =
    later), so the risk is negated before the call.

    Examples
    --------
    >>> concordance_index([[1, 1.0], [1, 2.0], [1, 3.0]], [3.0, 2.0, 1.0])
    1.0
    >>> concordance_index([[1, 1.0], [1, 2.0], [1, 3.0]], [1.0, 2.0, 3.0])
    0.0
    """
    from lifelines.utils import concordance_index as lifelines_cindex

    event, time = check_survival_target(y)
    risk = np.asarray(risk, dtype=np.float64).ravel()
    if len(risk) != len(time):
        raise ValueError(f"risk has {len(risk)} values but y has {len(time)} rows")
    if not np.isfinite(risk).all():
        raise ValueError("risk scores contain NaN or infinite values")
    no_pairs = ValueError(
        f"concordance_index needs at least one comparable pair (an event at a time before some other "
        f"record's time); got {len(time)} record(s) with {int(event.sum())} event(s)"
        + (", every one censored" if not event.any() else "")
    )
    if not event.any() or not (time[event].min() < time.max()):
        raise no_pairs
    try:
        return float(lifelines_cindex(time, -risk, event))
    except ZeroDivisionError:  # lifelines' "No admissable pairs in the dataset."
        raise no_pairs from None
