"""Records per second that ecgsk.io.pack sustains, and that a training epoch sustains from disk vs memory.

Usage: python benchmarks/bench_pack.py [--records 200] [--epoch-records 512]

pack: synthetic 12-lead 10-s 500 Hz records written as WFDB, packed to int16
(the reference is ecgsk.io.read of the same folder into memory). Epoch: one
epoch of a small Pulse2PulseGAN (model_size=5, 8 leads x 2500, batch 32) on
the same float32 data from an open_memmap file and from an in-memory array.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.io import open_packed, pack, read, write
from ecgsk.models import Pulse2PulseGAN


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--epoch-records", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        X = make_synthetic_ecgs(args.records, n_leads=12, n_samples=5000, random_state=0)
        write(X, d / "wfdb", format="wfdb")
        t0 = time.perf_counter()
        read(d / "wfdb")
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        path = pack(d / "wfdb", d / "packed.npy", fs=500, length=5000)
        t_pack = time.perf_counter() - t0
        assert open_packed(path).shape == X.shape
        print(f"pack: {args.records} WFDB records in {t_pack:.2f} s = {args.records / t_pack:.1f} records/s "
              f"(reference, ecgsk.io.read into memory: {args.records / t_read:.1f} records/s)")

        n = args.epoch_records
        Y = make_synthetic_ecgs(n, n_leads=8, n_samples=2500, random_state=1)
        mm = open_memmap(d / "epoch.npy", mode="w+", dtype=np.float32, shape=Y.shape)
        mm[:] = Y
        mm.flush()
        del mm
        params = dict(model_size=5, length=2500, max_epochs=1, n_critic=1, batch_size=32, device="cpu",
                      random_state=0)
        results = {}
        for name, data in (("memory", Y), ("disk (memmap)", np.load(d / "epoch.npy", mmap_mode="r"))):
            t0 = time.perf_counter()
            Pulse2PulseGAN(**params).fit(data)
            results[name] = n / (time.perf_counter() - t0)
        print(f"epoch: {n} records of (8, 2500), batch 32: from memory {results['memory']:.1f} records/s, "
              f"from disk {results['disk (memmap)']:.1f} records/s "
              f"(ratio {results['disk (memmap)'] / results['memory']:.3f})")


if __name__ == "__main__":
    main()
