"""Speed of evaluate_generator: 500 real against 500 synthetic 10-s 12-lead ECGs at 500 Hz, floors included.

Target (issue 14): under 2 minutes on a 2-core CPU.  The real set is LUDB
(200 records) drawn with replacement to 500; the "synthetic" set is
ecgsk.datasets.make_synthetic_ecgs.  The run prints, for the main metrics, the
synthetic value, the real-vs-real floor with its interval, and the trivial
baselines (zeros, spectrum-matched noise) computed in the same call, and the
load average before and after (the machine is shared).

``--delineation`` instead checks ecgsk.metrics.features.ecg_measurements
against LUDB's cardiologist delineation (lead II): PR, QRS and QT mean
absolute errors over the 200 records, over each half (odd / even record
numbers) to show the thresholds are not fitted to one half, and the P-wave
detection rate for records with and without annotated P waves.

    OMP_NUM_THREADS=2 python benchmarks/bench_evaluation.py [--n 500] [--splits 5] [--no-figures]
    python benchmarks/bench_evaluation.py --delineation
"""

import argparse
import time
from pathlib import Path

import numpy as np

from ecgsk.datasets import load_ludb, make_synthetic_ecgs
from ecgsk.evaluation import evaluate_generator


def _loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


def ludb_delineation(data):
    """Per record, the medians over annotated lead-II beats of PR, QRS and QT (ms), NaN where absent."""
    import wfdb

    X, meta = load_ludb(data)
    truth = []
    for rec in meta["record"]:
        ann = wfdb.rdann(str(Path(data) / "data" / str(rec)), "ii")
        sym, smp = list(ann.symbol), np.asarray(ann.sample)
        waves = [(sym[k], smp[k - 1], smp[k + 1]) for k in range(1, len(sym) - 1)
                 if sym[k] in "pNt" and sym[k - 1] == "(" and sym[k + 1] == ")"]
        pr, qrs, qt = [], [], []
        for j, (s, on, off) in enumerate(waves):
            if s != "N":
                continue
            qrs.append(off - on)
            before = [w for w in waves[:j] if w[0] == "p" and on - w[1] < 200]  # within 400 ms
            after = [w for w in waves[j + 1:] if w[0] == "t" and w[2] - on < 350]  # within 700 ms
            if before:
                pr.append(on - before[-1][1])
            if after:
                qt.append(after[0][2] - on)
        truth.append([np.median(v) * 1000.0 / 500 if v else np.nan for v in (pr, qrs, qt)])
    return X, meta, np.array(truth)


def delineation(data):
    from ecgsk.metrics.features import ecg_measurements, measurement_names

    X, meta, truth = ludb_delineation(data)
    t0 = time.perf_counter()
    M = ecg_measurements(X)
    elapsed = time.perf_counter() - t0
    names = measurement_names(X.shape[1])
    odd = meta["record"].astype(int).to_numpy() % 2 == 1
    print(f"ecg_measurements on {len(X)} LUDB records: {elapsed:.2f} s (load {_loadavg()})")
    print("measure  n_found/n_annotated  MAE_ms  median_error_ms  MAE_odd  MAE_even  p90_abs_ms")
    for k, name in enumerate(("pr_ms", "qrs_ms", "qt_ms")):
        est = M[:, names.index(name)]
        ok = np.isfinite(est) & np.isfinite(truth[:, k])
        err = est - truth[:, k]
        mae = lambda m: float(np.mean(np.abs(err[ok & m])))  # noqa: E731
        print(f"{name:7s}  {ok.sum():3d}/{np.isfinite(truth[:, k]).sum():3d}  {mae(ok):6.1f}  "
              f"{np.median(err[ok]):6.1f}  {mae(odd):6.1f}  {mae(~odd):6.1f}  {np.percentile(np.abs(err[ok]), 90):6.1f}")
    has_p = np.isfinite(truth[:, 0])
    found = np.isfinite(M[:, names.index("pr_ms")])
    print(f"P wave found: {found[has_p].mean():.3f} of {has_p.sum()} records with annotated P waves, "
          f"{found[~has_p].sum()} of {(~has_p).sum()} without")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument("--delineation", action="store_true", help="check ecg_measurements against LUDB instead")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb"))
    args = parser.parse_args()
    if args.delineation:
        delineation(args.data)
        return
    X, _ = load_ludb(args.data)
    rng = np.random.default_rng(0)
    real = X[rng.choice(len(X), size=args.n, replace=True)]
    synthetic = make_synthetic_ecgs(args.n, n_leads=12, n_samples=5000, random_state=0)
    load_before = _loadavg()
    t0 = time.perf_counter()
    report = evaluate_generator(real, synthetic, random_state=0, n_splits=args.splits,
                                figures=not args.no_figures, reference="LUDB (drawn with replacement)")
    elapsed = time.perf_counter() - t0
    frame = report.to_frame().set_index("name")
    cols = ["value", "floor", "floor_lo", "floor_hi", "baseline_zeros", "baseline_noise", "verdict"]
    print(frame.loc[["mmd2_signal", "mmd2_features", "frechet_features", "c2st_accuracy[logistic]",
                     "c2st_pvalue[logistic]", "c2st_accuracy[boosting]", "c2st_pvalue[boosting]", "precision",
                     "recall", "coverage", "wasserstein[heart_rate_bpm]", "wasserstein[pr_ms]",
                     "wasserstein[qt_ms]", "wasserstein[qtc_ms]", "wasserstein[P_amp_mV[II]]", "p_wave_found_gap",
                     "spectrum_distance[II]"], cols].to_string())
    print(f"n_real={args.n} n_synthetic={args.n} splits={args.splits} figures={not args.no_figures}")
    print(f"evaluate_generator: {elapsed:.1f} s (target < 120 s); passed={report.passed}, {len(report.failed)} failed; "
          f"load average {load_before} before, {_loadavg()} after")


if __name__ == "__main__":
    main()
