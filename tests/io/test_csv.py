"""ecgsk.io.csv (with ecgsk.io.npy): corrupt .npy/.npz/CSV files name the file.

The old test_io.py tested the three formats together; this test is moved
unchanged, its round-trip sibling lives in test_npy.py.
"""

import re

import numpy as np
import pytest

from ecgsk.io import ECGFileError, read_csv, read_npy, read_npz, write_csv, write_npy, write_npz


def test_npy_npz_csv_corrupt_name_the_file(tmp_path, ecg12):
    for name, writer in (("x.npy", write_npy), ("x.npz", lambda X, p: write_npz(p, X))):
        p = tmp_path / name
        writer(ecg12, p) if name.endswith("npy") else writer(ecg12, p)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        with pytest.raises(ECGFileError, match=re.escape(name)):
            (read_npy if name.endswith("npy") else read_npz)(p)
    bad = tmp_path / "nan.npy"
    np.save(bad, np.full((1, 2, 3), np.nan))
    with pytest.raises(ECGFileError, match="nan.npy"):
        read_npy(bad)
    p = write_csv(ecg12[:1], tmp_path)[0]
    text = p.read_text()
    p.write_text(text[: len(text) // 2].rsplit(",", 1)[0] + "\n")
    with pytest.raises(ECGFileError, match=re.escape(p.name)):
        read_csv(p)
