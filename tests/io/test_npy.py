"""ecgsk.io.npy (with ecgsk.io.csv): the .npy/.npz/CSV round trip through the ``(X, meta)`` readers.

The old test_io.py tested the three formats together; the round trip lives
here, its corrupt-file sibling in test_csv.py.
"""

import re

import numpy as np
import pytest

from ecgsk.io import ECGFileError, read_csv, read_npy, read_npz, write_csv, write_npy, write_npz
from ecgsk.leads import LEADS_12


def test_npy_npz_csv_roundtrip(tmp_path, ecg12):
    p = write_npy(ecg12, tmp_path / "x.npy")
    X, meta = read_npy(p)
    np.testing.assert_array_equal(X, ecg12)
    assert meta["record"].tolist() == [f"x[{i}]" for i in range(len(ecg12))] and meta["fs"].isna().all()
    assert meta.loc[0, "leads"] == LEADS_12 and (read_npy(p, fs=250)[1]["fs"] == 250.0).all()
    p = write_npz(tmp_path / "x.npz", ecg12, fs=500, leads=np.array(LEADS_12))
    X, meta = read_npz(p)
    np.testing.assert_array_equal(X, ecg12)
    assert (meta["fs"] == 500.0).all() and meta.loc[1, "leads"] == LEADS_12
    assert list(meta.columns) == ["record", "fs", "leads"]
    paths = write_csv(ecg12[:2], tmp_path / "csv")
    assert paths[0].read_text().splitlines()[0] == ",".join(LEADS_12)
    Y, meta = read_csv(paths[1])
    assert meta.to_dict("records")[0]["leads"] == LEADS_12 and meta.loc[0, "record"] == "1"
    np.testing.assert_allclose(Y[0], ecg12[1], atol=1e-5)


def test_read_npz_gives_every_entry_a_column(tmp_path, ecg12):
    n = len(ecg12)
    p = write_npz(tmp_path / "b.npz", ecg12, record=np.array([f"r{i}" for i in range(n)]), age=np.arange(n) + 30.0,
                  model=np.array("demo"), dx=np.array([["MI", "HYP"]] * n), window=np.array([1, 2, 3]))
    X, meta = read_npz(p, fs=360)
    np.testing.assert_array_equal(X, ecg12)
    assert meta["record"].tolist() == [f"r{i}" for i in range(n)]
    assert (meta["fs"] == 360.0).all()  # none stored: the one given
    assert meta["age"].tolist() == [30.0 + i for i in range(n)]  # first axis n: one item per ECG
    assert meta.loc[0, "dx"] == ["MI", "HYP"]
    assert (meta["model"] == "demo").all() and meta.loc[1, "window"] == [1, 2, 3]  # 0-d, other length: on every row
    bad = {
        "noX.npz": ({"Y": ecg12}, "no array 'X'"),
        "leads.npz": ({"X": ecg12, "leads": np.array(["I", "II"])}, "'leads' names 2 leads, 'X' holds 12"),
        "fs.npz": ({"X": ecg12, "fs": np.array([250, 500])}, "'fs' is not one number"),
        "fs0.npz": ({"X": ecg12, "fs": np.array(0.0)}, "'fs' 0.0 must be positive"),
        "rec.npz": ({"X": ecg12, "record": np.array(["a"])}, "'record' must name the"),
    }
    for name, (arrays, message) in bad.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ECGFileError, match=re.escape(name) + ": " + message):
            read_npz(tmp_path / name)
