"""Evaluation of lead-I -> 12-lead reconstructions: :func:`evaluate_reconstruction`.

Pearson r hides the documented failure of reconstructors, regression to the
mean (Presacan et al., Communications Medicine 2025): a prediction scaled by
0.5 has r = 1.  So next to r and RMSE every lead gets amplitude fidelity: the
slope and R² of predicted against true R, S and T amplitudes over records, and
the ratio of predicted to true standard deviation.

NumPy, SciPy and scikit-learn only (no torch, no ecgsk.models).
"""

import io
import numbers

import numpy as np

from ..leads import default_lead_names, derive_12_from_8
from ..preprocessing.rpeaks import detect_rpeaks
from ..utils.validation import check_ecg_array
from .report import EvaluationReport, MetricResult

__all__ = ["evaluate_reconstruction"]

_PRE, _POST = 0.25, 0.45  # beat window around the R peak, seconds (as ecgsk.metrics.ecg_features)
_WAVES = ("R", "S", "T")
_INDEPENDENT_12 = [1, 6, 7, 8, 9, 10, 11]  # II, V1..V6 in LEADS_12


def _median_beats(X, peaks, fs):
    """Median beat of every record and lead, shape (n, leads, W), baseline (median) removed."""
    pre, post = int(round(_PRE * fs)), int(round(_POST * fs))
    n, L, T = X.shape
    out = np.zeros((n, L, pre + post))
    for i, p in enumerate(peaks):
        p = p[(p >= pre) & (p + post <= T)]
        if len(p) == 0:
            continue
        idx = p[:, None] + np.arange(-pre, post)[None, :]
        out[i] = np.median(X[i][:, idx], axis=1)
    return out - np.median(out, axis=2, keepdims=True)


def _amplitudes(beats, fs):
    """R, S and T amplitudes (mV) of median beats (n, L, W), defined as in ecgsk.metrics.ecg_features."""
    pre = int(round(_PRE * fs))
    W = beats.shape[-1]
    r_half = max(1, int(round(0.06 * fs)))
    r_win = beats[..., max(0, pre - r_half): pre + r_half + 1]
    r_amp = r_win.max(axis=-1)
    r_idx = max(0, pre - r_half) + r_win.argmax(axis=-1)
    s_idx = np.minimum(r_idx[..., None] + np.arange(int(round(0.08 * fs)) + 1), W - 1)
    s_amp = np.take_along_axis(beats, s_idx, axis=-1).min(axis=-1)
    t_win = beats[..., min(W - 1, pre + int(round(0.12 * fs))):]
    t_amp = np.take_along_axis(t_win, np.abs(t_win).argmax(axis=-1)[..., None], axis=-1)[..., 0]
    return {"R": r_amp, "S": s_amp, "T": t_amp}


def _paste_template(template, peaks, T, fs):
    """A prediction that places ``template`` (L, W) at each R peak; each beat runs until the next one starts."""
    pre = int(round(_PRE * fs))
    W = template.shape[-1]
    out = np.zeros((len(peaks), template.shape[0], T))
    for i, p in enumerate(peaks):
        starts = np.sort(p) - pre
        for k, s in enumerate(starts):
            stop = min(s + W, T, starts[k + 1] if k + 1 < len(starts) else T)
            lo = max(s, 0)
            if stop > lo:
                out[i, :, lo:stop] = template[:, lo - s: stop - s]
    return out


def _ridge_prediction(train, true, input_lead, *, n_lags=31, max_lag=60, alpha=1e-3, max_rows=250_000):
    """Ridge regression from lagged input-lead samples, mirroring ecgsk.models.LinearLeadReconstructor.

    Lags spread evenly over [-max_lag, max_lag] samples, features standardised,
    penalty ``alpha * n_points``, intercept unpenalised; for 12 leads only
    II, V1-V6 are regressed and III, aVR, aVL, aVF are derived.  Time points
    are subsampled evenly to at most ``max_rows`` rows (neighbouring samples
    are nearly collinear, so little is lost).
    """
    from sklearn.linear_model import Ridge

    lags = np.unique(np.round(np.linspace(-max_lag, max_lag, n_lags)).astype(int))
    pad = int(np.abs(lags).max())

    def lagged(x):
        n, T = x.shape
        x = np.pad(x, ((0, 0), (pad, pad)), mode="reflect" if T > pad else "edge")
        return x[:, np.arange(T)[:, None] + pad + lags[None, :]]  # (n, T, lags)

    n_leads = true.shape[1]
    derive = n_leads == 12 and input_lead == 0
    targets = _INDEPENDENT_12 if derive else [j for j in range(n_leads) if j != input_lead]
    x_tr = train[:, input_lead].astype(np.float64)
    mean, scale = x_tr.mean(), x_tr.std() or 1.0
    feats = lagged((x_tr - mean) / scale).reshape(-1, len(lags))
    tgt = train[:, targets].astype(np.float64).transpose(0, 2, 1).reshape(-1, len(targets))
    step = max(1, int(np.ceil(len(feats) / max_rows)))
    feats, tgt = feats[::step], tgt[::step]
    model = Ridge(alpha=alpha * len(feats)).fit(feats, tgt)
    x_te = true[:, input_lead].astype(np.float64)
    n, T = x_te.shape
    pred = model.predict(lagged((x_te - mean) / scale).reshape(-1, len(lags))).reshape(n, T, len(targets))
    out = np.zeros(true.shape, dtype=np.float64)
    out[:, input_lead] = x_te
    out[:, targets] = pred.transpose(0, 2, 1)
    if derive:
        out = derive_12_from_8(out[:, [0, 1, 6, 7, 8, 9, 10, 11]].astype(np.float32)).astype(np.float64)
    return out


def _pearson(x, y):
    """Per-record, per-lead Pearson r over time (n, L); a flat signal has r = 0."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc ** 2).sum(-1) * (yc ** 2).sum(-1))
    return np.where(den > 0, (xc * yc).sum(-1) / np.where(den > 0, den, 1.0), 0.0)


def _slope_r2(true_amp, pred_amp):
    """OLS slope and R² of ``pred_amp`` on ``true_amp`` along the last axis; NaN when true is constant."""
    tc = true_amp - true_amp.mean(-1, keepdims=True)
    pc = pred_amp - pred_amp.mean(-1, keepdims=True)
    sxx, syy, sxy = (tc ** 2).sum(-1), (pc ** 2).sum(-1), (tc * pc).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
        r2 = np.where((sxx > 0) & (syy > 0), sxy ** 2 / (sxx * syy), np.where(sxx > 0, 0.0, np.nan))
    return slope, r2


class _Stats:
    """Per-record statistics of one prediction against the truth, with bootstrap resampling of records."""

    def __init__(self, true, pred, true_amp, beats_fn, fs, boot):
        self.r = _pearson(true, pred)  # (n, L)
        self.rmse = np.sqrt(((true - pred) ** 2).mean(-1))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.std_ratio = pred.std(-1) / true.std(-1)
        self.amp = _amplitudes(beats_fn(pred), fs)
        self.true_amp = true_amp
        self.boot = boot  # (B, n) indices

    def mean_with_interval(self, values, lead):
        col = values[:, lead]
        reps = np.nanmean(col[self.boot], axis=1)
        return float(np.nanmean(col)), _interval(reps)

    def amp_fit(self, wave, lead):
        t, p = self.true_amp[wave][:, lead], self.amp[wave][:, lead]
        slope, r2 = _slope_r2(t, p)
        bs, br = _slope_r2(t[self.boot], p[self.boot])
        return (float(slope), _interval(bs)), (float(r2), _interval(br))


def _interval(reps):
    reps = np.asarray(reps, dtype=float)
    reps = reps[np.isfinite(reps)]
    if len(reps) < 2:
        return None
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return (float(lo), float(hi))


def _figures(names, leads, model, template, ridge, amp_true, amp_pred):
    """Per-lead r bars and R-amplitude scatter plots with the identity line, as PNG bytes."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return {}

    def png(fig):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")  # few axes, so cheap
        return buf.getvalue()

    figures = {}
    fig = Figure(figsize=(max(6, 0.7 * len(leads)), 3.2))
    ax = fig.add_subplot()
    x = np.arange(len(leads))
    series = [("model", model), ("mean template", template)] + ([("ridge (train)", ridge)] if ridge is not None else [])
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, [names[j] for j in leads])
    ax.set_ylabel("mean Pearson r")
    ax.set_ylim(min(0.0, float(np.nanmin([np.nanmin(v) for _, v in series]))), 1.0)
    ax.legend(fontsize=8)
    ax.set_title("Pearson r per lead")
    figures["Pearson r per lead"] = png(fig)

    # one panel per wave, every reconstructed lead in its own colour: few axes keep drawing fast
    fig = Figure(figsize=(13, 4.2))
    colours = __import__("matplotlib").colormaps["tab20"]
    for k, wave in enumerate(_WAVES):
        ax = fig.add_subplot(1, 3, k + 1)
        t_all = np.concatenate([amp_true[wave][:, j] for j in leads])
        p_all = np.concatenate([amp_pred[wave][:, j] for j in leads])
        for c, j in enumerate(leads):
            ax.scatter(amp_true[wave][:, j], amp_pred[wave][:, j], s=9, alpha=0.75, color=colours(c % 20),
                       label=names[j])
        lo, hi = float(min(t_all.min(), p_all.min())), float(max(t_all.max(), p_all.max()))
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set_xlabel(f"true {wave} amplitude (mV)")
        ax.set_ylabel(f"predicted {wave} amplitude (mV)")
        ax.set_title(f"{wave} (line: identity)")
    fig.axes[-1].legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.subplots_adjust(wspace=0.32)
    fig.suptitle("Amplitude per record and lead: predicted against true")
    figures["R, S, T amplitudes, predicted vs true"] = png(fig)
    return figures


def evaluate_reconstruction(true, predicted, *, fs=500, train=None, input_lead=0, slope_tolerance=0.2,
                            std_tolerance=0.2, ridge_tolerance=0.02, n_bootstrap=200, random_state=None,
                            figures=True):
    """Evaluate lead-I -> 12-lead reconstructions against the true ECGs and two floors.

    Per reconstructed lead (every lead but ``input_lead``):

    - ``pearson_r[<lead>]`` (higher is better): Pearson r over time, mean over
      records;
    - ``rmse[<lead>]`` (mV, lower is better);
    - ``amp_slope[<wave>,<lead>]`` and ``amp_r2[<wave>,<lead>]``: the OLS slope
      and R² of the predicted against the true R, S and T amplitude over
      records (amplitudes measured on each record's median beat, at R peaks
      detected on the true ECG, as in :func:`ecgsk.metrics.ecg_features`).
      A slope well under 1 is regression to the mean;
    - ``std_ratio[<lead>]``: predicted over true standard deviation, mean over
      records.

    Plus ``pearson_r[mean]``, the mean over the reconstructed leads.

    .. rubric:: Floors

    - **Mean template**: the mean of the median beats of ``train`` (or, without
      ``train``, of ``true`` itself, which can only flatter the floor),
      pasted at R peaks detected on the input lead of ``true`` (what a
      reconstructor sees).  It has the timing but no record-specific
      morphology; its amplitude slope is about 0.
    - **Ridge** (only with ``train``): ridge regression from 31 lagged
      input-lead samples over ±60 samples, fitted on ``train`` with
      scikit-learn's :class:`~sklearn.linear_model.Ridge`, in the formulation
      of :class:`ecgsk.models.LinearLeadReconstructor` (standardised lags,
      penalty ``1e-3 * n_points``; for 12 leads II and V1-V6 are regressed and
      III, aVR, aVL, aVF derived).  ecgsk.evaluation may not import
      ecgsk.models, so it is refitted here rather than passed in.

    .. rubric:: Rules

    - ``pearson_r``: ``value > template_hi`` and, with ``train``,
      ``value >= ridge_lo - ridge_tolerance``.
    - ``rmse``: ``value < template_lo`` and, with ``train``,
      ``value <= ridge_hi + ridge_tolerance`` (mV).
    - ``amp_slope``: ``|value - 1| <= slope_tolerance``.
    - ``std_ratio``: ``|value - 1| <= std_tolerance``.
    - ``amp_r2``: informational (no verdict); the slope carries the verdict.

    ``_lo``/``_hi`` are the 2.5/97.5 percentiles over ``n_bootstrap``
    resamples of the records.

    Parameters
    ----------
    true, predicted : array-like of shape (n_ecgs, n_leads, n_samples)
        True and reconstructed ECGs in mV, same shape and lead order
        (:data:`~ecgsk.leads.LEADS_12` for 12 leads).  At least 3 records.
    fs : float, default=500
        Sampling rate in Hz.
    train : array-like of shape (n_train, n_leads, n_samples), optional
        The reconstructor's training ECGs: the mean template comes from them
        and the ridge floor is fitted on them.
    input_lead : int, default=0
        Index of the lead the reconstructor was given (lead I); it is not
        scored.
    slope_tolerance, std_tolerance : float, default=0.2
        Allowed distance of the amplitude slope and the standard-deviation
        ratio from 1.
    ridge_tolerance : float, default=0.02
        How far (r, or mV for RMSE) the model may fall short of the ridge
        floor's interval.
    n_bootstrap : int, default=200
        Bootstrap resamples of the records for the intervals.
    random_state : int, RandomState or None
        Seeds the bootstrap.
    figures : bool, default=True
        Draw per-lead r bars and amplitude scatter plots (needs matplotlib).

    Returns
    -------
    EvaluationReport
        ``kind="reconstruction"``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, n_leads=12, random_state=0)
    >>> report = evaluate_reconstruction(X, 0.5 * X, n_bootstrap=20, random_state=0, figures=False)
    >>> round(report["amp_slope[R,V3]"].value, 3), report["amp_slope[R,V3]"].passed
    (0.5, False)
    >>> report["pearson_r[V3]"].passed  # r cannot see the shrinkage
    True
    """
    from sklearn.utils import check_random_state

    true = check_ecg_array(true).astype(np.float64)
    predicted = check_ecg_array(predicted).astype(np.float64)
    if true.shape != predicted.shape:
        raise ValueError(f"predicted must have the shape of true {true.shape}; got {predicted.shape}")
    n, n_leads, T = true.shape
    if n < 3:
        raise ValueError(f"true must hold at least 3 ECGs for slopes and intervals; got {n}")
    if not isinstance(fs, numbers.Real) or isinstance(fs, bool) or not fs >= 100:
        raise ValueError(f"fs must be a sampling rate in Hz of at least 100; got {fs!r}")
    if not isinstance(input_lead, numbers.Integral) or not 0 <= input_lead < n_leads:
        raise ValueError(f"input_lead must be a lead index in [0, {n_leads}); got {input_lead!r}")
    if n_leads < 2:
        raise ValueError("true must hold the input lead and at least one reconstructed lead; got 1 lead")
    if not isinstance(n_bootstrap, numbers.Integral) or n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be an integer >= 2; got {n_bootstrap!r}")
    for name, tol in (("slope_tolerance", slope_tolerance), ("std_tolerance", std_tolerance),
                      ("ridge_tolerance", ridge_tolerance)):
        if not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"{name} must be a non-negative number; got {tol!r}")
    if train is not None:
        train = check_ecg_array(train).astype(np.float64)
        if train.shape[1:] != (n_leads, T):
            raise ValueError(f"train must have {n_leads} leads and {T} samples like true; got shape {train.shape}")
    fs = float(fs)
    rng = check_random_state(random_state)
    names = default_lead_names(n_leads)
    leads = [j for j in range(n_leads) if j != input_lead]

    true_peaks = detect_rpeaks(true, fs)  # multi-lead voting on the truth: where amplitudes are measured
    input_peaks = detect_rpeaks(true[:, [input_lead]], fs)
    empty = [i for i, p in enumerate(true_peaks) if len(p) == 0]
    if empty:
        raise ValueError(f"no R peaks found in true ECG(s) {empty[:10]}: amplitudes cannot be measured")

    def beats_of(X):
        return _median_beats(X, true_peaks, fs)

    true_amp = _amplitudes(beats_of(true), fs)
    source = train if train is not None else true
    template = _median_beats(source, detect_rpeaks(source, fs) if train is not None else true_peaks, fs).mean(0)
    template_pred = _paste_template(template, input_peaks, T, fs)
    template_pred[:, input_lead] = true[:, input_lead]
    boot = rng.randint(0, n, size=(int(n_bootstrap), n))

    model = _Stats(true, predicted, true_amp, beats_of, fs, boot)
    floor_t = _Stats(true, template_pred, true_amp, beats_of, fs, boot)
    floor_r = None
    if train is not None:
        floor_r = _Stats(true, _ridge_prediction(train, true, input_lead), true_amp, beats_of, fs, boot)

    metrics = []

    def summary(stats, values, j):
        return stats.mean_with_interval(values, j)

    for j in leads:
        lead = names[j]
        # Pearson r
        v, vi = summary(model, model.r, j)
        t, ti = summary(floor_t, floor_t.r, j)
        ok = ti is not None and v > ti[1]
        rule = "value > mean_template_hi"
        baselines = {"mean_template": t}
        floor, floor_i = t, ti
        if floor_r is not None:
            f, fi = summary(floor_r, floor_r.r, j)
            ok = ok and v >= fi[0] - ridge_tolerance
            rule += f" and value >= ridge_lo - {ridge_tolerance:g}"
            baselines["ridge"], floor, floor_i = f, f, fi
        metrics.append(MetricResult(f"pearson_r[{lead}]", v, vi, floor, floor_i, baselines, rule, ok,
                                    higher_is_better=True, group="fidelity"))
        # RMSE
        v, vi = summary(model, model.rmse, j)
        t, ti = summary(floor_t, floor_t.rmse, j)
        ok = ti is not None and v < ti[0]
        rule = "value < mean_template_lo"
        baselines = {"mean_template": t, "zeros": float(np.sqrt((true[:, j] ** 2).mean(-1)).mean())}
        floor, floor_i = t, ti
        if floor_r is not None:
            f, fi = summary(floor_r, floor_r.rmse, j)
            ok = ok and v <= fi[1] + ridge_tolerance
            rule += f" and value <= ridge_hi + {ridge_tolerance:g} mV"
            baselines["ridge"], floor, floor_i = f, f, fi
        metrics.append(MetricResult(f"rmse[{lead}]", v, vi, floor, floor_i, baselines, rule, ok, group="fidelity"))
        # amplitude fidelity
        for wave in _WAVES:
            (s, si), (r2, r2i) = model.amp_fit(wave, j)
            (ts, _), (tr2, _) = floor_t.amp_fit(wave, j)
            base_s, base_r2 = {"mean_template": ts}, {"mean_template": tr2}
            if floor_r is not None:
                (rs, _), (rr2, _) = floor_r.amp_fit(wave, j)
                base_s["ridge"], base_r2["ridge"] = rs, rr2
            if np.isfinite(s):
                metrics.append(MetricResult(
                    f"amp_slope[{wave},{lead}]", s, si, 1.0, None, base_s,
                    f"|value - 1| <= {slope_tolerance:g} (identity)", abs(s - 1.0) <= slope_tolerance,
                    higher_is_better=True, group="amplitude"))
                metrics.append(MetricResult(
                    f"amp_r2[{wave},{lead}]", r2, r2i, 1.0, None, base_r2,
                    "informational: the slope carries the verdict", None, higher_is_better=True,
                    group="amplitude"))
            else:
                reason = f"the true {wave} amplitude of lead {lead} is the same in every record"
                metrics.append(MetricResult.not_applicable(f"amp_slope[{wave},{lead}]", reason, group="amplitude"))
                metrics.append(MetricResult.not_applicable(f"amp_r2[{wave},{lead}]", reason, group="amplitude"))
        v, vi = summary(model, model.std_ratio, j)
        t, _ = summary(floor_t, floor_t.std_ratio, j)
        baselines = {"mean_template": t}
        if floor_r is not None:
            baselines["ridge"] = summary(floor_r, floor_r.std_ratio, j)[0]
        metrics.append(MetricResult(f"std_ratio[{lead}]", v, vi, 1.0, None, baselines,
                                    f"|value - 1| <= {std_tolerance:g}", bool(abs(v - 1.0) <= std_tolerance),
                                    group="amplitude"))

    # the mean r over the reconstructed leads
    def mean_r(stats):
        per_record = stats.r[:, leads].mean(1)
        return float(per_record.mean()), _interval(per_record[boot].mean(1))

    v, vi = mean_r(model)
    t, ti = mean_r(floor_t)
    ok, rule, baselines, floor, floor_i = v > ti[1], "value > mean_template_hi", {"mean_template": t}, t, ti
    if floor_r is not None:
        f, fi = mean_r(floor_r)
        ok = ok and v >= fi[0] - ridge_tolerance
        rule += f" and value >= ridge_lo - {ridge_tolerance:g}"
        baselines["ridge"], floor, floor_i = f, f, fi
    metrics.insert(0, MetricResult("pearson_r[mean]", v, vi, floor, floor_i, baselines, rule, bool(ok),
                                   higher_is_better=True, group="fidelity"))

    figs = {}
    if figures:
        per_lead = lambda s: np.array([s.r[:, j].mean() for j in range(n_leads)])  # noqa: E731
        figs = _figures(names, leads, per_lead(model)[leads], per_lead(floor_t)[leads],
                        None if floor_r is None else per_lead(floor_r)[leads], true_amp, model.amp)
    reference = ("floors: mean template of train and ridge lead-I regression fitted on train" if train is not None
                 else "floor: mean template of the true ECGs (no train given, so no ridge floor)")
    meta = {"n_ecgs": n, "n_leads": n_leads, "n_samples": T, "fs": fs, "n_train": None if train is None else len(train),
            "input_lead": names[input_lead], "n_bootstrap": int(n_bootstrap),
            "random_state": random_state if isinstance(random_state, (int, type(None))) else "RandomState"}
    return EvaluationReport("reconstruction", metrics, reference=reference, meta=meta, figures=figs)
