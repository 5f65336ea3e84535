"""evaluate_reconstruction on real CinC 2021 records (true amplitudes in mV)."""

import numpy as np
import pytest

from ecgsk.datasets import load_cinc2021
from ecgsk.evaluation import EvaluationReport
from ecgsk.evaluation.reconstruction import evaluate_reconstruction
from ecgsk.leads import LEADS_12
from ecgsk.preprocessing.rpeaks import detect_rpeaks

RECONSTRUCTED = LEADS_12[1:]


@pytest.fixture(scope="module")
def cinc(data_dir):
    X, _ = load_cinc2021(data_dir / "cinc2021")
    return X.astype(np.float64)


def _slopes(report, wave="R"):
    return {lead: report[f"amp_slope[{wave},{lead}]"] for lead in RECONSTRUCTED
            if report[f"amp_slope[{wave},{lead}]"].applicable}


def test_perfect_prediction_passes(cinc):
    true = cinc[15:]
    report = evaluate_reconstruction(true, true, n_bootstrap=30, random_state=0, figures=False)
    assert isinstance(report, EvaluationReport) and report.kind == "reconstruction"
    assert report.passed, report.failed
    for lead in RECONSTRUCTED:
        assert report[f"rmse[{lead}]"].value == 0.0
        assert report[f"amp_slope[R,{lead}]"].value == pytest.approx(1.0)
        assert report[f"std_ratio[{lead}]"].value == pytest.approx(1.0)
    assert "pearson_r[I]" not in report  # the input lead is not scored


def test_shrunk_prediction_is_flagged_by_the_slope_not_by_r(cinc):
    true = cinc[15:]
    report = evaluate_reconstruction(true, 0.5 * true, n_bootstrap=30, random_state=0, figures=False)
    assert not report.passed
    for lead, m in _slopes(report).items():
        assert m.value == pytest.approx(0.5, abs=1e-6) and m.passed is False, lead
    assert report["pearson_r[V3]"].passed  # scale-invariant r is fooled
    assert report["std_ratio[V3]"].value == pytest.approx(0.5) and not report["std_ratio[V3]"].passed
    assert "amp_slope[R,V3]" in report.failed


def test_mean_template_prediction_is_flagged(cinc):
    from ecgsk.evaluation.reconstruction import _median_beats, _paste_template

    train, true = cinc[:15], cinc[15:]
    template = _median_beats(train, detect_rpeaks(train), 500.0).mean(0)
    pred = _paste_template(template, detect_rpeaks(true[:, :1]), true.shape[-1], 500.0)
    pred[:, 0] = true[:, 0]
    report = evaluate_reconstruction(true, pred, train=train, n_bootstrap=30, random_state=0, figures=False)
    assert not report.passed
    slopes = _slopes(report)
    assert np.median([m.value for m in slopes.values()]) < 0.3
    assert sum(m.passed is False for m in slopes.values()) >= 9
    # it is the floor itself, so it cannot beat it
    assert report["pearson_r[mean]"].passed is False
    assert report["pearson_r[mean]"].baselines["mean_template"] == pytest.approx(report["pearson_r[mean]"].value,
                                                                                 abs=1e-6)


def test_ridge_floor_with_train(cinc):
    train, true = cinc[:15], cinc[15:]
    report = evaluate_reconstruction(true, true, train=train, n_bootstrap=30, random_state=0)
    m = report["pearson_r[II]"]
    assert "ridge" in m.baselines and "ridge_lo" in m.rule
    assert m.floor == m.baselines["ridge"] and 0.0 < m.floor < 1.0
    # the ridge, a regression from lead I, shrinks amplitudes in the leads least tied to lead I
    ridge_slopes = [report[f"amp_slope[R,{lead}]"].baselines["ridge"] for lead in ("V1", "V2", "V3")]
    assert min(ridge_slopes) < 0.9
    assert report.passed
    assert {"Pearson r per lead", "R, S, T amplitudes, predicted vs true"} <= set(report.figures)
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in report.figures.values())


def test_reproducible_intervals(cinc):
    true, pred = cinc[15:], cinc[15:] + 0.05 * np.random.RandomState(0).normal(size=cinc[15:].shape)
    a = evaluate_reconstruction(true, pred, n_bootstrap=20, random_state=3, figures=False).to_frame()
    b = evaluate_reconstruction(true, pred, n_bootstrap=20, random_state=3, figures=False).to_frame()
    assert a.equals(b)


@pytest.mark.parametrize("kwargs, match", [
    ({"predicted": np.zeros((15, 12, 4000))}, "shape of true"),
    ({"train": np.zeros((4, 8, 5000))}, "train must have 12 leads"),
    ({"fs": 50}, "fs must be"),
    ({"input_lead": 12}, "input_lead"),
    ({"n_bootstrap": 1}, "n_bootstrap"),
    ({"slope_tolerance": -1}, "slope_tolerance"),
])
def test_bad_input(cinc, kwargs, match):
    args = {"true": cinc[15:], "predicted": cinc[15:], **kwargs}
    with pytest.raises(ValueError, match=match):
        evaluate_reconstruction(args.pop("true"), args.pop("predicted"), **args)
