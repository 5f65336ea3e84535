"""Throughput of ecgsk's batch filters vs neurokit2.ecg_clean looped over leads.

Workload: the 200 LUDB 12-lead records (500 Hz, 10 s) used twice = 400
records, 4800 lead signals.  ecgsk runs BandpassFilter(0.5-40 Hz, order 4)
plus NotchFilter(50 Hz) on the whole float32 batch: once as a FilterChain
(one SOS cascade, one sosfiltfilt pass) and once as the two transformers one
after the other.  neurokit2 runs ``nk.ecg_clean(signal, sampling_rate=500)``
(0.5 Hz order-5 Butterworth high-pass + 50 Hz powerline moving average) on
every lead in a Python loop.  Both sides run in the same process; the best
of ``--repeats`` timings is kept for each.  Prints one JSON line.

    python benchmarks/bench_filters.py [--data PATH] [--repeats 3]
"""

import argparse
import json
import platform
import time

import numpy as np


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="LUDB directory (default: ecgsk's data home)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nk-repeats", type=int, default=1)
    args = parser.parse_args()

    import neurokit2 as nk
    import scipy

    from ecgsk.datasets import load_ludb
    from ecgsk.preprocessing import BandpassFilter, FilterChain, NotchFilter

    X, _ = load_ludb(args.data)
    X = np.ascontiguousarray(np.concatenate([X, X]))  # 400 records: LUDB's 200, twice
    n, n_leads, n_samples = X.shape
    X64 = X.astype(np.float64)  # neurokit2's input, converted outside the timing

    chain = FilterChain([BandpassFilter(fs=500), NotchFilter(fs=500)]).fit(X[:1])
    bandpass, notch = BandpassFilter(fs=500).fit(X[:1]), NotchFilter(fs=500).fit(X[:1])

    def ecgsk_chain():
        return chain.transform(X)

    def ecgsk_sequential():
        return notch.transform(bandpass.transform(X))

    def neurokit():
        for rec in X64:
            for lead in rec:
                nk.ecg_clean(lead, sampling_rate=500)

    ecgsk_chain()  # warm-up (imports, caches)
    t_chain = best_of(ecgsk_chain, args.repeats)
    t_seq = best_of(ecgsk_sequential, args.repeats)
    t_nk = best_of(neurokit, args.nk_repeats)
    print(json.dumps({
        "benchmark": "filters",
        "workload": "LUDB 200 records x2 = 400 x 12 leads x 5000 samples (500 Hz)",
        "n_records": n, "n_leads": n_leads, "n_samples": n_samples,
        "ecgsk_filterchain_s": round(t_chain, 4),
        "ecgsk_sequential_s": round(t_seq, 4),
        "neurokit2_ecg_clean_loop_s": round(t_nk, 4),
        "speedup_filterchain": round(t_nk / t_chain, 2),
        "speedup_sequential": round(t_nk / t_seq, 2),
        "ecgsk_records_per_s": round(n / t_chain, 1),
        "neurokit2_records_per_s": round(n / t_nk, 1),
        "repeats": args.repeats, "nk_repeats": args.nk_repeats,
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "neurokit2": nk.__version__,
                     "python": platform.python_version()},
    }))


if __name__ == "__main__":
    main()
