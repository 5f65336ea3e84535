"""Benchmark: ecgsk's Pulse2Pulse inference against deepfake-ecg 1.1.2, in one process.

Two comparisons, each measured ``--repeats`` times with the two sides
alternating, medians reported:

1. in memory: the original ``deepfakeecg`` Generator, batches of 64 under
   ``torch.no_grad`` (noise generation included), against
   ``Pulse2PulseGAN.from_pretrained().sample(N)`` (ECGs/s);
2. to files: ``deepfakeecg.generate(N, dir)`` against
   ``ecgsk.generate(N, dir)``, both writing ``.asc`` (ECGs/s).

Prints one JSON line.

Usage::

    python benchmarks/bench_generate.py [--n-sample 2000] [--n-ref 512] [--n-files 200]
                                        [--repeats 3] [--threads N]
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
    ecgsk.generate(n, out, device="cpu")
    dt = time.perf_counter() - t0
    assert len(os.listdir(out)) == n
    return n / dt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sample", type=int, default=2000, help="ECGs for ecgsk sample()")
    parser.add_argument("--n-ref", type=int, default=512, help="ECGs for the reference network (batches of 64)")
    parser.add_argument("--n-files", type=int, default=200, help="ECGs written to .asc by each generate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for both sides")
    parser.add_argument("--skip-files", action="store_true")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from ecgsk.models.pulse2pulse import Pulse2PulseGAN

    ref_net = _reference_network()
    gan = Pulse2PulseGAN.from_pretrained(device="cpu")
    # warm-up (oneDNN primitive creation, polyphase weights)
    bench_reference_network(ref_net, 64)
    bench_ecgsk_sample(gan, 64)

    res = {"ref_net": [], "ecgsk_sample": [], "deepfakeecg_generate": [], "ecgsk_generate": []}
    with tempfile.TemporaryDirectory() as root:
        for _ in range(args.repeats):
            res["ref_net"].append(bench_reference_network(ref_net, args.n_ref))
            res["ecgsk_sample"].append(bench_ecgsk_sample(gan, args.n_sample))
            if not args.skip_files:
                res["deepfakeecg_generate"].append(bench_deepfakeecg_generate(args.n_files, root))
                res["ecgsk_generate"].append(bench_ecgsk_generate(args.n_files, root))

    def med(key):
        return round(statistics.median(res[key]), 2) if res[key] else None

    out = {
        "bench": "pulse2pulse_generate",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "repeats": args.repeats,
        "sample": {
            "ref_network_batch64_no_grad_ecg_per_s": med("ref_net"),
            "ecgsk_sample_ecg_per_s": med("ecgsk_sample"),
            "n_ref": args.n_ref,
            "n_sample": args.n_sample,
            "ratio": round(med("ecgsk_sample") / med("ref_net"), 2),
            "runs": {k: [round(v, 2) for v in res[k]] for k in ("ref_net", "ecgsk_sample")},
        },
    }
    if not args.skip_files:
        out["generate_asc"] = {
            "deepfakeecg_generate_ecg_per_s": med("deepfakeecg_generate"),
            "ecgsk_generate_ecg_per_s": med("ecgsk_generate"),
            "n": args.n_files,
            "ratio": round(med("ecgsk_generate") / med("deepfakeecg_generate"), 2),
            "runs": {k: [round(v, 2) for v in res[k]] for k in ("deepfakeecg_generate", "ecgsk_generate")},
        }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
