"""Dataset loaders and simulators (no torch).

- :func:`make_synthetic_ecgs`: a Gaussian-wave ECG simulator for examples and tests.
"""

import numpy as np
from sklearn.utils import check_random_state

from .leads import derive_12_from_8

__all__ = ["make_synthetic_ecgs"]

# Wave shapes (centre relative to the R peak in s, width in s) and per-lead
# amplitudes in mV for the 8 independent leads I, II, V1-V6; a textbook adult
# sinus rhythm.
_WAVES = {
    #        centre   width
    "P": (-0.17, 0.025),
    "Q": (-0.025, 0.010),
    "R": (0.0, 0.011),
    "S": (0.028, 0.012),
    "T": (0.26, 0.045),
}
_AMPLITUDES_8 = {
    #      I      II     V1     V2     V3     V4     V5     V6
    "P": (0.08, 0.12, 0.05, 0.07, 0.07, 0.08, 0.08, 0.07),
    "Q": (-0.05, -0.07, 0.00, 0.00, -0.02, -0.05, -0.08, -0.07),
    "R": (0.60, 1.10, 0.25, 0.55, 0.90, 1.40, 1.30, 1.00),
    "S": (-0.10, -0.20, -0.90, -1.40, -0.80, -0.40, -0.20, -0.10),
    "T": (0.20, 0.30, -0.05, 0.30, 0.40, 0.40, 0.35, 0.25),
}


def make_synthetic_ecgs(
    n_ecgs=10,
    n_leads=12,
    fs=500,
    duration=None,
    random_state=None,
    *,
    n_samples=None,
    heart_rate=(55.0, 95.0),
    hrv=0.03,
    noise=0.01,
    baseline_wander=0.05,
):
    """Simulate ECGs as sums of Gaussian P, Q, R, S and T waves.

    Each ECG draws a heart rate, beat-to-beat RR variability, per-record wave
    amplitude scaling, white noise and a slow baseline wander.  With 12 leads,
    III, aVR, aVL and aVF follow Einthoven/Goldberger from I and II exactly.

    Parameters
    ----------
    n_ecgs : int, default=10
    n_leads : {1, 2, ..., 12}, default=12
        12 gives :data:`~ecgsk.leads.LEADS_12`, 8 gives
        :data:`~ecgsk.leads.LEADS_8`, 1 gives lead II; other counts take the
        first leads of the 12-lead order.
    fs : float, default=500
        Sampling rate in Hz.
    duration : float, optional
        Length in seconds (default 10 s unless ``n_samples`` is given).
    random_state : int, RandomState or None
    n_samples : int, optional
        Length in samples; overrides ``duration``.
    heart_rate : (float, float), default=(55, 95)
        Range of mean heart rates in beats per minute.
    hrv : float, default=0.03
        Relative standard deviation of RR intervals.
    noise : float, default=0.01
        White-noise standard deviation in mV.
    baseline_wander : float, default=0.05
        Amplitude in mV of a sub-0.5 Hz baseline drift.

    Returns
    -------
    ndarray of float32, shape (n_ecgs, n_leads, n_samples)
        ECGs in mV.

    Examples
    --------
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> X.shape, X.dtype.name
    ((2, 12, 5000), 'float32')
    """
    if not (isinstance(n_ecgs, (int, np.integer)) and n_ecgs >= 1):
        raise ValueError(f"n_ecgs must be a positive integer; got {n_ecgs!r}")
    if not (isinstance(n_leads, (int, np.integer)) and 1 <= n_leads <= 12):
        raise ValueError(f"n_leads must be an integer from 1 to 12; got {n_leads!r}")
    if fs <= 0:
        raise ValueError(f"fs must be positive; got {fs!r}")
    if n_samples is None:
        n_samples = int(round((10.0 if duration is None else float(duration)) * fs))
    if n_samples < 1:
        raise ValueError(f"the signal must have at least 1 sample; got {n_samples}")
    rng = check_random_state(random_state)
    t = np.arange(n_samples) / fs
    amps = np.array([_AMPLITUDES_8[w] for w in _WAVES])  # (5 waves, 8 leads)
    out8 = np.zeros((n_ecgs, 8, n_samples))
    for i in range(n_ecgs):
        rate = rng.uniform(*heart_rate)
        rr_mean = 60.0 / rate
        # First beat anywhere in the first RR interval, so windows are not phase-locked.
        beat = rng.uniform(0.0, rr_mean) - rr_mean
        scale = rng.lognormal(0.0, 0.15, size=(5, 8))
        record_amps = amps * scale
        signal = np.zeros((8, n_samples))
        while beat < t[-1] + 0.5:
            for k, (centre, width) in enumerate(_WAVES.values()):
                # QT shortens with rate (Bazett-like), widths stay fixed.
                c = beat + centre * (np.sqrt(rr_mean) if centre > 0.1 else 1.0)
                lo, hi = np.searchsorted(t, [c - 5 * width, c + 5 * width])
                if hi > lo:
                    g = np.exp(-0.5 * ((t[lo:hi] - c) / width) ** 2)
                    signal[:, lo:hi] += record_amps[k][:, None] * g[None, :]
            beat += rr_mean * (1.0 + hrv * rng.standard_normal())
        phase = rng.uniform(0, 2 * np.pi, size=(8, 1))
        freq = rng.uniform(0.05, 0.4)
        signal += baseline_wander * np.sin(2 * np.pi * freq * t[None, :] + phase)
        signal += noise * rng.standard_normal(signal.shape)
        out8[i] = signal
    out12 = derive_12_from_8(out8)
    if n_leads == 8:
        out = out8
    elif n_leads == 1:
        out = out12[:, 1:2]  # lead II, the usual rhythm strip
    else:
        out = out12[:, :n_leads]
    return np.ascontiguousarray(out, dtype=np.float32)

