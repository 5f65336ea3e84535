"""Benchmark: LSTM-GAN on LUDB heartbeat segments, with the ecgGAN reference protocol.

Protocol (reference: MikhailMurashov/ecgGAN):

1. From each 10-s LUDB record take windows of 400 samples with step 100,
   starting at sample 100; keep a window only if its maximum falls at index
   125-250 of the window.
2. Normalise by one dataset-wide constant (the maximum absolute value).
3. Split 90/10 at random (segment level).
4. Train :class:`ecgsk.models.lstm_gan.LSTMGAN` on the training segments.
5. Generate as many segments as the test set and pair each with one test
   segment in shuffled order.  Seed metrics per pair (Mean/Min/Max over
   pairs): RMSE, seed PRD ``sqrt(100 * sum((x-y)^2) / sum(x^2))``, seed MMD
   (each signal's values as scalar points, Gaussian kernel sigma=1, unbiased).
6. Standard metrics: PRD ``100*sqrt(...)``, whole-segment RBF MMD² (median
   heuristic), feature Fréchet distance, memorization ratio, classifier
   two-sample tests (logistic regression and a small gradient boosting on
   ``ecgsk.metrics.ecg_features``, 5-fold CV accuracy).

Every metric is also computed for two references in the same run: a
real-vs-real floor (real training segments, paired at random with the test
set) and an all-zero output.

Two runs: lead II only, and all 12 leads pooled as single-lead samples (the
latter subsampled to ``--max-train-all`` training segments for time).

Usage::

    python benchmarks/bench_lstm_gan.py                 # both runs
    python benchmarks/bench_lstm_gan.py --runs lead_ii  # one run
    python benchmarks/bench_lstm_gan.py --runs lead_ii --preset cpu --verdict --seed 0  # LSTMGAN.cpu_params()

Prints one JSON line per run (and writes them to ``--out`` if given).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ecgsk.datasets import load_ludb
from ecgsk.leads import LEADS_12
from ecgsk.metrics import (
    classifier_two_sample_test,
    frechet_feature_distance,
    memorization_ratio,
    mmd,
    mmd_seed,
    prd,
    prd_seed,
)
from ecgsk.preprocessing import WindowSegmenter

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ludb"
PAPER = {  # the reference paper's table (lead II, normalised scale)
    "rmse": {"mean": 0.078, "min": 0.021, "max": 0.169},
    "prd_seed": {"mean": 14.82, "min": 4.55, "max": 49.19},
    "mmd_seed": {"mean": 9e-4, "min": -6e-5, "max": 1e-2},
}


# -- data -----------------------------------------------------------------------
def load_ludb_mv():
    """LUDB as (200, 12, 5000) mV."""
    X, _ = load_ludb(DATA)
    return np.asarray(X, dtype=np.float32), "ecgsk.datasets.load_ludb"


def reference_windows(X, leads, length=400, step=100, first=100, lo=125, hi=250):
    """Windows of ``length`` every ``step`` from ``first``; keep those whose argmax is in [lo, hi].

    Returns (n_windows, 1, length): each selected lead's windows are single-lead samples.
    """
    X = X[:, leads, first:]
    W = WindowSegmenter(length=length, stride=step).fit_transform(X.reshape(-1, 1, X.shape[-1]))
    W = np.asarray(W)[:, 0]
    how = "ecgsk.preprocessing.WindowSegmenter"
    am = W.argmax(axis=1)
    keep = (am >= lo) & (am <= hi)
    return W[keep][:, None, :].astype(np.float32), how


# -- metrics --------------------------------------------------------------------
def _summary(values):
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


def seed_rmse(gen, test):
    return np.sqrt(np.mean((gen - test) ** 2, axis=(1, 2)))


def seed_prd(gen, test):
    return np.asarray(prd_seed(test, gen, reduce=None), dtype=np.float64).ravel()


def seed_mmd(gen, test):
    return np.asarray(mmd_seed(test, gen, reduce=None), dtype=np.float64).ravel()


def memorization(gen, train, holdout, rng):
    # nearest-neighbour distances shrink with the reference set's size: compare a
    # train subset of the holdout's size with the holdout
    sub = train[rng.choice(len(train), len(holdout), replace=False)]
    return float(memorization_ratio(gen, sub, holdout))


def c2st(real, gen, fs, random_state=0):
    """Classifier two-sample test accuracies: {"logreg": acc, "gbm": acc}."""
    res = classifier_two_sample_test(real, gen, fs=fs, random_state=random_state)
    return {"logreg": float(res["logistic_regression"]), "gbm": float(res["gradient_boosting"])}


# which implementation computed each figure (kept in the JSON line's "sources")
SOURCES = {
    "prd_seed": "ecgsk.metrics.prd_seed",
    "mmd_seed": "ecgsk.metrics.mmd_seed",
    "frechet": "ecgsk.metrics.frechet_feature_distance",
    "memorization": "ecgsk.metrics.memorization_ratio (train subsampled to the holdout's size)",
    "c2st": "ecgsk.metrics.classifier_two_sample_test (logistic regression, HistGradientBoosting 50x depth 3)",
}


def evaluate(gen, test, train, fs, rng):
    """All metrics of one candidate set ``gen`` (same size as ``test``) against the test set."""
    order = rng.permutation(len(test))
    paired = test[order]
    out = {}
    out["rmse"] = _summary(seed_rmse(gen, paired))
    out["prd_seed"] = _summary(seed_prd(gen, paired))
    out["mmd_seed"] = _summary(seed_mmd(gen, paired))
    out["prd_standard"] = _summary(prd(paired, gen, reduce=False))
    out["mmd_segment"] = float(mmd(gen, test))
    out["frechet_features"] = float(frechet_feature_distance(test, gen, fs=fs))
    out["memorization_ratio"] = memorization(gen, train, test, rng)
    out["c2st"] = c2st(test, gen, fs)
    return out, dict(SOURCES)


# -- one run ----------------------------------------------------------------------
def run(name, W, args):
    from ecgsk.models.lstm_gan import LSTMGAN

    rng = np.random.RandomState(args.seed)
    scale = float(np.abs(W).max())
    Wn = W / scale
    perm = rng.permutation(len(Wn))
    n_test = int(round(0.1 * len(Wn)))
    test, train = Wn[perm[:n_test]], Wn[perm[n_test:]]
    n_train_full = len(train)
    if args.max_train and len(train) > args.max_train:
        train = train[rng.choice(len(train), args.max_train, replace=False)]
    if args.max_test and len(test) > args.max_test:
        test = test[rng.choice(len(test), args.max_test, replace=False)]

    gan = LSTMGAN(width=args.width, d_width=args.d_width, lstm_units=args.lstm_units,
                  minibatch_std=args.minibatch_std, feature_matching=args.feature_matching,
                  ema_decay=args.ema_decay, noise_injection=args.noise_injection,
                  spectral_matching=args.spectral_matching, max_epochs=1, batch_size=args.batch_size, lr=args.lr, d_lr=args.d_lr,
                  device="cpu", random_state=args.seed, warm_start=True)
    t0 = time.perf_counter()
    epochs = 0
    while epochs < args.epochs and time.perf_counter() - t0 < args.time_budget:
        # one epoch per call; a new seed per epoch keeps batch order and noise fresh yet reproducible
        gan.set_params(random_state=args.seed * 100003 + epochs).fit(train)
        epochs += 1
        if args.verbose:
            print(f"[{name}] epoch {epochs} d={gan.history_[-1]['d_loss']:.3f} "
                  f"g={gan.history_[-1]['g_loss']:.3f} t={time.perf_counter() - t0:.0f}s", file=sys.stderr)
    train_s = time.perf_counter() - t0

    gen = gan.sample(len(test), random_state=args.seed + 1)  # the EMA generator when --ema-decay is set
    real = train[rng.choice(len(train), len(test), replace=False)]
    zeros = np.zeros_like(test)
    candidates = [("lstm_gan", gen), ("real_train", real), ("all_zero", zeros)]
    if getattr(gan, "generator_ema_", None) is not None:
        # the same run's raw (non-averaged) generator, same noise: isolates the EMA's effect
        raw = gan._generate_scaled(len(test), np.random.RandomState(args.seed + 1), ema=False)
        candidates.append(("lstm_gan_raw", raw * np.float32(gan.scale_)))
    results, sources = {}, {}
    for label, cand in candidates:
        results[label], sources = evaluate(cand, test, train, 500, np.random.RandomState(args.seed + 7))

    if args.verdict:
        from ecgsk.evaluation import evaluate_generator

        # the package's own verdict: every metric against a real-vs-real floor of split halves of the test set
        t_eval = time.perf_counter()
        report = evaluate_generator(test * scale, gen * scale, fs=500, train=train * scale, random_state=args.seed,
                                    figures=False, reference="LUDB lead II test windows")
        results["verdict"] = {
            "passed": bool(report.passed), "n_metrics": len([m for m in report.metrics if m.applicable]),
            "failed": list(report.failed),
            "failed_values": {m.name: [m.value, m.floor_interval] for m in report.metrics if m.name in report.failed},
            "seconds": round(time.perf_counter() - t_eval, 1),
        }

    def target_check(label):
        gap = results[label]["mmd_segment"] - results["real_train"]["mmd_segment"]
        return {"mmd_gap": gap, "mmd_gap_ok": gap <= 0.01, "c2st_ok": max(results[label]["c2st"].values()) <= 0.80,
                "memorization_ok": results[label]["memorization_ratio"] >= 0.9, "train_time_ok": train_s <= 15 * 60}

    targets = target_check("lstm_gan")
    if "lstm_gan_raw" in results:
        targets["raw_generator"] = target_check("lstm_gan_raw")
    return {
        "benchmark": "lstm_gan", "run": name, "n_windows": int(len(W)), "scale_mv": scale,
        "n_train_full": int(n_train_full), "n_train": int(len(train)), "n_test": int(len(test)),
        "params": {k: v for k, v in gan.get_params().items() if k not in ("random_state", "warm_start")}
        | {"max_epochs": args.epochs},
        "epochs_trained": epochs, "train_seconds": round(train_s, 1),
        "seconds_per_epoch": round(train_s / max(epochs, 1), 2),
        "final_losses": {"d": gan.history_[-1]["d_loss"], "g": gan.history_[-1]["g_loss"]},
        "results": results, "paper": PAPER, "targets": targets, "sources": sources,
        "gen_abs_max": float(np.abs(gen).max()), "torch_threads": __import__("torch").get_num_threads(),
        "cpu_load_1min": os.getloadavg()[0], "_model": gan,
    }


def _float_or_none(text):
    return None if str(text).lower() == "none" else float(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", default="lead_ii,all_leads")
    p.add_argument("--epochs", type=int, default=None,
                   help="maximum epochs (default: the paper's 80, or the preset's max_epochs with --preset)")
    p.add_argument("--time-budget", type=float, default=14 * 60,
                   help="training seconds per run (stops after the epoch that crosses it; 13 min before run Q)")
    p.add_argument("--width", type=float, default=0.5, help="generator width (reference: 1)")
    p.add_argument("--d-width", type=float, default=0.25, help="discriminator width (reference: 1)")
    p.add_argument("--lstm-units", type=int, default=32, help="reference: 64")
    p.add_argument("--minibatch-std", action=argparse.BooleanOptionalAction, default=True,
                   help="minibatch-std channel in the discriminator (reference: off; on since run E)")
    p.add_argument("--feature-matching", type=float, default=100.0,
                   help="weight of the generator's feature-matching term (reference: 0; 100 since run E)")
    p.add_argument("--ema-decay", type=_float_or_none, default=0.999,
                   help="EMA of the generator's weights for sampling ('none': off, the reference; 0.999 since "
                        "run I); the raw generator is evaluated too")
    p.add_argument("--noise-injection", action=argparse.BooleanOptionalAction, default=False,
                   help="per-sample noise with learned strengths before the generator's output layer (reference: off)")
    p.add_argument("--spectral-matching", type=float, default=2.0,
                   help="weight of the generator's half-octave log-band-power moment-matching term "
                        "(reference: 0; 2 since run T)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--d-lr", type=_float_or_none, default=4e-4,
                   help="discriminator learning rate ('none': --lr, the reference; 4e-4 since run I)")
    p.add_argument("--max-train-all", type=int, default=2455, help="train subsample of the all-lead run")
    p.add_argument("--max-test-all", type=int, default=1000, help="test subsample of the all-lead run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2,
                   help="torch CPU threads (2 on a free 2-core machine, since run Q; 1 is faster when the "
                        "cores are shared with other jobs, as in runs A-P)")
    p.add_argument("--preset", choices=["cpu"], default=None,
                   help="'cpu': train LSTMGAN.cpu_params() for its max_epochs, with no time budget (issue 17 item 3)")
    p.add_argument("--verdict", action="store_true",
                   help="also run ecgsk.evaluation.evaluate_generator on the test set and report its verdict")
    p.add_argument("--save", default=None, help="pickle the fitted model(s) here (a directory)")
    p.add_argument("--out", default=None)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.preset == "cpu":
        from ecgsk.models.lstm_gan import LSTMGAN

        preset = LSTMGAN.cpu_params()
        for key in ("width", "d_width", "lstm_units", "minibatch_std", "feature_matching", "ema_decay",
                    "spectral_matching", "batch_size", "lr", "d_lr"):
            setattr(args, key, preset[key])
        args.noise_injection = False
        args.time_budget = float("inf")
        if args.epochs is None:
            args.epochs = preset["max_epochs"]
    if args.epochs is None:
        args.epochs = 80
    import torch

    torch.set_num_threads(args.threads)

    X, source = load_ludb_mv()
    lines = []
    for name in args.runs.split(","):
        leads = [LEADS_12.index("II")] if name == "lead_ii" else list(range(12))
        W, how = reference_windows(X, leads)
        args.max_train = None if name == "lead_ii" else args.max_train_all
        args.max_test = None if name == "lead_ii" else args.max_test_all
        res = run(name, W, args)
        res["data"] = {"loader": source, "windows": how}
        if args.save:
            import pickle

            Path(args.save).mkdir(parents=True, exist_ok=True)
            (Path(args.save) / f"lstm_gan_{name}.pkl").write_bytes(pickle.dumps(res.pop("_model")))
        else:
            res.pop("_model")
        line = json.dumps(res)
        print(line, flush=True)
        lines.append(line)
        if args.out:
            Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
