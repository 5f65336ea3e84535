import numpy as np
import pytest

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.plotting import plot_ecg


def test_plot_12_leads_with_overlay(tmp_path):
    ecg = make_synthetic_ecgs(1, random_state=0)[0]
    fig = plot_ecg(ecg, overlay=ecg * 0.9, title="test", seconds=3)
    path = tmp_path / "ecg.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    from ecgsk.leads import LEADS_12

    assert sorted(labels) == sorted(LEADS_12)
    # Leads fill the first column top-down: I, II, III, ...
    first_column = [ax.texts[0].get_text() for ax in fig.axes[::2] if ax.texts]
    assert first_column == ["I", "II", "III", "aVR", "aVL", "aVF"]


def test_plot_rejects_mismatched_overlay():
    ecg = make_synthetic_ecgs(1, n_leads=8, random_state=0)[0]
    with pytest.raises(ValueError, match="overlay"):
        plot_ecg(ecg, overlay=ecg[:, :100])
    with pytest.raises(ValueError, match="lead names"):
        plot_ecg(ecg, lead_names=["I"])
    assert np.isfinite(ecg).all()


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
