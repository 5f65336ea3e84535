"""Beat fidelity of ConditionalVAE on the CinC 2021 records (issue 17 item 4).

Run from the repository root::

    python benchmarks/bench_cvae_beats.py                          # defaults, seed 0
    python benchmarks/bench_cvae_beats.py --kl-weight 0.001        # a tuning run: a smaller beta
    python benchmarks/bench_cvae_beats.py --epochs 5 --n-splits 2  # smoke test

**Data.** The 30 CinC 2021 records under ``../shared/data/cinc2021`` (10
PTB-XL ``HR*``, 20 Chapman ``JS*``; physiological amplitudes, unlike LUDB),
read by :func:`ecgsk.datasets.load_cinc2021`, baseline wander removed, every
complete R-aligned 0.8-s beat of every record (:class:`BeatSegmenter`,
12 x 400 at 500 Hz).  Conditions: the record's age and sex.

**Split, fixed here before any tuning.**  Two folds of whole records: within
each (source, sex) the records, sorted by name, alternate between fold 0 and
fold 1 (``record_folds``).  Each fold's model is trained on the other fold's
beats and samples one beat per held-out real beat, with that beat's record's
age and sex.  The held-out real beats of both folds (every record once) and the
pooled samples go to :func:`ecgsk.evaluation.evaluate_generator` with
``real_groups`` = the record, so its real-vs-real floor compares different
records, as the samples are compared with records the model never saw.

**Figures** (one JSON line):

- the verdict's clinical rows: Wasserstein distances of ``R_amp_mV[lead]``
  for the 12 leads and of ``qrs_width_ms``, each with its floor interval and its
  zeros / noise baselines; target: every R-amplitude value within the floor's
  interval (at most its upper end; ``within_floor``), and the verdict with the
  tolerance (``passed``);
- the ratio of the mean generated to the mean real R amplitude per lead (the
  blur the issue measured: 50-70 % on the example's figure), and the same for
  the held-out beats' reconstructions from their posterior means (the
  decoder's own blur, apart from sampling the prior);
- a second trivial baseline, the mean template: each fold's mean training beat
  in place of every sample, through the same verdict;
- sex accuracy: a logistic regression on real training beats (per fold) scores
  real held-out beats (``A_real``) and the samples against the asked sex
  (``A_gen``); target ``A_gen >= A_real - 0.02``; majority class given.
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FS = 500


def record_folds(records, sex):
    """Fold 0 or 1 of each record: alternate within each (source, sex), records sorted by name."""
    folds = np.empty(len(records), dtype=int)
    source = np.array([str(r)[:2] for r in records])
    for key in sorted(set(zip(source, sex))):
        idx = [i for i in np.argsort(records, kind="stable") if (source[i], sex[i]) == key]
        for k, i in enumerate(idx):
            folds[i] = k % 2
    return folds


def load_beats(path):
    from ecgsk.datasets import load_cinc2021
    from ecgsk.preprocessing import BaselineWanderRemoval, BeatSegmenter

    X, meta = load_cinc2021(path)
    X = BaselineWanderRemoval(fs=FS).fit_transform(X)
    beats, record = BeatSegmenter(length=400, fs=FS).fit(X).segment(X)
    return beats, record, meta.reset_index(drop=True)


def _rows(report, names):
    out = {}
    for name in names:
        m = report[name]
        out[name] = {"value": m.value, "floor": m.floor, "floor_interval": list(m.floor_interval or []),
                     "baselines": m.baselines, "passed": m.passed,
                     "within_floor": bool(m.floor_interval is not None and m.value <= m.floor_interval[1])}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cinc2021"))
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--kl-weight", type=float, default=None, help="ConditionalVAE kl_weight (default: its own)")
    parser.add_argument("--latent-dim", type=int, default=None)
    parser.add_argument("--latent-sampling", choices=("prior", "mixture"), default=None,
                        help="ConditionalVAE latent_sampling (default: its own)")
    parser.add_argument("--latent-components", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-splits", type=int, default=10, help="evaluate_generator's repeated splits")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="append the JSON line to this file too")
    args = parser.parse_args(argv)

    import torch
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bench_cvae import _features  # the sex classifier's features, as in bench_cvae's fidelity part

    from ecgsk.evaluation import evaluate_generator
    from ecgsk.leads import LEADS_12
    from ecgsk.metrics.features import ecg_measurements
    from ecgsk.models.cvae import ConditionalVAE

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    beats, record, meta = load_beats(args.data)
    sex_rec = meta["sex"].to_numpy().astype(str)
    fold_rec = record_folds(meta["record"].to_numpy().astype(str), sex_rec)
    fold = fold_rec[record]
    conditions = meta[["age", "sex"]].iloc[record].reset_index(drop=True)
    sex = (conditions["sex"] == "M").to_numpy().astype(int)
    params = {"max_epochs": args.epochs, "device": "cpu"}
    if args.kl_weight is not None:
        params["kl_weight"] = args.kl_weight
    if args.latent_dim is not None:
        params["latent_dim"] = args.latent_dim
    if args.latent_sampling is not None:
        params["latent_sampling"] = args.latent_sampling
    if args.latent_components is not None:
        params["latent_components"] = args.latent_components

    real_parts, gen_parts, mean_parts, group_parts, recon_parts = [], [], [], [], []
    real_hit, gen_hit, fit_s, epochs = [], [], [], []
    for k in (0, 1):
        tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        clf = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=np.logspace(-4, 1, 6), max_iter=3000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(_features(beats[tr]), sex[tr])
        real_hit += list(clf.predict(_features(beats[te])) == sex[te])
        t = time.time()
        cvae = ConditionalVAE(random_state=args.seed * 10 + k, **params)
        cvae.fit(beats[tr], conditions=conditions.iloc[tr])
        fit_s.append(time.time() - t)
        epochs.append(int(cvae.n_iter_))
        asked = conditions.iloc[te].reset_index(drop=True)
        generated = cvae.sample(len(te), conditions=asked, random_state=args.seed * 10 + k)
        gen_hit += list(clf.predict(_features(generated)) == sex[te])
        # reconstructions of the held-out beats from their posterior means: blur of the decoder itself
        recon_parts.append(cvae.inverse_transform(cvae.transform(beats[te], conditions=asked), conditions=asked))
        real_parts.append(beats[te])
        gen_parts.append(generated)
        mean_parts.append(np.repeat(beats[tr].mean(axis=0, keepdims=True), len(te), axis=0))
        group_parts.append(record[te])
        print(f"fold {k}: {len(tr)} train / {len(te)} held-out beats, fit {fit_s[-1]:.0f} s, "
              f"A_real {np.mean(real_hit):.3f} A_gen {np.mean(gen_hit):.3f}", file=sys.stderr, flush=True)
    real, gen = np.concatenate(real_parts), np.concatenate(gen_parts)
    mean_template, groups = np.concatenate(mean_parts), np.concatenate(group_parts)

    names = [f"wasserstein[R_amp_mV[{lead}]]" for lead in LEADS_12] + ["wasserstein[qrs_width_ms]"]
    kw = dict(fs=FS, real_groups=groups, random_state=args.seed, n_splits=args.n_splits, figures=False,
              reference="CinC 2021 held-out beats")
    report = evaluate_generator(real, gen, **kw)
    report_mean = evaluate_generator(real, mean_template, **kw)

    m_names = ecg_measurements(real[:2], FS, return_names=True)[1]
    r_cols = [m_names.index(f"R_amp_mV[{lead}]") for lead in LEADS_12]
    m_real, m_gen = ecg_measurements(real, FS)[:, r_cols], ecg_measurements(gen, FS)[:, r_cols]
    m_recon = ecg_measurements(np.concatenate(recon_parts), FS)[:, r_cols]
    ratio = {lead: float(np.nanmean(m_gen[:, i]) / np.nanmean(m_real[:, i])) for i, lead in enumerate(LEADS_12)}
    ratio_recon = {lead: float(np.nanmean(m_recon[:, i]) / np.nanmean(m_real[:, i])) for i, lead in enumerate(LEADS_12)}

    rows = _rows(report, names)
    r_rows = [rows[n] for n in names[:-1]]
    result = {
        "benchmark": "cvae_beats", "data": "cinc2021", "n_records": int(len(meta)), "n_beats": int(len(beats)),
        "split": "2 folds of whole records, alternating within (source, sex) by record name",
        "params": {**ConditionalVAE(**params).get_params(), "callbacks": None}, "seed": args.seed,
        "model_seeds": [args.seed * 10 + k for k in (0, 1)], "epochs_trained": epochs, "fit_seconds": [round(s, 1) for s in fit_s],
        "A_real": float(np.mean(real_hit)), "A_gen": float(np.mean(gen_hit)),
        "majority_class_rate": float(max(sex.mean(), 1 - sex.mean())),
        "sex_target_met": bool(np.mean(gen_hit) >= np.mean(real_hit) - 0.02),
        "R_amp_within_floor": f"{sum(r['within_floor'] for r in r_rows)} of 12",
        "R_amp_passed": f"{sum(bool(r['passed']) for r in r_rows)} of 12",
        "R_amp_ratio_gen_over_real": ratio,
        "R_amp_ratio_reconstruction_over_real": ratio_recon,
        "clinical": rows,
        "mean_template": _rows(report_mean, names),
        "verdict": {"passed": report.passed, "failed": report.failed,
                    "n_metrics": sum(m.applicable for m in report.metrics)},
        "verdict_mean_template": {"passed": report_mean.passed, "n_failed": len(report_mean.failed)},
        "cpu_load_1min": os.getloadavg()[0], "wall_seconds": round(time.time() - t0, 1),
    }
    line = json.dumps(result, default=float)
    print(line)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(line + "\n")
    return result


if __name__ == "__main__":
    main()
