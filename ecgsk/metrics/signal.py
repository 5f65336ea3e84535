"""Paired signal-fidelity metrics: RMSE, PRD (standard and seed-paper variants), per-lead Pearson r.

Lower is better for :func:`rmse`, :func:`prd` and :func:`prd_seed`; higher for :func:`pearson_per_lead`.
"""

import numpy as np

from ..utils.validation import check_ecg_array

__all__ = ["rmse", "prd", "prd_seed", "pearson_per_lead"]


_TINY = np.finfo(np.float64).tiny


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _pair(x, y):
    x = check_ecg_array(x, name="x")
    y = check_ecg_array(y, name="y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; got {x.shape} and {y.shape}")
    return x.astype(np.float64), y.astype(np.float64)


_REDUCERS = {
    "mean": np.mean,
    "median": np.median,
    "min": np.min,
    "max": np.max,
}


def _reduce(values, reduce):
    """Apply ``reduce`` to per-ECG values: True/"mean", "median", "min", "max", or False/None (no reduction)."""
    if reduce is None or reduce is False:
        return values
    if reduce is True:
        reduce = "mean"
    if reduce not in _REDUCERS:
        raise ValueError(f"reduce must be one of 'mean', 'median', 'min', 'max', None; got {reduce!r}")
    return float(_REDUCERS[reduce](values))


# ---------------------------------------------------------------------------
# paired signal metrics
# ---------------------------------------------------------------------------
def rmse(x, y, *, reduce=True):
    """Root-mean-square error in the signals' units (mV). **Lower is better.**

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)
        Reference and estimate; same shape.
    reduce : bool or {"mean", "median", "min", "max"} or None, default=True
        ``True``/``"mean"`` returns the mean over ECGs; ``False``/``None``
        returns one value per ECG.

    Returns
    -------
    float or ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> rmse(np.zeros((1, 4)), np.ones((1, 4)))
    1.0
    >>> rmse(np.zeros((2, 4)), np.array([[1.0] * 4, [3.0] * 4]), reduce=None).tolist()
    [1.0, 3.0]
    """
    x, y = _pair(x, y)
    per_ecg = np.sqrt(np.mean((x - y) ** 2, axis=(1, 2)))
    return _reduce(per_ecg, reduce)


def prd(x, y, *, reduce=True):
    """Percent root-mean-square difference ``100·sqrt(Σ(x−y)²/Σx²)``. **Lower is better.**

    ``x`` is the reference.  Sums run over all leads and samples of one ECG.
    An all-zero reference gives a huge finite value (``100·sqrt(Σy²/tiny)``)
    instead of a division by zero or inf.

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)
    reduce : bool or {"mean", "median", "min", "max"} or None, default=True

    See Also
    --------
    prd_seed : the variant ``sqrt(100·Σ(x−y)²/Σx²)`` of the LSTM-GAN paper.

    Examples
    --------
    >>> import numpy as np
    >>> round(prd(np.ones((1, 4)), np.zeros((1, 4))), 6)
    100.0
    >>> round(prd(np.full((1, 4), 2.0), np.full((1, 4), 1.0)), 6)
    50.0
    """
    x, y = _pair(x, y)
    num = np.sum((x - y) ** 2, axis=(1, 2))
    den = np.sum(x**2, axis=(1, 2))
    # sqrt of each sum first: num / tiny overflows to inf, sqrt(num) / sqrt(tiny) stays finite (<= ~1e174)
    per_ecg = 100.0 * np.sqrt(num) / np.sqrt(np.maximum(den, _TINY))
    return _reduce(per_ecg, reduce)


def prd_seed(x, y, *, reduce="mean"):
    """PRD as the LSTM-GAN paper computes it: ``sqrt(100·Σ(x−y)²/Σx²)`` per pair. **Lower is better.**

    This reproduces the seed paper's table (Zhu et al., "Electrocardiogram
    generation with a bidirectional LSTM-CNN generative adversarial network",
    Sci. Rep. 2019), whose PRD puts the factor 100 *inside* the square root.
    It equals ``prd(x, y) / 10``.  Use :func:`prd` for the standard
    definition; use this only to compare with that table.

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)
        Pairs ``(x_i, y_i)``: ``x`` the reference (real), ``y`` the estimate
        (generated).
    reduce : {"mean", "median", "min", "max"} or None, default="mean"
        ``None`` returns the per-pair array, from which the table's
        Mean/Min/Max are taken.

    Examples
    --------
    >>> import numpy as np
    >>> round(prd_seed(np.ones((1, 4)), np.zeros((1, 4))), 6)
    10.0
    >>> prd_seed(np.ones((2, 4)), np.array([[0.0] * 4, [1.0] * 4]), reduce=None).tolist()
    [10.0, 0.0]
    """
    x, y = _pair(x, y)
    num = np.sum((x - y) ** 2, axis=(1, 2))
    den = np.sum(x**2, axis=(1, 2))
    per_pair = 10.0 * np.sqrt(num) / np.sqrt(np.maximum(den, _TINY))
    return _reduce(per_pair, reduce)


def pearson_per_lead(x, y):
    """Pearson r per lead between references ``x`` and estimates ``y``. **Higher is better.**

    Computed per ECG and lead over time, then averaged over ECGs.  A flat
    signal has r = 0.

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)

    Returns
    -------
    ndarray of shape (n_leads,)

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 50)
    >>> pearson_per_lead(np.sin(t)[None, None], 2 * np.sin(t)[None, None]).round(6).tolist()
    [1.0]
    """
    x, y = _pair(x, y)
    xc = x - x.mean(axis=2, keepdims=True)
    yc = y - y.mean(axis=2, keepdims=True)
    den = np.sqrt((xc**2).sum(axis=2) * (yc**2).sum(axis=2))
    r = np.where(den > 0, (xc * yc).sum(axis=2) / np.where(den > 0, den, 1.0), 0.0)
    return r.mean(axis=0)
