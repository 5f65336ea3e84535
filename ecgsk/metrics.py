"""Metrics for generated, reconstructed and risk-scored ECGs (NumPy/SciPy only, no torch).

Each metric states whether lower or higher is better.
"""

import numpy as np

from .base import check_ecg_array, check_survival_target

__all__ = [
    "rmse",
    "prd",
    "mmd",
    "pearson_per_lead",
    "ecg_features",
    "concordance_index",
]


def _pair(x, y):
    x = check_ecg_array(x, name="x")
    y = check_ecg_array(y, name="y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; got {x.shape} and {y.shape}")
    return x.astype(np.float64), y.astype(np.float64)


def rmse(x, y, *, reduce=True):
    """Root-mean-square error in the signals' units (mV). Lower is better.

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)
    reduce : bool, default=True
        Return the mean over ECGs; else one value per ECG.

    Examples
    --------
    >>> import numpy as np
    >>> rmse(np.zeros((1, 4)), np.ones((1, 4)))
    1.0
    """
    x, y = _pair(x, y)
    per_ecg = np.sqrt(np.mean((x - y) ** 2, axis=(1, 2)))
    return float(per_ecg.mean()) if reduce else per_ecg


def prd(x, y, *, reduce=True):
    """Percent root-mean-square difference, 100·sqrt(Σ(x−y)²/Σx²), with ``x`` the reference. Lower is better.

    Examples
    --------
    >>> import numpy as np
    >>> round(prd(np.ones((1, 4)), np.zeros((1, 4))), 6)
    100.0
    """
    x, y = _pair(x, y)
    num = np.sum((x - y) ** 2, axis=(1, 2))
    den = np.sum(x**2, axis=(1, 2))
    per_ecg = 100.0 * np.sqrt(num / np.maximum(den, np.finfo(float).tiny))
    return float(per_ecg.mean()) if reduce else per_ecg


def pearson_per_lead(x, y):
    """Pearson r per lead between references ``x`` and estimates ``y``. Higher is better.

    Computed per ECG and lead over time, then averaged over ECGs.  A flat
    signal has r = 0.

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


def ecg_features(X, fs=500):
    """Amplitude and spectral features per lead, for distribution metrics.

    Per lead: standard deviation, 1st/5th/50th/95th/99th percentiles, mean
    absolute first difference (slope energy) and relative power in the bands
    0-5, 5-15, 15-40 and >40 Hz.  Works for any length.

    Returns
    -------
    ndarray of shape (n_ecgs, n_leads * 11)
    """
    X = check_ecg_array(X).astype(np.float64)
    n, leads, T = X.shape
    centred = X - np.median(X, axis=2, keepdims=True)
    pct = np.percentile(centred, [1, 5, 50, 95, 99], axis=2).transpose(1, 2, 0)
    std = centred.std(axis=2)[..., None]
    slope = (np.abs(np.diff(X, axis=2)).mean(axis=2) * fs / 100.0)[..., None] if T > 1 else np.zeros((n, leads, 1))
    spec = np.abs(np.fft.rfft(centred, axis=2)) ** 2
    freqs = np.fft.rfftfreq(T, d=1.0 / fs)
    total = spec.sum(axis=2, keepdims=True) + 1e-12
    bands = [(0, 5), (5, 15), (15, 40), (40, np.inf)]
    band_power = np.stack([spec[..., (freqs >= lo) & (freqs < hi)].sum(axis=2) for lo, hi in bands], axis=2) / total
    feats = np.concatenate([std, pct, slope, band_power], axis=2)
    return feats.reshape(n, -1)


def _rbf_mmd2_unbiased(A, B, bandwidth="median"):
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if len(A) < 2 or len(B) < 2:
        raise ValueError("MMD needs at least 2 samples in each set")
    Z = np.vstack([A, B])
    sq = np.sum(Z**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * Z @ Z.T, 0.0)
    if bandwidth == "median":
        off = d2[np.triu_indices(len(Z), k=1)]
        med = np.median(off[off > 0]) if np.any(off > 0) else 1.0
        gamma = 1.0 / med
    else:
        gamma = 1.0 / (2.0 * float(bandwidth) ** 2)
    K = np.exp(-gamma * d2)
    m, n = len(A), len(B)
    Kxx, Kyy, Kxy = K[:m, :m], K[m:, m:], K[:m, m:]
    term_x = (Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
    term_y = (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1))
    return float(term_x + term_y - 2 * Kxy.mean())


def mmd(X, Y, *, features=False, fs=500, bandwidth="median"):
    """Unbiased RBF-kernel MMD² between two sets of ECGs. Lower is better (0 = same distribution).

    Parameters
    ----------
    X, Y : array-like of shape (n, leads, T)
        The two sets; they may differ in size.
    features : bool, default=False
        Compare :func:`ecg_features` (standardised on the pooled sets) instead
        of flattened signals.
    fs : float, default=500
        Sampling rate, used by the features.
    bandwidth : "median" or float
        ``"median"`` uses the median-heuristic: gamma = 1 / median squared
        distance of the pooled set; a float is the Gaussian kernel's sigma.

    Returns
    -------
    float
        Can be slightly negative, as the estimator is unbiased.
    """
    X = check_ecg_array(X, name="X")
    Y = check_ecg_array(Y, name="Y")
    if features:
        A, B = ecg_features(X, fs), ecg_features(Y, fs)
        pooled = np.vstack([A, B])
        mu, sd = pooled.mean(axis=0), pooled.std(axis=0)
        sd[sd == 0] = 1.0
        A, B = (A - mu) / sd, (B - mu) / sd
    else:
        if X.shape[1:] != Y.shape[1:]:
            raise ValueError(f"signal MMD needs equal (leads, T); got {X.shape[1:]} and {Y.shape[1:]}")
        A, B = X.reshape(len(X), -1), Y.reshape(len(Y), -1)
    return _rbf_mmd2_unbiased(A, B, bandwidth)


def concordance_index(y, risk):
    """Harrell's C-index where a higher ``risk`` means an earlier event. Higher is better.

    Parameters
    ----------
    y : structured array (event, time) or array of shape (n, 2)
        Survival target.
    risk : array-like of shape (n,)

    Notes
    -----
    lifelines' ``concordance_index`` expects predicted *times* (higher = later),
    so the risk is negated before the call.

    Examples
    --------
    >>> concordance_index([[1, 1.0], [1, 2.0], [1, 3.0]], [3.0, 2.0, 1.0])
    1.0
    """
    from lifelines.utils import concordance_index as lifelines_cindex

    event, time = check_survival_target(y)
    risk = np.asarray(risk, dtype=np.float64).ravel()
    if len(risk) != len(time):
        raise ValueError(f"risk has {len(risk)} values but y has {len(time)} rows")
    if not np.isfinite(risk).all():
        raise ValueError("risk scores contain NaN or infinite values")
    return float(lifelines_cindex(time, -risk, event))
