"""evaluate_generator: synthetic ECGs against real ones, every metric next to its real-vs-real floor."""

import importlib.metadata
import numbers
import warnings

import numpy as np

from ..metrics.distances import _sq_dists, _trace_sqrt_product
from ..metrics.features import _features_and_measurements, feature_names, measurement_names
from ..utils.validation import check_ecg_array
from .report import EvaluationReport, MetricResult

__all__ = ["evaluate_generator", "prdc", "c2st_permutation_pvalue"]

#: Absolute tolerance added to the floor's bound, per metric family (see ``rule`` of each metric).
DEFAULT_TOLERANCES = {
    "mmd2_signal": 0.01,
    "mmd2_features": 0.01,
    "frechet_features": 0.25,  # relative: value <= (1 + tol) * floor_hi
    "c2st_accuracy": 0.05,
    "prdc": 0.10,
    "wasserstein": 0.25,  # in units of the real measure's standard deviation
    "p_wave_found_gap": 0.10,  # absolute difference of the fractions of ECGs with a P wave found
    "spectrum_distance": 0.05,  # in decades (log10 power)
    "privacy": 0.10,
    "utility": 0.05,
}


def prdc(real, fake, k=5):
    """Precision, recall, density and coverage of Naeem et al. (ICML 2020) on feature vectors.

    With ``B_k(x)`` the ball around ``x`` whose radius is the distance to its
    k-th nearest neighbour among the other real points:

    - precision: fraction of fake points inside some real ball;
    - recall: fraction of real points inside some fake ball (fake radii from fakes);
    - density: ``1/(k M) * sum_j #{i : fake_j in B_k(real_i)}``;
    - coverage: fraction of real points whose ball holds at least one fake point.

    Parameters
    ----------
    real, fake : ndarray of shape (n, d), (m, d)
    k : int, default=5

    Returns
    -------
    dict with ``precision``, ``recall``, ``density``, ``coverage``.

    Examples
    --------
    >>> import numpy as np
    >>> real = np.array([[0.0], [1.0], [2.0]])
    >>> prdc(real, np.array([[0.5], [10.0]]), k=1)["precision"]
    0.5
    """
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must be 2-D with the same width; got {real.shape} and {fake.shape}")
    if not (isinstance(k, numbers.Integral) and 1 <= k < min(len(real), len(fake))):
        raise ValueError(f"k must be an integer in [1, {min(len(real), len(fake)) - 1}]; got {k!r}")
    return _prdc_from_sq(_sq_dists(real, real), _sq_dists(fake, fake), _sq_dists(real, fake), k)


def _prdc_from_sq(d_rr, d_ff, d_rf, k):
    """:func:`prdc` from squared distances real-real (n, n), fake-fake (m, m) and real-fake (n, m)."""
    d_rr, d_ff, d_rf = np.sqrt(d_rr), np.sqrt(d_ff), np.sqrt(d_rf)
    # k-th neighbour excluding the point itself: index k of the sorted row (index 0 is the point)
    r_real = np.sort(d_rr, axis=1)[:, k]
    r_fake = np.sort(d_ff, axis=1)[:, k]
    inside = d_rf <= r_real[:, None]  # inside[i, j]: fake j in real i's ball
    return {
        "precision": float(inside.any(axis=0).mean()),
        "recall": float((d_rf <= r_fake[None, :]).any(axis=1).mean()),
        "density": float(inside.sum() / (k * d_rf.shape[1])),
        "coverage": float((d_rf.min(axis=1) <= r_real).mean()),
    }


def _mmd2_from_sq(dxx, dyy, dxy, gamma):
    """Unbiased RBF MMD² (``exp(-gamma d²)``) from squared distances; diagonals of dxx, dyy are ignored."""
    m, n = len(dxx), len(dyy)
    Kxx, Kyy = np.exp(-gamma * dxx), np.exp(-gamma * dyy)
    term_x = (Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
    term_y = (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1))
    return float(term_x + term_y - 2.0 * np.exp(-gamma * dxy).mean())


def c2st_permutation_pvalue(y_true, y_pred, folds):
    """One-sided p-value of a two-sample classifier's held-out accuracy under the permutation null.

    Each fold's classifier is fixed and its held-out labels are permuted:
    with ``n`` test points of which ``n1`` are positive and ``m`` predicted
    positive, the true positives are hypergeometric, ``TP ~ H(n, n1, m)``,
    and the correct count is ``2 TP + n - n1 - m``.  The folds' null
    distributions are convolved (folds taken as independent) and the p-value
    is ``P(correct >= observed)``.  Exact for a single held-out set; for
    k-fold predictions the folds' classifiers share training points, so it is
    the usual approximation.  No refit is needed.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Binary (0/1) labels and out-of-fold predictions.
    folds : iterable of index arrays
        The held-out indices of each fold (a partition of ``range(n)``, or
        a subset of it).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.ones(10, int), np.zeros(10, int)]
    >>> round(c2st_permutation_pvalue(y, y, [np.arange(20)]), 8)  # every point right: 1 / C(20, 10)
    5.41e-06
    >>> c2st_permutation_pvalue(y, 1 - y, [np.arange(20)])  # every point wrong
    1.0
    """
    from scipy.stats import hypergeom

    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one length; got {y_true.shape} and {y_pred.shape}")
    if not (np.isin(y_true, (0, 1)).all() and np.isin(y_pred, (0, 1)).all()):
        raise ValueError("y_true and y_pred must be binary 0/1 labels")
    null = np.ones(1)
    observed = 0
    for idx in folds:
        idx = np.asarray(idx, dtype=int)
        t, p = y_true[idx], y_pred[idx]
        n, n1, m = len(idx), int(t.sum()), int(p.sum())
        tp = np.arange(max(0, m + n1 - n), min(n1, m) + 1)
        pmf = np.zeros(n + 1)
        pmf[2 * tp + n - n1 - m] = hypergeom.pmf(tp, n, n1, m)
        null = np.convolve(null, pmf)
        observed += int((t == p).sum())
    # sum the shorter tail: keeps tiny p-values exact and an all-wrong prediction at exactly 1
    upper = null[observed:].sum() if 2 * observed >= len(null) - 1 else 1.0 - null[:observed].sum()
    return float(np.clip(upper, 0.0, 1.0))


def _frechet(A, B):
    mu1, mu2 = A.mean(axis=0), B.mean(axis=0)
    S1, S2 = np.atleast_2d(np.cov(A, rowvar=False)), np.atleast_2d(np.cov(B, rowvar=False))
    diff = mu1 - mu2
    return max(float(diff @ diff + np.trace(S1) + np.trace(S2) - 2.0 * _trace_sqrt_product(S1, S2)), 0.0)


def _spectra(X, fs, nper):
    """Per-record, per-lead Welch power spectra (segments of ``nper`` samples) at 0.5-min(100, fs/2) Hz."""
    from scipy.signal import welch

    f, P = welch(X, fs=fs, nperseg=nper, axis=2)
    keep = (f >= 0.5) & (f <= min(100.0, fs / 2))
    if keep.sum() < 2:
        keep = f > 0
    return f[keep], P[:, :, keep]


def _spectrum_noise(X, n, rng):
    """Gaussian noise with the mean per-lead power spectrum of X (random phases)."""
    spec = np.fft.rfft(X - X.mean(axis=2, keepdims=True), axis=2)
    amp = np.sqrt((np.abs(spec) ** 2).mean(axis=0))  # (L, F)
    noise = rng.standard_normal((n,) + amp.shape) + 1j * rng.standard_normal((n,) + amp.shape)
    out = np.fft.irfft(noise * amp / np.sqrt(2.0), n=X.shape[2], axis=2)
    return out.astype(np.float32)


def _downsample(X, fs, target):
    from scipy.signal import resample_poly

    if fs <= target:
        return X.reshape(len(X), -1).astype(np.float64)
    up, down = int(target), int(round(fs))
    g = np.gcd(up, down)
    Y = resample_poly(X, up // g, down // g, axis=2)
    return Y.reshape(len(X), -1).astype(np.float64)


def _split(n, labels, rng, groups=None):
    """Indices of two halves of range(n), stratified on labels when given, whole groups to one half when given."""
    if groups is not None:
        return _split_groups(labels, groups, rng)
    if labels is None:
        perm = rng.permutation(n)
        return perm[: n // 2], perm[n // 2 : 2 * (n // 2)]
    a, b = [], []
    for value in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == value))
        half = len(idx) // 2
        a.extend(idx[:half])
        b.extend(idx[half : 2 * half])
        if len(idx) % 2:  # odd ones alternate so the halves stay balanced
            (a if len(a) <= len(b) else b).append(idx[-1])
    m = min(len(a), len(b))
    return np.array(a[:m], dtype=int), np.array(b[:m], dtype=int)


def _split_groups(labels, groups, rng):
    """Two equal-sized halves that never share a group (beats of one record, ECGs of one patient).

    Groups are dealt in random order to the smaller half, within each label (a
    group's most common one) when labels are given; the larger half is then cut
    at random to the size of the smaller.
    """
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    if labels is None:
        strata = np.zeros(len(uniq), dtype=int)
    else:
        strata = []
        for m in members:
            values, counts = np.unique(labels[m], return_counts=True)
            strata.append(str(values[counts.argmax()]))
        strata = np.array(strata)
    a, b = [], []
    for value in np.unique(strata):
        for g in rng.permutation(np.flatnonzero(strata == value)):
            (a if len(a) <= len(b) else b).extend(members[g])
    m = min(len(a), len(b))
    return rng.permutation(np.array(a, dtype=int))[:m], rng.permutation(np.array(b, dtype=int))[:m]


def _labels_1d(y, n, name):
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name} must be 1-D with one label per ECG ({n}); got shape {y.shape}")
    return y


def _auroc(model_factory, Xtr, ytr, Xte, yte):
    from sklearn.metrics import roc_auc_score

    classes = np.unique(ytr)
    if len(classes) < 2 or not np.isin(np.unique(yte), classes).all() or len(np.unique(yte)) < 2:
        return np.nan
    model = model_factory().fit(Xtr, ytr)
    proba = model.predict_proba(Xte)
    if len(classes) == 2:
        return float(roc_auc_score(yte, proba[:, 1]))
    present = np.isin(classes, np.unique(yte))
    return float(roc_auc_score(yte, proba[:, present] / proba[:, present].sum(axis=1, keepdims=True),
                               multi_class="ovr", average="macro", labels=classes[present]))


def _interval(values):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    return (float(values.min()), float(values.max()))


def _mean(values):
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if np.isfinite(values).all() else float("nan")


def _verdict(name, group, syn, floor, baselines, *, direction, tol, relative=False, unit="", higher=False):
    """A MetricResult from per-repeat values; direction "upper" (<= floor_hi + tol) or "lower" (>= floor_lo - tol)."""
    value, floor_value = _mean(syn), _mean(floor)
    lo_hi = _interval(floor)
    if lo_hi is None or not np.isfinite(floor_value):
        return MetricResult(name, value, _interval(syn), floor_value, None, baselines,
                            "no finite floor: no verdict", None, higher_is_better=higher, group=group)
    f_lo, f_hi = lo_hi
    # the tolerance is never narrower than the floor's own spread over the splits
    margin = max(tol, f_hi - f_lo)
    if direction == "upper":
        bound = f_hi * (1 + tol) if relative else f_hi + margin
        rule = (f"value <= (1 + {tol:g}) * floor_hi" if relative
                else f"value <= floor_hi + max({tol:.3g}{unit}, floor_hi - floor_lo)")
        passed = bool(np.isfinite(value) and value <= bound)
    else:
        bound = f_lo - margin
        rule = f"value >= floor_lo - max({tol:.3g}{unit}, floor_hi - floor_lo)"
        passed = bool(np.isfinite(value) and value >= bound)
    return MetricResult(name, value, _interval(syn), floor_value, lo_hi, baselines, f"{rule} (= {bound:.4g})",
                        passed, higher_is_better=higher, group=group)


def evaluate_generator(real, synthetic, *, fs=500, train=None, real_labels=None, synthetic_labels=None,
                       real_groups=None, random_state=None, n_splits=5, signal_fs=50, prdc_k=5, tolerances=None, figures=True,
                       reference="", verbose=False):
    """Evaluate synthetic ECGs against real ones, each metric next to a real-vs-real floor.

    **The floor.** ``real`` is split in two halves (stratified on
    ``real_labels`` when given), ``n_splits`` times.  For each split, every
    metric is computed for half B against half A (the floor), for a random
    subset of ``synthetic`` of the size of B against A (the synthetic value),
    and for trivial baselines of the same size against A: all-zero ECGs and
    Gaussian noise with the real data's mean per-lead power spectrum.  Equal
    set sizes make the values comparable.  A value is the mean over the
    splits; its interval is the (min, max) over the splits (a repeated-split
    / subsampling interval).

    **The verdict.** A lower-is-better metric passes when its value is at most
    the floor's upper bound plus the metric's tolerance; a higher-is-better
    metric when it is at least the floor's lower bound minus it.  Each
    metric's ``rule`` states the bound with its number.  The report passes
    when every applicable metric does.

    **Metrics** (features are :func:`ecgsk.metrics.ecg_features`,
    standardised by the real data):

    - ``mmd2_signal``: unbiased RBF MMD² on the signals, resampled to
      ``signal_fs`` Hz to keep the Gram matrices cheap; the median-heuristic
      bandwidth is taken once from ``real`` and shared by floor, synthetic
      and baselines.  Needs equal (leads, samples).
    - ``mmd2_features`` (same kernel rule) and ``frechet_features``.
    - ``c2st_accuracy[logistic]``, ``c2st_accuracy[boosting]``: 5-fold
      cross-validated (pooled out-of-fold) accuracy of telling the two sets
      apart (standardised logistic regression; gradient boosting with 50
      trees of depth 3 on 32 bins, the bins set once at the real set's
      feature quantiles).  For the zeros and noise baselines they are
      computed on the first split only.
    - ``c2st_pvalue[logistic]``, ``c2st_pvalue[boosting]`` (informational,
      no verdict): the permutation p-value of that held-out accuracy, from
      the exact null of each fold's fixed predictions under relabelling
      (:func:`c2st_permutation_pvalue`; no refits); the value is the median
      over the splits.
    - ``precision``, ``recall``, ``density``, ``coverage`` (Naeem et al.
      2020, :func:`prdc`, ``k=prdc_k``) in feature space.
    - ``wasserstein[...]``: scipy's 1-D Wasserstein distance between the
      clinical measurements of the two sets, from ecgsk's own QRS detector
      and average beat: heart rate and QTc (Fridericia, QT / RR^(1/3); both
      not applicable below 2.5 s per ECG), PR, QRS width, QT, and the P, R, S
      and T amplitudes of each lead (:func:`ecgsk.metrics.ecg_features`,
      :func:`ecgsk.metrics.features.ecg_measurements`).  ECGs where a measure
      is undefined (no P wave found, no T end) are left out of its
      distribution; a set where it is never found gets no distance and fails.
      PR and the P amplitudes are not applicable when fewer than half the
      real ECGs have a P wave (atrial fibrillation).  Tolerance in units of
      the real measure's standard deviation.
    - ``p_wave_found_gap``: the absolute difference between the fractions of
      ECGs with a P wave found (a generator that drops P waves fails it).
    - ``spectrum_distance[lead]``: mean absolute difference of the log10 mean
      Welch spectra (0.5-100 Hz), in decades.
    - with ``train``: ``nn_distance_ratio`` (median nearest-train distance of
      the synthetic set over that of held-out real ECGs; copies give 0) and
      ``membership_inference_auc`` (how well the distance to the nearest
      synthetic ECG tells train from held-out real; copies give 1), in feature
      space.  ``train`` must not overlap ``real``.
    - with both label sets: ``tstr_auroc`` (train on synthetic, test on real)
      and ``trts_auroc`` (train on real, test on synthetic), macro AUROC of a
      logistic regression on features, with train-real-test-real as floor.

    Parameters
    ----------
    real, synthetic : array-like of shape (n, leads, T)
        ECGs in mV, the same number of leads; T may differ (then the signal
        MMD is not applicable).
    fs : float, default=500
    train : array-like of shape (n_train, leads, T), optional
        The generator's training set, for the privacy metrics.
    real_labels, synthetic_labels : array-like of shape (n,), optional
        Class labels; ``real_labels`` stratifies the splits.
    real_groups : array-like of shape (n,), optional
        Group of each real ECG (its record when ``real`` holds beats, its
        patient): a group lies wholly in one half of every split, so the floor
        compares different records, as a generator's output is compared with
        records it never saw.  Without it, beats of one record fall in both
        halves and the floor is too tight.  The halves are cut to equal size.
    random_state : int, optional
    n_splits : int, default=5
        Repeated real-vs-real splits.
    signal_fs : float, default=50
        Rate the signals are resampled to for ``mmd2_signal``.
    prdc_k : int, default=5
    tolerances : dict, optional
        Overrides of :data:`DEFAULT_TOLERANCES`.
    figures : bool, default=True
        Draw the report's figures (needs matplotlib; skipped with a note otherwise).
    reference : str, default=""
        The real set's name, written in the report.
    verbose : bool, default=False
        Show a progress bar over the splits.

    Returns
    -------
    EvaluationReport

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> real = make_synthetic_ecgs(40, n_leads=1, n_samples=2500, random_state=0)
    >>> fake = make_synthetic_ecgs(40, n_leads=1, n_samples=2500, random_state=1)
    >>> report = evaluate_generator(real, 0 * fake, random_state=0, n_splits=2, figures=False)
    >>> report.passed
    False
    """
    from scipy.stats import wasserstein_distance
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits
    from tqdm.auto import tqdm

    real = check_ecg_array(real, name="real")
    synthetic = check_ecg_array(synthetic, name="synthetic")
    if not (isinstance(fs, numbers.Real) and fs > 0):
        raise ValueError(f"fs must be a positive number; got {fs!r}")
    if real.shape[1] != synthetic.shape[1]:
        raise ValueError(f"real and synthetic need the same number of leads; got {real.shape[1]} and {synthetic.shape[1]}")
    if not (isinstance(n_splits, numbers.Integral) and n_splits >= 1):
        raise ValueError(f"n_splits must be a positive integer; got {n_splits!r}")
    if len(real) < 2 * (prdc_k + 1) or len(synthetic) < prdc_k + 1:
        raise ValueError(f"real needs at least {2 * (prdc_k + 1)} ECGs and synthetic {prdc_k + 1} "
                         f"(prdc_k={prdc_k}); got {len(real)} and {len(synthetic)}")
    tol = dict(DEFAULT_TOLERANCES)
    unknown = set(tolerances or {}) - set(tol)
    if unknown:
        raise ValueError(f"tolerances has unknown keys {sorted(unknown)}; known: {sorted(tol)}")
    tol.update(tolerances or {})
    real_labels = _labels_1d(real_labels, len(real), "real_labels")
    synthetic_labels = _labels_1d(synthetic_labels, len(synthetic), "synthetic_labels")
    real_groups = _labels_1d(real_groups, len(real), "real_groups")
    if real_groups is not None and len(np.unique(real_groups)) < 2:
        raise ValueError("real_groups needs at least two groups to split the real ECGs into two halves")
    if train is not None:
        train = check_ecg_array(train, name="train")
        if train.shape[1] != real.shape[1]:
            raise ValueError(f"train needs {real.shape[1]} leads like real; got {train.shape[1]}")
    fs = float(fs)
    rng = np.random.default_rng(random_state)
    n, L, T = real.shape
    half = n // 2

    # --- per-ECG quantities, computed once ----------------------------------
    zeros = np.zeros((half,) + real.shape[1:], dtype=np.float32)
    noise = _spectrum_noise(real, half, rng)
    sets = {"real": real, "synthetic": synthetic, "zeros": zeros, "noise": noise}
    if train is not None:
        sets["train"] = train
    feats, meas = {}, {}
    for key, X in sets.items():
        feats[key], meas[key] = _features_and_measurements(X, fs)
    names, meas_names = feature_names(L), measurement_names(L)
    mu, sd = feats["real"].mean(axis=0), feats["real"].std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    z = {key: (F - mu) / sd for key, F in feats.items()}
    nper = int(min(T, synthetic.shape[2], round(2 * fs)))  # one frequency grid for every set
    spectra = {key: _spectra(X, fs, nper)[1] for key, X in sets.items() if key != "train"}
    freqs = _spectra(real[:1], fs, nper)[0]
    same_shape = synthetic.shape[1:] == real.shape[1:]
    if same_shape:
        sig = {key: _downsample(X, fs, signal_fs) for key, X in sets.items() if key != "train"}
        d_real = _sq_dists(sig["real"], sig["real"])
        off = d_real[np.triu_indices(n, 1)]
        sig_bandwidth = float(np.sqrt(np.median(off[off > 0]) / 2.0)) if (off > 0).any() else 1.0
    d_feat = _sq_dists(z["real"], z["real"])
    off = d_feat[np.triu_indices(n, 1)]
    feat_bandwidth = float(np.sqrt(np.median(off[off > 0]) / 2.0)) if (off > 0).any() else 1.0

    lead_names = [names[i * 14].rsplit("_", 1)[0] for i in range(L)]
    short = T / fs < 2.5 or synthetic.shape[2] / fs < 2.5
    # clinical measures, one column each in clin[key]: heart rate, QRS width and R/S/T amplitudes from
    # ecg_features (as before), PR, QT, QTc (Fridericia) and P amplitudes from ecg_measurements (NaN where
    # undefined: dropped before the Wasserstein distance)
    def fcol(name):
        return ("f", names.index(name))

    def mcol(name):
        return ("m", meas_names.index(name))

    clin_spec = {"heart_rate_bpm": fcol("heart_rate"), "pr_ms": mcol("pr_ms"), "qrs_width_ms": fcol("qrs_width"),
                 "qt_ms": mcol("qt_ms"), "qtc_ms": mcol("qtc_ms")}
    for lead in lead_names:
        clin_spec[f"P_amp_mV[{lead}]"] = mcol(f"P_amp_mV[{lead}]")
        for wave in ("r", "s", "t"):
            clin_spec[f"{wave.upper()}_amp_mV[{lead}]"] = fcol(f"{lead}_{wave}_amp")
    clin = {key: np.column_stack([(feats if src == "f" else meas)[key][:, j] for src, j in clin_spec.values()])
            for key in sets}
    clin_names = list(clin_spec)
    p_found = {key: np.isfinite(meas[key][:, meas_names.index("pr_ms")]) for key in sets}
    not_applicable = {}  # clinical name -> reason
    if short:
        for cname in ("heart_rate_bpm", "qtc_ms"):
            not_applicable[cname] = "ECGs shorter than 2.5 s (beats, short segments) hold no reliable RR interval"
    if p_found["real"].mean() < 0.5:
        reason = (f"a P wave is found in only {100 * p_found['real'].mean():.0f} % of the real ECGs (atrial "
                  "fibrillation, flutter, pacing, or no P wave in the input)")
        for cname in clin_names:
            if cname == "pr_ms" or cname.startswith("P_amp"):
                not_applicable[cname] = reason
    for cname in clin_names:
        col = clin["real"][:, clin_names.index(cname)]
        if cname not in not_applicable and np.isfinite(col).mean() < 0.5:
            not_applicable[cname] = f"measurable in only {100 * np.isfinite(col).mean():.0f} % of the real ECGs"
    clin_cols = [(cname, j) for j, cname in enumerate(clin_names) if cname not in not_applicable]

    results = {}  # metric name -> {"floor": [], "synthetic": [], "zeros": [], "noise": []}

    def add(name, which, value):
        results.setdefault(name, {"floor": [], "synthetic": [], "zeros": [], "noise": []})[which].append(value)

    # Boosting inputs, binned once: codes 0..31 at the real set's feature quantiles (no labels used), so
    # HistGradientBoosting's own binning meets <= 32 distinct values per column and skips its quantiles.
    edges = np.quantile(z["real"], np.linspace(0.0, 1.0, 33)[1:-1], axis=0)  # (31, n_features)
    codes = {key: np.stack([np.searchsorted(edges[:, j], Z[:, j]) for j in range(Z.shape[1])], axis=1)
             .astype(np.float64) for key, Z in z.items()}

    def c2st(models, key_pair, idx_pair, folds):
        """Pooled out-of-fold accuracy and permutation p-value of each model telling set A from set B."""
        (ka, kb), (ia, ib) = key_pair, idx_pair
        y = np.r_[np.ones(len(ia), int), np.zeros(len(ib), int)]
        out = {}
        for mname, (model, space) in models.items():
            Fx = np.vstack([space[ka][ia], space[kb][ib]])
            pred = np.empty_like(y)
            fold_idx = []
            for tr_i, te_i in folds.split(Fx, y):
                pred[te_i] = clone(model).fit(Fx[tr_i], y[tr_i]).predict(Fx[te_i])
                fold_idx.append(te_i)
            out[mname] = (float((pred == y).mean()), c2st_permutation_pvalue(y, pred, fold_idx))
        return out

    models = {"logistic": (make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), z),
              "boosting": (HistGradientBoostingClassifier(max_iter=50, max_depth=3, max_bins=32, random_state=0),
                           codes)}
    sig_gamma = 1.0 / (2.0 * sig_bandwidth**2) if same_shape else None
    feat_gamma = 1.0 / (2.0 * feat_bandwidth**2)

    # One BLAS/OpenMP thread: on a shared 2-core machine, threaded BLAS on these small matrices
    # (237-feature eigh, L-BFGS) ran 10-25x slower than single-threaded.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        half_sizes = []
        for split_no in tqdm(range(n_splits), desc="evaluate_generator", disable=not verbose):
            a, b = _split(n, real_labels, rng, real_groups)
            half_sizes.append(len(b))
            s = rng.choice(len(synthetic), size=len(b), replace=len(synthetic) < len(b))
            others = {"floor": ("real", b), "synthetic": ("synthetic", s),
                      "zeros": ("zeros", np.arange(min(len(b), half))), "noise": ("noise", np.arange(min(len(b), half)))}
            folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=int(rng.integers(2**31)))
            d_aa_feat = d_feat[np.ix_(a, a)]
            d_aa_sig = d_real[np.ix_(a, a)] if same_shape else None
            for which, (key, idx) in others.items():
                A, B = z["real"][a], z[key][idx]
                if key == "real":
                    d_ab_feat, d_bb_feat = d_feat[np.ix_(a, idx)], d_feat[np.ix_(idx, idx)]
                else:
                    d_ab_feat, d_bb_feat = _sq_dists(A, B), _sq_dists(B, B)
                if same_shape:
                    if key == "real":
                        d_ab, d_bb = d_real[np.ix_(a, idx)], d_real[np.ix_(idx, idx)]
                    else:
                        Sb = sig[key][idx]
                        d_ab, d_bb = _sq_dists(sig["real"][a], Sb), _sq_dists(Sb, Sb)
                    add("mmd2_signal", which, _mmd2_from_sq(d_aa_sig, d_bb, d_ab, sig_gamma))
                add("mmd2_features", which, _mmd2_from_sq(d_aa_feat, d_bb_feat, d_ab_feat, feat_gamma))
                add("frechet_features", which, _frechet(A, B))
                # the classifier tests of the trivial baselines are computed on the first split only:
                # they separate perfectly, and refitting them every split doubled the evaluation time
                if which in ("floor", "synthetic") or split_no == 0:
                    for mname, (acc, pval) in c2st(models, ("real", key), (a, idx), folds).items():
                        add(f"c2st_accuracy[{mname}]", which, acc)
                        add(f"c2st_pvalue[{mname}]", which, pval)
                for k, v in _prdc_from_sq(d_aa_feat, d_bb_feat, d_ab_feat, prdc_k).items():
                    add(k, which, v)
                for cname, col in clin_cols:
                    va, vb = clin["real"][a, col], clin[key][idx, col]
                    va, vb = va[np.isfinite(va)], vb[np.isfinite(vb)]
                    # a set where the measure is never found (e.g. no P wave) has no distance: it fails
                    add(f"wasserstein[{cname}]", which,
                        wasserstein_distance(va, vb) if len(va) and len(vb) else float("nan"))
                if "pr_ms" not in not_applicable:
                    add("p_wave_found_gap", which, float(abs(p_found["real"][a].mean() - p_found[key][idx].mean())))
                Pa = np.log10(spectra["real"][a].mean(axis=0) + 1e-12)
                Pb = np.log10(spectra[key][idx].mean(axis=0) + 1e-12)
                for li, lead in enumerate(lead_names):
                    add(f"spectrum_distance[{lead}]", which, float(np.abs(Pa[li] - Pb[li]).mean()))
                if train is not None and which in ("floor", "synthetic"):
                    tr = z["train"]
                    # synthetic-to-train NN distance against held-out-real-to-train
                    d_syn = np.sqrt(_sq_dists(B, tr).min(axis=1))
                    d_hold = np.sqrt(_sq_dists(A, tr).min(axis=1))
                    add("nn_distance_ratio", which, float(np.median(d_syn) / max(np.median(d_hold), 1e-12)))
                    from sklearn.metrics import roc_auc_score

                    m_idx = rng.choice(len(tr), size=min(len(tr), len(a)), replace=False)
                    members, non_members = tr[m_idx], A[: len(m_idx)]
                    score = -np.sqrt(np.r_[_sq_dists(members, B).min(axis=1), _sq_dists(non_members, B).min(axis=1)])
                    truth = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
                    add("membership_inference_auc", which, float(roc_auc_score(truth, score)))
                if real_labels is not None and synthetic_labels is not None and which in ("floor", "synthetic"):
                    factory = lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))  # noqa: E731
                    if which == "floor":
                        add("tstr_auroc", which, _auroc(factory, B, real_labels[idx], A, real_labels[a]))
                        add("trts_auroc", which, _auroc(factory, A, real_labels[a], B, real_labels[idx]))
                    else:
                        add("tstr_auroc", which, _auroc(factory, B, synthetic_labels[idx], A, real_labels[a]))
                        add("trts_auroc", which, _auroc(factory, A, real_labels[a], B, synthetic_labels[idx]))

    # --- verdicts ------------------------------------------------------------
    metrics = []
    real_sd = {cname: float(np.nanstd(clin["real"][:, col])) for cname, col in clin_cols}
    for name, r in results.items():
        base = {k: _mean(r[k]) for k in ("zeros", "noise") if r[k]}
        if name.startswith("mmd2_"):
            metrics.append(_verdict(name, "distribution", r["synthetic"], r["floor"], base, direction="upper", tol=tol[name]))
        elif name == "frechet_features":
            metrics.append(_verdict(name, "distribution", r["synthetic"], r["floor"], base, direction="upper",
                                    tol=tol[name], relative=True))
        elif name.startswith("c2st_pvalue"):
            # informational: how surely the two sets differ, not how far; the verdict rests on the accuracy
            metrics.append(MetricResult(
                name, float(np.median(r["synthetic"])), _interval(r["synthetic"]), float(np.median(r["floor"])),
                _interval(r["floor"]), base, "informational (no verdict): median over the splits of the one-sided "
                "permutation p-value of the held-out accuracy, H0: both sets from one distribution; "
                "the verdict is c2st_accuracy's", None, higher_is_better=True, group="distribution"))
        elif name.startswith("c2st_"):
            metrics.append(_verdict(name, "distribution", r["synthetic"], r["floor"], base, direction="upper",
                                    tol=tol["c2st_accuracy"]))
        elif name in ("precision", "recall", "density", "coverage"):
            metrics.append(_verdict(name, "fidelity" if name in ("precision", "density") else "diversity",
                                    r["synthetic"], r["floor"], base, direction="lower", tol=tol["prdc"], higher=True))
        elif name.startswith("wasserstein["):
            cname = name[len("wasserstein["):-1]
            t = tol["wasserstein"] * real_sd[cname]
            unit = cname.split("_")[-1].split("[")[0]
            m = _verdict(name, "clinical", r["synthetic"], r["floor"], base, direction="upper", tol=t, unit=f" {unit}")
            m.rule += f" [tolerance {tol['wasserstein']:g} x real sd]"
            metrics.append(m)
        elif name == "p_wave_found_gap":
            metrics.append(_verdict(name, "clinical", r["synthetic"], r["floor"], base, direction="upper",
                                    tol=tol["p_wave_found_gap"]))
        elif name.startswith("spectrum_distance"):
            metrics.append(_verdict(name, "spectrum", r["synthetic"], r["floor"], base, direction="upper",
                                    tol=tol["spectrum_distance"], unit=" decades"))
        elif name == "nn_distance_ratio":
            metrics.append(_verdict(name, "privacy", r["synthetic"], r["floor"], {}, direction="lower",
                                    tol=tol["privacy"], higher=True))
        elif name == "membership_inference_auc":
            metrics.append(_verdict(name, "privacy", r["synthetic"], r["floor"], {}, direction="upper", tol=tol["privacy"]))
        elif name in ("tstr_auroc", "trts_auroc"):
            metrics.append(_verdict(name, "utility", r["synthetic"], r["floor"], {}, direction="lower",
                                    tol=tol["utility"], higher=True))
    if not same_shape:
        metrics.insert(0, MetricResult.not_applicable(
            "mmd2_signal", f"real and synthetic differ in (leads, samples): {real.shape[1:]} vs {synthetic.shape[1:]}",
            group="distribution"))
    for cname, reason in not_applicable.items():
        metrics.append(MetricResult.not_applicable(f"wasserstein[{cname}]", reason, group="clinical"))
    if "pr_ms" in not_applicable:
        metrics.append(MetricResult.not_applicable("p_wave_found_gap", not_applicable["pr_ms"], group="clinical"))
    if train is None:
        for name in ("nn_distance_ratio", "membership_inference_auc"):
            metrics.append(MetricResult.not_applicable(name, "no train set given", group="privacy"))
    if real_labels is None or synthetic_labels is None:
        for name in ("tstr_auroc", "trts_auroc"):
            metrics.append(MetricResult.not_applicable(name, "labels not given for both sets", group="utility"))

    try:
        version = importlib.metadata.version("ecgsk")
    except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
        version = "unknown"
    meta = {"n_real": n, "n_synthetic": len(synthetic), "n_train": None if train is None else len(train),
            "fs": fs, "real_shape": list(real.shape[1:]), "synthetic_shape": list(synthetic.shape[1:]),
            "n_splits": n_splits, "half_size": int(min(half_sizes)), "grouped": real_groups is not None, "random_state": random_state, "signal_fs": signal_fs,
            "feature_bandwidth": feat_bandwidth, "ecgsk_version": version,
            "interval": "min-max over the repeated splits"}
    reference = reference or "the real set given"
    size = f"{min(half_sizes)}" if min(half_sizes) == max(half_sizes) else f"{min(half_sizes)}-{max(half_sizes)}"
    reference = (f"{reference}: two halves of {size} ECGs, {n_splits} random "
                 f"{'stratified ' if real_labels is not None else ''}"
                 f"{'group-disjoint ' if real_groups is not None else ''}splits; synthetic and baseline subsets of the "
                 f"same size against half A")
    figs = {}
    if figures:
        try:
            from ._figures import generator_figures

            figs = generator_figures(real, synthetic, fs, feats["real"], feats["synthetic"], names, freqs,
                                     spectra["real"], spectra["synthetic"], lead_names,
                                     meas_real=meas["real"], meas_syn=meas["synthetic"], meas_names=meas_names)
        except ImportError as exc:
            meta["figures"] = f"not drawn: {exc}"
    return EvaluationReport("generator", metrics, reference=reference, meta=meta, figures=figs)
