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


# Issue 15, "Readers / read_csv": both files below were read without error, and wrongly, before.


def test_read_csv_reads_a_headerless_file_correctly(tmp_path):
    p = tmp_path / "headerless.csv"
    np.savetxt(p, np.arange(24.0).reshape(3, 8), delimiter=",")  # the file: 3 samples of 8 leads
    X, meta = read_csv(p)  # was (8, 2): the first sample became the lead names
    assert X.shape == (1, 8, 3) and meta.loc[0, "leads"] == ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    np.testing.assert_array_equal(X[0], np.arange(24.0).reshape(3, 8).T)


def test_read_csv_refuses_decimal_commas_and_ragged_rows(tmp_path):
    cases = {
        "comma.csv": ("I,II\n0,5,1,25\n", "more fields than the first"),  # was [[1, 2], [25, 0]]
        "short.csv": ("I,II\n1,2\n3\n", r"line 3, column 2: '' is empty"),
        "nan.csv": ("I,II\n1,2\nnan,4\n", r"line 3, column 1: 'nan' is not finite"),
        "complex.csv": ("I,II\n1,2j\n", r"line 2, column 2: '2j' is not a number"),
        "dup.csv": ("I,i\n1,2\n", "duplicate lead names"),
        "empty.csv": ("", "empty CSV file"),
        "header_only.csv": ("I,II\n", "no data rows"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ECGFileError, match=re.escape(name) + ".*" + message):
            read_csv(tmp_path / name)
