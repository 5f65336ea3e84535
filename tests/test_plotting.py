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
