"""evaluate_risk against direct computations of the published formulas, and its age-and-sex floor."""

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import simulate_survival
from ecgsk.evaluation import EvaluationReport
from ecgsk.evaluation.risk import evaluate_risk
from ecgsk.metrics import concordance_index


@pytest.fixture(scope="module")
def cohort():
    rs = np.random.RandomState(0)
    n = 200
    ecg, age, sex = rs.normal(size=n), rs.uniform(30, 80, n), rs.randint(0, 2, n)
    Z = np.column_stack([ecg, (age - 55) / 15, sex])
    y = simulate_survival(Z, [1.0, 0.5, 0.3], censoring=0.3, random_state=0)
    conditions = pd.DataFrame({"age": age, "sex": np.where(sex == 1, "M", "F")})
    return y, Z, conditions


@pytest.fixture(autouse=True)
def _quiet_division():
    # the direct formulas divide by G(t) = 0 beyond the last censoring time, in terms np.where then drops
    with np.errstate(divide="ignore"):
        yield


def _km_censoring(y):
    """Kaplan-Meier of the censoring distribution G(t), by hand (the censorings are the 'events')."""
    t_sorted = np.unique(y["time"][~y["event"]])
    surv, g = [], 1.0
    for t in t_sorted:
        at_risk = (y["time"] >= t).sum()
        g *= 1 - ((y["time"] == t) & ~y["event"]).sum() / at_risk
        surv.append(g)
    return lambda s: np.array([surv[np.searchsorted(t_sorted, x, side="right") - 1] if x >= t_sorted[0] else 1.0
                               for x in np.atleast_1d(s)])


def _harrell(y, risk):
    num = den = 0.0
    for i in range(len(y)):
        if not y["event"][i]:
            continue
        for j in range(len(y)):
            if y["time"][j] > y["time"][i]:
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return num / den


def _uno(y, risk, tau):
    G = _km_censoring(y)
    w = np.where(y["event"], 1.0 / G(y["time"]) ** 2, 0.0)
    comparable = (y["time"][:, None] < y["time"][None, :]) & (y["time"][:, None] < tau) & y["event"][:, None]
    concordant = (risk[:, None] > risk[None, :]) + 0.5 * (risk[:, None] == risk[None, :])
    return float((w[:, None] * comparable * concordant).sum() / (w[:, None] * comparable).sum())


def _auc(y, risk, t):
    G = _km_censoring(y)
    case = (y["time"] <= t) & y["event"]
    w = np.where(case, 1.0 / G(y["time"]), 0.0)
    control = y["time"] > t
    concordant = (risk[:, None] > risk[None, :]) + 0.5 * (risk[:, None] == risk[None, :])
    return float((w[:, None] * control[None, :] * concordant).sum() / (w.sum() * control.sum()))


def _ibs(y, S, times):
    G = _km_censoring(y)
    bs = []
    for k, t in enumerate(times):
        died = (y["time"] <= t) & y["event"]
        alive = y["time"] > t
        bs.append(np.mean(np.where(died, S[:, k] ** 2 / G(y["time"]), 0.0)
                          + np.where(alive, (1 - S[:, k]) ** 2 / G(t)[0], 0.0)))
    return float(np.trapezoid(bs, times) / (times[-1] - times[0]))


def test_metrics_match_direct_computation(cohort):
    y, Z, _ = cohort
    risk = Z[:, 0] + 0.3 * np.random.RandomState(1).normal(size=len(y))
    times = np.percentile(y["time"][y["event"]], [20, 40, 60])
    S = np.exp(-np.outer(np.exp(risk), times) * 0.1)
    report = evaluate_risk(y, risk, times=times, survival_functions=S, n_bootstrap=10, random_state=0)
    assert isinstance(report, EvaluationReport) and report.kind == "risk"
    assert report["harrell_c"].value == pytest.approx(_harrell(y, risk), abs=1e-9)
    assert report["harrell_c"].value == pytest.approx(concordance_index(y, risk), abs=1e-9)
    assert report["uno_c"].value == pytest.approx(_uno(y, risk, times[-1]), abs=1e-6)
    for t in times:
        assert report[f"auc(t={t:g})"].value == pytest.approx(_auc(y, risk, t), abs=1e-6)
    assert report["integrated_brier_score"].value == pytest.approx(_ibs(y, S, times), abs=1e-6)


def test_informative_risk_passes_and_random_risk_fails(cohort):
    y, Z, _ = cohort
    good = evaluate_risk(y, Z @ [1.0, 0.5, 0.3], n_bootstrap=30, random_state=0)
    assert good.passed and good["harrell_c"].value > 0.7
    noise = np.random.RandomState(5).normal(size=len(y))
    bad = evaluate_risk(y, noise, n_bootstrap=30, random_state=0)
    assert not bad.passed and "harrell_c" in bad.failed
    assert bad["integrated_brier_score"].verdict == "n/a"  # no survival functions given


def test_age_sex_floor_when_conditions_are_given(cohort):
    y, Z, conditions = cohort
    with_ecg = evaluate_risk(y, Z @ [1.0, 0.5, 0.3], conditions=conditions, n_bootstrap=30, random_state=0)
    m = with_ecg["harrell_c"]
    assert "age_sex_cox" in m.baselines and m.floor == m.baselines["age_sex_cox"]
    assert 0.52 < m.floor < m.value  # age and sex carry some risk, the ECG term more
    assert m.passed and "age_sex_cox" in m.rule
    # a score of age and sex alone does not beat the age-and-sex floor
    only = evaluate_risk(y, Z[:, 1] * 0.5 + Z[:, 2] * 0.3, conditions=conditions, n_bootstrap=30, random_state=0)
    assert only["harrell_c"].passed is False
    assert abs(only["harrell_c"].value - only["harrell_c"].floor) < 0.03


def test_brier_floor_uses_survival_functions(cohort):
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    y, Z, conditions = cohort
    cox = CoxPHSurvivalAnalysis().fit(Z, y)
    report = evaluate_risk(y, cox.predict(Z), survival_functions=cox.predict_survival_function(Z),
                           conditions=conditions, n_bootstrap=30, random_state=0)
    ibs = report["integrated_brier_score"]
    assert ibs.applicable and not ibs.higher_is_better
    assert ibs.value < ibs.floor and ibs.passed  # the full Cox model beats age and sex on the Brier score


def test_reproducible(cohort):
    y, Z, conditions = cohort
    a = evaluate_risk(y, Z[:, 0], conditions=conditions, n_bootstrap=20, random_state=4).to_frame()
    b = evaluate_risk(y, Z[:, 0], conditions=conditions, n_bootstrap=20, random_state=4).to_frame()
    assert a.equals(b)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"risk": np.zeros(3)}, ValueError, "risk must have shape"),
    ({"risk": np.full(200, np.nan)}, ValueError, "NaN"),
    ({"times": [5.0, 1.0]}, ValueError, "increasing"),
    ({"times": [1e9]}, ValueError, "follow-up"),
    ({"survival_functions": np.ones((200, 2))}, ValueError, "survival_functions must have shape"),
    ({"conditions": pd.DataFrame({"age": np.ones(200)})}, ValueError, "'sex'"),
    ({"conditions": pd.DataFrame({"age": np.ones(200), "sex": ["X"] * 200})}, ValueError, "M/F"),
    ({"n_bootstrap": 0}, ValueError, "n_bootstrap"),
])
def test_bad_input(cohort, kwargs, error, match):
    y, Z, _ = cohort
    args = {"risk": Z[:, 0], **kwargs}
    with pytest.raises(error, match=match):
        evaluate_risk(y, args.pop("risk"), n_bootstrap=args.pop("n_bootstrap", 5), **args)
