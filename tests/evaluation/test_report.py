"""MetricResult and EvaluationReport: verdict logic, DataFrame, JSON and HTML renderings."""

import base64
import json
import math
import re

import pytest

from ecgsk.evaluation import EvaluationReport, MetricResult

# A 1x1 PNG (red pixel).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def _metrics():
    ok = MetricResult("mmd2_features", 0.01, (0.0, 0.02), 0.005, (-0.01, 0.02), {"zeros": 1.2, "noise": 0.8},
                      "value <= floor_hi + 0.01", True, group="distribution")
    bad = MetricResult("frechet", 90.0, (80.0, 100.0), 30.0, (25.0, 35.0), {"zeros": 300.0},
                       "value <= floor_hi * 1.25", False, group="distribution")
    info = MetricResult("c2st_p_value", 0.2, None, None, None, {}, "", None, group="distribution")
    na = MetricResult.not_applicable("heart_rate", "single beats have no RR interval", group="clinical")
    return [ok, bad, info, na]


def test_passed_is_conjunction_over_applicable_metrics_with_a_rule():
    ok, bad, info, na = _metrics()
    assert EvaluationReport("generator", [ok, info, na]).passed is True
    report = EvaluationReport("generator", [ok, bad, info, na])
    assert report.passed is False
    assert report.failed == ["frechet"]
    # nothing decided: no verdict can be claimed
    assert EvaluationReport("generator", [info, na]).passed is False
    assert report["frechet"] is bad and "heart_rate" in report and "nope" not in report
    with pytest.raises(KeyError, match="nope"):
        report["nope"]


def test_metric_result_validation():
    with pytest.raises(ValueError, match="reason"):
        MetricResult("x", None, None, None, None, {}, "", None, applicable=False)
    with pytest.raises(ValueError, match="passed must be None"):
        MetricResult("x", None, None, None, None, {}, "", True, applicable=False, reason="r")
    with pytest.raises(ValueError, match="interval"):
        MetricResult("x", 1.0, (0.0, 1.0, 2.0), None, None, {}, "", None)
    with pytest.raises(TypeError, match="baselines"):
        MetricResult("x", 1.0, None, None, None, [1], "", None)
    assert [m.verdict for m in _metrics()] == ["pass", "fail", "info", "n/a"]


def test_report_validation():
    with pytest.raises(ValueError, match="kind"):
        EvaluationReport("classifier", [])
    with pytest.raises(TypeError, match="MetricResult"):
        EvaluationReport("generator", [{"name": "x"}])
    ok = _metrics()[0]
    with pytest.raises(ValueError, match="unique"):
        EvaluationReport("generator", [ok, ok])
    with pytest.raises(TypeError, match="PNG bytes"):
        EvaluationReport("generator", [ok], figures={"a": "not bytes"})


def test_to_frame_has_one_row_per_metric_with_floor_baselines_rule_and_verdict():
    frame = EvaluationReport("generator", _metrics()).to_frame()
    assert list(frame["name"]) == ["mmd2_features", "frechet", "c2st_p_value", "heart_rate"]
    for col in ["value", "interval_lo", "interval_hi", "floor", "floor_lo", "floor_hi",
                "baseline_zeros", "baseline_noise", "rule", "verdict"]:
        assert col in frame.columns
    row = frame.set_index("name").loc["frechet"]
    assert (row["value"], row["floor"], row["floor_lo"], row["floor_hi"]) == (90.0, 30.0, 25.0, 35.0)
    assert row["baseline_zeros"] == 300.0 and math.isnan(row["baseline_noise"])
    assert row["rule"] == "value <= floor_hi * 1.25" and row["verdict"] == "fail"
    assert math.isnan(frame.set_index("name").loc["heart_rate", "value"])


def test_to_json_round_trips_and_is_strict_json(tmp_path):
    metrics = _metrics()
    metrics.append(MetricResult("nan_metric", float("nan"), None, float("inf"), None, {}, "", None))
    report = EvaluationReport("generator", metrics, reference="LUDB halves", meta={"n_real": 10, "fs": 500.0},
                              figures={"spectra": PNG})
    text = report.to_json(tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text() == text
    data = json.loads(text)  # allow_nan=False upstream: NaN/inf became null
    assert data["passed"] is False and data["failed"] == ["frechet"]
    assert data["figures"] == ["spectra"] and data["meta"]["n_real"] == 10
    nan_entry = data["metrics"][-1]
    assert nan_entry["value"] is None and nan_entry["floor"] is None
    back = EvaluationReport.from_dict(data)
    assert [m.name for m in back.metrics] == [m.name for m in metrics]
    assert back["frechet"].floor_interval == (25.0, 35.0) and back.failed == ["frechet"]


def test_to_html_is_self_contained_with_table_first_and_embedded_figures(tmp_path):
    report = EvaluationReport("generator", _metrics(), reference="LUDB <halves>", figures={"spectra": PNG})
    path = report.to_html(tmp_path / "r.html")
    page = path.read_text()
    assert page.index('id="verdict-table"') < page.index("<img")
    assert "LUDB &lt;halves&gt;" in page  # escaped
    nan_page = EvaluationReport("generator", [MetricResult("w", float("nan"), None, 1.0, None, {"zeros": float("nan")},
                                                           "value <= 2", False)]).to_html(tmp_path / "n.html").read_text()
    assert nan_page.count("<td>undefined</td>") == 2 and "<td>nan</td>" not in nan_page
    assert "rejected" in page and "frechet" in page
    srcs = re.findall(r"src='([^']*)'", page)
    assert srcs == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert "http://" not in page and "https://" not in page  # nothing to fetch
    assert "not applicable: single beats have no RR interval" in page


def test_to_html_without_figures_says_why(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))
    page = EvaluationReport("generator", _metrics()[:1]).to_html(tmp_path / "r.html").read_text()
    assert "Figures need matplotlib" in page and 'id="verdict-table"' in page
    assert "passed" in page
