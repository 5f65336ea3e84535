"""ecgsk.io.challenge: read_challenge_dir/read_challenge_record on the real CinC 2021 sample."""

import shutil

import numpy as np
import pytest

from ecgsk.io import ECGFileError, read_challenge_dir, read_challenge_record
from ecgsk.leads import LEADS_12


def _r_amplitudes(x, fs):
    """Max minus median per 1-s window: a robust R-wave amplitude estimate in mV."""
    n = int(fs)
    windows = x[: len(x) // n * n].reshape(-1, n)
    return np.median(windows.max(axis=1) - np.median(windows, axis=1))


def test_read_challenge_dir_cinc2021(data_dir):
    import scipy.io
    import wfdb

    X, meta = read_challenge_dir(data_dir / "cinc2021")
    assert X.shape == (30, 12, 5000) and X.dtype == np.float32
    assert list(meta.columns) == ["record", "age", "sex", "dx", "fs", "leads"]
    assert meta["record"].tolist() == sorted(meta["record"])
    assert set(meta["sex"]) <= {"M", "F"} and meta["sex"].notna().all()
    assert meta["age"].dtype == float and meta["age"].between(0, 110).all()
    assert all(isinstance(d, list) and d and all(c.isdigit() for c in d) for d in meta["dx"])
    assert (meta["fs"] == 500).all()
    assert all(tuple(ld) == LEADS_12 for ld in meta["leads"])
    # HR headers say "/mv", JS headers "/mV": both are gain 1000 per mV.
    for i in (0, 10):
        rec = meta["record"][i]
        val = scipy.io.loadmat(str(data_dir / "cinc2021" / f"{rec}.mat"))["val"]
        np.testing.assert_allclose(X[i], val / 1000.0, atol=1e-6)
        np.testing.assert_allclose(X[i], wfdb.rdrecord(str(data_dir / "cinc2021" / rec)).p_signal.T, atol=1e-6)
    hr = meta.index[meta["record"] == "HR06000"][0]
    assert meta.loc[hr, "sex"] == "F" and meta.loc[hr, "age"] == 59.0
    assert meta.loc[hr, "dx"] == ["164934002", "426783006"]
    amps = [_r_amplitudes(X[i, 1], 500) for i in range(30)]
    assert 0.2 < np.median(amps) < 5.0


def test_read_challenge_truncated_mat_names_the_file(data_dir, tmp_path):
    for ext in ("hea", "mat"):
        shutil.copy(data_dir / "cinc2021" / f"HR06000.{ext}", tmp_path / f"HR06000.{ext}")
    data = (tmp_path / "HR06000.mat").read_bytes()
    (tmp_path / "HR06000.mat").write_bytes(data[: len(data) // 2])
    with pytest.raises(ECGFileError, match=r"HR06000\.mat"):
        read_challenge_dir(tmp_path)
    (tmp_path / "HR06000.mat").write_bytes(data)
    hea = (tmp_path / "HR06000.hea").read_text().splitlines()
    (tmp_path / "HR06000.hea").write_text("\n".join(hea[:5]) + "\n")
    with pytest.raises(ECGFileError, match=r"HR06000\.hea"):
        read_challenge_record(tmp_path / "HR06000")
