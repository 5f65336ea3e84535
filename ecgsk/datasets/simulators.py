"""ECG and survival simulators (no torch).

- :func:`make_synthetic_ecgs`: a Gaussian-wave ECG simulator for examples and tests.
- :func:`simulate_survival`: survival times from a known Cox model.
"""

import numpy as np
from sklearn.utils import check_random_state

from ecgsk.leads import derive_12_from_8

__all__ = ["make_synthetic_ecgs", "simulate_survival"]

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


def simulate_survival(
    X_features,
    coef,
    *,
    baseline="exponential",
    scale=0.1,
    shape=1.5,
    censoring=0.3,
    censoring_rate=None,
    random_state=None,
):
    """Draw survival times from a known Cox proportional-hazards model.

    The hazard of subject ``i`` is ``h(t | x_i) = h0(t) * exp(x_i @ coef)`` with
    an exponential (``h0(t) = scale``) or Weibull
    (``h0(t) = scale * shape * t**(shape - 1)``) baseline, so event times are
    drawn by inverting the survival function (Bender et al., 2005):
    ``T = (-log U / (scale * exp(eta)))**(1 / shape)``, ``U ~ Uniform(0, 1)``.
    Censoring times are exponential and independent; an ECG is censored when
    its censoring time comes first.

    Parameters
    ----------
    X_features : array-like of shape (n_subjects, n_features)
        Covariates (e.g. ECG features); a DataFrame works.
    coef : array-like of shape (n_features,)
        True log hazard ratios.
    baseline : {"exponential", "weibull"}, default="exponential"
    scale : float, default=0.1
        Baseline hazard scale ``lambda`` (events per unit time at ``eta = 0``
        for the exponential baseline).
    shape : float, default=1.5
        Weibull shape ``k`` (ignored for the exponential baseline); ``k > 1``
        is a hazard rising with time.
    censoring : float in [0, 1), default=0.3
        Target censoring fraction.  The exponential censoring rate ``c`` is
        chosen so that the expected censored fraction given the drawn event
        times, ``mean(1 - exp(-c * T_i))``, equals it; the realised fraction
        varies around it binomially.  0 means no censoring.
    censoring_rate : float, optional
        Use this exponential censoring rate directly instead (``censoring`` is
        then ignored); 0 means no censoring.
    random_state : int, RandomState or None

    Returns
    -------
    y : structured ndarray of shape (n_subjects,)
        Fields ``event`` (bool, True when the event was observed) and ``time``
        (float64, the event or censoring time), the scikit-survival layout.
        The true linear predictor ``X_features @ coef`` is a risk score: a
        higher value means an earlier event.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(500, 3))
    >>> y = simulate_survival(X, [1.0, -0.5, 0.0], censoring=0.3, random_state=0)
    >>> y.dtype.names, round(float(1 - y["event"].mean()), 1)
    (('event', 'time'), 0.3)
    """
    from scipy.optimize import brentq

    X = np.asarray(X_features, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X_features must be 2-D (n_subjects, n_features); got shape {X.shape}")
    coef = np.asarray(coef, dtype=np.float64).ravel()
    if coef.shape[0] != X.shape[1]:
        raise ValueError(f"coef has {coef.shape[0]} values but X_features has {X.shape[1]} columns")
    if not (np.isfinite(X).all() and np.isfinite(coef).all()):
        raise ValueError("X_features and coef must be finite")
    if baseline not in ("exponential", "weibull"):
        raise ValueError(f"baseline must be 'exponential' or 'weibull'; got {baseline!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale!r}")
    k = 1.0 if baseline == "exponential" else float(shape)
    if not k > 0:
        raise ValueError(f"shape must be positive; got {shape!r}")
    rng = check_random_state(random_state)
    eta = X @ coef
    u = rng.uniform(size=len(eta))
    # -log(U) ~ Exp(1); 1 - U avoids log(0).
    cumhaz = -np.log1p(-u)
    event_time = (cumhaz / (scale * np.exp(eta))) ** (1.0 / k)

    if censoring_rate is None:
        if not 0 <= censoring < 1:
            raise ValueError(f"censoring must be a fraction in [0, 1); got {censoring!r}")
        if censoring == 0:
            rate = 0.0
        else:
            finite = event_time[np.isfinite(event_time)]

            def excess(log_c):
                return np.mean(-np.expm1(-np.exp(log_c) * finite)) - censoring

            t_med = np.median(finite)
            lo, hi = np.log(1e-12 / t_med), np.log(1e12 / t_med)
            rate = float(np.exp(brentq(excess, lo, hi, xtol=1e-10)))
    else:
        rate = float(censoring_rate)
        if not rate >= 0:
            raise ValueError(f"censoring_rate must be non-negative; got {censoring_rate!r}")
    if rate > 0:
        censor_time = rng.exponential(1.0 / rate, size=len(eta))
    else:
        censor_time = np.full(len(eta), np.inf)
    event = event_time <= censor_time
    time = np.where(event, event_time, censor_time)
    y = np.empty(len(eta), dtype=[("event", bool), ("time", np.float64)])
    y["event"] = event
    y["time"] = time
    return y
