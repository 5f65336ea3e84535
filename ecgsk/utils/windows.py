"""Sliding windows and weighted overlap-add blending for window-based reconstructors.

A reconstructor that works on fixed-length windows (EKGAN, Pix2Pix) cuts a
record into overlapping windows, maps each one, and blends the results back
with tapered weights so that a record of any length comes back seamless: no
step at window borders.  NumPy only.
"""

import numpy as np

__all__ = ["window_starts", "extract_windows", "blend_weights", "overlap_add"]


def window_starts(n_samples, window, stride, offset=0):
    """Start indices of windows of length ``window`` that cover ``[0, n_samples)``.

    The windows step by ``stride`` from ``offset``; a last window ending exactly
    at ``n_samples`` is added when the grid does not reach the end, and a
    window before ``offset`` is added when ``offset > 0``, so every sample is
    covered.

    Parameters
    ----------
    n_samples : int
        Signal length; must be at least ``window``.
    window, stride : int
        Window length and hop, both positive.
    offset : int, default=0
        First grid position (used for random training offsets).

    Returns
    -------
    ndarray of int

    Examples
    --------
    >>> window_starts(10, 4, 3).tolist()
    [0, 3, 6]
    >>> window_starts(11, 4, 3).tolist()
    [0, 3, 6, 7]
    """
    if n_samples < window:
        raise ValueError(f"signal of {n_samples} samples is shorter than the window of {window}")
    last = n_samples - window
    starts = list(range(int(offset) % max(stride, 1), last + 1, stride))
    if not starts or starts[0] > 0:
        starts.insert(0, 0)
    if starts[-1] != last:
        starts.append(last)
    return np.asarray(starts, dtype=int)


def extract_windows(X, window, starts):
    """Cut ``X`` of shape (n, C, T) into windows, shape (n, len(starts), C, window).

    Parameters
    ----------
    X : ndarray of shape (n, C, T)
        Signals.
    window : int
        Samples per window.
    starts : array-like of int
        First sample of each window (``start + window <= T``).

    Returns
    -------
    ndarray of shape (n, len(starts), C, window)

    Examples
    --------
    >>> import numpy as np
    >>> extract_windows(np.zeros((2, 1, 10)), 4, [0, 6]).shape
    (2, 2, 1, 4)
    """
    idx = np.asarray(starts)[:, None] + np.arange(window)[None, :]
    return np.ascontiguousarray(X[:, :, idx].transpose(0, 2, 1, 3))


def blend_weights(window):
    """Strictly positive Hann taper of length ``window`` used to blend windows.

    The ends are small but non-zero, so the first and last samples of a record
    (covered by one window only) are still defined.

    Parameters
    ----------
    window : int
        Length of the taper.

    Returns
    -------
    ndarray of float64, shape (window,)

    Examples
    --------
    >>> w = blend_weights(8)
    >>> bool((w > 0).all()), round(float(w.max()), 3)
    (True, 0.97)
    """
    return np.hanning(window + 2)[1:-1].astype(np.float64)


def overlap_add(windows, starts, n_samples):
    """Blend windowed predictions back into records by Hann-weighted overlap-add.

    Parameters
    ----------
    windows : ndarray of shape (n, n_windows, C, window)
    starts : array of int, shape (n_windows,)
    n_samples : int
        Length of the output records.

    Returns
    -------
    ndarray of float32, shape (n, C, n_samples)
        At every sample, the weighted mean of the windows that cover it; the
        weights taper towards each window's ends, so that transitions between
        windows are smooth.

    Examples
    --------
    >>> import numpy as np
    >>> starts = window_starts(20, 8, 4)
    >>> w = np.ones((1, len(starts), 1, 8))
    >>> np.allclose(overlap_add(w, starts, 20), 1.0)
    True
    """
    windows = np.asarray(windows, dtype=np.float64)
    n, k, C, window = windows.shape
    weights = blend_weights(window)
    out = np.zeros((n, C, n_samples))
    total = np.zeros(n_samples)
    for j, s in enumerate(starts):
        out[:, :, s:s + window] += windows[:, j] * weights
        total[s:s + window] += weights
    return (out / total).astype(np.float32)
