"""Figures of the generator report (matplotlib Agg, returned as PNG bytes)."""

import io

import numpy as np


def _png(fig, plt):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def _median_beat(X, fs):
    """One beat per set: each record's window around its largest QRS slope, then the median over records."""
    pre, post = int(round(0.3 * fs)), int(round(0.5 * fs))
    T = X.shape[2]
    if T < pre + post:
        return np.median(X, axis=0)
    act = np.abs(np.diff(X, axis=2)).sum(axis=1)
    act[:, :pre] = 0
    act[:, T - post:] = 0
    centre = act.argmax(axis=1)
    idx = centre[:, None] + np.arange(-pre, post)[None, :]
    beats = np.take_along_axis(X, np.broadcast_to(idx[:, None, :], (len(X), X.shape[1], pre + post)), axis=2)
    beats = beats - np.median(beats, axis=2, keepdims=True)
    return np.median(beats, axis=0)


def generator_figures(real, synthetic, fs, feat_real, feat_syn, names, freqs, spec_real, spec_syn, lead_names,
                      meas_real=None, meas_syn=None, meas_names=()):
    """Dict title -> PNG bytes; raises ImportError without matplotlib.

    ``meas_*`` are :func:`ecgsk.metrics.features.ecg_measurements` columns (NaN where undefined).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plotting import plot_ecg

    figs = {}
    L = real.shape[1]
    cols = min(L, 4)
    rows = int(np.ceil(L / cols))
    br, bs = _median_beat(real, fs), _median_beat(synthetic, fs)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= L:
            ax.axis("off")
            continue
        ax.plot(np.arange(br.shape[1]) / fs, br[i], color="k", lw=1, label="real")
        ax.plot(np.arange(bs.shape[1]) / fs, bs[i], color="tab:red", lw=1, label="synthetic")
        ax.set_title(lead_names[i], fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("median beats (mV against s)")
    fig.tight_layout()
    figs["median beats per lead, real vs synthetic"] = _png(fig, plt)

    show = [(n, feat_real, feat_syn, names) for n in ("heart_rate", "qrs_width", f"{lead_names[min(1, L - 1)]}_r_amp",
            f"{lead_names[min(1, L - 1)]}_t_amp", f"{lead_names[0]}_bp_40_inf") if n in names]
    if meas_real is not None:
        lead = lead_names[min(1, L - 1)]
        show[1:1] = [(n, meas_real, meas_syn, list(meas_names)) for n in ("pr_ms", "qt_ms", "qtc_ms", f"P_amp_mV[{lead}]")
                     if n in meas_names]
    hcols = min(5, len(show))
    hrows = int(np.ceil(len(show) / hcols))
    fig, axes = plt.subplots(hrows, hcols, figsize=(2.8 * hcols, 2.3 * hrows), squeeze=False)
    for ax in axes.ravel()[len(show):]:
        ax.axis("off")
    for ax, (name, fr, fsyn, colnames) in zip(axes.ravel(), show):
        j = colnames.index(name)
        u, v = fr[:, j], fsyn[:, j]
        u, v = u[np.isfinite(u)], v[np.isfinite(v)]  # undefined measurements (no P wave, no RR) are left out
        both = np.r_[u, v]
        if not len(both):
            ax.text(0.5, 0.5, "not measurable", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        else:
            bins = np.linspace(both.min(), both.max() + 1e-9, 25)
            if len(u):
                ax.hist(u, bins=bins, alpha=0.5, color="k", label="real", density=True)
            if len(v):
                ax.hist(v, bins=bins, alpha=0.5, color="tab:red", label="synthetic", density=True)
        ax.set_title(name, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    figs["feature and clinical-measure distributions"] = _png(fig, plt)

    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= L:
            ax.axis("off")
            continue
        ax.semilogy(freqs, spec_real[:, i].mean(axis=0), color="k", lw=1, label="real")
        ax.semilogy(freqs, spec_syn[:, i].mean(axis=0), color="tab:red", lw=1, label="synthetic")
        ax.set_title(lead_names[i], fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("mean Welch power spectra (mV²/Hz against Hz)")
    fig.tight_layout()
    figs["power spectra per lead"] = _png(fig, plt)

    for label, X in (("real", real), ("synthetic", synthetic)):
        fig = plot_ecg(X[0], fs=fs)  # one ECG (leads, T); a batch would give a list of pages
        if isinstance(fig, (list, tuple)):
            fig = fig[0]
        figs[f"one ECG page: {label}"] = _png(fig, plt)
    return figs
