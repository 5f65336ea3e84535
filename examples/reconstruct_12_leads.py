"""Reconstruct a 12-lead ECG from lead I.

Fits the ridge floor (:class:`~ecgsk.models.linear.LinearLeadReconstructor`)
and a CPU-sized :class:`~ecgsk.models.ekgan.EKGAN` on band-passed LUDB
records, reconstructs a held-out record from its lead I, and saves a figure
comparing the real and reconstructed leads.  Runs in under 2 minutes on a
CPU (EKGAN at 1/8 of the paper's width, 2 epochs, ``lr=1e-3``); a real EKGAN
trains with ``width=64`` (the paper's size) for many epochs on a GPU.

Usage::

    python examples/reconstruct_12_leads.py [--out reconstruction.png] [--epochs 1]
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import torch  # noqa: E402

from ecgsk.datasets import load_ludb  # noqa: E402
from ecgsk.leads import LEADS_12  # noqa: E402
from ecgsk.models.ekgan import EKGAN  # noqa: E402
from ecgsk.models.linear import LinearLeadReconstructor  # noqa: E402
from ecgsk.pipeline import ECGPipeline  # noqa: E402
from ecgsk.preprocessing import BandpassFilter  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ludb"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reconstruction.png")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=100)
    parser.add_argument("--record", type=int, default=199, help="index of the held-out LUDB record")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small convolutions: one thread is as fast and leaves the other core free

    X, meta = load_ludb(DATA)
    train, test = X[: args.n_train], X[args.record: args.record + 1]

    models = {
        "ridge": LinearLeadReconstructor(),
        "EKGAN": EKGAN(window=512, stride=128, train_stride=512, width=args.width, max_epochs=args.epochs,
                       lr=1e-3, device="cpu", random_state=0),
    }
    recon, real = {}, None
    for name, model in models.items():
        pipe = ECGPipeline([("bandpass", BandpassFilter(0.5, 40.0, fs=500)), ("model", model)])
        start = time.time()
        pipe.fit(train)
        filtered = pipe[:-1].transform(test)  # the band-passed reference
        real = filtered[0]
        recon[name] = model.transform(filtered[:, :1])[0]  # from lead I alone
        print(f"{name}: fitted in {time.time() - start:.0f} s, held-out mean r = {pipe.score(test):.3f}")

    t = np.arange(real.shape[1]) / 500.0
    shown = slice(0, 1500)  # 3 s
    fig, axes = plt.subplots(6, 2, figsize=(14, 12), sharex=True)
    for k, ax in enumerate(axes.T.ravel()):
        ax.plot(t[shown], real[k, shown], color="black", lw=1.2, label="real")
        for name, color in zip(recon, ("tab:blue", "tab:red")):
            ax.plot(t[shown], recon[name][k, shown], color=color, lw=0.9, alpha=0.8, label=name)
        ax.set_ylabel(f"{LEADS_12[k]} (mV)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 1].set_xlabel("time (s)")
    fig.suptitle(f"LUDB record {meta['record'].iloc[args.record]}: 12 leads reconstructed from lead I")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
