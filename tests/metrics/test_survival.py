"""Tests for ecgsk.metrics.survival: concordance_index."""

import numpy as np
import pytest

from ecgsk import metrics as M


# ---------------------------------------------------------------------------
# concordance
# ---------------------------------------------------------------------------
def _harrell(event, time, risk):
    num = den = 0.0
    for i in range(len(time)):
        for j in range(len(time)):
            if event[i] and time[i] < time[j]:
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return num / den


def test_concordance_hand_example():
    # times 1(event) 2(censored) 3(event) 4(event); comparable pairs: (1,2) (1,3) (1,4) (3,4)
    y = np.array([[1, 1.0], [0, 2.0], [1, 3.0], [1, 4.0]])
    risk = np.array([4.0, 1.0, 2.0, 3.0])
    # (1,2): 4>1 ok; (1,3): 4>2 ok; (1,4): 4>3 ok; (3,4): 2<3 wrong -> 3/4
    assert M.concordance_index(y, risk) == pytest.approx(0.75)
    # a tie counts one half: (3,4) tied -> 3.5/4
    assert M.concordance_index(y, [4.0, 1.0, 3.0, 3.0]) == pytest.approx(0.875)
    structured = np.array([(True, 1.0), (False, 2.0), (True, 3.0), (True, 4.0)], dtype=[("event", "?"), ("time", "f8")])
    assert M.concordance_index(structured, risk) == pytest.approx(0.75)


def test_concordance_against_lifelines_and_brute_force():
    from lifelines.utils import concordance_index as lifelines_cindex

    rng = np.random.RandomState(0)
    time = rng.exponential(5, 60)
    event = rng.rand(60) < 0.6
    risk = -time + rng.randn(60) * 3
    ours = M.concordance_index(np.column_stack([event, time]), risk)
    assert ours == pytest.approx(lifelines_cindex(time, -risk, event))
    assert ours == pytest.approx(1.0 - lifelines_cindex(time, risk, event))
    assert ours == pytest.approx(_harrell(event, time, risk))
    assert ours > 0.6


def test_concordance_errors():
    with pytest.raises(ValueError, match="values"):
        M.concordance_index([[1, 1.0], [1, 2.0]], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        M.concordance_index([[1, 1.0], [1, 2.0]], [1.0, np.nan])


# -- issue 15: no comparable pairs (regression test) -------------------------------------------------
@pytest.mark.parametrize("y", [
    [[0, 1.0], [0, 2.0], [0, 3.0]],  # every event censored: lifelines raised ZeroDivisionError
    [[1, 2.0], [1, 2.0]],  # events only at the same time
    [[0, 1.0], [1, 3.0]],  # the only event is the last time
])
def test_concordance_index_without_comparable_pairs_raises_value_error(y):
    with pytest.raises(ValueError, match="concordance_index needs at least one comparable pair"):
        M.concordance_index(y, [1.0, 2.0, 3.0][:len(y)])
