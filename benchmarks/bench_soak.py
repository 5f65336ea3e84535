"""Bounded soak of ``ecgsk generate``: stream N ECGs to .asc, kill halfway, resume with --start-id.

Runs the pretrained Pulse2Pulse through the real command line (one thread,
``nice``), samples the generating process's RSS with psutil every
``--interval`` seconds, kills it (SIGKILL by default, or SIGINT) once half of
the files exist, and resumes with ``--start-id K -n N-K --overwrite`` where K
is the number of complete files present.  Then it checks that

* every file ``0.asc`` .. ``{N-1}.asc`` exists and holds 5000 rows of 8 integers,
  and no temporary file is left;
* the resumed ids continue exactly: ids K-1, K and K+1 (around the kill) are
  byte-identical to a separate uninterrupted run of those ids with the same seed;
* memory stays flat: peak RSS in the last quarter of each run against the second
  (the first holds start-up: imports and loading the weights).

Usage::

    nice -n 10 python benchmarks/bench_soak.py            # 20,000 ECGs (the default)
    nice -n 10 python benchmarks/bench_soak.py -n 500     # rate check
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil


def _count_complete(out_dir):
    """Number of ``{id}.asc`` files present, checked to be the contiguous ids 0..K-1."""
    ids = sorted(int(p.stem) for p in out_dir.glob("*.asc"))
    if ids != list(range(len(ids))):
        raise SystemExit(f"FAIL: the files present are not the contiguous ids 0..{len(ids) - 1}")
    return len(ids)


def _run(cmd, env, interval, stop_at=None, out_dir=None, sig=signal.SIGKILL):
    """Run ``cmd``; sample RSS (MiB) every ``interval`` s; send ``sig`` once ``stop_at`` files exist."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    samples, t0, killed = [], time.perf_counter(), False
    while proc.poll() is None:
        try:
            samples.append((time.perf_counter() - t0, ps.memory_info().rss / 2**20))
        except psutil.Error:
            pass
        if stop_at is not None and not killed and len(os.listdir(out_dir)) >= stop_at:
            proc.send_signal(sig)
            killed = True
        time.sleep(interval)
    out, err = proc.communicate()
    return proc.returncode, samples, time.perf_counter() - t0, out.decode(), err.decode()


def _flatness(samples):
    """Peak RSS in the second quarter (after start-up: imports, weights) and the last quarter, overall peak."""
    rss = np.array([r for _, r in samples])
    q = max(1, len(rss) // 4)
    return float(rss[q : 2 * q].max()), float(rss[-q:].max()), float(rss.max())


def _deciles(samples):
    rss = np.array([r for _, r in samples])
    return " ".join(f"{rss[min(len(rss) - 1, int(f * len(rss)))]:.0f}" for f in np.linspace(0, 1, 11))


def _check_file(path):
    data = path.read_bytes()
    rows = data.split(b"\n")
    if rows[-1] != b"" or len(rows) != 5001 or any(len(r.split()) != 8 for r in rows[:-1]):
        raise SystemExit(f"FAIL: {path} is incomplete or malformed")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=20000, help="ECGs in all (default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--signal", choices=["KILL", "INT"], default="KILL")
    ap.add_argument("--interval", type=float, default=0.5, help="RSS sampling interval, s")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one, removed)")
    args = ap.parse_args()
    n = args.n
    work = Path(args.dir or tempfile.mkdtemp(prefix="ecgsk-soak-"))
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    base = [sys.executable, "-m", "ecgsk.cli", "generate", "-o", str(out), "--seed", str(args.seed), "-q",
            "--format", "asc"]
    sig = getattr(signal, f"SIG{args.signal}")
    out.mkdir(parents=True)
    print(f"soak: {n} ECGs to .asc, kill (SIG{args.signal}) at {n // 2}, resume with --start-id")
    rc1, s1, t1, _, err1 = _run(base + ["-n", str(n)], env, args.interval, stop_at=n // 2, out_dir=out, sig=sig)
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    k = _count_complete(out)
    print(f"run 1: exit {rc1} after {t1:.1f} s, {k} complete files, {len(leftovers)} temporary file(s) left "
          f"({', '.join(leftovers[:3])})")
    for i in range(k):
        _check_file(out / f"{i}.asc")
    rc2, s2, t2, out2, err2 = _run(base + ["-n", str(n - k), "--start-id", str(k), "--overwrite"], env, args.interval)
    if rc2 != 0:
        raise SystemExit(f"FAIL: the resumed run exited {rc2}: {err2.strip()}")
    print(f"run 2: {out2.strip()} in {t2:.1f} s")
    if sorted(int(p.stem) for p in out.glob("*.asc")) != list(range(n)):
        raise SystemExit("FAIL: after resuming, the ids are not exactly 0..N-1")
    stray = [p.name for p in out.iterdir() if not p.name.endswith(".asc")]
    if stray:
        raise SystemExit(f"FAIL: files other than .asc left: {stray[:5]}")
    for i in range(k, n):
        _check_file(out / f"{i}.asc")
    ref = work / "ref"
    shutil.rmtree(ref, ignore_errors=True)
    lo = max(0, k - 1)
    subprocess.run([sys.executable, "-m", "ecgsk.cli", "generate", "-o", str(ref), "--seed", str(args.seed), "-q",
                    "-n", "3", "--start-id", str(lo)], env=env, check=True, capture_output=True)
    same = [(ref / f"{i}.asc").read_bytes() == (out / f"{i}.asc").read_bytes() for i in range(lo, lo + 3)]
    rate = n / (t1 * k / max(k, 1) + t2) if k else float("nan")
    for name, samples in (("run 1", s1), ("run 2", s2)):
        first, last, peak = _flatness(samples)
        print(f"{name}: peak RSS {peak:.0f} MiB; 2nd-quarter max {first:.0f} MiB, last-quarter max {last:.0f} MiB "
              f"({len(samples)} samples; RSS at 0%, 10%, ..., 100% of the run: {_deciles(samples)} MiB)")
    print(f"all {n} files complete (5000 rows x 8 integers); resumed ids {lo}..{lo + 2} byte-identical to an "
          f"uninterrupted run: {all(same)}; overall {n / (t1 + t2):.1f} ECG/s")
    if not all(same):
        raise SystemExit("FAIL: the resumed ids do not continue exactly")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
