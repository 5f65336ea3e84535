"""Tests for ecgsk.metrics.detection: peak_detection_f1."""

import pytest

from ecgsk import metrics as M


def test_peak_detection_f1_matches_one_to_one():
    from ecgsk.metrics import peak_detection_f1

    # Two detections near one reference count once; the far one is a false positive.
    f1, counts = peak_detection_f1([[100, 103, 400]], [[101, 250]], tol=5, return_counts=True)
    assert counts == {"tp": 1, "fp": 2, "fn": 1}
    assert f1 == pytest.approx(2 / (2 + 2 + 1))
    assert peak_detection_f1([[10, 500]], [[10, 20]], tol=3, spans=[(0, 100)]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="reference lists"):
        peak_detection_f1([[1]], [[1], [2]], tol=1)


@pytest.mark.parametrize("tol", [-1, float("nan")])
def test_peak_detection_f1_range_checks_tol(tol):
    with pytest.raises(ValueError, match="peak_detection_f1: tol must be"):
        M.peak_detection_f1([[1, 2]], [[1, 2]], tol)
