"""Benchmark of ConditionalVAE and CoxConditionalVAE on LUDB median beats.

Run from the repository root::

    python benchmarks/bench_cvae.py                  # full run (5 folds, at most 150 epochs)
    python benchmarks/bench_cvae.py --folds 2 --epochs 10   # smoke test
    python benchmarks/bench_cvae.py --skip fidelity --hr-condition   # heart rate as a third condition
    python benchmarks/bench_cvae.py --skip fidelity --reference      # the issue's reference Cox setting
    python benchmarks/bench_cvae.py --only dx --folds 3 --epochs 60  # diagnosis fidelity alone

1. Conditioning fidelity.  A logistic regression predicting sex and a ridge
   regression predicting age from real median beats are fitted on the training
   folds; on held-out subjects they give ``A_real`` (accuracy) and ``r_real``
   (Pearson r between predicted and true age).  A ConditionalVAE fitted on the
   same training folds generates beats for the held-out subjects' (age, sex);
   the same classifiers applied to those beats, scored against the conditions
   asked for, give ``A_gen`` and ``r_gen``.  Targets: ``A_gen >= A_real - 0.05``
   and ``r_gen >= r_real - 0.1``.  LUDB has no BMI, so the conditions are age
   and sex only.
2. Risk.  Survival times are simulated (``ecgsk.datasets.simulate_survival``)
   from a Cox model on features measured on the real records: heart rate (R
   peaks of the whole 10-s record), QRS amplitude in V5 (median beat) and age.
   5-fold C-index of CoxConditionalVAE (median beats + age, sex) against
   lifelines' CoxPHFitter on the true features (oracle) and on the conditions
   alone.  Target: within 0.05 of the oracle and above conditions-only.
   ``--hr-condition`` adds the heart rate measured on the record as a third
   condition, for the model and for the conditions-only baseline alike (a
   0.8-s median beat cannot show it).
3. Training time of each model (CPU seconds and wall seconds per fit).
4. Diagnosis fidelity (``--only dx``, also part of the default run).  The
   diagnosis is LUDB's electric axis of the heart (normal, left axis
   deviation, vertical, horizontal; the 3 right-deviation records and those
   without an axis line are left out), a morphology a median beat shows.  A
   logistic regression trained on real beats of the training folds gives the
   floor ``dx_real`` (balanced accuracy on real held-out beats); a
   ConditionalVAE fitted on the training folds with conditions (age, sex,
   ``dx=[axis]``) generates ``--n-gen`` beats per held-out subject with that
   subject's age, sex and diagnosis, and the same classifier's balanced
   accuracy against the asked diagnosis is ``dx_gen`` (and per class
   ``dx_gen_per_class``: the share of beats asked for a class that it
   assigns to that class).  Chance (and any constant prediction) is
   1 / n_classes.  Target: ``dx_gen >= dx_real - 0.05``.  A copy of the
   training beats of the asked class would also reach it: this checks that
   the diagnosis condition is followed, not that the beats are new.

Prints one JSON line with every figure.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn import config_context
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.model_selection import KFold, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler

from ecgsk.datasets import load_ludb, simulate_survival
from ecgsk.leads import LEADS_12
from ecgsk.metrics import concordance_index
from ecgsk.models.cvae import ConditionalVAE, CoxConditionalVAE
from ecgsk.preprocessing import BaselineWanderRemoval, MedianBeat, heart_rate

ROOT = Path(__file__).resolve().parents[1]
FS = 500


def load_beats(path):
    X, meta = load_ludb(path)
    X = BaselineWanderRemoval(fs=FS).fit_transform(X)
    mb = MedianBeat(length=400, fs=FS).fit(X)
    beats = mb.transform(X)
    rate = heart_rate(X, FS)
    v5 = LEADS_12.index("V5")
    r = mb.r_index_
    qrs = beats[:, v5, r - 25:r + 30]  # -50 ms .. +60 ms around R
    qrs_amp_v5 = qrs.max(axis=1) - qrs.min(axis=1)
    conditions = meta[["age", "sex"]].reset_index(drop=True)
    return beats, conditions, meta, rate, qrs_amp_v5


def _features(beats):
    return beats[:, :, ::4].reshape(len(beats), -1)  # 12 leads x 100 samples (125 Hz)


def fidelity(beats, conditions, args):
    sex = (conditions["sex"] == "M").to_numpy().astype(int)
    age = conditions["age"].to_numpy(dtype=float)
    groups = np.arange(len(beats))  # one record per subject in LUDB
    cv = StratifiedGroupKFold(args.folds, shuffle=True, random_state=0)
    feats = _features(beats)
    real_hit, gen_hit, real_age, gen_age, gen_true_age = [], [], [], [], []
    age_true = []
    fit_cpu, fit_wall = [], []
    for fold, (tr, te) in enumerate(cv.split(feats, sex, groups)):
        clf = sk_make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=np.logspace(-4, 1, 6), max_iter=3000))
        reg = sk_make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(0, 5, 11)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(feats[tr], sex[tr])
        reg.fit(feats[tr], age[tr])
        real_hit += list(clf.predict(feats[te]) == sex[te])
        real_age += list(reg.predict(feats[te]))
        age_true += list(age[te])

        t_cpu, t_wall = time.process_time(), time.time()
        seed = fold + 1000 * args.fidelity_seed  # --fidelity-seed 0 keeps the recorded runs' seeds
        cvae = ConditionalVAE(max_epochs=args.epochs, random_state=seed, device="cpu")
        cvae.fit(beats[tr], conditions=conditions.iloc[tr])
        fit_cpu.append(time.process_time() - t_cpu)
        fit_wall.append(time.time() - t_wall)
        cond_rep = pd.concat([conditions.iloc[te]] * args.n_gen, ignore_index=True)
        generated = cvae.sample(len(cond_rep), conditions=cond_rep, random_state=seed)
        gen_feats = _features(generated)
        gen_sex = np.tile(sex[te], args.n_gen)
        gen_hit += list(clf.predict(gen_feats) == gen_sex)
        gen_age += list(reg.predict(gen_feats))
        gen_true_age += list(np.tile(age[te], args.n_gen))
        print(f"fidelity fold {fold}: A_real={np.mean(real_hit):.3f} A_gen={np.mean(gen_hit):.3f} "
              f"fit {fit_cpu[-1]:.0f}s CPU", file=sys.stderr, flush=True)
    return {
        "A_real": float(np.mean(real_hit)),
        "A_gen": float(np.mean(gen_hit)),
        "majority_class_rate": float(max(sex.mean(), 1 - sex.mean())),
        "r_real": float(np.corrcoef(age_true, real_age)[0, 1]),
        "r_gen": float(np.corrcoef(gen_true_age, gen_age)[0, 1]),
        "cvae_fit_cpu_s": float(np.mean(fit_cpu)),
        "cvae_fit_wall_s": float(np.mean(fit_wall)),
    }


_AXES = {"normal": "normal", "left axis deviation": "LAD", "vertical": "vertical", "horizontal": "horizontal"}


def ludb_axis(meta):
    """LUDB's electric axis per record (``_AXES`` values), or None (right deviation, no axis line)."""
    out = []
    for lines in meta["diagnoses"]:
        found = None
        for line in lines:
            if line.lower().startswith("electric axis of the heart:"):
                found = _AXES.get(line.split(":", 1)[1].strip().rstrip(".").lower())
        out.append(found)
    return np.array(out, dtype=object)


def diagnosis_fidelity(beats, conditions, meta, args):
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    axis = ludb_axis(meta)
    keep = np.flatnonzero(axis != None)  # noqa: E711 (object array)
    beats, axis = beats[keep], axis[keep].astype(str)
    cond = conditions.iloc[keep].reset_index(drop=True).assign(dx=[[a] for a in axis])
    classes = sorted(set(axis))
    feats = _features(beats)
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    real_true, real_pred, gen_true, gen_pred = [], [], [], []
    for fold, (tr, te) in enumerate(cv.split(feats, axis)):
        clf = sk_make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=np.logspace(-4, 1, 6), max_iter=3000,
                                                                      class_weight="balanced"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(feats[tr], axis[tr])
        real_true += list(axis[te])
        real_pred += list(clf.predict(feats[te]))
        cvae = ConditionalVAE(max_epochs=args.epochs, random_state=fold, device="cpu")
        cvae.fit(beats[tr], conditions=cond.iloc[tr])
        asked = pd.concat([cond.iloc[te]] * args.n_gen, ignore_index=True)
        generated = cvae.sample(len(asked), conditions=asked, random_state=fold)
        gen_true += [d[0] for d in asked["dx"]]
        gen_pred += list(clf.predict(_features(generated)))
        print(f"dx fold {fold}: real {balanced_accuracy_score(real_true, real_pred):.3f} "
              f"gen {balanced_accuracy_score(gen_true, gen_pred):.3f}", file=sys.stderr, flush=True)
    gen_true, gen_pred = np.array(gen_true), np.array(gen_pred)
    return {
        "classes": {c: int((axis == c).sum()) for c in classes},
        "dx_real": float(balanced_accuracy_score(real_true, real_pred)),
        "dx_gen": float(balanced_accuracy_score(gen_true, gen_pred)),
        "dx_gen_per_class": {c: float(np.mean(gen_pred[gen_true == c] == c)) for c in classes},
        "chance": 1.0 / len(classes),
    }


def _cox_lifelines(train, test, cols, y_train):
    from lifelines import CoxPHFitter

    df = train[cols].assign(time=y_train["time"], event=y_train["event"].astype(int))
    cph = CoxPHFitter().fit(df, "time", "event")
    return np.log(cph.predict_partial_hazard(test[cols]).to_numpy())


def risk(beats, conditions, heart_rate, qrs_amp_v5, args):
    from sklearn.model_selection import cross_validate

    table = pd.DataFrame({"heart_rate": heart_rate, "qrs_amp_v5": qrs_amp_v5,
                          "age": conditions["age"].to_numpy(float),
                          "male": (conditions["sex"] == "M").astype(float).to_numpy()})
    true_cols = ["heart_rate", "qrs_amp_v5", "age"]
    z = (table[true_cols] - table[true_cols].mean()) / table[true_cols].std()
    y = simulate_survival(z.to_numpy(), args.coef, censoring=0.3, random_state=0)
    cv = KFold(args.folds, shuffle=True, random_state=0)
    # --hr-condition: heart rate (measured on the same 10-s ECG) joins age and sex as a condition,
    # and the conditions-only baseline gets it too, so the comparison stays like for like.
    cond_cols = ["age", "male"] + (["heart_rate"] if args.hr_condition else [])
    model_conditions = conditions.assign(heart_rate=heart_rate) if args.hr_condition else conditions
    oracle, cond_only = [], []
    for tr, te in cv.split(table):
        oracle.append(concordance_index(y[te], _cox_lifelines(z.iloc[tr], z.iloc[te], true_cols, y[tr])))
        cond_only.append(concordance_index(y[te], _cox_lifelines(table.iloc[tr], table.iloc[te],
                                                                 cond_cols, y[tr])))
    # What each measured feature is worth, and what a model seeing only median beats + (age, sex)
    # could reach at best if heart rate is invisible in a 0.8-s beat.
    zt = z.assign(male=table["male"])
    subsets = {"age": ["age"], "heart_rate": ["heart_rate"], "qrs_amp_v5": ["qrs_amp_v5"],
               "age+sex+qrs_amp_v5": ["age", "male", "qrs_amp_v5"],
               "age+sex+heart_rate": ["age", "male", "heart_rate"]}
    c_subsets = {
        name: float(np.mean([concordance_index(y[te], _cox_lifelines(zt.iloc[tr], zt.iloc[te], cols, y[tr]))
                             for tr, te in cv.split(zt)]))
        for name, cols in subsets.items()
    }
    # unset options keep the model's defaults; --reference is the reference setting
    extra = dict(cox_weight=50.0, risk_conditions=False, head_init="random", early_stopping=False) \
        if args.reference else {}
    for name in ("cox_weight", "risk_conditions", "early_stopping", "validation_fraction", "n_iter_no_change",
                 "head_init", "head_l2"):
        if getattr(args, name) is not None:
            extra[name] = getattr(args, name)
    est = CoxConditionalVAE(max_epochs=args.epochs, random_state=args.seed, device="cpu", **extra)
    t_cpu = time.process_time()
    with config_context(enable_metadata_routing=True):
        est.set_fit_request(conditions=True).set_score_request(conditions=True)
        res = cross_validate(est, beats, y, params={"conditions": model_conditions}, cv=cv,
                             return_estimator=True)
    cpu = (time.process_time() - t_cpu) / args.folds
    return {
        "coef_per_sd": list(map(float, args.coef)),
        "cox_weight": est.cox_weight,
        "risk_conditions": est.risk_conditions,
        "conditions": list(model_conditions.columns),
        "seed": args.seed,
        "early_stopping": est.early_stopping,
        **({"validation_fraction": est.validation_fraction, "n_iter_no_change": est.n_iter_no_change}
           if est.early_stopping else {}),
        "head_init": est.head_init,
        "head_l2": est.head_l2,
        "event_rate": float(y["event"].mean()),
        "c_oracle": float(np.mean(oracle)),
        "c_conditions_only": float(np.mean(cond_only)),
        "c_lifelines_subsets": c_subsets,
        "c_true_linear_predictor": float(concordance_index(y, z.to_numpy() @ np.asarray(args.coef))),
        "c_cox_cvae": float(np.mean(res["test_score"])),
        "c_cox_cvae_folds": [round(float(s), 3) for s in res["test_score"]],
        "c_oracle_folds": [round(float(s), 3) for s in oracle],
        # best_epoch_ exists only when early stopping ran; without it the last epoch is kept
        "cox_cvae_best_epochs": [int(getattr(e, "best_epoch_", e.n_iter_)) for e in res["estimator"]],
        "cox_cvae_n_iter": [int(e.n_iter_) for e in res["estimator"]],
        "cox_cvae_fit_cpu_s": float(cpu),
        "cox_cvae_fit_wall_s": float(np.mean(res["fit_time"])),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ludb"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=150, help="max_epochs of both models")
    parser.add_argument("--n-gen", type=int, default=5, help="generated beats per held-out subject")
    parser.add_argument("--coef", type=float, nargs=3, default=[0.7, 0.7, 0.7],
                        help="true log hazard ratios per SD of heart rate, QRS amplitude V5, age")
    parser.add_argument("--hr-condition", action="store_true",
                        help="heart rate (from the record's R peaks) as a third condition, for the model and "
                             "the conditions-only baseline")
    # CoxConditionalVAE options: unset ones keep the model's defaults
    parser.add_argument("--reference", action="store_true",
                        help="the issue's reference setting: cox_weight 50, no conditions in the head, random "
                             "head, no early stopping (the options below still override it)")
    parser.add_argument("--cox-weight", type=float, default=None)
    parser.add_argument("--risk-conditions", action=argparse.BooleanOptionalAction, default=None,
                        help="conditions also enter the risk head")
    parser.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None,
                        help="stop on the validation Cox loss")
    parser.add_argument("--validation-fraction", type=float, default=None)
    parser.add_argument("--n-iter-no-change", type=int, default=None)
    parser.add_argument("--head-init", choices=["auto", "random", "conditions"], default=None)
    parser.add_argument("--head-l2", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0, help="CoxConditionalVAE random_state")
    parser.add_argument("--fidelity-seed", type=int, default=0,
                        help="offsets the ConditionalVAE seeds of the fidelity part (fold + 1000 * this)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--skip", choices=["fidelity", "risk"], default=None)
    parser.add_argument("--only", choices=["dx"], default=None, help="run only the diagnosis-fidelity part")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    beats, conditions, meta, rate, qrs_amp_v5 = load_beats(args.data)
    out = {"benchmark": "cvae", "n_subjects": len(beats), "beat_shape": list(beats.shape[1:]),
           "folds": args.folds, "epochs": args.epochs, "threads": args.threads,
           "preprocessing_wall_s": round(time.time() - t0, 1)}
    if args.only is None and args.skip != "fidelity":
        out["fidelity"] = fidelity(beats, conditions, args)
    if args.only is None and args.skip != "risk":
        out["risk"] = risk(beats, conditions, rate, qrs_amp_v5, args)
    if args.only in (None, "dx"):
        out["diagnosis_fidelity"] = diagnosis_fidelity(beats, conditions, meta, args)
    out["total_wall_s"] = round(time.time() - t0, 1)
    out["total_cpu_s"] = round(time.process_time(), 1)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
