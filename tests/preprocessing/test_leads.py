"""ecgsk.preprocessing.leads: LeadSelector (by name) and LeadDeriver (8 -> 12 leads)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator

from ecgsk.leads import LEADS_8
from ecgsk.metrics import pearson_per_lead
from ecgsk.preprocessing import LeadDeriver, LeadSelector

from _checks import assert_sklearn_checks_pass


def test_sklearn_checks_on_single_lead_input():
    assert_sklearn_checks_pass(LeadSelector(("I",), input_leads=("I",)))


@pytest.mark.parametrize(
    "est, match",
    [
        (LeadSelector(("I", "V7")), "unknown lead name"),
        (LeadSelector(("I",), input_leads=LEADS_8), "8 lead"),  # 12-lead input, 8 names
        (LeadDeriver(), "8 lead"),  # needs 8 leads, gets 12
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseEstimator) else "",
)
def test_bad_parameters_raise_clear_errors(est, match, x_small):
    with pytest.raises(ValueError, match=match):
        est.fit(x_small)


def test_lead_selector_case_insensitive_and_order(ludb):
    X = ludb[0][:3]
    out = LeadSelector(("v5", "AVR", "i")).fit(X).transform(X)
    np.testing.assert_array_equal(out, X[:, [10, 3, 0]])


def test_lead_deriver_round_trip(ludb):
    X12 = ludb[0][:5]
    X8 = LeadSelector(LEADS_8).fit_transform(X12)
    der = LeadDeriver().fit(X8)
    X12_hat = der.transform(X8)
    np.testing.assert_array_equal(X12_hat[:, [0, 1] + list(range(6, 12))], X8)
    # LUDB records III, aVR, aVL, aVF separately; the derived ones track them (measured r 0.90-0.99).
    r = np.asarray(pearson_per_lead(X12[:, 2:6], X12_hat[:, 2:6]))
    assert np.all(r > 0.85), r
    np.testing.assert_array_equal(der.inverse_transform(X12_hat), X8)


@settings(max_examples=15, deadline=None)
@given(X=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.just(8), st.integers(5, 50)),
                    elements=st.floats(-5, 5, width=32)))
def test_lead_deriver_round_trip_property(X):
    der = LeadDeriver().fit(X)
    Y = der.transform(X)
    assert Y.shape == (X.shape[0], 12, X.shape[2])
    np.testing.assert_allclose(Y[:, 2], Y[:, 1] - Y[:, 0], atol=1e-5)  # Einthoven: III = II - I
    np.testing.assert_array_equal(der.inverse_transform(Y), X)
