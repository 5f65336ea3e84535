"""Benchmark: does CoxConditionalVAE's risk beat age and sex on outcomes it was not tuned to? (issue 17 item 2)

Protocol (fixed here before any tuning):

1. Data: the 200 LUDB records, baseline-wander removed, one 0.8-s R-aligned
   median beat per record (``MedianBeat(length=400)``), with age and sex.
2. Morphology features measured on those beats (``measure_features``): QRS
   duration (``ecg_features``' ``qrs_width``), R amplitudes in II, aVL, V1
   and V5, T amplitudes in II and V5, the ST level (80 ms after the QRS
   end, against the PR segment) in II and V2, and QT in lead II (QRS onset
   to the end of T, where the T wave falls below 15 % of its peak).  They are
   what the hazard depends on, so their accuracy as clinical measurements
   does not matter; LUDB's per-lead 1-mV scaling does not either.
3. A family of eight simulated outcomes (``SIMULATIONS``), each a Cox model
   (``ecgsk.datasets.simulate_survival``) on standardised features, with its
   own features, coefficients and censoring (20-70 %).  Simulations 0-3 are
   the **tuning** half, 4-7 the **held-out** half (``TUNE``/``HELD_OUT``):
   settings may be chosen on the tuning half only; the figures that count
   are the held-out half's.
4. Per simulation, 5-fold ``KFold(shuffle=True, random_state=0)`` Harrell's
   C-index of: CoxConditionalVAE (median beat + age, sex; ``--param k=v``
   overrides its defaults); a Cox model of age and sex alone (lifelines: the
   floor); the oracle Cox model on the simulation's true covariates; a
   constant risk (the trivial baseline, C = 0.5).  Also Uno's C and the mean
   time-dependent AUC of ``ecgsk.evaluation.evaluate_risk`` on the pooled
   out-of-fold risks of the cVAE (pooling mixes the folds' risk scales, so
   these are indicative).
5. Targets on the held-out half: mean C >= age-and-sex mean + 0.02; no
   simulation below its age-and-sex C by more than 0.01; mean within 0.04 of
   the oracle's mean.

Usage::

    python benchmarks/bench_risk.py                      # all 8 simulations, model defaults
    python benchmarks/bench_risk.py --sims tune --param cox_weight=0.5   # a tuning run
    python benchmarks/bench_risk.py --sims held_out      # the figures that count

Prints one JSON line per simulation and a summary line per half.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ecgsk.datasets import load_ludb, simulate_survival
from ecgsk.leads import LEADS_12
from ecgsk.metrics import concordance_index, ecg_features
from ecgsk.preprocessing import BaselineWanderRemoval, MedianBeat

ROOT = Path(__file__).resolve().parents[1]
FS = 500

#: (features with their log hazard ratio per SD, censoring fraction); "age"/"male" are conditions.
SIMULATIONS = [
    ({"qrs_ms": 0.8, "age": 0.5}, 0.3),
    ({"r_V5": 0.7, "st_V2": 0.5}, 0.5),
    ({"t_V5": -0.8, "age": 0.4}, 0.2),
    ({"qt_ms": 0.7, "male": 0.3, "age": 0.3}, 0.6),
    ({"r_V1": 0.6, "qrs_ms": 0.5}, 0.4),
    ({"st_II": -0.7, "t_II": 0.5, "age": 0.5}, 0.7),
    ({"r_aVL": 0.8, "qt_ms": 0.4}, 0.3),
    ({"t_V5": 0.5, "qrs_ms": 0.5, "r_V5": -0.5, "age": 0.3}, 0.5),
]
TUNE = (0, 1, 2, 3)
HELD_OUT = (4, 5, 6, 7)


def load_beats(path):
    X, meta = load_ludb(path)
    X = BaselineWanderRemoval(fs=FS).fit_transform(X)
    mb = MedianBeat(length=400, fs=FS).fit(X)
    return mb.transform(X), int(mb.r_index_), meta[["age", "sex"]].reset_index(drop=True)


def measure_features(beats, r_index):
    """The simulations' covariates, one row per beat (see the module docstring)."""
    F, names = ecg_features(beats, fs=FS, return_names=True)
    col = {n: i for i, n in enumerate(names)}
    ms = 1000.0 / FS
    out = {"qrs_ms": F[:, col["qrs_width"]]}  # already in ms
    for lead in ("II", "aVL", "V1", "V5"):
        out[f"r_{lead}"] = F[:, col[f"{lead}_r_amp"]]
    for lead in ("II", "V5"):
        out[f"t_{lead}"] = F[:, col[f"{lead}_t_amp"]]
    pr = slice(r_index - 60, r_index - 40)  # 120-80 ms before R: the PR segment
    qrs_end = r_index + 30  # 60 ms after R
    for lead in ("II", "V2"):
        b = beats[:, LEADS_12.index(lead)]
        out[f"st_{lead}"] = b[:, qrs_end + 40] - b[:, pr].mean(axis=1)  # 80 ms after the QRS end
    # QT in lead II: QRS onset (50 ms before R) to where |T| falls below 15 % of its peak after it
    b = beats[:, LEADS_12.index("II")] - beats[:, LEADS_12.index("II"), pr].mean(axis=1, keepdims=True)
    t_zone = np.abs(b[:, qrs_end + 20:])
    peak = t_zone.argmax(axis=1)
    qt = np.empty(len(b))
    for i in range(len(b)):
        after = np.flatnonzero(t_zone[i, peak[i]:] < 0.15 * t_zone[i, peak[i]])
        end = peak[i] + (after[0] if len(after) else len(t_zone[i]) - 1 - peak[i])
        qt[i] = (qrs_end + 20 + end - (r_index - 25)) * ms
    out["qt_ms"] = qt
    return pd.DataFrame(out)


def _cox_lifelines(train, test, cols, y_train):
    from lifelines import CoxPHFitter

    df = train[cols].assign(time=y_train["time"], event=y_train["event"].astype(int))
    cph = CoxPHFitter(penalizer=1e-4).fit(df, "time", "event")
    return np.log(cph.predict_partial_hazard(test[cols]).to_numpy())


def _parse_params(pairs):
    out = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
        else:
            value = {"true": True, "false": False, "none": None}.get(value.lower(), value)
        out[key] = value
    return out


def run_simulation(k, beats, conditions, features, params, args):
    from sklearn import config_context
    from sklearn.model_selection import KFold, cross_validate

    from ecgsk.evaluation import evaluate_risk
    from ecgsk.models.cvae import CoxConditionalVAE

    coefs, censoring = SIMULATIONS[k]
    table = features.assign(age=conditions["age"].to_numpy(float),
                            male=(conditions["sex"] == "M").astype(float).to_numpy())
    cols = list(coefs)
    z = (table[cols] - table[cols].mean()) / table[cols].std()
    y = simulate_survival(z.to_numpy(), [coefs[c] for c in cols], censoring=censoring, random_state=100 + k)
    cv = KFold(args.folds, shuffle=True, random_state=0)
    age_sex, oracle = [], []
    for tr, te in cv.split(table):
        age_sex.append(concordance_index(y[te], _cox_lifelines(table.iloc[tr], table.iloc[te], ["age", "male"],
                                                               y[tr])))
        oracle.append(concordance_index(y[te], _cox_lifelines(z.iloc[tr], z.iloc[te], cols, y[tr])))
    est = CoxConditionalVAE(max_epochs=args.epochs, random_state=args.seed, device="cpu", **params)
    start = time.time()
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.set_fit_request(conditions=True).set_score_request(conditions=True)
        res = cross_validate(est, beats, y, params={"conditions": conditions}, cv=cv, return_estimator=True)
        # out-of-fold risks from the same fitted folds (no refit)
        oof = np.empty(len(beats))
        for fitted, (_, te) in zip(res["estimator"], cv.split(table)):
            oof[te] = fitted.predict_risk(beats[te], conditions=conditions.iloc[te])
    record = {
        "benchmark": "risk", "simulation": k, "half": "tune" if k in TUNE else "held_out",
        "covariates": coefs, "censoring_target": censoring, "event_rate": round(float(y["event"].mean()), 3),
        "params": params, "seed": args.seed,
        "c_cvae": round(float(np.mean(res["test_score"])), 4),
        "c_cvae_folds": [round(float(s), 3) for s in res["test_score"]],
        "c_age_sex": round(float(np.mean(age_sex)), 4),
        "c_oracle": round(float(np.mean(oracle)), 4),
        "c_constant": 0.5,
        "fit_wall_s": round(float(np.mean(res["fit_time"])), 1),
        "wall_s": round(time.time() - start, 1),
    }
    record["margin_over_age_sex"] = round(record["c_cvae"] - record["c_age_sex"], 4)
    if args.pooled:
        report = evaluate_risk(y, oof, conditions=conditions, n_bootstrap=100, random_state=0)
        record["pooled_uno_c"] = round(float(report["uno_c"].value), 4)
        record["pooled_mean_auc"] = round(float(report["mean_auc"].value), 4)
    return record


def summarise(records, half):
    rows = [r for r in records if r["half"] == half]
    if not rows:
        return None
    mean = float(np.mean([r["c_cvae"] for r in rows]))
    floor = float(np.mean([r["c_age_sex"] for r in rows]))
    oracle = float(np.mean([r["c_oracle"] for r in rows]))
    worst = float(min(r["margin_over_age_sex"] for r in rows))
    return {
        "benchmark": "risk_summary", "half": half, "simulations": [r["simulation"] for r in rows],
        "c_cvae_mean": round(mean, 4), "c_age_sex_mean": round(floor, 4), "c_oracle_mean": round(oracle, 4),
        "worst_margin_over_age_sex": round(worst, 4),
        "target_mean_margin_met (>= +0.02)": bool(mean >= floor + 0.02),
        "target_worst_margin_met (>= -0.01)": bool(worst >= -0.01),
        "target_oracle_gap_met (<= 0.04)": bool(oracle - mean <= 0.04),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ludb"))
    parser.add_argument("--sims", default="all", help="'all', 'tune', 'held_out' or comma-separated indices")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=150, help="max_epochs of CoxConditionalVAE")
    parser.add_argument("--seed", type=int, default=0, help="CoxConditionalVAE random_state")
    parser.add_argument("--param", action="append", metavar="K=V", help="a CoxConditionalVAE parameter")
    parser.add_argument("--pooled", action=argparse.BooleanOptionalAction, default=True,
                        help="also score the pooled out-of-fold risks with evaluate_risk (Uno's C, AUC)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    sims = {"all": range(len(SIMULATIONS)), "tune": TUNE, "held_out": HELD_OUT}.get(args.sims)
    sims = list(sims) if sims is not None else [int(s) for s in args.sims.split(",")]
    params = _parse_params(args.param)
    beats, r_index, conditions = load_beats(args.data)
    features = measure_features(beats, r_index)
    if not np.isfinite(features.to_numpy()).all():
        raise SystemExit(f"non-finite features: {features.columns[~np.isfinite(features).all()].tolist()}")
    records = []
    for k in sims:
        records.append(run_simulation(k, beats, conditions, features, params, args))
        lines = [records[-1]]
        print(json.dumps(records[-1]), flush=True)
        print(f"simulation {k}: cVAE {records[-1]['c_cvae']:.3f}, age+sex {records[-1]['c_age_sex']:.3f}, "
              f"oracle {records[-1]['c_oracle']:.3f}", file=sys.stderr, flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in lines)
    for half in ("tune", "held_out"):
        summary = summarise(records, half)
        if summary:
            print(json.dumps(summary), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
