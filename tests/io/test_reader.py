"""ecgsk.io.reader: ecgsk.io.read reads every format, files and folders, into (X, meta)."""

import shutil

import numpy as np
import pytest

from ecgsk.io import ECGFileError, read, write, write_npz
from ecgsk.leads import LEADS_8, LEADS_12


@pytest.mark.parametrize("fmt", ["asc", "csv", "npy", "wfdb"])
@pytest.mark.parametrize("n_leads", [8, 12])
def test_read_detects_the_format_of_a_folder_and_a_file(tmp_path, fmt, n_leads):
    rng = np.random.default_rng(n_leads)
    X = (rng.standard_normal((3, n_leads, 400)) * 0.5).astype(np.float32)
    paths = write(X, tmp_path, format=fmt, meta={"model": "demo", "seed": 7})
    Y, meta = read(tmp_path)
    assert Y.shape == X.shape and Y.dtype == np.float32
    np.testing.assert_allclose(Y, X, atol=1e-3 if fmt in ("asc", "wfdb") else 1e-5)
    assert list(meta.columns[:3]) == ["record", "fs", "leads"]
    assert meta["record"].tolist() == ["0", "1", "2"]
    assert all(ld == (LEADS_12 if n_leads == 12 else LEADS_8) for ld in meta["leads"])
    if fmt == "wfdb":
        assert (meta["fs"] == 500.0).all() and meta["model"].tolist() == ["demo"] * 3 and (meta["seed"] == "7").all()
    elif fmt == "asc":
        assert (meta["fs"] == 500.0).all()
    else:
        assert meta["fs"].isna().all()  # not stored: never guessed
    Y1, meta1 = read(paths[1], fs=250)
    np.testing.assert_array_equal(Y1, Y[1:2])
    assert meta1.loc[0, "record"] == "1" and (fmt == "wfdb" or meta1.loc[0, "fs"] == 250.0)


def test_read_real_challenge_and_wfdb_records(data_dir, tmp_path):
    X, meta = read(data_dir / "cinc2021")
    assert X.shape == (30, 12, 5000)
    assert meta.loc[0, ["record", "fs", "age", "sex"]].tolist() == ["HR06000", 500.0, 59.0, "F"]
    X1, meta1 = read(data_dir / "ludb" / "data" / "1")
    assert X1.shape == (1, 12, 5000) and meta1.loc[0, "leads"] == LEADS_12
    for name in ("1.hea", "1.dat", "2.hea", "2.dat"):
        shutil.copy(data_dir / "ludb" / "data" / name, tmp_path / name)
    X2, meta2 = read(tmp_path)
    assert X2.shape == (2, 12, 5000) and meta2["record"].tolist() == ["1", "2"]


def test_read_npz_and_errors(tmp_path, ecg12):
    write_npz(tmp_path / "a.npz", ecg12[:2], fs=360, leads=np.array(LEADS_12))
    X, meta = read(tmp_path / "a.npz")
    assert X.shape == (2, 12, ecg12.shape[2]) and meta["record"].tolist() == ["a[0]", "a[1]"]
    assert (meta["fs"] == 360.0).all()
    with pytest.raises(ValueError, match="format must be one of"):
        read(tmp_path, format="edf")
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "missing.asc")
    (tmp_path / "x.asc").write_text("1 2 3 4 5 6 7 8\n")
    with pytest.raises(ValueError, match="several formats"):
        read(tmp_path)
    other = tmp_path / "mixed"
    write(ecg12[:1], other, format="csv")
    write(ecg12[:1, :8], other, format="csv", start_id=1)
    with pytest.raises(ECGFileError, match=r"1\.csv: 8 leads"):
        read(other)
