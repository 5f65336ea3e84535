"""Benchmark: the training engine's overhead -- ``fit`` against a plain PyTorch loop of the same networks.

For each torch model, at a small CPU size, in one process:

- **engine**: ``Model(**params).fit(X)`` for ``--epochs`` epochs (the
  engine of :mod:`ecgsk.nn.engine`: input checks, seeding, batching,
  shuffling, per-epoch snapshots for the fault handling, history, callbacks);
- **plain**: a hand-written PyTorch loop over the *same* networks and the
  same step math.  It builds the modules with the model's own
  ``_build_modules()`` (under a torch seed), the optimizers with its
  ``_configure_optimizers()``, prepares the rows with ``_training_data`` (and,
  for windowed models, ``_epoch_data`` each epoch), shuffles with
  ``torch.randperm``, cuts the same batch sizes (the same rule for a last
  batch of one row) and calls the model's ``_training_step(batch, ctx)`` with
  a bare context whose ``optimizer_step`` is ``zero_grad(set_to_none=True);
  loss.backward(); opt.step()`` and whose ``frozen`` switches
  ``requires_grad`` -- exactly the ops of the engine's context, nothing else.
  So the two sides run identical forward/backward/optimizer work and differ
  only by the engine's loop machinery.

The two sides alternate (``--repeats`` rounds, the order swapped every round,
after one untimed warm-up fit of each) and the medians are reported as
training rows per second (ECGs, or windows for the windowed
reconstructors), with the ratio engine / plain (target >= 0.95) and the
range of the per-round ratios.  Also measured, interleaved in the same
rounds: the engine with ``precision="bf16"`` (bfloat16 autocast) against
``"32"``; a bf16 fit that diverges (``TrainingDivergedError``) is counted
(``bf16_diverged``) and left out of the bf16 median.  The reference (floor)
of this benchmark is the plain loop; it has no trivial baseline (a
throughput benchmark).

Data: synthetic ECGs (:func:`ecgsk.datasets.make_synthetic_ecgs`); the
throughput does not depend on the signals' content.  Models the script does
not find (not yet on the engine) are listed as skipped.

Prints one JSON line per model, then a table.  ``--profile`` adds, per model,
a cProfile breakdown of one engine fit (the cumulative seconds in the
model's step, the data hooks, the engine's per-epoch snapshot and history,
and what is left for the loop itself).

Usage::

    python benchmarks/bench_training.py [--models pulse2pulse,ekgan,...] [--epochs 3]
                                        [--repeats 5] [--threads 1] [--quick] [--profile]
"""

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import time
import warnings

import numpy as np

from ecgsk.exceptions import TrainingDivergedError

# -- the models, at a small CPU size ----------------------------------------------------------
# Each entry: import path, constructor parameters (no validation split, no default callbacks, so that the
# engine adds nothing a plain loop would not do), and the data (n_ecgs, n_leads, n_samples).
MODELS = {
    "pulse2pulse": {
        "cls": "ecgsk.models.pulse2pulse:Pulse2PulseGAN",
        "params": {"model_size": 8, "length": 2500, "n_critic": 5, "batch_size": 16},
        "data": (64, 8, 2500),
    },
    "lstm_gan": {
        "cls": "ecgsk.models.lstm_gan:LSTMGAN",
        "params": {"segment_length": 400, "width": 0.25, "d_width": 0.25, "lstm_units": 16, "batch_size": 32,
                   "ema_decay": None},
        "data": (256, 1, 400),
    },
    "ekgan": {
        "cls": "ecgsk.models.ekgan:EKGAN",
        "params": {"window": 128, "width": 8, "train_stride": 64, "batch_size": 32},
        "data": (16, 12, 1024),
    },
    "pix2pix": {
        "cls": "ecgsk.models.pix2pix:Pix2PixReconstructor",
        "params": {"window": 128, "width": 8, "train_stride": 64, "batch_size": 32},
        "data": (16, 12, 1024),
    },
    "cvae": {
        "cls": "ecgsk.models.cvae:ConditionalVAE",
        "params": {"batch_size": 32, "early_stopping": False},
        "data": (256, 12, 400),
        "conditions": True,
    },
    "cox_cvae": {
        "cls": "ecgsk.models.cvae:CoxConditionalVAE",
        "params": {"batch_size": 32, "early_stopping": False},
        "data": (256, 12, 400),
        "conditions": True,
        "survival": True,
    },
}
QUICK = {"epochs": 2, "repeats": 3}


def _import(path):
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _available(name, spec):
    """The model class when it is importable and trains on the engine, else (None, reason)."""
    try:
        cls = _import(spec["cls"])
    except (ImportError, AttributeError) as exc:
        return None, f"not importable ({type(exc).__name__}: {exc})"
    from ecgsk.nn.engine import TorchEstimatorMixin

    if not issubclass(cls, TorchEstimatorMixin):
        return None, "not on the training engine yet"
    params = cls().get_params()
    unknown = sorted(set(spec["params"]) - set(params))
    if unknown:
        return None, f"parameters {unknown} unknown to {cls.__name__}"
    return cls, None


def _data(spec, seed=0):
    """(X, fit_params) for a model's entry."""
    from ecgsk.datasets import make_synthetic_ecgs

    n, leads, samples = spec["data"]
    X = make_synthetic_ecgs(n, n_leads=leads, n_samples=samples, random_state=seed).astype(np.float32)
    fit_params = {}
    rng = np.random.RandomState(seed)
    if spec.get("conditions"):
        import pandas as pd

        fit_params["conditions"] = pd.DataFrame({"age": rng.uniform(20, 80, n).round(),
                                                 "sex": rng.choice(["F", "M"], n)})
    y = None
    if spec.get("survival"):
        y = np.array([(bool(e), float(t)) for e, t in zip(rng.rand(n) < 0.7, rng.exponential(5.0, n) + 0.1)],
                     dtype=[("event", bool), ("time", float)])
    return X, y, fit_params


# -- the plain loop -------------------------------------------------------------------------
class PlainContext:
    """What a model's ``_training_step`` reads from its context, with the plainest implementation.

    ``optimizer_step`` is ``zero_grad(set_to_none=True); backward(); step()`` and ``frozen`` switches
    ``requires_grad`` off and on -- the same ops as the engine's ``TrainingContext`` -- with no clipping
    check, no autocast, no distributed hooks.
    """

    def __init__(self, estimator, modules, optimizers, device, rng, shared_rng):
        self.estimator = estimator
        self.modules = modules
        self.optimizers = optimizers
        self.device = device
        self.rng = rng
        self.shared_rng = shared_rng
        self.epoch = self.step = self.global_step = 0
        self.rank, self.world_size = 0, 1
        self.stop_training = False
        self.history = []
        self.precision, self.gradient_clip = "32", None

    def optimizer_step(self, name, loss):
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @contextlib.contextmanager
    def frozen(self, *names):
        params = [p for n in names for p in self.modules[n].parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def autocast(self):
        return contextlib.nullcontext()

    def gather(self, tensor):
        return tensor


def _batches(n, batch_size, generator):
    """Shuffled index batches of ``batch_size`` rows; a last batch of one row joins the one before."""
    import torch

    order = torch.randperm(n, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def plain_fit(cls, params, X, y, fit_params, epochs, seed=0):
    """Train the model's networks with a plain PyTorch loop; returns (seconds, rows trained)."""
    import torch

    t0 = time.perf_counter()
    est = cls(**params, max_epochs=epochs, device="cpu", random_state=seed)
    # what the kind mixin's fit and the engine record before the hooks run (hooks may read them)
    est.n_features_in_, est.n_timepoints_in_ = X.shape[1], X.shape[2]
    est.history_, est.n_iter_ = [], 0
    device = torch.device("cpu")
    est.device_ = device
    if y is not None:  # what RiskMixin.fit hands the engine (the cox_cvae entry): the (event, time) pair
        from ecgsk.base import check_survival_target

        y = check_survival_target(y, len(X))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        data = est._training_data(X, y, reset=True, **fit_params) if y is not None or fit_params \
            else est._training_data(X, reset=True)
        modules = est._build_modules()
        for attr, module in modules.items():
            setattr(est, attr, module.to(device).train())
        optimizers = est._configure_optimizers()
        ctx = PlainContext(est, {a: getattr(est, a) for a in modules}, optimizers, device,
                           np.random.RandomState(seed + 1), np.random.RandomState(seed + 2))
        tensors = {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in data.items()}
        if type(est)._on_train_begin is not _engine_mixin()._on_train_begin:
            est._on_train_begin(tensors, ctx)
        generator = torch.Generator().manual_seed(seed + 3)
        rows = 0
        for epoch in range(1, epochs + 1):
            ctx.epoch, epoch_tensors = epoch, tensors
            if est._epoch_data is not None:
                epoch_tensors = {k: torch.as_tensor(np.ascontiguousarray(v))
                                 for k, v in est._epoch_data(data, ctx).items()}
            n = len(next(iter(epoch_tensors.values())))
            for step, idx in enumerate(_batches(n, int(est.batch_size), generator)):
                ctx.step = step
                batch = {k: v[idx] for k, v in epoch_tensors.items()}
                est._training_step(batch, ctx)
                ctx.global_step += 1
                rows += len(idx)
    return time.perf_counter() - t0, rows


def _engine_mixin():
    from ecgsk.nn.engine import TorchEstimatorMixin

    return TorchEstimatorMixin


def engine_fit(cls, params, X, y, fit_params, epochs, seed=0, precision="32"):
    """``fit`` on the engine; returns (seconds, fitted estimator)."""
    est = cls(**params, max_epochs=epochs, device="cpu", random_state=seed, precision=precision)
    t0 = time.perf_counter()
    est.fit(X, y, **fit_params) if y is not None else est.fit(X, **fit_params)
    return time.perf_counter() - t0, est


# -- profile ----------------------------------------------------------------------------------
_PROFILED = {
    "training_step": "_training_step",
    "epoch_data": "_epoch_data",
    "training_data": "_training_data",
    "build_modules": "_build_modules",
    "configure_optimizers": "_configure_optimizers",
    "snapshot": "_snapshot",
    "restore": "_restore",
    "epoch_record": "_epoch_record",
    "validate_input": "_validate_ecg",
    "weights_finite_check": "_non_finite_module",
}


def profile_engine(cls, params, X, y, fit_params, epochs):
    """Cumulative seconds of one engine fit's parts (cProfile), and the rest: the loop itself."""
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    engine_fit(cls, params, X, y, fit_params, epochs)
    profiler.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(profiler).stats
    out = {"fit_total_s": total}
    for label, function in _PROFILED.items():
        cum = [v[3] for (filename, _, name), v in stats.items() if name == function]
        out[f"{label}_s"] = max(cum) if cum else 0.0  # the outermost call's cumulative time
    accounted = sum(out[f"{k}_s"] for k in _PROFILED if k not in ("training_data",))
    out["other_s"] = total - accounted
    return {k: round(v, 4) for k, v in out.items()}


# -- main ---------------------------------------------------------------------------------------
def bench_model(name, cls, spec, args):
    import torch

    params = dict(spec["params"])
    X, y, fit_params = _data(spec)
    epochs = args.epochs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine_fit(cls, params, X, y, fit_params, 1)  # warm-up: oneDNN primitives, allocator
        plain_fit(cls, params, X, y, fit_params, 1)
        try:
            engine_fit(cls, params, X, y, fit_params, 1, precision="bf16")
        except TrainingDivergedError:
            pass
        times = {"engine": [], "plain": [], "bf16": []}
        bf16_diverged = []
        rows = None
        for r in range(args.repeats):
            order = ["engine", "plain", "bf16"] if r % 2 == 0 else ["bf16", "plain", "engine"]
            for side in order:
                if side == "plain":
                    dt, rows_now = plain_fit(cls, params, X, y, fit_params, epochs)
                    rows = rows_now if rows is None else rows
                    assert rows_now == rows, (rows_now, rows)
                elif side == "bf16":
                    # a bf16 fit that diverges stops early: its time is not a throughput; count it instead
                    try:
                        dt, _ = engine_fit(cls, params, X, y, fit_params, epochs, precision="bf16")
                    except TrainingDivergedError as exc:
                        bf16_diverged.append(f"round {r}: {exc.key!r} at epoch {exc.epoch}, step {exc.step}")
                        times["bf16"].append(None)
                        continue
                else:
                    dt, est = engine_fit(cls, params, X, y, fit_params, epochs)
                    assert len(est.history_) == epochs
                times[side].append(dt)
    rate = {k: [None if t is None else rows / t for t in v] for k, v in times.items()}
    med = {k: statistics.median([x for x in v if x is not None]) if any(x is not None for x in v) else None
           for k, v in rate.items()}
    per_round = [e / p for e, p in zip(rate["engine"], rate["plain"])]
    bf16_round = [None if b is None else b / e for b, e in zip(rate["bf16"], rate["engine"])]
    n_params = sum(p.numel() for m in est.__dict__.values() if isinstance(m, torch.nn.Module) for p in m.parameters())
    line = {
        "benchmark": "training", "model": name, "class": cls.__name__,
        "params": params, "data_shape": list(spec["data"]), "epochs": epochs, "rows_per_fit": rows,
        "steps_per_epoch": None, "trained_parameters": int(n_params),
        "plain_rows_per_s": round(med["plain"], 2),
        "engine_rows_per_s": round(med["engine"], 2),
        "ratio_engine_plain": round(med["engine"] / med["plain"], 4),
        "ratio_per_round": [round(v, 4) for v in per_round],
        "target_ratio": 0.95, "met": med["engine"] / med["plain"] >= 0.95,
        "bf16_rows_per_s": None if med["bf16"] is None else round(med["bf16"], 2),
        "ratio_bf16_fp32": None if med["bf16"] is None else round(med["bf16"] / med["engine"], 4),
        "ratio_bf16_fp32_per_round": [None if v is None else round(v, 4) for v in bf16_round],
        "bf16_diverged": f"{len(bf16_diverged)} of {args.repeats}", "bf16_divergences": bf16_diverged,
        "seconds": {k: [None if t is None else round(t, 4) for t in v] for k, v in times.items()},
        "repeats": args.repeats, "threads": torch.get_num_threads(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "floor": "plain PyTorch loop of the same networks, same run", "trivial_baseline": None,
    }
    line["steps_per_epoch"] = len(_batches(rows // epochs, int(params["batch_size"]), torch.Generator()))
    if args.profile:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            line["engine_profile"] = profile_engine(cls, params, X, y, fit_params, epochs)
    return line


def _table(lines, skipped):
    head = ("model", "rows/fit", "plain rows/s", "engine rows/s", "engine/plain", "per round", "bf16 rows/s",
            "bf16/fp32", "bf16 diverged")
    rows = [head]
    for ln in lines:
        pr = ln["ratio_per_round"]
        rows.append((ln["model"], str(ln["rows_per_fit"]), f"{ln['plain_rows_per_s']:.1f}",
                     f"{ln['engine_rows_per_s']:.1f}",
                     f"{ln['ratio_engine_plain']:.3f}" + ("" if ln["met"] else " (<0.95)"),
                     f"{min(pr):.3f}-{max(pr):.3f}",
                     "-" if ln["bf16_rows_per_s"] is None else f"{ln['bf16_rows_per_s']:.1f}",
                     "-" if ln["ratio_bf16_fp32"] is None else f"{ln['ratio_bf16_fp32']:.3f}", ln["bf16_diverged"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    text.insert(1, "  ".join("-" * w for w in widths))
    for name, why in skipped.items():
        text.append(f"{name}: skipped, {why}")
    return "\n".join(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {list(MODELS)}")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (each: engine, plain, bf16)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every side")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--profile", action="store_true", help="add a cProfile breakdown of one engine fit")
    parser.add_argument("--out", default=None, help="also append the JSON lines to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats = QUICK["epochs"], QUICK["repeats"]

    import torch

    torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {list(MODELS)}")
    lines, skipped = [], {}
    for name in names:
        cls, why = _available(name, MODELS[name])
        if cls is None:
            skipped[name] = why
            print(json.dumps({"benchmark": "training", "model": name, "skipped": why}), flush=True)
            continue
        line = bench_model(name, cls, MODELS[name], args)
        line["versions"] = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}
        lines.append(line)
        print(json.dumps(line), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(line) + "\n")
    print(_table(lines, skipped))
    return all(ln["met"] for ln in lines)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
