"""Evaluation of risk scores against survival targets: :func:`evaluate_risk`.

The estimators are scikit-survival's: ``concordance_index_censored``
(Harrell), ``concordance_index_ipcw`` (Uno), ``cumulative_dynamic_auc`` and
``integrated_brier_score``; the age-and-sex floor is its
``CoxPHSurvivalAnalysis``.  scikit-survival is imported lazily (the
``survival`` extra).
"""

import numbers

import numpy as np

from ..utils.validation import check_conditions, check_survival_target
from .report import EvaluationReport, MetricResult

__all__ = ["evaluate_risk"]

_SEX = {"m": 1.0, "male": 1.0, "1": 1.0, "1.0": 1.0, "f": 0.0, "female": 0.0, "0": 0.0, "0.0": 0.0}


def _sksurv():
    try:
        from sksurv import metrics
        from sksurv.linear_model import CoxPHSurvivalAnalysis
    except ImportError as exc:  # pragma: no cover - the survival extra is in the test extra
        raise ImportError("evaluate_risk needs scikit-survival: pip install 'ecgsk[survival]'") from exc
    return metrics, CoxPHSurvivalAnalysis


def _age_sex(conditions, n):
    """The age and sex columns of ``conditions`` as floats (n, 2); sex M=1, F=0."""
    import warnings

    frame = check_conditions(conditions, n)
    cols = {str(c).lower(): c for c in frame.columns}
    missing = [c for c in ("age", "sex") if c not in cols]
    if missing:
        raise ValueError(f"conditions must have columns 'age' and 'sex' for the age-and-sex floor; missing {missing}")
    age = np.asarray(frame[cols["age"]].map(lambda v: np.nan if v is None else v), dtype=float)
    raw = frame[cols["sex"]]
    sex = np.array([np.nan if v is None or (isinstance(v, float) and np.isnan(v))
                    else _SEX.get(str(v).strip().lower(), -1.0) for v in raw])
    if (sex == -1.0).any():
        bad = sorted({str(v) for v, s in zip(raw, sex) if s == -1.0})
        raise ValueError(f"conditions column 'sex' must be M/F, male/female or 1/0; got {bad[:5]}")
    out = np.column_stack([age, sex])
    n_missing = int(np.isnan(out).any(axis=1).sum())
    if n_missing == n:
        raise ValueError("conditions: every row lacks age or sex; the age-and-sex floor cannot be fitted")
    if n_missing:
        warnings.warn(f"conditions: {n_missing} row(s) lack age or sex; the floor imputes the median age and the "
                      "most common sex for them", UserWarning, stacklevel=3)
        fill = [np.nanmedian(age), float(np.nanmean(sex) >= 0.5)]
        for k in range(2):
            out[np.isnan(out[:, k]), k] = fill[k]
    return out


def _surv_array(event, time):
    y = np.empty(len(time), dtype=[("event", bool), ("time", np.float64)])
    y["event"], y["time"] = event, time
    return y


def _interval(reps):
    reps = np.asarray([r for r in reps if r is not None and np.isfinite(r)], dtype=float)
    if len(reps) < 2:
        return None
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return (float(lo), float(hi))


def _cox_floor(Z, y, n_splits, rng):
    """Out-of-fold linear predictors and fitted Cox models of an age-and-sex Cox model."""
    from sklearn.model_selection import KFold

    _, CoxPH = _sksurv()
    Z = (Z - Z.mean(0)) / np.where(Z.std(0) > 0, Z.std(0), 1.0)
    risk = np.zeros(len(y))
    folds = []
    for fit_idx, test_idx in KFold(n_splits, shuffle=True, random_state=rng.randint(2 ** 31)).split(Z):
        cox = CoxPH(alpha=1e-4).fit(Z[fit_idx], y[fit_idx])
        risk[test_idx] = cox.predict(Z[test_idx])
        folds.append((cox, test_idx))
    return risk, folds, Z


def _survival_matrix(survival_functions, n, times):
    funcs = list(survival_functions) if not isinstance(survival_functions, np.ndarray) or \
        survival_functions.dtype == object else None
    if funcs and all(callable(f) for f in funcs):
        survival_functions = np.array([np.asarray(f(times), dtype=float) for f in funcs])
    S = np.asarray(survival_functions, dtype=float)
    if S.shape != (n, len(times)):
        raise ValueError(f"survival_functions must have shape (n, len(times)) = ({n}, {len(times)}), one survival "
                         f"probability per subject and time, or be n callables; got shape {S.shape}")
    if not np.isfinite(S).all() or (S < 0).any() or (S > 1).any():
        raise ValueError("survival_functions must be probabilities in [0, 1]")
    return S


def evaluate_risk(y, risk, *, times=None, conditions=None, survival_functions=None, tau=None, n_bootstrap=200,
                  random_state=None):
    """Evaluate risk scores against a survival target, next to an age-and-sex floor.

    Metrics (all from scikit-survival, higher is better except the Brier score):

    - ``harrell_c``: Harrell's C-index (``concordance_index_censored``).
    - ``uno_c``: Uno's IPCW C-index up to ``tau`` (``concordance_index_ipcw``);
      the censoring distribution is the Kaplan-Meier estimate on ``y``.
    - ``auc(t=...)`` and ``mean_auc``: cumulative/dynamic time-dependent AUC at
      ``times`` (``cumulative_dynamic_auc``).
    - ``integrated_brier_score`` (lower is better), only when
      ``survival_functions`` are given; its trivial baseline is the
      Kaplan-Meier curve (the same survival for everyone).

    .. rubric:: Floor and rules

    Without ``conditions`` the floor is random ordering: the C-indices and
    AUCs pass when their interval's lower end is above 0.5, the Brier score
    when it is below the Kaplan-Meier baseline's.  With ``conditions`` (age
    and sex columns) the floor is a Cox model of age and sex only
    (``CoxPHSurvivalAnalysis``), scored out of fold (5-fold) so that it is not
    flattered by scoring the rows it was fitted on; a metric passes when the
    paired bootstrap interval of (model − floor) lies above 0 (below 0 for
    the Brier score), i.e. the risk score adds to age and sex.

    Parameters
    ----------
    y : structured array (event, time) or array of shape (n, 2)
        Survival target (:func:`ecgsk.utils.validation.check_survival_target`).
    risk : array-like of shape (n,)
        Risk scores; higher means an earlier event.
    times : array-like of float, optional
        Increasing evaluation times for the AUC and the Brier score, within
        the follow-up.  Default: 8 points from the 10th to the 80th percentile
        of the observed event times.
    conditions : DataFrame or dict, optional
        One row per subject with columns ``age`` and ``sex`` (M/F or 1/0);
        other columns are ignored by the floor.
    survival_functions : array of shape (n, len(times)) or sequence of callables, optional
        The model's survival probabilities S(t | x_i) at ``times`` (or
        functions of t, such as scikit-survival's StepFunctions).
    tau : float, optional
        Truncation time of Uno's C; default the largest of ``times``.
    n_bootstrap : int, default=200
        Bootstrap resamples of the subjects for the intervals.
    random_state : int, RandomState or None
        Seeds the bootstrap and the floor's folds.

    Returns
    -------
    EvaluationReport
        ``kind="risk"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.datasets import simulate_survival
    >>> x = np.random.RandomState(0).normal(size=(300, 1))
    >>> y = simulate_survival(x, [1.0], random_state=0)
    >>> report = evaluate_risk(y, x[:, 0], n_bootstrap=20, random_state=0)
    >>> bool(report["harrell_c"].value > 0.65), report.passed
    (True, True)
    """
    from sklearn.utils import check_random_state

    metrics_mod, _ = _sksurv()
    event, time = check_survival_target(y)
    n = len(time)
    risk = np.asarray(risk, dtype=np.float64)
    if risk.ndim != 1 or len(risk) != n:
        raise ValueError(f"risk must have shape ({n},), one score per row of y; got {risk.shape}")
    if not np.isfinite(risk).all():
        raise ValueError("risk contains NaN or infinite values")
    if event.sum() < 2:
        raise ValueError(f"y must hold at least 2 observed events; got {int(event.sum())}")
    if not isinstance(n_bootstrap, numbers.Integral) or n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be an integer >= 2; got {n_bootstrap!r}")
    rng = check_random_state(random_state)
    ys = _surv_array(event, time)
    if times is None:
        times = np.unique(np.percentile(time[event], np.linspace(10, 80, 8)))
    times = np.asarray(times, dtype=np.float64).ravel()
    if len(times) == 0 or not np.isfinite(times).all() or (np.diff(times) <= 0).any():
        raise ValueError(f"times must be a non-empty increasing sequence of finite times; got {times}")
    if times[0] < time.min() or times[-1] >= time.max():
        raise ValueError(f"times must lie within the follow-up [{time.min():g}, {time.max():g}); got "
                         f"[{times[0]:g}, {times[-1]:g}]")
    tau = float(times[-1]) if tau is None else float(tau)
    if not tau > 0:
        raise ValueError(f"tau must be a positive time; got {tau}")
    S = None if survival_functions is None else _survival_matrix(survival_functions, n, times)
    if S is not None and len(times) < 2:
        raise ValueError("the integrated Brier score needs at least 2 times")

    def scores(r, surv, idx):
        """Every metric of risk ``r`` (and survival matrix ``surv``) on the subjects ``idx``."""
        yi = ys[idx]
        out = {}
        try:
            out["harrell_c"] = metrics_mod.concordance_index_censored(yi["event"], yi["time"], r[idx])[0]
        except ValueError:
            out["harrell_c"] = None
        try:
            out["uno_c"] = metrics_mod.concordance_index_ipcw(ys, yi, r[idx], tau=tau)[0]
        except ValueError:
            out["uno_c"] = None
        try:
            auc, mean_auc = metrics_mod.cumulative_dynamic_auc(ys, yi, r[idx], times)
            auc = np.atleast_1d(auc)
            out.update({f"auc(t={t:g})": a for t, a in zip(times, auc)})
            out["mean_auc"] = float(mean_auc)
        except ValueError:
            out.update({f"auc(t={t:g})": None for t in times})
            out["mean_auc"] = None
        if surv is not None:
            try:
                out["integrated_brier_score"] = metrics_mod.integrated_brier_score(ys, yi, surv[idx], times)
            except ValueError:
                out["integrated_brier_score"] = None
        return out

    # Kaplan-Meier: the survival every subject gets without a model
    from sksurv.nonparametric import kaplan_meier_estimator

    km_t, km_s = kaplan_meier_estimator(event, time)
    km = np.interp(times, km_t, km_s)
    km_surv = np.tile(km, (n, 1))

    floor_risk = floor_surv = None
    if conditions is not None:
        Z = _age_sex(conditions, n)
        floor_risk, folds, Zs = _cox_floor(Z, ys, min(5, max(2, int(event.sum()) // 2)), rng)
        if S is not None:
            floor_surv = np.zeros((n, len(times)))
            for cox, test_idx in folds:
                fns = cox.predict_survival_function(Zs[test_idx])
                floor_surv[test_idx] = np.array([np.clip(f(np.clip(times, f.domain[0], f.domain[1])), 0, 1)
                                                 for f in fns])

    everyone = np.arange(n)
    model_point = scores(risk, S, everyone)
    floor_point = None if floor_risk is None else scores(floor_risk, floor_surv, everyone)
    km_point = scores(np.zeros(n), km_surv, everyone).get("integrated_brier_score") if S is not None else None
    boot = rng.randint(0, n, size=(int(n_bootstrap), n))
    model_reps, floor_reps, km_reps = [], [], []
    for idx in boot:
        model_reps.append(scores(risk, S, idx))
        if floor_risk is not None:
            floor_reps.append(scores(floor_risk, floor_surv, idx))
        if S is not None and floor_risk is None:
            km_reps.append(scores(np.zeros(n), km_surv, idx)["integrated_brier_score"])

    results = []
    for name, value in model_point.items():
        brier = name == "integrated_brier_score"
        reps = [r[name] for r in model_reps]
        interval = _interval(reps)
        baselines = {"random": 0.5} if not brier else {"kaplan_meier": km_point}
        if value is None:
            results.append(MetricResult.not_applicable(name, "scikit-survival could not compute it on these data "
                                                       "(e.g. no comparable pairs before the time)", group="risk",
                                                       higher_is_better=not brier))
            continue
        if floor_point is not None:
            floor = floor_point[name]
            diffs = [m[name] - f[name] for m, f in zip(model_reps, floor_reps)
                     if m[name] is not None and f[name] is not None]
            diff_i = _interval(diffs)
            floor_i = _interval([f[name] for f in floor_reps])
            baselines["age_sex_cox"] = floor
            if brier:
                rule = "paired bootstrap: 97.5th percentile of (value - age_sex_cox) < 0"
                passed = diff_i is not None and diff_i[1] < 0
            else:
                rule = "paired bootstrap: 2.5th percentile of (value - age_sex_cox) > 0"
                passed = diff_i is not None and diff_i[0] > 0
        elif brier:
            floor = km_point
            diffs = [m[name] - k for m, k in zip(model_reps, km_reps) if m[name] is not None and k is not None]
            diff_i, floor_i = _interval(diffs), _interval(km_reps)
            rule = "paired bootstrap: 97.5th percentile of (value - kaplan_meier) < 0"
            passed = diff_i is not None and diff_i[1] < 0
        else:
            floor, floor_i = 0.5, None
            rule = "value_lo > 0.5 (better than random ordering)"
            passed = interval is not None and interval[0] > 0.5
        results.append(MetricResult(name, float(value), interval, None if floor is None else float(floor), floor_i,
                                    baselines, rule, bool(passed), higher_is_better=not brier, group="risk"))
    if S is None:
        results.append(MetricResult.not_applicable("integrated_brier_score", "no survival_functions given",
                                                   group="risk"))
    reference = ("floor: Cox model of age and sex only, scored out of fold" if conditions is not None
                 else "floor: random ordering (C = AUC = 0.5); pass conditions for the age-and-sex floor")
    meta = {"n": n, "n_events": int(event.sum()), "times": times.tolist(), "tau": tau, "n_bootstrap": int(n_bootstrap),
            "random_state": random_state if isinstance(random_state, (int, type(None))) else "RandomState"}
    return EvaluationReport("risk", results, reference=reference, meta=meta)
