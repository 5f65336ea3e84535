"""Speed of evaluate_generator: 500 real against 500 synthetic 10-s 12-lead ECGs at 500 Hz, floors included.

Target (issue 14): under 2 minutes on a 2-core CPU.  The real set is LUDB
(200 records) drawn with replacement to 500; the "synthetic" set is
ecgsk.datasets.make_synthetic_ecgs.  The run prints, for the main metrics, the
synthetic value, the real-vs-real floor with its interval, and the trivial
baselines (zeros, spectrum-matched noise) computed in the same call.

    OMP_NUM_THREADS=2 python benchmarks/bench_evaluation.py [--n 500] [--splits 5] [--no-figures]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from ecgsk.datasets import load_ludb, make_synthetic_ecgs
from ecgsk.evaluation import evaluate_generator


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb"))
    args = parser.parse_args()
    X, _ = load_ludb(args.data)
    rng = np.random.default_rng(0)
    real = X[rng.choice(len(X), size=args.n, replace=True)]
    synthetic = make_synthetic_ecgs(args.n, n_leads=12, n_samples=5000, random_state=0)
    t0 = time.perf_counter()
    report = evaluate_generator(real, synthetic, random_state=0, n_splits=args.splits,
                                figures=not args.no_figures, reference="LUDB (drawn with replacement)")
    elapsed = time.perf_counter() - t0
    frame = report.to_frame().set_index("name")
    cols = ["value", "floor", "floor_lo", "floor_hi", "baseline_zeros", "baseline_noise", "verdict"]
    print(frame.loc[["mmd2_signal", "mmd2_features", "frechet_features", "c2st_accuracy[logistic]",
                     "c2st_accuracy[boosting]", "precision", "recall", "coverage", "wasserstein[heart_rate_bpm]",
                     "spectrum_distance[II]"], cols].to_string())
    print(f"n_real={args.n} n_synthetic={args.n} splits={args.splits} figures={not args.no_figures}")
    print(f"evaluate_generator: {elapsed:.1f} s (target < 120 s); passed={report.passed}, {len(report.failed)} failed")


if __name__ == "__main__":
    main()
