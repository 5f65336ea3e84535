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
    assert list(meta.columns) == ["record", "fs", "leads", "age", "sex", "dx", "rx", "hx", "sx", "comments"]
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
    # One record: the same (X, meta) pair, rows of the folder's.
    X1, meta1 = read_challenge_record(data_dir / "cinc2021" / "HR06000.mat")
    assert X1.shape == (1, 12, 5000)
    np.testing.assert_array_equal(X1[0], X[hr])
    assert meta1.loc[0].to_dict() == meta.loc[hr].to_dict() and meta1.loc[0, "comments"][0].startswith("Age:")


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


# Issue 15, "Readers / read_challenge_record": each case below was returned without error before.


def _challenge_copy(data_dir, tmp_path, record="HR06000"):
    for ext in ("hea", "mat"):
        shutil.copy(data_dir / "cinc2021" / f"{record}.{ext}", tmp_path / f"{record}.{ext}")
    import scipy.io

    return scipy.io.loadmat(str(tmp_path / f"{record}.mat"))["val"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_read_challenge_refuses_non_finite_val(data_dir, tmp_path, bad):
    import scipy.io

    val = _challenge_copy(data_dir, tmp_path).astype(np.float64)
    val[3, 100] = bad
    scipy.io.savemat(str(tmp_path / "HR06000.mat"), {"val": val})
    with pytest.raises(ECGFileError, match=r"HR06000\.mat: 'val' samples hold NaN or infinite values .*\(3, 100\)"):
        read_challenge_record(tmp_path / "HR06000")


def test_read_challenge_refuses_complex_val(data_dir, tmp_path):
    import scipy.io

    val = _challenge_copy(data_dir, tmp_path)
    scipy.io.savemat(str(tmp_path / "HR06000.mat"), {"val": val + 1j})
    with pytest.raises(ECGFileError, match=r"HR06000\.mat: 'val' samples are complex"):
        read_challenge_record(tmp_path / "HR06000")


@pytest.mark.parametrize("fs", ["0", "-500", "nan", "abc"])
def test_read_challenge_refuses_a_bad_sampling_rate(data_dir, tmp_path, fs):
    _challenge_copy(data_dir, tmp_path)
    text = (tmp_path / "HR06000.hea").read_text()
    (tmp_path / "HR06000.hea").write_text(text.replace("HR06000 12 500 5000", f"HR06000 12 {fs} 5000", 1))
    with pytest.raises(ECGFileError, match=r"HR06000\.hea: sampling frequency \(fs\)"):
        read_challenge_record(tmp_path / "HR06000")


def test_read_challenge_refuses_a_bad_gain_and_a_wrong_shape(data_dir, tmp_path):
    import scipy.io

    val = _challenge_copy(data_dir, tmp_path)
    text = (tmp_path / "HR06000.hea").read_text()
    (tmp_path / "HR06000.hea").write_text(text.replace("1000.0(0)/mv", "nan(0)/mv", 1))
    with pytest.raises(ECGFileError, match=r"HR06000\.hea: signal 1: ADC gain"):
        read_challenge_record(tmp_path / "HR06000")
    (tmp_path / "HR06000.hea").write_text(text)
    scipy.io.savemat(str(tmp_path / "HR06000.mat"), {"val": val[:, :4000]})
    with pytest.raises(ECGFileError, match=r"HR06000\.mat: 'val' has shape \(12, 4000\)"):
        read_challenge_record(tmp_path / "HR06000")
