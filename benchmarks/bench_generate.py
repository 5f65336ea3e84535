"""Benchmark: ecgsk's Pulse2Pulse inference against deepfake-ecg 1.1.2, in one process.

For each torch thread count in ``--threads`` (``torch.set_num_threads`` for
both sides), two comparisons, each repeated with the two sides alternating:

1. in memory: the original ``deepfakeecg`` Generator, batches of 64 under
   ``torch.no_grad`` (noise generation included), against
   ``Pulse2PulseGAN.from_pretrained().sample(N)`` (ECGs/s); target >= 3x;
2. to files, for each N in ``--n-files``: ``deepfakeecg.generate(N, dir)``
   against ``ecgsk.generate(N, dir)``, both writing ``.asc``, model load
   included (ECGs/s); target >= 5x at N < 1000, >= 8x at N >= 1000 (issue 17).

deepfake-ecg is the baseline of every row, measured in the same run.  ecgsk
loads its converted weights from the pretrained-weights cache (the steady
state; the warm-up fills it), and the load from a cold cache is reported
once.  ``os.getloadavg()`` is recorded before and after every row: the
machine is shared, so absolute rates move with its load while the ratios of
the alternating runs stay comparable.

Prints one JSON line per row as it finishes, then one summary JSON line.

Usage::

    python benchmarks/bench_generate.py [--threads 1 2] [--n-files 100 200 2000]
        [--repeats 3] [--repeats-large 1] [--n-sample 512] [--n-ref 256] [--skip-files] [--skip-sample]
"""

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

LARGE = 1000  # N from which the >= 8x target applies


def _load():
    return round(os.getloadavg()[0], 2)


def _reference_network():
    import torch

    from ecgsk.models.pulse2pulse import pretrained_checkpoint_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from deepfakeecg import Generator

        net = Generator()
    net.load_state_dict(torch.load(pretrained_checkpoint_path(), map_location="cpu", weights_only=True)["stat_dict"])
    return net.eval()


def bench_reference_network(net, n, batch=64):
    import torch

    t0 = time.perf_counter()
    with torch.no_grad():
        done = 0
        while done < n:
            b = min(batch, n - done)
            noise = torch.Tensor(b, 8, 5000).uniform_(-1, 1)
            net(noise).numpy()
            done += b
    return n / (time.perf_counter() - t0)


def bench_ecgsk_sample(gan, n):
    t0 = time.perf_counter()
    X = gan.sample(n)
    dt = time.perf_counter() - t0
    assert X.shape == (n, 8, 5000)
    return n / dt


def bench_deepfakeecg_generate(n, root):
    import deepfakeecg

    out = tempfile.mkdtemp(dir=root)
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deepfakeecg.generate(n, out, start_id=0, run_device="cpu")
    dt = time.perf_counter() - t0
    assert len(os.listdir(out)) == n
    return n / dt


def bench_ecgsk_generate(n, root):
    import ecgsk

    out = os.path.join(tempfile.mkdtemp(dir=root), "out")
    t0 = time.perf_counter()
    ecgsk.generate(n, out, device="cpu")  # loads the model (from the weights cache) inside the timing
    dt = time.perf_counter() - t0
    assert len(os.listdir(out)) == n
    return n / dt


def bench_cold_load():
    """Seconds for from_pretrained with an empty cache (conversion + cache write), then with the cache filled."""
    from ecgsk.models.pulse2pulse import Pulse2PulseGAN

    saved = os.environ.get("ECGSK_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ECGSK_CACHE"] = cache
        try:
            t0 = time.perf_counter()
            Pulse2PulseGAN.from_pretrained(device="cpu")
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            Pulse2PulseGAN.from_pretrained(device="cpu")
            warm = time.perf_counter() - t0
        finally:
            if saved is None:
                del os.environ["ECGSK_CACHE"]
            else:
                os.environ["ECGSK_CACHE"] = saved
    return {"cold_cache_s": round(cold, 3), "warm_cache_s": round(warm, 3)}


def _med(values):
    return round(statistics.median(values), 2)


def _row(kind, threads, n, ref, ours, target, load0):
    paired = [o / r for r, o in zip(ref, ours)]
    ratio = round(_med(ours) / _med(ref), 2)
    row = {"row": kind, "threads": threads, "n": n, "baseline_ecg_per_s": _med(ref), "ecgsk_ecg_per_s": _med(ours),
           "ratio": ratio, "paired_ratios": [round(p, 2) for p in paired], "target": target, "met": ratio >= target,
           "runs": {"baseline": [round(v, 2) for v in ref], "ecgsk": [round(v, 2) for v in ours]},
           "loadavg_1min": [load0, _load()]}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts, one row set each")
    parser.add_argument("--n-files", type=int, nargs="+", default=[100, 200, 2000],
                        help="ECGs written to .asc by each generate")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per row (N < 1000)")
    parser.add_argument("--repeats-large", type=int, default=1, help="alternating runs per row for N >= 1000")
    parser.add_argument("--n-sample", type=int, default=512, help="ECGs for ecgsk sample()")
    parser.add_argument("--n-ref", type=int, default=256, help="ECGs for the reference network (batches of 64)")
    parser.add_argument("--skip-files", action="store_true")
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from ecgsk.models.pulse2pulse import Pulse2PulseGAN

    out = {"bench": "pulse2pulse_generate", "python": platform.python_version(), "torch": torch.__version__,
           "cpu_count": os.cpu_count(), "loadavg_start": _load(), "cold_load": bench_cold_load(), "rows": []}
    print(json.dumps({"cold_load": out["cold_load"], "loadavg_1min": _load()}), flush=True)
    ref_net = _reference_network()
    with tempfile.TemporaryDirectory() as root:
        for threads in args.threads:
            torch.set_num_threads(threads)
            gan = Pulse2PulseGAN.from_pretrained(device="cpu")  # also fills the default weights cache
            # warm-up (oneDNN primitive creation, the .asc lookup table)
            bench_reference_network(ref_net, 64)
            bench_ecgsk_sample(gan, 64)
            bench_ecgsk_generate(2, root)
            if not args.skip_sample:
                load0, ref, ours = _load(), [], []
                for _ in range(args.repeats):
                    ref.append(bench_reference_network(ref_net, args.n_ref))
                    ours.append(bench_ecgsk_sample(gan, args.n_sample))
                out["rows"].append(_row("sample_vs_network_batch64", threads, args.n_sample, ref, ours, 3.0, load0))
            if args.skip_files:
                continue
            for n in args.n_files:
                load0, ref, ours = _load(), [], []
                for _ in range(args.repeats_large if n >= LARGE else args.repeats):
                    ref.append(bench_deepfakeecg_generate(n, root))
                    ours.append(bench_ecgsk_generate(n, root))
                out["rows"].append(_row("generate_asc", threads, n, ref, ours, 8.0 if n >= LARGE else 5.0, load0))
    out["loadavg_end"] = _load()
    out["all_met"] = all(r["met"] for r in out["rows"])
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
