"""Generate 12-lead median beats for a given age and sex with a conditional VAE.

Fits :class:`~ecgsk.models.cvae.ConditionalVAE` (Sang et al., ISBI 2022) on the
median beats of the 200 LUDB records, conditioned on age and sex (LUDB has no
BMI), then generates beats for a 30-year-old woman and a 70-year-old man and
saves a 12-lead figure of each: the mean of the generated beats, with the mean
real beat of LUDB subjects of the same sex and similar age drawn on top.
Takes about 90 s of CPU time (one torch thread); the wall-clock time grows
when the cores are shared.  Fewer ``--epochs`` give flatter QRS complexes.

Usage::

    python examples/conditional_generation.py [--out-dir .] [--epochs 150]
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from ecgsk.datasets import load_ludb  # noqa: E402
from ecgsk.models.cvae import ConditionalVAE  # noqa: E402
from ecgsk.pipeline import make_pipeline  # noqa: E402
from ecgsk.plotting import plot_ecg  # noqa: E402
from ecgsk.preprocessing import BaselineWanderRemoval, MedianBeat  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ludb"
SUBJECTS = {"woman_30": {"age": 30.0, "sex": "F"}, "man_70": {"age": 70.0, "sex": "M"}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out-dir", default=".")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--n-samples", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a small network: extra threads only add overhead
    t0 = time.time()

    X, meta = load_ludb(args.data)  # (200, 12, 5000) mV, meta: age, sex "M"/"F", diagnoses
    conditions = meta[["age", "sex"]]
    pipe = make_pipeline(
        BaselineWanderRemoval(fs=500),
        MedianBeat(length=400, fs=500),
        ConditionalVAE(latent_dim=10, beat_length=400, max_epochs=args.epochs, random_state=0),
    )
    # Without metadata routing, conditions reach the model as a step parameter.
    pipe.fit(X, conditionalvae__conditions=conditions)
    print(f"fitted in {time.time() - t0:.0f} s; final training loss {pipe[-1].history_[-1]['loss']:.1f}")

    real_beats = pipe[:-1].transform(X)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, subject in SUBJECTS.items():
        beats = pipe.sample(args.n_samples, conditions=pd.DataFrame([subject]), random_state=1)
        similar = (meta["sex"] == subject["sex"]) & ((meta["age"] - subject["age"]).abs() <= 10)
        fig = plot_ecg(
            beats.mean(axis=0), fs=500, label=f"mean of {args.n_samples} generated",
            overlay=real_beats[similar.to_numpy()].mean(axis=0),
            overlay_label=f"mean real beat, LUDB {subject['sex']} aged {subject['age'] - 10:.0f}-"
                          f"{subject['age'] + 10:.0f} (n={int(similar.sum())})",
            title=f"cVAE median beat: {subject['sex']}, {subject['age']:.0f} years",
        )
        path = out_dir / f"cvae_{name}.png"
        fig.savefig(path, dpi=100)
        print(f"{name}: {beats.shape} beats, R amplitude II {beats[:, 1].max(axis=1).mean():.2f} mV -> {path}")
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
