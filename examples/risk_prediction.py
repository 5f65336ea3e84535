"""Cross-validated risk prediction from ECG median beats with a Cox conditional VAE.

Survival times are simulated from a known Cox model on features measured on
the real LUDB records (heart rate, QRS amplitude in V5, age), so the true risk
is known.  An :class:`~ecgsk.pipeline.ECGPipeline` (baseline-wander removal ->
:class:`~ecgsk.preprocessing.MedianBeat` ->
:class:`~ecgsk.models.cvae.CoxConditionalVAE`) is cross-validated on the raw
10-s records with age, sex and heart rate routed as ``conditions`` through
scikit-learn's metadata routing, and compared with lifelines' CoxPHFitter on the
true features (the oracle) and on the conditions alone.

A 0.8-s median beat cannot show the heart rate, so it is measured from the
record's R peaks and passed as a condition (``--no-heart-rate`` leaves it out;
the model then cannot reach the oracle, see ``docs/benchmarks.md``).  The
model's defaults are the configuration that measured best in
``benchmarks/bench_cvae.py``: early stopping on the validation Cox loss, the
conditions in the risk head (initialised from a Cox model on them) and
``cox_weight=0.1``.

Usage::

    python examples/risk_prediction.py [--folds 3] [--epochs 150] [--no-heart-rate]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn import config_context
from sklearn.model_selection import KFold, cross_validate

from ecgsk.datasets import load_ludb, simulate_survival
from ecgsk.leads import LEADS_12
from ecgsk.metrics import concordance_index
from ecgsk.models.cvae import CoxConditionalVAE
from ecgsk.pipeline import make_pipeline
from ecgsk.preprocessing import BaselineWanderRemoval, MedianBeat, heart_rate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ludb"


def measured_features(X, meta, fs=500):
    """Heart rate (bpm), QRS peak-to-peak amplitude in V5 (mV) and age of each record."""
    X = BaselineWanderRemoval(fs=fs).fit_transform(X)
    mb = MedianBeat(length=400, fs=fs).fit(X)
    r = mb.r_index_
    qrs = mb.transform(X)[:, LEADS_12.index("V5"), r - 25:r + 30]
    return pd.DataFrame({"heart_rate": heart_rate(X, fs), "qrs_amp_v5": qrs.max(1) - qrs.min(1), "age": meta["age"]})


def lifelines_cv(table, y, cols, cv):
    from lifelines import CoxPHFitter

    scores = []
    for tr, te in cv.split(table):
        df = table.iloc[tr][cols].assign(time=y["time"][tr], event=y["event"][tr].astype(int))
        cph = CoxPHFitter().fit(df, "time", "event")
        scores.append(concordance_index(y[te], np.log(cph.predict_partial_hazard(table.iloc[te][cols]))))
    return np.array(scores)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=150, help="at most; early stopping usually ends sooner")
    parser.add_argument("--no-heart-rate", action="store_true", help="conditions are age and sex only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a small network: extra threads only add overhead
    t0 = time.time()

    X, meta = load_ludb(args.data)
    table = measured_features(X, meta)
    z = (table - table.mean()) / table.std()
    y = simulate_survival(z.to_numpy(), [0.7, 0.7, 0.7], censoring=0.3, random_state=0)
    conditions = meta[["age", "sex"]].reset_index(drop=True)
    cond_cols = ["age", "male"]
    if not args.no_heart_rate:
        # measured on the raw records without looking at the outcome, so no leakage across folds
        conditions = conditions.assign(heart_rate=table["heart_rate"].to_numpy())
        cond_cols.append("heart_rate")
    print(f"{len(y)} subjects, {int(y['event'].sum())} events")

    cv = KFold(args.folds, shuffle=True, random_state=0)
    oracle = lifelines_cv(z, y, ["heart_rate", "qrs_amp_v5", "age"], cv)
    table["male"] = (meta["sex"] == "M").astype(float)
    cond_only = lifelines_cv(table, y, cond_cols, cv)

    with config_context(enable_metadata_routing=True):
        model = CoxConditionalVAE(max_epochs=args.epochs, random_state=0)
        model.set_fit_request(conditions=True).set_score_request(conditions=True)
        pipe = make_pipeline(BaselineWanderRemoval(fs=500), MedianBeat(length=400, fs=500), model)
        res = cross_validate(pipe, X, y, params={"conditions": conditions}, cv=cv)

    print(f"C-index, {args.folds}-fold CV (higher is better):")
    print(f"  oracle Cox on true features   {oracle.mean():.3f}")
    print(f"  Cox on conditions only        {cond_only.mean():.3f}  ({' + '.join(cond_cols)})")
    print(f"  CoxConditionalVAE (beats+c)   {res['test_score'].mean():.3f}  folds {np.round(res['test_score'], 3)}")
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
