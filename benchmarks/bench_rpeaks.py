"""R-peak detection F1: ecgsk's RPeakDetector vs neurokit2's default, same run.

- CPSC 2019 (50 single-lead 10-s records, 500 Hz): F1 at 75 ms tolerance
  against the reference R peaks.
- MIT-BIH record 100 (30 min, 360 Hz): F1 at 150 ms against the beat
  annotations (beat symbols only; rhythm and other non-beat marks such as
  ``+`` are dropped), on lead MLII, and ecgsk also on both leads (vote).
- LUDB (200 12-lead records, 500 Hz): reference = the QRS peaks (``N``)
  that the annotators marked in lead II.  Annotations do not cover the first
  and last 1-2 s of each record, so only detections between the first and
  last annotation mark of the record's lead-II file count.  F1 at 75 ms for
  the multi-lead detector (vote, the default, and the median combination)
  and for lead II alone.

neurokit2's default is ``nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=fs),
sampling_rate=fs)``.  Matching is greedy one-to-one within the tolerance.
Prints one JSON line.

    python benchmarks/bench_rpeaks.py [--data PATH]
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from ecgsk.metrics import peak_detection_f1

# MIT-BIH beat annotation symbols (wfdb's ann_label_table, beat classes only).
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def f1_score(detections, references, tol, spans=None):
    f1, counts = peak_detection_f1(detections, references, tol, spans, return_counts=True)
    return {"f1": round(f1, 4), **counts}


def nk_default(x, fs):
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = nk.ecg_peaks(nk.ecg_clean(np.asarray(x, dtype=np.float64), sampling_rate=fs), sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data home holding ludb/, cpsc2019/, mitdb/")
    args = parser.parse_args()

    import neurokit2 as nk

    from ecgsk.datasets import get_data_home, load_cpsc2019, load_ludb, load_mitdb
    from ecgsk.preprocessing import RPeakDetector

    home = get_data_home(args.data)
    result = {"benchmark": "rpeaks", "neurokit2": nk.__version__}

    # CPSC 2019
    X, refs = load_cpsc2019(Path(home) / "cpsc2019")
    tol = int(round(0.075 * 500))
    ours, t_ours = timed(lambda: RPeakDetector(fs=500).fit(X).detect(X))
    theirs, t_nk = timed(lambda: [nk_default(x[0], 500) for x in X])
    result["cpsc2019_f1_75ms"] = {"ecgsk": f1_score(ours, refs, tol), "neurokit2": f1_score(theirs, refs, tol),
                                  "seconds": {"ecgsk": t_ours, "neurokit2": t_nk}}

    # MIT-BIH 100
    X, fs, samples, symbols = load_mitdb(Path(home) / "mitdb", record="100")
    fs = float(fs)
    ref = [np.asarray(samples)[np.isin(np.asarray(symbols, dtype=object), list(BEAT_SYMBOLS))]]
    tol = int(round(0.150 * fs))
    ours, t_ours = timed(lambda: RPeakDetector(fs=fs).fit(X[:, :1]).detect(X[:, :1]))
    both, t_both = timed(lambda: RPeakDetector(fs=fs).fit(X).detect(X))
    theirs, t_nk = timed(lambda: [nk_default(X[0, 0], fs)])
    result["mitdb100_f1_150ms"] = {"n_beats": int(len(ref[0])), "ecgsk_MLII": f1_score(ours, ref, tol),
                                   "ecgsk_2lead_vote": f1_score(both, ref, tol),
                                   "neurokit2_MLII": f1_score(theirs, ref, tol),
                                   "seconds": {"ecgsk_MLII": t_ours, "ecgsk_2lead": t_both, "neurokit2": t_nk}}

    # LUDB, lead-II QRS peaks as reference, annotated span only
    X, _, delineation = load_ludb(Path(home) / "ludb", return_delineation=True)
    refs, spans = [], []
    for rec in delineation:
        waves = rec["II"]
        refs.append(waves.loc[waves["wave"] == "QRS", "peak"].to_numpy())
        marks = np.concatenate([waves[c].to_numpy() for c in ("onset", "peak", "offset")])
        marks = marks[marks >= 0]
        spans.append((int(marks.min()), int(marks.max())))
    tol = int(round(0.075 * 500))
    vote, t_vote = timed(lambda: RPeakDetector(fs=500).fit(X).detect(X))
    median, t_median = timed(lambda: RPeakDetector(fs=500, combine="median").fit(X).detect(X))
    lead2, t_lead2 = timed(lambda: RPeakDetector(fs=500).fit(X[:, 1:2]).detect(X[:, 1:2]))
    lead1, _ = timed(lambda: RPeakDetector(fs=500).fit(X[:, :1]).detect(X[:, :1]))
    nk2, t_nk = timed(lambda: [nk_default(x[1], 500) for x in X])
    result["ludb_leadII_ref_f1_75ms"] = {
        "ecgsk_12lead_vote": f1_score(vote, refs, tol, spans),
        "ecgsk_12lead_median": f1_score(median, refs, tol, spans),
        "ecgsk_leadII": f1_score(lead2, refs, tol, spans),
        "ecgsk_leadI": f1_score(lead1, refs, tol, spans),
        "neurokit2_leadII": f1_score(nk2, refs, tol, spans),
        "seconds": {"vote": t_vote, "median": t_median, "leadII": t_lead2, "neurokit2_leadII": t_nk},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
