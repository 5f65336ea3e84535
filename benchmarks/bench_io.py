"""Reader benchmark (issue 15 item 1): time and peak memory of ``read_asc`` on a 30 MB ``.asc`` file.

Run ``python benchmarks/bench_io.py [--mb 30]``.  It writes one deepfake-ecg
style file of 8 integer µV columns (about ``--mb`` MB) to a temporary folder,
reads it with :func:`ecgsk.io.read_asc` (which returns ``(X, meta)``), and prints the wall time and the
peak of Python-traced memory (``tracemalloc``, which NumPy's allocations
report to) as a multiple of the file size.  Issue 15 measured the old reader
at 3.5 s and about 760 MB (25x) for 30 MB; the floor printed beside it is
the float32 result itself (0.5x the file size for 8 columns of ~6 bytes).
"""

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ecgsk.io import read_asc, write_asc_microvolts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=30.0, help="file size in MB (default 30)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        rows = 1000
        U = (np.tanh(rng.standard_normal((1, 8, rows))) * 6000).astype(np.int32)
        per_row = write_asc_microvolts(U, Path(d) / "probe")[0].stat().st_size / rows
        rows = int(args.mb * 1e6 / per_row)
        U = (np.tanh(rng.standard_normal((1, 8, rows))) * 6000).astype(np.int32)
        path = write_asc_microvolts(U, d)[0]
        size = path.stat().st_size
        t0 = time.perf_counter()
        read_asc(path)
        wall = time.perf_counter() - t0  # timed without tracemalloc, which slows allocation
        tracemalloc.start()
        X, meta = read_asc(path)  # the (X (1, 8, rows), meta) pair of issue 16
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert X.shape == (1, 8, rows) and np.array_equal(np.round(X * 1000).astype(np.int32), U)
        assert meta.loc[0, "record"] == path.stem
        print(f"file: {size / 1e6:.1f} MB, {rows} rows of 8 integers")
        print(f"read_asc: {wall:.2f} s, peak traced memory {peak / 1e6:.1f} MB = {peak / size:.2f}x the file")
        print(f"floor (the float32 result alone): {X.nbytes / 1e6:.1f} MB = {X.nbytes / size:.2f}x the file")


if __name__ == "__main__":
    main()
