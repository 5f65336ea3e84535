"""Plots (need the ``plot`` extra: matplotlib): ECGs on a paper grid, training histories.

- :func:`plot_ecg`: ECGs on calibrated ECG paper (25 mm/s, 10 mm/mV by default,
  exact on the saved page), in the clinical 3x4 + rhythm-strip layout, 6x2 or
  12x1; one page per ECG.
- :func:`save_pages`: pages to one multi-page PDF or one PNG/SVG per page.
- :func:`plot_history`: the per-epoch ``history_`` of a model trained by the
  torch training engine (losses, validation scores, learning rates).

NumPy and matplotlib only: this module never imports torch.

Examples
--------
>>> from ecgsk.datasets import make_synthetic_ecgs
>>> from ecgsk.plotting import plot_ecg
>>> fig = plot_ecg(make_synthetic_ecgs(1, random_state=0)[0])  # doctest: +SKIP
>>> fig.savefig("ecg.png", dpi=300)  # doctest: +SKIP
"""

import math
import numbers

import numpy as np

from .exceptions import NotFittedError
from .utils.validation import check_ecg_array
from .leads import LEADS_8, LEADS_12, canonical_lead_name, derive_12_from_8

__all__ = ["plot_ecg", "plot_history", "save_pages"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'ecgsk[plot]'") from exc
    return plt


#: Layouts of the 12 standard leads: rows of lead names, left to right.
_LAYOUTS = {
    "3x4+II": [["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"]],
    "6x2": [["I", "V1"], ["II", "V2"], ["III", "V3"], ["aVR", "V4"], ["aVL", "V5"], ["aVF", "V6"]],
    "12x1": [[name] for name in LEADS_12],
}
_MARGIN_MM = 10.0       # white border around the paper
_HEADER_MM = 12.0       # room for the title and the speed/gain line above the paper
_PULSE_S = (0.1, 0.3)   # the 1 mV pulse starts 100 ms into a 400 ms gutter and lasts 200 ms
_GUTTER_S = 0.4
_MIN_SEGMENT_S = 1.0    # shorter column segments (a median beat cut in four) show the whole record instead
_MINOR_COLOUR, _MAJOR_COLOUR = "#f6b6b6", "#e06666"


def _positive(value, name, unit):
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of {unit}; got {value!r}")
    return float(value)


def _as_batch(X, name):
    """(batch, single): 1-D is one single-lead ECG, 2-D one ECG (leads, samples), 3-D a batch."""
    arr = np.asarray(X) if not hasattr(X, "to_numpy") else X.to_numpy()
    if arr.ndim == 1:
        arr = arr[None, None]
    elif arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim != 3:
        raise ValueError(f"{name} must be one ECG (n_leads, n_samples), a single lead (n_samples,) or a batch "
                         f"(n_ecgs, n_leads, n_samples); got a {arr.ndim}-D array of shape {arr.shape}")
    return check_ecg_array(arr, name=name), np.ndim(X) < 3


def _standard_12(X, names):
    """(X, names) in LEADS_12 order when the leads are the 12 standard ones or the 8 independent ones, else None."""
    canonical = [canonical_lead_name(n) for n in names]
    if set(canonical) >= set(LEADS_12):
        return X[:, [canonical.index(n) for n in LEADS_12]], list(LEADS_12)
    if set(canonical) >= set(LEADS_8):
        return derive_12_from_8(X[:, [canonical.index(n) for n in LEADS_8]]), list(LEADS_12)
    return None


def _panels(layout, names, n_samples, fs, seconds):
    """The page's rows, each a list of (lead index, first sample, stop sample, label).

    A layout of columns cuts the shown time into consecutive segments, one per
    column; when a segment would be shorter than ``_MIN_SEGMENT_S`` every
    panel shows the whole record instead (and there is no rhythm strip).
    """
    shown = min(n_samples, int(round(seconds * fs)))
    if layout == "rows":
        return [[(i, 0, shown, name)] for i, name in enumerate(names)]
    grid = _LAYOUTS[layout]
    n_cols = len(grid[0])
    split = n_cols > 1 and shown / fs / n_cols >= _MIN_SEGMENT_S
    bounds = np.linspace(0, shown, n_cols + 1).round().astype(int) if split else [0] * n_cols + [shown]
    rows = []
    for lead_row in grid:
        rows.append([(names.index(lead), bounds[c] if split else 0, bounds[c + 1] if split else shown, lead)
                     for c, lead in enumerate(lead_row)])
    if layout == "3x4+II" and split:
        rows.append([(names.index("II"), 0, shown, "II (rhythm)")])
    return rows


def _row_limits(row, signals, gain):
    """y-limits in mV covering every signal of the row and the 1 mV pulse, rounded out to 5 mm boxes."""
    step = 5.0 / gain  # one big box in mV
    values = [s[i, a:b] for s in signals for i, a, b, _ in row]
    lo = min(min(v.min() for v in values), -step)
    hi = max(max(v.max() for v in values), 1.0 + step)
    # a tiny tolerance keeps a value that sits on a box edge from adding a whole box
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def _draw_paper(ax, width_mm, height_mm):
    """The 1 mm / 5 mm grid, in data coordinates of millimetres."""
    from matplotlib.collections import LineCollection

    for every, colour, lw in ((1, _MINOR_COLOUR, 0.3), (5, _MAJOR_COLOUR, 0.6)):
        xs = [x for x in np.arange(0, width_mm + 1e-9, every) if every == 5 or round(x) % 5]
        ys = [y for y in np.arange(0, height_mm + 1e-9, every) if every == 5 or round(y) % 5]
        segments = [[(x, 0), (x, height_mm)] for x in xs] + [[(0, y), (width_mm, y)] for y in ys]
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=lw, zorder=1 if every == 1 else 2,
                                         label=f"{every} mm grid"))
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.set_axis_off()


def _page(plt, ecg, overlay, names, *, fs, layout, speed, gain, seconds, title, label, overlay_label, n_samples):
    rows = _panels(layout, names, n_samples, fs, seconds)
    signals = [ecg] if overlay is None else [ecg, overlay]
    limits = [_row_limits(row, signals, gain) for row in rows]
    row_mm = [(hi - lo) * gain for lo, hi in limits]
    gutter_mm = _GUTTER_S * speed
    paper_w = gutter_mm + max(sum((b - a) / fs * speed for _, a, b, _ in row) for row in rows)
    paper_h = sum(row_mm)
    page_w, page_h = paper_w + 2 * _MARGIN_MM, paper_h + 2 * _MARGIN_MM + _HEADER_MM
    fig = plt.figure(figsize=(page_w / 25.4, page_h / 25.4))

    def place(x_mm, y_mm, w_mm, h_mm, label):
        # explicit positions in page millimetres: nothing rescales them later
        ax = fig.add_axes([(_MARGIN_MM + x_mm) / page_w, (_MARGIN_MM + y_mm) / page_h, w_mm / page_w,
                           h_mm / page_h], label=label)
        return ax

    _draw_paper(place(0, 0, paper_w, paper_h, "paper"), paper_w, paper_h)
    panels = []
    top = paper_h
    for row, (lo, hi), height in zip(rows, limits, row_mm):
        top -= height
        pulse = place(0, top, gutter_mm, height, "calibration")
        t0, t1 = _PULSE_S
        pulse.plot([0, t0, t0, t1, t1, _GUTTER_S], [0, 0, 1, 1, 0, 0], color="black", lw=0.8)
        pulse.set_xlim(0, _GUTTER_S)
        pulse.set_ylim(lo, hi)
        pulse.set_axis_off()
        x = gutter_mm
        for column, (lead, a, b, name) in enumerate(row):
            width = (b - a) / fs * speed
            ax = place(x, top, width, height, name)
            panels.append(ax)
            t = np.arange(a, b) / fs
            ax.plot(t, ecg[lead, a:b], color="black", lw=0.6, label=label)
            if overlay is not None:
                ax.plot(t, overlay[lead, a:b], color="tab:blue", lw=0.6, alpha=0.85, label=overlay_label)
            # the limits are the segment's own time span, so width / seconds == speed exactly
            ax.set_xlim(a / fs, b / fs)
            ax.set_ylim(lo, hi)
            ax.set_axis_off()
            if column:  # the short bar that marks a lead change on ECG paper
                ax.plot([a / fs] * 2, [-2.5 / gain, 2.5 / gain], color="black", lw=0.8)
            ax.annotate(name.replace(" (rhythm)", ""), xy=(0, 1), xycoords="axes fraction", xytext=(3, -3),
                        textcoords="offset points", va="top", fontsize=8, weight="bold")
            x += width
    header = f"{speed:g} mm/s   {gain:g} mm/mV   {fs:g} Hz"
    fig.text(_MARGIN_MM / page_w, 1 - _MARGIN_MM / 2 / page_h, title or "", va="center", fontsize=10,
             weight="bold")
    fig.text(1 - _MARGIN_MM / page_w, (_MARGIN_MM + paper_h + 3) / page_h, header, ha="right", va="bottom",
             fontsize=8)
    if overlay is not None:
        fig.legend(*panels[0].get_legend_handles_labels(), loc="upper right", fontsize=8, frameon=False,
                   bbox_to_anchor=(1 - _MARGIN_MM / page_w, 1 - 1 / page_h), ncol=2)
    fig.ecg_layout = layout
    return fig


def plot_ecg(X, fs=500, layout="3x4+II", speed=25, gain=10, *, lead_names=None, overlay=None,
             overlay_label="overlay", label="ECG", title=None, seconds=10.0, path=None, dpi=200):
    """Draw ECGs on calibrated ECG paper: exactly ``speed`` mm/s and ``gain`` mm/mV on the saved page.

    The figure size is set in inches from the millimetres the page needs, and
    every panel gets an explicit position and data limits, so one second of
    signal is ``speed`` mm wide and one millivolt ``gain`` mm high on the
    saved page, in every panel (save it at any dpi; do not resize the figure).
    The page has a square 1 mm / 5 mm grid, a 1 mV x 200 ms calibration pulse
    at the start of each row, and lead labels.  All panels of a row share
    their limits, which cover the row's signals (and ``overlay``) rounded out
    to whole 5 mm boxes: tall signals make taller rows, never clipped ones.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples), (n_leads, n_samples) or (n_samples,)
        ECGs in mV.  A 3-D batch draws one page per ECG; a 2-D array is *one*
        ECG, leads first (unlike the estimators, where 2-D means a batch of
        single leads); a 1-D array is one single-lead ECG.
    fs : float, default=500
        Sampling rate in Hz.
    layout : {"3x4+II", "6x2", "12x1"}, default="3x4+II"
        ``"3x4+II"``: the clinical page, 3 rows x 4 columns of consecutive
        segments (2.5 s each for 10 s) -- I, aVR, V1, V4 / II, aVL, V2, V5 /
        III, aVF, V3, V6 -- and a full-length lead II rhythm strip below.
        ``"6x2"``: limb leads over the first half, chest leads over the second.
        ``"12x1"``: one full-length row per lead.  The 8 independent leads
        (I, II, V1-V6) get III, aVR, aVL and aVF derived
        (:func:`~ecgsk.leads.derive_12_from_8`).  Other lead sets (a single
        lead, MIT-BIH's two) cannot fill these layouts: they are drawn one
        full-length row per lead, and ``fig.ecg_layout`` is then ``"rows"``.
        When a column segment would be shorter than 1 s (a median beat), every
        panel shows the whole record and ``"3x4+II"`` has no rhythm strip.
    speed : float, default=25
        Paper speed in mm/s.
    gain : float, default=10
        Gain in mm/mV.
    lead_names : sequence of str, optional
        Names of the leads of ``X``, case-insensitive; default the 12- or
        8-lead standard order when the lead count is 12 or 8, else
        ``"lead 1"``, ``"lead 2"``, ...
    overlay : array-like, same shape as ``X``, optional
        Second ECGs (a reconstruction, a synthetic twin) drawn in blue on the
        same panels, with the same limits.
    overlay_label, label : str
        Legend labels of ``overlay`` and ``X`` (the legend appears only with
        an overlay).
    title : str or sequence of str, optional
        Printed above the paper: one for every page, or one per ECG.
    seconds : float, default=10.0
        Length of a full-width row: longer records are cut to their first
        ``seconds``.
    path : str or path-like, optional
        Also save the pages (see :func:`save_pages`): ``.pdf`` writes one
        multi-page PDF; ``.png`` or ``.svg`` writes one file per page,
        ``name-0.png``, ``name-1.png``, ..., or ``path`` itself for a single
        ECG.
    dpi : float, default=200
        Resolution of PNG files (it does not change the millimetres).

    Returns
    -------
    matplotlib.figure.Figure or list of Figure
        One figure for a 1-D or 2-D ``X``, a list (one per ECG) for a 3-D
        batch.  Each panel's axes is labelled with its lead (``ax.get_label()``,
        ``"II (rhythm)"`` for the rhythm strip), the pulse axes
        ``"calibration"`` and the grid axes ``"paper"``.

    Raises
    ------
    ValueError
        For a 4-D, empty or non-finite ``X``, an ``overlay`` of another shape,
        a wrong number of ``lead_names`` or ``title`` strings, an unknown ``layout``, non-positive
        ``fs``, ``speed``, ``gain`` or ``seconds``, or a ``path`` of another
        format.
    ImportError
        When matplotlib is not installed.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> from ecgsk.plotting import plot_ecg
    >>> X = make_synthetic_ecgs(2, random_state=0)          # (2, 12, 5000) mV at 500 Hz
    >>> pages = plot_ecg(X, layout="3x4+II")
    >>> len(pages), [ax.get_label() for ax in pages[0].axes][2:5]
    (2, ['I', 'aVR', 'V1'])
    >>> fig = plot_ecg(X[0], speed=50, gain=20, path="ecg.pdf")  # doctest: +SKIP
    """
    fs = _positive(fs, "fs", "Hz")
    speed = _positive(speed, "speed", "mm/s")
    gain = _positive(gain, "gain", "mm/mV")
    seconds = _positive(seconds, "seconds", "seconds")
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {list(_LAYOUTS)}; got {layout!r}")
    batch, single = _as_batch(X, "X")
    n_ecgs, n_leads, n_samples = batch.shape
    if overlay is not None:
        overlay_batch, _ = _as_batch(overlay, "overlay")
        if overlay_batch.shape != batch.shape:
            raise ValueError(f"overlay has shape {np.shape(overlay)}, expected the shape of X, {np.shape(X)}")
    if lead_names is None:
        lead_names = {12: LEADS_12, 8: LEADS_8}.get(n_leads, [f"lead {i + 1}" for i in range(n_leads)])
    lead_names = [canonical_lead_name(n) for n in lead_names]
    if len(lead_names) != n_leads:
        raise ValueError(f"{len(lead_names)} lead_names given for {n_leads} leads")
    drawn_layout = layout
    standard = _standard_12(batch, lead_names)
    if standard is None:
        drawn_layout = "rows"
    else:
        if overlay is not None:
            overlay_batch = _standard_12(overlay_batch, lead_names)[0]
        batch, lead_names = standard
    titles = [title] * n_ecgs if title is None or isinstance(title, str) else list(title)
    if len(titles) != n_ecgs:
        raise ValueError(f"title must be one str or one per ECG; got {len(titles)} titles for {n_ecgs} ECGs")
    plt = _pyplot()
    figures = [
        _page(plt, batch[i], None if overlay is None else overlay_batch[i], lead_names, fs=fs, layout=drawn_layout,
              speed=speed, gain=gain, seconds=seconds, title=titles[i], label=label, overlay_label=overlay_label,
              n_samples=n_samples)
        for i in range(n_ecgs)
    ]
    if path is not None:
        save_pages(figures, path, dpi=dpi)
    return figures[0] if single else figures


def save_pages(figures, path, *, dpi=200):
    """Write figures as pages: one multi-page PDF, or one image file per page.

    Parameters
    ----------
    figures : Figure or sequence of Figure
        The pages, e.g. from :func:`plot_ecg`.
    path : str or path-like
        ``.pdf``: one file with one page per figure
        (:class:`matplotlib.backends.backend_pdf.PdfPages`).  ``.png`` or
        ``.svg``: ``path`` itself for a single figure, else one file per
        page named ``<stem>-0.png``, ``<stem>-1.png``, ...
    dpi : float, default=200
        Resolution of PNG files.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        When ``path`` ends in another suffix, or ``figures`` is empty.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> pages = plot_ecg(make_synthetic_ecgs(3, random_state=0))
    >>> save_pages(pages, "ecgs.pdf")  # doctest: +SKIP
    [PosixPath('ecgs.pdf')]
    """
    from pathlib import Path

    figures = [figures] if not isinstance(figures, (list, tuple)) else list(figures)
    if not figures:
        raise ValueError("figures is empty: nothing to save")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".png", ".svg"):
        raise ValueError(f"path must end in .pdf, .png or .svg; got {str(path)!r}")
    _pyplot()
    import matplotlib

    # bbox "standard": the whole page, so the millimetres stay as drawn
    with matplotlib.rc_context({"savefig.bbox": "standard"}):
        if suffix == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with PdfPages(path) as pdf:
                for fig in figures:
                    pdf.savefig(fig)
            return [path]
        paths = [path] if len(figures) == 1 else [path.with_name(f"{path.stem}-{i}{path.suffix}")
                                                  for i in range(len(figures))]
        for fig, target in zip(figures, paths):
            fig.savefig(target, dpi=dpi)
    return paths


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
