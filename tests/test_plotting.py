import re

import numpy as np
import pytest

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.leads import LEADS_8, LEADS_12, derive_12_from_8
from ecgsk.plotting import plot_ecg, save_pages

# -- plot_ecg: calibration measured on the saved page ----------------------------------


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _mm(fig, ax):
    """(width, height) of an axes on the page, in millimetres, from the drawn figure's pixels."""
    box = ax.get_window_extent()
    return box.width / fig.dpi * 25.4, box.height / fig.dpi * 25.4


def _axes(fig, label):
    return [ax for ax in fig.axes if ax.get_label() == label]


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() not in ("paper", "calibration")]


def _saved(fig, tmp_path, name="page.png"):
    fig.savefig(tmp_path / name, dpi=72)  # another dpi than the figure's: millimetres must not change
    assert (tmp_path / name).stat().st_size > 10_000
    return fig


@pytest.fixture(scope="module")
def ecg():
    return make_synthetic_ecgs(1, n_samples=5000, random_state=0)[0]  # 12 leads, 10 s at 500 Hz


@pytest.mark.parametrize("layout", ["3x4+II", "6x2", "12x1"])
@pytest.mark.parametrize("speed, gain", [(25, 10), (50, 20)])
def test_every_panel_is_calibrated(ecg, tmp_path, layout, speed, gain):
    fig = _saved(plot_ecg(ecg, layout=layout, speed=speed, gain=gain), tmp_path)
    panels = _panels(fig)
    assert len(panels) == {"3x4+II": 13, "6x2": 12, "12x1": 12}[layout]
    for ax in panels + _axes(fig, "calibration"):
        width_mm, height_mm = _mm(fig, ax)
        seconds, millivolts = np.diff(ax.get_xlim())[0], np.diff(ax.get_ylim())[0]
        assert width_mm / seconds == pytest.approx(speed, rel=0.01), ax.get_label()
        assert height_mm / millivolts == pytest.approx(gain, rel=0.01), ax.get_label()
        # limits are whole 5 mm boxes and hold the 1 mV pulse
        assert height_mm / 5 == pytest.approx(round(height_mm / 5), abs=0.02)
        assert ax.get_ylim()[0] < 0 and ax.get_ylim()[1] > 1
    shown = sum(np.diff(ax.get_xlim())[0] for ax in panels)
    assert shown == pytest.approx({"3x4+II": 40, "6x2": 60, "12x1": 120}[layout])


def test_grid_boxes_are_square_and_pulse_is_1mV_by_200ms(ecg, tmp_path):
    fig = _saved(plot_ecg(ecg), tmp_path)
    (paper,) = _axes(fig, "paper")
    # the paper axes is drawn in millimetres: one data unit is one page millimetre in x and y
    width_mm, height_mm = _mm(fig, paper)
    assert width_mm / np.diff(paper.get_xlim())[0] == pytest.approx(1, rel=0.005)
    assert height_mm / np.diff(paper.get_ylim())[0] == pytest.approx(1, rel=0.005)
    minor, major = paper.collections
    for grid, step in ((minor, 1), (major, 5)):
        xs = sorted({seg[0, 0] for seg in grid.get_segments() if seg[0, 0] == seg[1, 0]})
        ys = sorted({seg[0, 1] for seg in grid.get_segments() if seg[0, 1] == seg[1, 1]})
        if step == 1:  # minor lines skip the 5 mm ones
            xs, ys = sorted(xs + list(np.arange(0, xs[-1] + 1, 5.0))), sorted(ys + list(np.arange(0, ys[-1] + 1, 5.0)))
        np.testing.assert_allclose(np.diff(xs), step)
        np.testing.assert_allclose(np.diff(ys), step)
    pulses = _axes(fig, "calibration")
    assert len(pulses) == 4  # one per row: three 3x4 rows and the rhythm strip
    for ax in pulses:
        (line,) = ax.get_lines()
        px = ax.transData.transform(line.get_xydata()) / fig.dpi * 25.4  # page millimetres
        high = line.get_ydata() == 1
        assert np.ptp(px[:, 1]) == pytest.approx(10, rel=0.01)           # 1 mV at 10 mm/mV
        assert np.ptp(px[high, 0]) == pytest.approx(5, rel=0.01)         # 200 ms at 25 mm/s
        assert set(line.get_ydata()) == {0.0, 1.0}


def test_3x4_shows_consecutive_segments_and_rhythm_strip(ecg):
    fig = plot_ecg(ecg, fs=500)
    labels = [ax.get_label() for ax in _panels(fig)]
    assert labels == ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6", "II (rhythm)"]
    for ax in _panels(fig):
        column = ["I", "aVR", "V1", "V4"].index(ax.get_label()) if ax.get_label() in ("I", "aVR", "V1", "V4") else None
        if column is None:
            continue
        assert ax.get_xlim() == pytest.approx((2.5 * column, 2.5 * (column + 1)))
    # V1 is the third column: 5-7.5 s; aVR the second: 2.5-5 s
    (v1,) = _axes(fig, "V1")
    trace = v1.get_lines()[0]
    np.testing.assert_array_equal(trace.get_ydata(), ecg[LEADS_12.index("V1"), 2500:3750])
    np.testing.assert_allclose(trace.get_xdata(), np.arange(2500, 3750) / 500)
    (avr,) = _axes(fig, "aVR")
    np.testing.assert_array_equal(avr.get_lines()[0].get_ydata(), ecg[LEADS_12.index("aVR"), 1250:2500])
    (strip,) = _axes(fig, "II (rhythm)")
    np.testing.assert_array_equal(strip.get_lines()[0].get_ydata(), ecg[1])
    assert strip.get_xlim() == pytest.approx((0, 10))
    # panels of a row sit side by side on the page, the strip spans all four
    x0 = [ax.get_position().x0 for ax in _panels(fig)[:4]]
    x1 = [ax.get_position().x1 for ax in _panels(fig)[:4]]
    np.testing.assert_allclose(x0[1:], x1[:-1])
    assert strip.get_position().x0 == pytest.approx(x0[0]) and strip.get_position().x1 == pytest.approx(x1[-1])
    assert sorted(t.get_text() for ax in _panels(fig) for t in ax.texts) == sorted(list(LEADS_12) + ["II"])


def test_overlay_shares_the_panel_limits(ecg):
    big = ecg * 3 + 0.5  # reaches past the real ECG's range
    fig = plot_ecg(ecg, overlay=big, overlay_label="synthetic")
    for ax in _panels(fig):
        real, over = ax.get_lines()[:2]
        lo, hi = ax.get_ylim()
        for line in (real, over):
            assert lo <= line.get_ydata().min() and line.get_ydata().max() <= hi, ax.get_label()
        assert over.get_label() == "synthetic"
    # all panels of a row share their limits (the baselines line up across the row)
    first_row = _panels(fig)[:4]
    assert len({ax.get_ylim() for ax in first_row}) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ECG", "synthetic"]


def test_8_leads_get_limb_leads_derived():
    X8 = make_synthetic_ecgs(1, n_leads=8, n_samples=5000, random_state=1)[0]
    fig = plot_ecg(X8)
    (avr,) = _axes(fig, "aVR")
    np.testing.assert_allclose(avr.get_lines()[0].get_ydata(), derive_12_from_8(X8[None])[0, 3, 1250:2500], atol=1e-6)
    (v2,) = _axes(fig, "V2")
    np.testing.assert_array_equal(v2.get_lines()[0].get_ydata(), X8[LEADS_8.index("V2"), 2500:3750])


def test_single_lead_short_records_and_long_records():
    lead = make_synthetic_ecgs(1, n_leads=1, n_samples=5000, random_state=0)[0, 0]
    fig = plot_ecg(lead)  # 1-D: one single-lead ECG, one full-length row
    assert fig.ecg_layout == "rows" and [ax.get_label() for ax in _panels(fig)] == ["lead 1"]
    beat = make_synthetic_ecgs(1, n_samples=400, random_state=0)[0]  # 0.8 s: too short to cut in four
    fig = plot_ecg(beat)
    panels = _panels(fig)
    assert len(panels) == 12 and all(ax.get_xlim() == pytest.approx((0, 0.8)) for ax in panels)
    long = make_synthetic_ecgs(1, n_leads=2, n_samples=360 * 60, random_state=0)[0]  # 60 s, 2 leads, 360 Hz
    fig = plot_ecg(long, fs=360, lead_names=["MLII", "V1"], layout="12x1")
    assert [ax.get_label() for ax in _panels(fig)] == ["II", "V1"]
    assert all(ax.get_xlim() == pytest.approx((0, 10)) for ax in _panels(fig))
    width_mm, _ = _mm(fig, _panels(fig)[0])
    assert width_mm == pytest.approx(250, rel=0.01)


def test_batch_gives_one_page_each_and_a_multipage_pdf(tmp_path):
    X = make_synthetic_ecgs(3, n_samples=5000, random_state=0)
    pages = plot_ecg(X, path=tmp_path / "batch.pdf", title=["a", "b", "c"])
    assert isinstance(pages, list) and len(pages) == 3
    assert [[t.get_text() for t in page.texts][0] for page in pages] == ["a", "b", "c"]
    data = (tmp_path / "batch.pdf").read_bytes()
    try:
        from pypdf import PdfReader
    except ImportError:  # count the page objects (not /Pages, the page tree)
        count = len(re.findall(rb"/Type\s*/Page(?![a-z])", data))
    else:
        count = len(PdfReader(tmp_path / "batch.pdf").pages)
    assert count == 3
    # PNG: one file per page, or the file itself for one ECG
    written = save_pages(pages, tmp_path / "batch.png", dpi=50)
    assert [p.name for p in written] == ["batch-0.png", "batch-1.png", "batch-2.png"]
    assert all(p.stat().st_size > 5_000 for p in written)
    plot_ecg(X[0], path=tmp_path / "one.png", dpi=50)
    assert (tmp_path / "one.png").stat().st_size > 5_000 and not (tmp_path / "one-0.png").exists()
    # the page size follows the millimetres: 3x4+II at 25 mm/s is 10 mm gutter + 250 mm wide plus margins
    assert pages[0].get_size_inches()[0] * 25.4 == pytest.approx(10 + 250 + 20)


def test_plot_ecg_rejects_bad_input(ecg):
    with pytest.raises(ValueError, match="overlay has shape"):
        plot_ecg(ecg, overlay=ecg[:, :100])
    with pytest.raises(ValueError, match="lead_names"):
        plot_ecg(ecg, lead_names=["I"])
    with pytest.raises(ValueError, match="title must be one str or one per ECG"):
        plot_ecg(ecg[None], title=["a", "b"])
    with pytest.raises(ValueError, match="layout must be one of"):
        plot_ecg(ecg, layout="4x3")
    for name in ("speed", "gain", "fs", "seconds"):
        with pytest.raises(ValueError, match=f"{name} must be a positive number"):
            plot_ecg(ecg, **{name: 0})
    with pytest.raises(ValueError, match="X must be one ECG"):
        plot_ecg(np.zeros((1, 1, 12, 100)))
    bad = ecg.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="X"):
        plot_ecg(bad)
    with pytest.raises(ValueError, match=r"path must end in \.pdf, \.png or \.svg"):
        plot_ecg(ecg, path="ecg.jpg")


# -- plot_history -------------------------------------------------------------------
from matplotlib.axes import Axes  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from _torch_stubs import TinyGenerator, TinyReconstructor  # noqa: E402
from ecgsk.nn.callbacks import EarlyStopping, LRScheduler  # noqa: E402
from ecgsk.plotting import plot_history  # noqa: E402


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


@pytest.fixture(scope="module")
def fitted_with_validation():
    X = make_synthetic_ecgs(16, n_samples=64, random_state=0)
    callbacks = [EarlyStopping(monitor="valid_loss", patience=50), LRScheduler("StepLR", step_size=2, gamma=0.1)]
    return TinyReconstructor(max_epochs=6, validation_fraction=0.25, callbacks=callbacks, random_state=0).fit(X)


def test_plot_history_one_line_per_logged_key(fitted_with_validation):
    est = fitted_with_validation
    assert {"loss", "valid_loss", "lr_net", "batch_rows"} <= set(est.history_[0])
    ax = plot_history(est)
    assert isinstance(ax, Axes)
    # keys in the order logged (the engine sorts a record's losses), each validation key right after its
    # training key; epoch and dur are not curves; then the best epoch
    assert _labels(ax) == ["batch_rows", "loss", "valid_loss", f"best epoch ({est.best_epoch_})"]
    lines = {line.get_label(): line for line in ax.get_lines()}
    epochs = [r["epoch"] for r in est.history_]
    np.testing.assert_array_equal(lines["loss"].get_xdata(), epochs)
    np.testing.assert_allclose(lines["loss"].get_ydata(), [r["loss"] for r in est.history_])
    np.testing.assert_allclose(lines["valid_loss"].get_ydata(), [r["valid_loss"] for r in est.history_])
    # validation dashed, in its training key's colour; training solid
    assert lines["loss"].get_linestyle() == "-" and lines["valid_loss"].get_linestyle() == "--"
    assert lines["valid_loss"].get_color() == lines["loss"].get_color()
    assert lines["batch_rows"].get_color() != lines["loss"].get_color()
    # the best epoch is a vertical line at best_epoch_
    best = lines[f"best epoch ({est.best_epoch_})"]
    assert list(best.get_xdata()) == [est.best_epoch_] * 2
    # learning rates on their own (right) axis, log-scaled: 0.05 -> 5e-5 spans three decades
    assert ax.lr_axis is not None and _labels(ax.lr_axis) == ["lr_net"]
    np.testing.assert_allclose(ax.lr_axis.get_lines()[0].get_ydata(), [r["lr_net"] for r in est.history_])
    assert ax.lr_axis.get_yscale() == "log" and ax.lr_axis.get_lines()[0].get_linestyle() == "-."
    assert ax.get_xlabel() == "epoch" and "TinyReconstructor" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == _labels(ax) + ["lr_net"]


def test_plot_history_selected_keys_and_given_axes(fitted_with_validation):
    import matplotlib.pyplot as plt

    fig, given = plt.subplots()
    ax = plot_history(fitted_with_validation, keys=["valid_loss", "loss"], ax=given)
    assert ax is given and ax.figure is fig
    assert _labels(ax)[:2] == ["loss", "valid_loss"]
    assert ax.lr_axis is None and len(fig.axes) == 1
    ax = plot_history(fitted_with_validation, keys="lr_net")
    assert _labels(ax)[0] == "lr_net" and ax.get_yscale() == "log"
    plt.close("all")


def test_plot_history_gan_losses_stay_linear():
    # a GAN's critic loss is negative: no log scale; no EarlyStopping, so no best-epoch line
    X = make_synthetic_ecgs(8, n_leads=1, n_samples=32, random_state=0)
    est = TinyGenerator(max_epochs=3, random_state=0).fit(X)
    ax = plot_history(est)
    assert _labels(ax) == ["critic", "generator"]
    assert ax.get_yscale() == "linear" and ax.lr_axis is None


def test_plot_history_log_scale_rule():
    wide = [{"epoch": e, "dur": 0.1, "loss": 10.0 ** -e} for e in range(1, 5)]      # 1e-1 .. 1e-4
    narrow = [{"epoch": e, "dur": 0.1, "loss": 1.0 / e} for e in range(1, 5)]       # within one decade
    assert plot_history(wide).get_yscale() == "log"
    assert plot_history(narrow).get_yscale() == "linear"
    # a key missing in some epochs is drawn over the epochs that logged it
    gappy = [{"epoch": 1, "d": 1.0, "g": 2.0}, {"epoch": 2, "d": 0.9}, {"epoch": 3, "d": 0.8, "g": 1.5},
             {"epoch": 4, "d": 0.7, "partial": True}]
    lines = {line.get_label(): line for line in plot_history(gappy).get_lines()}
    assert set(lines) == {"d", "g"}
    np.testing.assert_array_equal(lines["g"].get_xdata(), [1, 3])


def test_plot_history_errors(fitted_with_validation):
    with pytest.raises(NotFittedError, match="TinyReconstructor.*not fitted.*plot_history"):
        plot_history(TinyReconstructor())
    from ecgsk.models import LinearLeadReconstructor

    linear = LinearLeadReconstructor().fit(make_synthetic_ecgs(8, n_samples=500, random_state=0))
    with pytest.raises(TypeError, match="LinearLeadReconstructor has no history_"):
        plot_history(linear)
    with pytest.raises(ValueError, match=r"no key\(s\) \['nope'\].*logged keys: \['batch_rows', 'loss'"):
        plot_history(fitted_with_validation, keys=["loss", "nope"])
    empty = TinyReconstructor(max_epochs=0).fit(make_synthetic_ecgs(8, n_samples=32, random_state=0))
    with pytest.raises(ValueError, match="history_ is empty"):
        plot_history(empty)


def test_missing_matplotlib_says_how_to_install(monkeypatch, ecg):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'ecgsk\[plot\]'"):
        plot_ecg(ecg)
