"""Plots (need the ``plot`` extra: matplotlib): ECGs on a paper grid, training histories.

- :func:`plot_ecg`: one ECG, lead by lead, on a 1 mm / 5 mm paper grid.
- :func:`plot_history`: the per-epoch ``history_`` of a model trained by the
  torch training engine (losses, validation scores, learning rates).

NumPy and matplotlib only: this module never imports torch.

Examples
--------
>>> from ecgsk.datasets import make_synthetic_ecgs
>>> from ecgsk.plotting import plot_ecg
>>> fig = plot_ecg(make_synthetic_ecgs(1, random_state=0)[0])  # doctest: +SKIP
>>> fig.savefig("ecg.png")  # doctest: +SKIP
"""

import math
import numbers

import numpy as np

from .exceptions import NotFittedError
from .utils.validation import check_ecg_array
from .leads import LEADS_8, LEADS_12

__all__ = ["plot_ecg", "plot_history"]


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


#: Keys of a ``history_`` record that are bookkeeping, not curves.
_HISTORY_SKIP = ("epoch", "dur", "partial")


def _history_of(est):
    """``est.history_`` (or ``est`` itself when it is a list of records), checked."""
    if isinstance(est, (list, tuple)):
        history, name = list(est), "history"
    else:
        name = type(est).__name__
        history = getattr(est, "history_", None)
        if history is None:
            from sklearn.utils.validation import check_is_fitted

            try:
                check_is_fitted(est)
            except NotFittedError:
                raise NotFittedError(
                    f"This {name} instance is not fitted yet: call fit before plot_history"
                ) from None
            except TypeError:  # not an estimator at all
                pass
            raise TypeError(
                f"{name} has no history_: plot_history draws the per-epoch history_ that models trained by "
                "the torch training engine (ecgsk.nn.engine) record; this one does not record one"
            )
    if not isinstance(history, (list, tuple)) or not all(isinstance(r, dict) for r in history):
        raise TypeError(f"{name}.history_ must be a list of dicts (one per epoch); got {type(history).__name__}")
    if not history:
        raise ValueError(f"{name}.history_ is empty: no epoch has been trained (max_epochs=0?)")
    return history, name


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _curve(history, key):
    """(epochs, values) of the records that hold a finite ``key``."""
    points = [(r.get("epoch", i + 1), float(r[key])) for i, r in enumerate(history)
              if _is_number(r.get(key)) and math.isfinite(float(r[key]))]
    if not points:
        return np.zeros(0), np.zeros(0)
    epochs, values = zip(*points)
    return np.asarray(epochs, dtype=float), np.asarray(values, dtype=float)


def _ordered_keys(keys):
    """Training keys in order, each followed by its ``valid_`` twin; then unpaired validation keys."""
    keys = list(keys)
    train = [k for k in keys if not k.startswith("valid_")]
    out = []
    for k in train:
        out.append(k)
        if f"valid_{k}" in keys:
            out.append(f"valid_{k}")
    out += [k for k in keys if k not in out]
    return out


def _log_if_wide(ax, values):
    """Log scale when every value is positive and they span more than two decades."""
    values = np.concatenate(values) if values else np.zeros(0)
    if len(values) and values.min() > 0 and values.max() / values.min() > 100:
        ax.set_yscale("log")


def plot_history(est, keys=None, ax=None):
    """Plot the training history of a torch model: one line per logged key against the epoch.

    Draws ``est.history_``, the list of per-epoch records that the training
    engine writes (``epoch``, ``dur``, every logged loss, ``valid_*`` scores
    on a validation split, ``lr_*`` learning rates from
    :class:`~ecgsk.nn.callbacks.LRScheduler`).  Each key gets one line,
    labelled with the key; a validation key ``valid_<k>`` is dashed, in the
    colour of its training key ``<k>``, and follows it in the legend.
    Learning rates are dash-dotted, on a second y axis on the right (when
    losses are drawn too).  An axis is log-scaled when all its values are positive and span
    more than two decades.  When the estimator has ``best_epoch_`` (set by
    :class:`~ecgsk.nn.callbacks.EarlyStopping`), a dotted vertical line marks
    it.  Epochs where a key was not logged (e.g. a GAN's generator loss in
    an epoch without a generator update) are left out of its line.

    Parameters
    ----------
    est : fitted torch estimator, or list of dict
        A model trained by the engine (it has ``history_``), or a history
        itself.
    keys : str or sequence of str, optional
        The keys to draw, exactly as given (a training key does not bring its
        ``valid_`` twin along).  Default: every logged key except ``epoch``,
        ``dur`` and ``partial``, in the order they first appear.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on; default a new figure's.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with the loss lines (``ax.figure`` is the figure).  The
        learning-rate axis, when there is one, is ``ax.lr_axis``.

    Raises
    ------
    NotFittedError
        When ``est`` is not fitted.
    TypeError
        When ``est`` is fitted but records no ``history_`` (a model not
        trained by the engine), or ``history_`` is not a list of dicts.
    ValueError
        When ``history_`` is empty, or a key of ``keys`` was never logged
        (the message lists the logged keys).

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> from ecgsk.models.pix2pix import Pix2PixReconstructor
    >>> from ecgsk.plotting import plot_history
    >>> X = make_synthetic_ecgs(8, n_samples=256, random_state=0)
    >>> model = Pix2PixReconstructor(window=128, width=2, max_epochs=3, device="cpu",
    ...                              random_state=0).fit(X)
    >>> ax = plot_history(model)
    >>> [line.get_label() for line in ax.get_lines()]
    ['d', 'g_adv', 'g_l1']
    >>> ax.figure.savefig("history.png")  # doctest: +SKIP
    """
    history, name = _history_of(est)
    logged = []
    for record in history:
        for key, value in record.items():
            if key not in _HISTORY_SKIP and key not in logged and _is_number(value):
                logged.append(key)
    if keys is None:
        keys = logged
        if not keys:
            raise ValueError(f"{name}.history_ holds no logged values besides {list(_HISTORY_SKIP)}")
    else:
        keys = [keys] if isinstance(keys, str) else list(keys)
        if not keys:
            raise ValueError("keys is empty; give at least one logged key, or None for all")
        unknown = [k for k in keys if k not in logged]
        if unknown:
            raise ValueError(f"{name}.history_ has no key(s) {unknown}; logged keys: {logged}")

    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    rates = [k for k in keys if k.startswith("lr_")]
    losses = [k for k in keys if k not in rates]
    lr_ax = ax.twinx() if losses and rates else ax
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    colour_of, drawn = {}, {id(ax): [], id(lr_ax): []}
    for key in _ordered_keys(losses) + rates:
        base = key[len("valid_"):] if key.startswith("valid_") else key
        if base not in colour_of:
            colour_of[base] = colours[len(colour_of) % len(colours)]
        target = lr_ax if key in rates else ax
        epochs, values = _curve(history, key)
        style = "--" if key.startswith("valid_") else "-." if key in rates else "-"
        target.plot(epochs, values, color=colour_of[base], linestyle=style, marker="o" if len(values) == 1 else None,
                    label=key)
        drawn[id(target)].append(values)
    _log_if_wide(ax, drawn[id(ax)])
    if lr_ax is not ax:
        _log_if_wide(lr_ax, drawn[id(lr_ax)])
        lr_ax.set_ylabel("learning rate")
    ax.lr_axis = lr_ax if lr_ax is not ax else None
    best = None if isinstance(est, (list, tuple)) else getattr(est, "best_epoch_", None)
    if best is not None:
        ax.axvline(best, color="0.4", linestyle=":", linewidth=1.2, label=f"best epoch ({best})")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate" if not losses else "loss")
    ax.set_title(f"{name} training history")
    handles, labels = ax.get_legend_handles_labels()
    if lr_ax is not ax:
        more_handles, more_labels = lr_ax.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, fontsize=8)
    return ax
