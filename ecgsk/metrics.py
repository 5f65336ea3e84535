"""Metrics for generated, reconstructed and risk-scored ECGs (NumPy/SciPy only, no torch).

Every metric states whether lower or higher is better.

Overview
--------
Signal fidelity (paired ECGs)
    :func:`rmse` (lower), :func:`prd` (lower), :func:`pearson_per_lead` (higher).
Distribution distance (unpaired sets)
    :func:`mmd` (lower), :func:`frechet_feature_distance` (lower),
    :func:`classifier_two_sample_test` (closer to 0.5 is better).
Privacy / memorisation
    :func:`memorization_ratio` (close to 1 is good; well below 1 means copying).
Risk
    :func:`concordance_index` (higher).
Seed-paper protocol (LSTM-GAN table)
    :func:`prd_seed`, :func:`mmd_seed` (lower; per pair of signals).
Features
    :func:`ecg_features`, :func:`feature_names`.
Scorers for ``scoring=`` in scikit-learn model selection
    :data:`reconstruction_pearson_scorer`, :data:`reconstruction_rmse_scorer`,
    :data:`generation_mmd_scorer`, :data:`generation_frechet_scorer`,
    :data:`concordance_scorer` and :func:`get_scorer`.

lifelines, scikit-learn's model-selection tools and scipy.linalg are imported
lazily, inside the functions that need them, so ``import ecgsk.metrics`` stays fast.
"""

import copy
import numbers
import warnings

import numpy as np

from .utils.validation import check_ecg_array, check_survival_target

__all__ = [
    "peak_detection_f1",
    "rmse",
    "prd",
    "prd_seed",
    "mmd",
    "mmd_seed",
    "pearson_per_lead",
    "ecg_features",
    "feature_names",
    "frechet_feature_distance",
    "memorization_ratio",
    "concordance_index",
    "classifier_two_sample_test",
    "ECGScorer",
    "reconstruction_pearson_scorer",
    "reconstruction_rmse_scorer",
    "generation_mmd_scorer",
    "generation_frechet_scorer",
    "concordance_scorer",
    "get_scorer",
    "SCORERS",
]

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
    An all-zero reference gives a huge value instead of a division by zero.

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
    per_ecg = 100.0 * np.sqrt(num / np.maximum(den, _TINY))
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
    per_pair = np.sqrt(100.0 * num / np.maximum(den, _TINY))
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


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------
_PER_LEAD_FEATURES = (
    "std",
    "p01",
    "p05",
    "p50",
    "p95",
    "p99",
    "slope",
    "bp_0_5",
    "bp_5_15",
    "bp_15_40",
    "bp_40_inf",
    "r_amp",
    "s_amp",
    "t_amp",
)
_GLOBAL_FEATURES = ("heart_rate", "rr_cv", "qrs_width")
_DETECT_FS = 250.0  # QRS detection runs at about this rate
_QRS_FRAC = 0.06  # onset/offset threshold; calibrated on LUDB delineation (MAE ~10 ms)
_BANDS = ((0.0, 5.0), (5.0, 15.0), (15.0, 40.0), (40.0, np.inf))


def _lead_names(n_leads):
    from .leads import LEADS_8, LEADS_12

    if n_leads == 12:
        return list(LEADS_12)
    if n_leads == 8:
        return list(LEADS_8)
    return [f"lead{i}" for i in range(n_leads)]


def feature_names(n_leads=12):
    """Names of the columns of :func:`ecg_features` for ``n_leads`` leads.

    The layout is: for each lead (in order) its 14 per-lead features
    ``<lead>_<feature>``; then the inter-lead correlations ``corr_<a>_<b>``
    (upper triangle, row-major); then the global features ``heart_rate``,
    ``rr_cv`` and ``qrs_width``.  Leads are named from
    :data:`~ecgsk.leads.LEADS_12` (12 leads), :data:`~ecgsk.leads.LEADS_8`
    (8 leads), or ``lead0``, ``lead1``, ... otherwise.

    Examples
    --------
    >>> names = feature_names(12)
    >>> len(names), names[0], names[-1]
    (237, 'I_std', 'qrs_width')
    >>> feature_names(1)[:2]
    ['lead0_std', 'lead0_p01']
    """
    if not isinstance(n_leads, numbers.Integral) or n_leads < 1:
        raise ValueError(f"n_leads must be a positive integer; got {n_leads!r}")
    leads = _lead_names(int(n_leads))
    names = [f"{lead}_{f}" for lead in leads for f in _PER_LEAD_FEATURES]
    names += [f"corr_{leads[i]}_{leads[j]}" for i in range(len(leads)) for j in range(i + 1, len(leads))]
    names += list(_GLOBAL_FEATURES)
    return names


def _smooth_mask(freqs, lo, hi, roll=1.0):
    """A band-pass gain in [0, 1] with raised-cosine edges ``roll`` Hz wide."""
    gain = np.ones_like(freqs)
    if lo > 0:
        rise = np.clip((freqs - (lo - roll)) / roll, 0.0, 1.0)
        gain *= 0.5 - 0.5 * np.cos(np.pi * rise)
    if np.isfinite(hi):
        fall = np.clip(((hi + roll) - freqs) / roll, 0.0, 1.0)
        gain *= 0.5 - 0.5 * np.cos(np.pi * fall)
    return gain


def _percentiles_sorted(X, qs):
    """``np.percentile(X, qs, axis=-1)`` (linear method) via one vectorised sort, as (..., len(qs)) float64.

    Sorting is several times faster than numpy's partition-based percentile
    for many short rows.
    """
    S = np.sort(X, axis=-1)
    T = S.shape[-1]
    out = []
    for q in qs:
        p = q / 100.0 * (T - 1)
        lo = int(np.floor(p))
        hi = min(lo + 1, T - 1)
        frac = p - lo
        out.append(S[..., lo].astype(np.float64) * (1 - frac) + S[..., hi].astype(np.float64) * frac)
    return np.stack(out, axis=-1)


def _chunk_features(X, fs):
    """Features for one chunk ``X`` (float32, (n, L, T)); see :func:`ecg_features`."""
    from scipy import fft as sfft
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    n, L, T = X.shape
    # --- amplitude features ------------------------------------------------
    # Percentiles are shift-equivariant, so those of the median-centred signal
    # are the raw percentiles minus the median (one sort serves both).
    pct = _percentiles_sorted(X, (1, 5, 50, 95, 99))
    pct -= pct[..., 2:3].copy()
    std = X.std(axis=2, dtype=np.float64)[..., None]
    if T > 1:
        slope = (np.abs(np.diff(X, axis=2)).mean(axis=2, dtype=np.float64) * fs / 100.0)[..., None]
    else:
        slope = np.zeros((n, L, 1))

    # --- spectrum of the end-point-detrended signal ------------------------
    # Removing the line through the (averaged) end points makes the periodic
    # extension continuous, so that circular FFT filtering does not create a
    # step (and spurious QRS-band energy) at the record edges.
    k = max(1, min(T // 20, int(round(0.01 * fs))))
    start = X[..., :k].mean(axis=2, keepdims=True)
    end = X[..., -k:].mean(axis=2, keepdims=True)
    ramp = np.linspace(0.0, 1.0, T, dtype=X.dtype) if T > 1 else np.zeros(1, dtype=X.dtype)
    detr = X - start
    detr -= (end - start) * ramp
    spec = sfft.rfft(detr, axis=2, workers=-1)
    del detr
    spec[..., 0] = 0.0  # remove the mean
    freqs = np.fft.rfftfreq(T, d=1.0 / fs)
    power = spec.real**2 + spec.imag**2
    edges = [int(np.searchsorted(freqs, lo)) for lo, _ in _BANDS]
    nb = len(freqs)
    band_power = np.zeros((n, L, len(_BANDS)))
    for b, (lo_i, hi_i) in enumerate(zip(edges, edges[1:] + [nb])):
        if hi_i > lo_i:
            band_power[..., b] = power[..., lo_i:hi_i].sum(axis=2, dtype=np.float64)
    band_power /= power.sum(axis=2, dtype=np.float64)[..., None] + 1e-12
    del power

    # --- QRS detection signal at ~250 Hz ----------------------------------
    # Derivative of a 5-25 Hz band-pass (QRS slopes, little P/T energy),
    # synthesised directly at a reduced rate from the low FFT bins.
    q = max(1, int(fs // _DETECT_FS))
    Td = max(1, T // q)
    fs_d = fs * Td / T
    nbd = min(Td // 2 + 1, nb)
    gain_d = _smooth_mask(freqs[:nbd], 5.0, min(25.0, 0.45 * fs_d), roll=2.0) * (2j * np.pi * freqs[:nbd] / fs_d)
    det = sfft.irfft(spec[..., :nbd] * gain_d.astype(spec.dtype), n=Td, axis=2, workers=-1)
    energy = uniform_filter1d(
        (det.astype(np.float64) ** 2).sum(axis=1), size=max(1, int(round(0.08 * fs_d))), axis=1, mode="nearest"
    )
    del det

    # --- baseline-free signal (>= 0.5 Hz), full rate -----------------------
    n_low = int(np.searchsorted(freqs, 0.8)) + 1
    spec[..., :n_low] *= _smooth_mask(freqs[:n_low], 0.5, np.inf, roll=0.3).astype(spec.real.dtype)
    hp = sfft.irfft(spec, n=T, axis=2, workers=-1)
    del spec

    # --- R peaks ------------------------------------------------------------
    # Local maxima (+-0.2 s) of the envelope sqrt(energy) above 40% of a robust
    # reference height: the k-th highest local maximum, with k the number of
    # beats expected at 40 bpm (so a few large artefacts cannot mask the beats).
    env = np.sqrt(energy)
    half = max(1, int(round(0.2 * fs_d)))
    local_max = maximum_filter1d(env, size=2 * half + 1, axis=1, mode="nearest")
    rising = np.ones_like(env, dtype=bool)
    rising[:, 1:] = env[:, 1:] > env[:, :-1]  # first sample of a plateau only
    cand = (env >= local_max) & (env > 0) & rising
    edge = min(int(round(0.05 * fs_d)), Td // 10)
    if edge > 0:
        cand[:, :edge] = False
        cand[:, Td - edge :] = False
    k_ref = int(min(Td, max(1, np.floor(Td / fs_d * 40.0 / 60.0))))
    ref_height = np.sort(np.where(cand, env, 0.0), axis=1)[:, Td - k_ref]
    cand &= env > 0.4 * ref_height[:, None]
    rec, pos = np.nonzero(cand)
    counts = np.bincount(rec, minlength=n)
    missing = np.flatnonzero(counts == 0)
    if len(missing):  # no clear QRS: use the energy maximum (or the centre of a flat record)
        fallback = np.where(env[missing].max(axis=1) > 0, env[missing].argmax(axis=1), Td // 2)
        rec = np.concatenate([rec, missing])
        pos = np.concatenate([pos, fallback])
        order = np.lexsort((pos, rec))
        rec, pos = rec[order], pos[order]
        counts = np.bincount(rec, minlength=n)
    pos = np.minimum(np.round((pos + 0.5) * (T / Td) - 0.5).astype(np.intp), T - 1)  # full-rate samples

    # --- heart rate and RR variability (need >= 2 beats) --------------------
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    same = rec[1:] == rec[:-1]
    rr = (np.diff(pos) / fs)[same]
    rr_rec = rec[1:][same]
    n_rr = np.bincount(rr_rec, minlength=n)
    ok = n_rr > 0
    heart_rate = np.zeros(n)
    rr_cv = np.zeros(n)
    if ok.any():
        order = np.lexsort((rr, rr_rec))  # RR sorted within each record
        rr_sorted = rr[order]
        rr_start = np.concatenate([[0], np.cumsum(n_rr)[:-1]])
        lo_i = rr_start + (n_rr - 1) // 2
        hi_i = rr_start + n_rr // 2
        med = 0.5 * (rr_sorted[np.minimum(lo_i, len(rr) - 1)] + rr_sorted[np.minimum(hi_i, len(rr) - 1)])
        mean = np.bincount(rr_rec, weights=rr, minlength=n) / np.maximum(n_rr, 1)
        var = np.bincount(rr_rec, weights=rr**2, minlength=n) / np.maximum(n_rr, 1) - mean**2
        heart_rate[ok] = 60.0 / med[ok]
        rr_cv[ok] = np.sqrt(np.maximum(var[ok], 0.0)) / mean[ok]

    # --- average beat (template) around the detected QRS ---------------------
    pre, post = max(1, int(round(0.25 * fs))), max(2, int(round(0.45 * fs)))
    W = pre + post
    padded = np.pad(hp, ((0, 0), (0, 0), (pre, post)))
    full = (pos >= pre) & (pos + post <= T)
    has_full = np.bincount(rec, weights=full, minlength=n) > 0
    weight = np.where(has_full[rec], full, True).astype(np.float64)
    idx = pos[:, None] + np.arange(W)[None, :]  # in padded coordinates
    windows = padded[rec[:, None], :, idx]  # (beats, W, L)
    windows *= weight[:, None, None]
    sums = np.add.reduceat(windows, starts, axis=0)  # every record has >= 1 beat
    del windows
    wsum = np.add.reduceat(weight, starts)
    template = (sums / np.maximum(wsum, 1.0)[:, None, None]).transpose(0, 2, 1)  # (n, L, W)
    template = template - np.median(template, axis=2, keepdims=True)

    # R amplitude: maximum within +-60 ms of the detected QRS; S: minimum in the
    # 80 ms after each lead's R; T: signed extreme 120-450 ms after the QRS.
    r_half = max(1, int(round(0.06 * fs)))
    r_win = template[..., max(0, pre - r_half) : pre + r_half + 1]
    r_amp = r_win.max(axis=2)
    r_idx = max(0, pre - r_half) + r_win.argmax(axis=2)
    s_offsets = np.arange(int(round(0.08 * fs)) + 1)
    s_idx = np.minimum(r_idx[..., None] + s_offsets, W - 1)
    s_amp = np.take_along_axis(template, s_idx, axis=2).min(axis=2)
    t_lo = min(W - 1, pre + int(round(0.12 * fs)))
    t_win = template[..., t_lo:]
    t_amp = np.take_along_axis(t_win, np.abs(t_win).argmax(axis=2)[..., None], axis=2)[..., 0]

    # QRS width: contiguous span around the QRS where the lead-summed absolute
    # slope of the template exceeds 6% of its height above the slope floor.
    slope_sum = uniform_filter1d(
        np.abs(np.diff(template, axis=2)).sum(axis=1), size=max(1, int(round(0.01 * fs))), axis=1
    )  # (n, W-1)
    lo_c, hi_c = max(0, pre - r_half), min(W - 1, pre + r_half + 1)
    centre = lo_c + slope_sum[:, lo_c:hi_c].argmax(axis=1)
    peak = slope_sum[np.arange(n), centre]
    floor = np.median(slope_sum, axis=1)
    above = slope_sum >= (floor + _QRS_FRAC * (peak - floor))[:, None]
    reach = np.arange(int(round(0.15 * fs)) + 1)

    def _run(direction):
        idxs = np.clip(centre[:, None] + direction * reach[None, :], 0, W - 2)
        m = np.take_along_axis(above, idxs, axis=1)
        first_false = np.where(m.all(axis=1), len(reach), m.argmin(axis=1))
        return first_false

    qrs_width = np.where(peak > floor, (_run(-1) + _run(1) - 1).clip(0) / fs * 1000.0, 0.0)

    # --- inter-lead correlations of the baseline-free signal -----------------
    if L > 1:
        z = hp - hp.mean(axis=2, keepdims=True)
        norms = np.sqrt((z**2).sum(axis=2))
        gram = z @ z.transpose(0, 2, 1)
        den = norms[:, :, None] * norms[:, None, :]
        corr = np.where(den > 0, gram / np.where(den > 0, den, 1.0), 0.0)
        iu = np.triu_indices(L, k=1)
        corr = corr[:, iu[0], iu[1]]
    else:
        corr = np.zeros((n, 0))

    per_lead = np.concatenate(
        [std, pct, slope, band_power, r_amp[..., None], s_amp[..., None], t_amp[..., None]], axis=2
    )
    glob = np.stack([heart_rate, rr_cv, qrs_width], axis=1)
    return np.concatenate([per_lead.reshape(n, -1), np.clip(corr, -1.0, 1.0), glob], axis=1)


def ecg_features(X, fs=500, *, return_names=False, chunk_size=None):
    """Morphology, rhythm and spectral features of each ECG, for distribution metrics.

    All features are computed by ecgsk itself (vectorised NumPy/SciPy; no
    neurokit2), in chunks of records to bound memory.  The output is finite for
    any finite input, including all-zero signals.

    Per lead (14 features, see :func:`feature_names`):

    - ``std``, percentiles ``p01 p05 p50 p95 p99`` of the median-centred signal (mV);
    - ``slope``: mean absolute first difference × fs/100 (mV per 10 ms);
    - ``bp_0_5 bp_5_15 bp_15_40 bp_40_inf``: relative power in those bands (Hz);
    - ``r_amp``, ``s_amp``, ``t_amp``: amplitudes (mV) on the average beat,
      relative to that beat's median level: R = maximum within ±60 ms of the
      detected QRS, S = minimum within 80 ms after the lead's R, T = signed
      extreme 120-450 ms after the QRS.

    Across leads: the Pearson correlation of every pair of leads (baseline-free
    signal).  Global: ``heart_rate`` (bpm, 60 / median RR), ``rr_cv`` (RR
    standard deviation / mean) and ``qrs_width`` (ms, from the average beat's
    lead-summed slope).

    R peaks are local maxima (±0.2 s) of the smoothed, lead-summed energy of a
    differentiated 5-25 Hz band-pass, above 30 % of its 99th percentile; peaks
    within 50 ms of the record edges are ignored.  Beats average into a
    template from 0.25 s before to 0.45 s after each peak (zero-padded at the
    edges; beats with complete windows are preferred).  When fewer than two R
    peaks are found -- single beats, short segments such as 400-sample windows,
    or flat signals -- the heart rate is undefined and ``heart_rate`` and
    ``rr_cv`` are **0** (a flag value, never NaN); the morphology features then
    come from the single strongest QRS (or the record centre for a flat record).
    Detection runs at about 250 Hz, so beats align within about ±2 ms and
    the averaged R/S amplitudes read slightly low (about 1.5 % for the
    narrow QRS of :func:`~ecgsk.datasets.make_synthetic_ecgs`); this bias is
    the same for real and generated sets.  On the CPSC 2019 sample the heart
    rate's median absolute error against the reference R peaks is below 1 bpm.  The QRS threshold was calibrated
    on LUDB's cardiologist delineation (mean absolute error about 10 ms).

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        ECGs in mV.
    fs : float, default=500
        Sampling rate in Hz.
    return_names : bool, default=False
        Also return the list of feature names.
    chunk_size : int, optional
        Records per chunk (default: about 4 million samples per chunk).

    Returns
    -------
    features : ndarray of float64, shape (n_ecgs, 14·n_leads + n_leads·(n_leads−1)/2 + 3)
    names : list of str
        Only when ``return_names`` is true.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(3, n_leads=12, heart_rate=(60, 60), random_state=0)
    >>> F, names = ecg_features(X, fs=500, return_names=True)
    >>> F.shape, len(names)
    ((3, 237), 237)
    >>> hr = F[:, names.index("heart_rate")]
    >>> bool(((hr > 55) & (hr < 65)).all())
    True
    """
    if not (isinstance(fs, numbers.Real) and fs > 0):
        raise ValueError(f"fs must be a positive number; got {fs!r}")
    X = check_ecg_array(X)  # float32
    n, L, T = X.shape
    if chunk_size is None:
        chunk_size = max(1, int(4_000_000 // (L * T)))
    out = np.empty((n, len(_PER_LEAD_FEATURES) * L + L * (L - 1) // 2 + len(_GLOBAL_FEATURES)))
    with np.errstate(all="ignore"):
        for lo in range(0, n, chunk_size):
            out[lo : lo + chunk_size] = _chunk_features(X[lo : lo + chunk_size], float(fs))
    # Belt and braces: extreme inputs (e.g. 1e38 mV) may overflow.
    np.nan_to_num(out, copy=False, nan=0.0, posinf=np.finfo(np.float64).max / 1e10, neginf=-np.finfo(np.float64).max / 1e10)
    if return_names:
        return out, feature_names(L)
    return out


def _standardise(A, B, standardize):
    if standardize in (None, False, "none"):
        return A, B
    if standardize == "pooled":
        ref = np.vstack([A, B])
    elif standardize == "reference":
        ref = A
    else:
        raise ValueError(f"standardize must be 'pooled', 'reference' or None; got {standardize!r}")
    mu, sd = ref.mean(axis=0), ref.std(axis=0)
    sd = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mu)), sd, 1.0)
    return (A - mu) / sd, (B - mu) / sd


# ---------------------------------------------------------------------------
# distribution distances
# ---------------------------------------------------------------------------
def _sq_dists(A, B):
    """Squared Euclidean distances between rows, float64 (inputs may be float32)."""
    a2 = np.einsum("ij,ij->i", A, A, dtype=np.float64)
    b2 = np.einsum("ij,ij->i", B, B, dtype=np.float64)
    G = np.asarray(A @ B.T, dtype=np.float64)
    return np.maximum(a2[:, None] + b2[None, :] - 2.0 * G, 0.0)


def _rbf_mmd2_unbiased(A, B, bandwidth="median"):
    if len(A) < 2 or len(B) < 2:
        raise ValueError(f"MMD needs at least 2 samples in each set; got {len(A)} and {len(B)}")
    dxx, dyy, dxy = _sq_dists(A, A), _sq_dists(B, B), _sq_dists(A, B)
    np.fill_diagonal(dxx, 0.0)
    np.fill_diagonal(dyy, 0.0)
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a positive float; got {bandwidth!r}")
        off = np.concatenate(
            [dxx[np.triu_indices(len(A), 1)], dyy[np.triu_indices(len(B), 1)], dxy.ravel()]
        )
        off = off[off > 0]
        gamma = 1.0 / np.median(off) if len(off) else 1.0
    else:
        if not float(bandwidth) > 0:
            raise ValueError(f"bandwidth must be 'median' or a positive float; got {bandwidth!r}")
        gamma = 1.0 / (2.0 * float(bandwidth) ** 2)
    m, n = len(A), len(B)
    Kxx, Kyy, Kxy = np.exp(-gamma * dxx), np.exp(-gamma * dyy), np.exp(-gamma * dxy)
    term_x = (Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
    term_y = (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1))
    return float(term_x + term_y - 2.0 * Kxy.mean())


def mmd(X, Y, *, features=False, fs=500, bandwidth="median"):
    """Unbiased RBF-kernel MMD² between two sets of ECGs. **Lower is better** (0 = same distribution).

    .. math:: \\widehat{MMD}^2 = \\frac{1}{m(m-1)}\\sum_{i\\ne j}k(x_i,x_j)
              + \\frac{1}{n(n-1)}\\sum_{i\\ne j}k(y_i,y_j) - \\frac{2}{mn}\\sum_{i,j}k(x_i,y_j)

    with :math:`k(a, b) = \\exp(-\\gamma\\lVert a-b\\rVert^2)`.

    Parameters
    ----------
    X, Y : array-like of shape (n, leads, T)
        The two sets; they may differ in size (at least 2 ECGs each).
    features : bool, default=False
        Compare :func:`ecg_features` (standardised with the pooled mean and
        standard deviation of both sets) instead of flattened signals.
    fs : float, default=500
        Sampling rate, used by the features.
    bandwidth : "median" or float, default="median"
        ``"median"`` is the median heuristic: ``gamma = 1 / median`` of the
        non-zero pairwise squared distances of the pooled set; a float is the
        Gaussian kernel's sigma (``gamma = 1 / (2 sigma²)``).

    Returns
    -------
    float
        The unbiased estimate; it can be slightly negative when the two sets
        come from the same distribution.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> A = make_synthetic_ecgs(20, n_leads=1, n_samples=1000, random_state=0)
    >>> B = make_synthetic_ecgs(20, n_leads=1, n_samples=1000, random_state=1)
    >>> abs(mmd(A, B, features=True)) < mmd(A, 2 * B, features=True)
    True
    """
    X = check_ecg_array(X, name="X")
    Y = check_ecg_array(Y, name="Y")
    if features:
        if X.shape[1] != Y.shape[1]:
            raise ValueError(f"feature MMD needs the same number of leads; got {X.shape[1]} and {Y.shape[1]}")
        A, B = _standardise(ecg_features(X, fs), ecg_features(Y, fs), "pooled")
    else:
        if X.shape[1:] != Y.shape[1:]:
            raise ValueError(f"signal MMD needs equal (leads, T); got {X.shape[1:]} and {Y.shape[1:]}")
        A, B = X.reshape(len(X), -1), Y.reshape(len(Y), -1)
        if (A.size + B.size) * 8 <= 512 * 2**20:  # exact float64 Gram unless that would take > 512 MiB
            A, B = A.astype(np.float64), B.astype(np.float64)
    return _rbf_mmd2_unbiased(A, B, bandwidth)


def mmd_seed(x, y, *, bandwidth=1.0, reduce="mean", block=2048):
    """Per-pair MMD² of the LSTM-GAN paper's table. **Lower is better.**

    The seed protocol (Zhu et al. 2019) compares each generated signal with one
    real signal: the samples of ``x_i`` and of ``y_i`` are treated as two sets
    of *scalar* points, and the unbiased MMD² between them is computed with the
    Gaussian kernel ``k(a, b) = exp(-(a-b)² / (2·bandwidth²))``, bandwidth 1
    (in the signals' units).  Being unbiased, a value can be negative.  It
    measures whether the amplitude *histograms* agree, not the waveforms; use
    :func:`mmd` for a distribution distance between ECG sets.

    For multi-lead input the per-lead values are averaged, giving one value per
    pair of ECGs.  The cost is O(T²) per pair and lead, in blocks of ``block``
    samples.

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)
        Pairs ``(x_i, y_i)``; same shape.
    bandwidth : float, default=1.0
    reduce : {"mean", "median", "min", "max"} or None, default="mean"
        ``None`` returns the per-pair array (for the table's Mean/Min/Max).
    block : int, default=2048

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 1.0]])
    >>> y = np.array([[0.0, 2.0]])
    >>> # k(x0,x1)=e^-.5; k(y0,y1)=e^-2; cross: 1 + e^-2 + e^-.5 + e^-.5 over 4, times 2
    >>> expected = np.exp(-0.5) + np.exp(-2) - 0.5 * (1 + np.exp(-2) + 2 * np.exp(-0.5))
    >>> bool(np.isclose(mmd_seed(x, y), expected))
    True
    """
    x, y = _pair(x, y)
    if not float(bandwidth) > 0:
        raise ValueError(f"bandwidth must be positive; got {bandwidth!r}")
    n, L, T = x.shape
    if T < 2:
        raise ValueError("mmd_seed needs at least 2 samples per signal")
    c = 1.0 / (2.0 * float(bandwidth) ** 2)

    def ksum(a, b):  # sum over all (i, j) of k(a_i, b_j), a and b 1-D
        total = 0.0
        for i in range(0, len(a), block):
            total += np.exp(-c * (a[i : i + block, None] - b[None, :]) ** 2).sum()
        return total

    out = np.empty(n)
    for i in range(n):
        vals = []
        for lead in range(L):
            a, b = x[i, lead], y[i, lead]
            kxx = (ksum(a, a) - T) / (T * (T - 1))
            kyy = (ksum(b, b) - T) / (T * (T - 1))
            kxy = ksum(a, b) / (T * T)
            vals.append(kxx + kyy - 2.0 * kxy)
        out[i] = np.mean(vals)
    return _reduce(out, reduce)


def _trace_sqrt_product(S1, S2, method="eigh"):
    """``Tr((S1 S2)^(1/2))`` for symmetric positive semi-definite ``S1``, ``S2``.

    ``"eigh"``: ``S1 S2`` is similar to the symmetric PSD matrix
    ``S1^(1/2) S2 S1^(1/2)`` (and a limit of such when ``S1`` is singular), so
    the trace is the sum of the square roots of that matrix's eigenvalues,
    clipped at 0.  Two symmetric eigendecompositions: fast and stable even for
    the singular covariances of fewer ECGs than features.

    ``"sqrtm"``: the FID reference recipe, ``scipy.linalg.sqrtm(S1 @ S2)``;
    if the result is not finite or has a non-negligible imaginary part, a
    small ridge is added to both covariances, then the real part is taken.
    It can take seconds for a few hundred features with singular covariances.
    """
    if method == "eigh":
        def _clip(w):  # eigenvalues at rounding level are exact zeros
            tol = max(float(np.abs(w).max(initial=0.0)), _TINY) * len(w) * np.finfo(np.float64).eps
            return np.where(w > tol, w, 0.0)

        w, V = np.linalg.eigh((S1 + S1.T) / 2.0)
        root = (V * np.sqrt(_clip(w))) @ V.T
        M_ = root @ S2 @ root
        return float(np.sqrt(_clip(np.linalg.eigvalsh((M_ + M_.T) / 2.0))).sum())
    if method != "sqrtm":
        raise ValueError(f"method must be 'eigh' or 'sqrtm'; got {method!r}")
    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = np.asarray(linalg.sqrtm(S1 @ S2))
    if not np.isfinite(covmean).all() or (
        np.iscomplexobj(covmean) and np.abs(covmean.imag).max() > 1e-3 * max(1.0, np.abs(covmean.real).max())
    ):
        eps = 1e-6 * max(1.0, np.trace(S1) / len(S1), np.trace(S2) / len(S2))
        offset = eps * np.eye(len(S1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            covmean = np.asarray(linalg.sqrtm((S1 + offset) @ (S2 + offset)))
    tr = float(np.real(np.trace(covmean)))
    return tr if np.isfinite(tr) else _trace_sqrt_product(S1, S2, "eigh")


def frechet_feature_distance(X, Y, fs=500, *, standardize="pooled", method="eigh"):
    """Fréchet distance between Gaussian fits of :func:`ecg_features`. **Lower is better** (0 = same fit).

    .. math:: d^2 = \\lVert\\mu_X-\\mu_Y\\rVert^2 + \\mathrm{Tr}\\big(\\Sigma_X+\\Sigma_Y-2(\\Sigma_X\\Sigma_Y)^{1/2}\\big)

    the ECG-feature analogue of FID.  Features are first standardised so that
    every feature counts in units of its spread: with ``standardize="pooled"``
    (default) by the mean and standard deviation of both sets together, which
    makes the distance symmetric in ``X`` and ``Y``; with ``"reference"`` by
    those of ``X`` (the real data), which keeps the scale fixed when comparing
    several generated sets against one reference; ``None`` uses raw features.
    Constant features are left unscaled.

    The trace of the matrix square root is computed, by default, from the
    symmetric form ``Tr((Σ_X^½ Σ_Y Σ_X^½)^½)``, which equals
    ``Tr((Σ_X Σ_Y)^½)`` exactly, with eigenvalues clipped at 0: stable and
    fast even when the covariances are singular.  ``method="sqrtm"`` uses the
    FID reference recipe instead: ``scipy.linalg.sqrtm(Σ_X Σ_Y)``, retried with
    a small ridge on both covariances if the result is not finite or has a
    non-negligible imaginary part, then its real part (the two agree to
    rounding; ``sqrtm`` can take seconds for 12-lead feature sets).  The
    result is clipped at 0.  With fewer ECGs than features the covariances are
    singular and the value carries estimation bias, so compare distances
    computed with equal set sizes.

    Parameters
    ----------
    X, Y : array-like of shape (n, leads, T)
        Reference and generated sets (at least 2 ECGs each, same lead count;
        lengths may differ).
    fs : float, default=500
    standardize : {"pooled", "reference"} or None, default="pooled"
    method : {"eigh", "sqrtm"}, default="eigh"
        How the trace of the matrix square root is computed (see above).

    Returns
    -------
    float

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> A = make_synthetic_ecgs(30, n_leads=1, n_samples=1000, random_state=0)
    >>> frechet_feature_distance(A, A) < 1e-6
    True
    >>> frechet_feature_distance(A, 3 * A) > 1.0
    True
    """
    X = check_ecg_array(X, name="X")
    Y = check_ecg_array(Y, name="Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y need the same number of leads; got {X.shape[1]} and {Y.shape[1]}")
    if len(X) < 2 or len(Y) < 2:
        raise ValueError(f"the Fréchet distance needs at least 2 ECGs per set; got {len(X)} and {len(Y)}")
    if method not in ("eigh", "sqrtm"):
        raise ValueError(f"method must be 'eigh' or 'sqrtm'; got {method!r}")
    A, B = _standardise(ecg_features(X, fs), ecg_features(Y, fs), standardize)
    mu1, mu2 = A.mean(axis=0), B.mean(axis=0)
    S1 = np.atleast_2d(np.cov(A, rowvar=False))
    S2 = np.atleast_2d(np.cov(B, rowvar=False))
    diff = mu1 - mu2
    d2 = float(diff @ diff + np.trace(S1) + np.trace(S2) - 2.0 * _trace_sqrt_product(S1, S2, method))
    return max(d2, 0.0)


# ---------------------------------------------------------------------------
# memorisation
# ---------------------------------------------------------------------------
def _nn_dist(G, R, block_g=256, block_r=2048):
    """Distance from each row of G to its nearest row of R (float64, chunked)."""
    out = np.full(len(G), np.inf)
    r2 = np.einsum("ij,ij->i", R, R, dtype=np.float64)
    for i in range(0, len(G), block_g):
        g = G[i : i + block_g].astype(np.float64)
        g2 = np.einsum("ij,ij->i", g, g)
        best = np.full(len(g), np.inf)
        for j in range(0, len(R), block_r):
            r = R[j : j + block_r].astype(np.float64)
            d2 = g2[:, None] + r2[None, j : j + block_r] - 2.0 * (g @ r.T)
            best = np.minimum(best, d2.min(axis=1))
        out[i : i + block_g] = best
    return np.sqrt(np.maximum(out, 0.0))


def memorization_ratio(generated, train, holdout, reduce="mean"):
    """Nearest-training-neighbour distance over nearest-holdout-neighbour distance.

    For each generated ECG ``g``:

    .. math:: r(g) = \\frac{\\min_{t \\in train}\\lVert g-t\\rVert}{\\min_{h \\in holdout}\\lVert g-h\\rVert}

    (Euclidean distance on the flattened signals, computed in chunks so that
    memory stays bounded).  **Interpretation:** a generator that has
    learned the distribution, not the training set, is as close to unseen
    holdout ECGs as to training ECGs, so ``r ≈ 1``.  A generator that copies
    (or nearly copies) training ECGs scores **well below 1** (0 for exact
    copies).  Values above 1 are harmless.  Close to 1 is good; well below 1
    flags memorisation.

    ``train`` and ``holdout`` should be the same size and drawn from the same
    distribution: nearest-neighbour distances shrink as the reference set
    grows, so unequal sizes bias the ratio (a larger ``train`` pushes it below
    1).  When both distances are 0 the ratio is 1; when only the holdout
    distance is 0 it is large but finite.

    Parameters
    ----------
    generated, train, holdout : array-like of shape (n, leads, T)
        Same (leads, T) for all three.
    reduce : {"mean", "median", "min", "max"} or None, default="mean"
        ``None`` returns one ratio per generated ECG.

    Returns
    -------
    float or ndarray of shape (n_generated,)

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> train = make_synthetic_ecgs(30, n_leads=1, n_samples=500, random_state=0)
    >>> holdout = make_synthetic_ecgs(30, n_leads=1, n_samples=500, random_state=1)
    >>> memorization_ratio(train[:10], train, holdout) < 0.01
    True
    """
    G = check_ecg_array(generated, name="generated")
    R = check_ecg_array(train, name="train")
    H = check_ecg_array(holdout, name="holdout")
    if not (G.shape[1:] == R.shape[1:] == H.shape[1:]):
        raise ValueError(
            f"generated, train and holdout need the same (leads, T); got {G.shape[1:]}, {R.shape[1:]}, {H.shape[1:]}"
        )
    G, R, H = (a.reshape(len(a), -1) for a in (G, R, H))
    d_train, d_hold = _nn_dist(G, R), _nn_dist(G, H)
    scale = max(float(np.abs(G).max()), 1.0) * 1e-12
    ratio = np.where(d_hold > scale, d_train / np.maximum(d_hold, scale), np.where(d_train > scale, d_train / scale, 1.0))
    return _reduce(ratio, reduce)


# ---------------------------------------------------------------------------
# two-sample classifier test
# ---------------------------------------------------------------------------
def classifier_two_sample_test(real, generated, fs=500, random_state=0, *, cv=5):
    """Classifier two-sample test: can a classifier tell real from generated ECGs?

    Two classifiers are trained on :func:`ecg_features` to label ECGs as real
    (1) or generated (0): a standardised logistic regression and a small
    ``HistGradientBoostingClassifier`` (50 trees of depth 3).  The score is the
    stratified ``cv``-fold cross-validated accuracy of each.  **Closer to 0.5
    is better** (for balanced sets): 0.5 means the classifier cannot tell the
    sets apart; 1.0 means they are trivially separable.  With unbalanced sets
    compare with ``chance`` (the majority-class rate) instead of 0.5.

    Parameters
    ----------
    real, generated : array-like of shape (n, leads, T)
        Same lead count; lengths may differ.
    fs : float, default=500
    random_state : int, default=0
        Seeds the folds and the boosting model.
    cv : int, default=5
        Number of folds (reduced to the size of the smaller set if needed).

    Returns
    -------
    dict
        ``logistic_regression`` and ``gradient_boosting`` (mean CV accuracy),
        ``logistic_regression_folds`` and ``gradient_boosting_folds`` (per
        fold), ``chance``, ``n_real``, ``n_generated``, ``n_splits``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> real = make_synthetic_ecgs(20, n_leads=1, n_samples=1000, random_state=0)
    >>> res = classifier_two_sample_test(real, 5 * real)
    >>> res["logistic_regression"] > 0.9
    True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    real = check_ecg_array(real, name="real")
    generated = check_ecg_array(generated, name="generated")
    if real.shape[1] != generated.shape[1]:
        raise ValueError(f"real and generated need the same lead count; got {real.shape[1]} and {generated.shape[1]}")
    n_splits = min(int(cv), len(real), len(generated))
    if n_splits < 2:
        raise ValueError("the classifier two-sample test needs at least 2 ECGs in each set")
    F = np.vstack([ecg_features(real, fs), ecg_features(generated, fs)])
    y = np.r_[np.ones(len(real), dtype=int), np.zeros(len(generated), dtype=int)]
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    models = {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=50, max_depth=3, learning_rate=0.1, random_state=random_state
        ),
    }
    result = {}
    # OpenMP threads only slow the boosting down on a few thousand rows (and
    # badly so on a busy machine): use one thread for small problems.
    from threadpoolctl import threadpool_limits

    limits = 1 if len(F) < 10_000 else None
    with warnings.catch_warnings(), threadpool_limits(limits=limits, user_api="openmp"):
        warnings.simplefilter("ignore")
        for name, model in models.items():
            scores = cross_val_score(model, F, y, cv=folds, scoring="accuracy")
            result[name] = float(scores.mean())
            result[f"{name}_folds"] = scores.tolist()
    result["chance"] = max(len(real), len(generated)) / (len(real) + len(generated))
    result["n_real"], result["n_generated"], result["n_splits"] = len(real), len(generated), n_splits
    return result


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
    return float(lifelines_cindex(time, -risk, event))


# ---------------------------------------------------------------------------
# scorers
# ---------------------------------------------------------------------------
def _estimator_fs(estimator, default=500):
    fs = getattr(estimator, "fs", None)
    if fs is None and hasattr(estimator, "steps"):
        for _, step in reversed(estimator.steps):
            fs = getattr(step, "fs", None)
            if fs is not None:
                break
    return fs if isinstance(fs, numbers.Real) and fs > 0 else default


def _reconstruction_pair(estimator, X, y):
    X = check_ecg_array(X, name="X")
    reference = X if y is None else check_ecg_array(y, n_leads=12, name="y")
    if reference.shape[1] != 12:
        raise ValueError(f"reconstruction scorers need 12-lead references; got {reference.shape[1]} lead(s)")
    estimate = check_ecg_array(estimator.transform(X), n_leads=12, name="transform(X)")
    return reference[:, 1:], estimate[:, 1:]


def _score_reconstruction_pearson(estimator, X, y=None, **kwargs):
    ref, est = _reconstruction_pair(estimator, X, y)
    return float(np.mean(pearson_per_lead(ref, est)))


def _score_reconstruction_rmse(estimator, X, y=None, **kwargs):
    ref, est = _reconstruction_pair(estimator, X, y)
    return rmse(ref, est)


def _generated_like(estimator, X, conditions):
    X = check_ecg_array(X, name="X")
    kwargs = {"random_state": 0}
    if conditions is not None:
        kwargs["conditions"] = conditions
    return X, estimator.sample(len(X), **kwargs)


def _score_generation_mmd(estimator, X, y=None, conditions=None, **kwargs):
    X, generated = _generated_like(estimator, X, conditions)
    return mmd(generated, X, features=True, fs=_estimator_fs(estimator))


def _score_generation_frechet(estimator, X, y=None, conditions=None, **kwargs):
    X, generated = _generated_like(estimator, X, conditions)
    return frechet_feature_distance(X, generated, fs=_estimator_fs(estimator))


def _score_concordance(estimator, X, y=None, conditions=None, **kwargs):
    if y is None:
        raise ValueError("concordance_scorer needs a survival target y")
    kw = {} if conditions is None else {"conditions": conditions}
    if hasattr(estimator, "predict_risk"):
        risk = estimator.predict_risk(X, **kw)
    else:
        risk = estimator.predict(X, **kw)
    return concordance_index(y, risk)


class ECGScorer:
    """A scikit-learn compatible scorer: ``scorer(estimator, X, y=None, **metadata)`` → float.

    Usable wherever scikit-learn accepts ``scoring=`` (``cross_val_score``,
    ``cross_validate``, ``GridSearchCV``).  Following scikit-learn's
    convention the returned value is always *greater-is-better*: metrics where
    lower is better are negated (``sign=-1``), like ``neg_mean_squared_error``.

    **Metadata routing.**  Scorers whose metric can use per-ECG
    ``conditions`` (generation and concordance scorers) request ``conditions``
    for ``score`` by default.  With ``sklearn.set_config(enable_metadata_routing=True)``,
    ``cross_validate(est, X, y, scoring=scorer, params={"conditions": c})``
    then passes the test fold's rows of ``c`` to both ``fit`` (if the
    estimator requests it via ``set_fit_request(conditions=True)``) and the
    scorer, which forwards them to ``sample``/``predict_risk``.  Turn this off
    with ``scorer.set_score_request(conditions=False)``.  Without metadata
    routing, scikit-learn passes no metadata to scorers: conditional
    generators are then sampled without conditions (or fail if they need
    them); score such models by hand in that case.

    Parameters
    ----------
    name : str
    score_func : callable ``(estimator, X, y=None, **metadata) -> float``
    sign : {1, -1}
        Multiplies the metric.
    metadata : tuple of str
        Metadata the scorer requests by default.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> from ecgsk.models.linear import LinearLeadReconstructor
    >>> X = make_synthetic_ecgs(9, n_leads=12, n_samples=1000, random_state=0)
    >>> r = cross_val_score(LinearLeadReconstructor(), X, cv=3, scoring=reconstruction_pearson_scorer)
    >>> bool((r > 0.5).all())
    True
    >>> e = cross_val_score(LinearLeadReconstructor(), X, cv=3, scoring=get_scorer("neg_reconstruction_rmse"))
    >>> bool((e < 0).all())
    True
    """

    def __init__(self, name, score_func, sign=1, metadata=()):
        self.name = name
        self._score_func = score_func
        self._sign = sign
        self._metadata = {m: True for m in metadata}

    def __call__(self, estimator, X, y=None, **kwargs):
        unknown = set(kwargs) - set(self._metadata)
        if unknown:
            raise TypeError(f"{self.name} scorer got unexpected metadata {sorted(unknown)}")
        return self._sign * float(self._score_func(estimator, X, y, **kwargs))

    @property
    def greater_is_better(self):
        """Always True for the returned value; the underlying metric is lower-is-better when ``sign`` is -1."""
        return True

    def set_score_request(self, **kwargs):
        """Request (True), refuse (False) or alias (str) metadata for ``score``; returns ``self``."""
        for key, value in kwargs.items():
            if key not in self._metadata:
                raise TypeError(f"{self.name} scorer does not accept metadata {key!r}")
            self._metadata[key] = value
        return self

    def get_metadata_routing(self):
        """The scorer's metadata request (scikit-learn routing protocol)."""
        from sklearn.utils.metadata_routing import MetadataRequest

        request = MetadataRequest(owner=type(self).__name__)
        for key, value in self._metadata.items():
            request.score.add_request(param=key, alias=value)
        return request

    def __repr__(self):
        return f"ECGScorer({self.name!r}, sign={self._sign})"


#: Mean Pearson r over the 11 reconstructed leads (II..V6); higher is better.
#: ``X`` is the 12-lead reference (lead I is read from it), or give the 12-lead
#: reference as ``y`` and any input ``transform`` accepts as ``X``.
reconstruction_pearson_scorer = ECGScorer("reconstruction_pearson", _score_reconstruction_pearson)
#: Negative RMSE (mV) over the 11 reconstructed leads (RMSE: lower is better).
reconstruction_rmse_scorer = ECGScorer("neg_reconstruction_rmse", _score_reconstruction_rmse, sign=-1)
#: Negative feature-space MMD² between ``sample(len(X), random_state=0)`` and ``X``
#: (MMD: lower is better); same value as ``GeneratorMixin.score``.
generation_mmd_scorer = ECGScorer("neg_generation_mmd", _score_generation_mmd, sign=-1, metadata=("conditions",))
#: Negative Fréchet feature distance between ``X`` and ``sample(len(X), random_state=0)``.
generation_frechet_scorer = ECGScorer(
    "neg_generation_frechet", _score_generation_frechet, sign=-1, metadata=("conditions",)
)
#: Harrell's C-index of ``predict_risk(X)`` against the survival target ``y``; higher is better.
concordance_scorer = ECGScorer("concordance", _score_concordance, metadata=("conditions",))

SCORERS = {
    "reconstruction_pearson": reconstruction_pearson_scorer,
    "neg_reconstruction_rmse": reconstruction_rmse_scorer,
    "neg_generation_mmd": generation_mmd_scorer,
    "neg_generation_frechet": generation_frechet_scorer,
    "concordance": concordance_scorer,
}
_ALIASES = {
    "reconstruction_rmse": "neg_reconstruction_rmse",
    "generation_mmd": "neg_generation_mmd",
    "generation_frechet": "neg_generation_frechet",
    "c_index": "concordance",
    "concordance_index": "concordance",
}


def get_scorer(name):
    """Return a fresh copy of an ecgsk scorer by name, or fall back to scikit-learn's.

    ecgsk names: ``"reconstruction_pearson"``, ``"neg_reconstruction_rmse"``
    (alias ``"reconstruction_rmse"``), ``"neg_generation_mmd"`` (alias
    ``"generation_mmd"``), ``"neg_generation_frechet"`` (alias
    ``"generation_frechet"``), ``"concordance"`` (aliases ``"c_index"``,
    ``"concordance_index"``).  Any other string goes to
    :func:`sklearn.metrics.get_scorer`.  All returned values are
    greater-is-better.

    Examples
    --------
    >>> get_scorer("reconstruction_rmse")
    ECGScorer('neg_reconstruction_rmse', sign=-1)
    >>> get_scorer("accuracy")
    make_scorer(accuracy_score, response_method='predict')
    """
    if callable(name):
        return name
    key = _ALIASES.get(name, name)
    if key in SCORERS:
        return copy.deepcopy(SCORERS[key])
    from sklearn.metrics import get_scorer as sk_get_scorer

    try:
        return sk_get_scorer(name)
    except ValueError as exc:
        raise ValueError(
            f"unknown scorer {name!r}; ecgsk scorers are {sorted(SCORERS) + sorted(_ALIASES)}, "
            "or use a scikit-learn scorer name"
        ) from exc


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
