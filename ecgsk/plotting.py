"""12-lead ECG plots on a paper grid (needs the ``plot`` extra: matplotlib).

Examples
--------
>>> from ecgsk.datasets import make_synthetic_ecgs
>>> from ecgsk.plotting import plot_ecg
>>> fig = plot_ecg(make_synthetic_ecgs(1, random_state=0)[0])  # doctest: +SKIP
>>> fig.savefig("ecg.png")  # doctest: +SKIP
"""

import numpy as np

from .utils.validation import check_ecg_array
from .leads import LEADS_8, LEADS_12

__all__ = ["plot_ecg"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'ecgsk[plot]'") from exc
    return plt


def plot_ecg(ecg, fs=500, *, lead_names=None, overlay=None, overlay_label="reconstructed",
             label="real", title=None, columns=2, seconds=None, ax_height=1.1):
    """Plot one ECG, lead by lead, on a 1 mm / 5 mm paper grid (25 mm/s, 10 mm/mV).

    Parameters
    ----------
    ecg : array-like of shape (n_leads, n_samples)
        One ECG in mV.
    fs : float, default=500
        Sampling rate in Hz.
    lead_names : sequence of str, optional
        Defaults to the 12- or 8-lead standard order when the lead count matches.
    overlay : array-like of shape (n_leads, n_samples), optional
        A second ECG drawn on top (for example a reconstruction).
    overlay_label, label : str
        Legend labels when ``overlay`` is given.
    title : str, optional
    columns : int, default=2
        Leads are laid out in this many columns.
    seconds : float, optional
        Show only the first ``seconds`` of the record.
    ax_height : float, default=1.1
        Height of each lead's panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    ecg = check_ecg_array(np.asarray(ecg)[None], name="ecg")[0]
    if overlay is not None:
        overlay = check_ecg_array(np.asarray(overlay)[None], name="overlay")[0]
        if overlay.shape != ecg.shape:
            raise ValueError(f"overlay has shape {overlay.shape}, expected {ecg.shape}")
    n_leads, n_samples = ecg.shape
    if lead_names is None:
        lead_names = {12: LEADS_12, 8: LEADS_8}.get(n_leads, [f"lead {i + 1}" for i in range(n_leads)])
    if len(lead_names) != n_leads:
        raise ValueError(f"{len(lead_names)} lead names given for {n_leads} leads")
    stop = n_samples if seconds is None else min(n_samples, int(seconds * fs))
    t = np.arange(stop) / fs
    rows = int(np.ceil(n_leads / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, ax_height * rows), sharex=True, squeeze=False)
    for idx, ax in enumerate(axes.T.ravel()):
        if idx >= n_leads:
            ax.axis("off")
            continue
        ax.plot(t, ecg[idx, :stop], color="black", lw=0.7, label=label)
        if overlay is not None:
            ax.plot(t, overlay[idx, :stop], color="tab:red", lw=0.7, alpha=0.8, label=overlay_label)
        # ECG paper: minor grid 0.04 s / 0.1 mV, major 0.2 s / 0.5 mV.
        ax.set_xticks(np.arange(0, t[-1] + 1e-9, 0.2), minor=False)
        ax.set_xticks(np.arange(0, t[-1] + 1e-9, 0.04), minor=True)
        lo, hi = np.floor(min(ecg[idx].min(), -0.5) * 2) / 2, np.ceil(max(ecg[idx].max(), 0.5) * 2) / 2
        ax.set_ylim(lo, hi)
        ax.set_yticks(np.arange(lo, hi + 1e-9, 0.5))
        ax.set_yticks(np.arange(lo, hi + 1e-9, 0.1), minor=True)
        ax.grid(which="major", color="tab:red", alpha=0.35, lw=0.6)
        ax.grid(which="minor", color="tab:red", alpha=0.12, lw=0.4)
        ax.tick_params(labelbottom=False, labelleft=False, length=0)
        ax.text(0.005, 0.85, lead_names[idx], transform=ax.transAxes, fontsize=9, weight="bold")
    if overlay is not None:
        axes[0, 0].legend(loc="upper right", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
