"""ecgsk.io.wfdb: read_wfdb/write_wfdb on the real files in ../shared/data and on tmp copies."""

import re
import shutil

import numpy as np
import pytest

from ecgsk.io import ECGFileError, read_wfdb, write_wfdb
from ecgsk.leads import LEADS_8, LEADS_12


def _r_amplitudes(x, fs):
    """Max minus median per 1-s window: a robust R-wave amplitude estimate in mV."""
    n = int(fs)
    windows = x[: len(x) // n * n].reshape(-1, n)
    return np.median(windows.max(axis=1) - np.median(windows, axis=1))


def test_read_wfdb_ludb_record_applies_per_lead_gain(data_dir):
    X, meta = read_wfdb(data_dir / "ludb" / "data" / "1")
    assert X.shape == (12, 5000) and X.dtype == np.float32
    assert meta["fs"] == 500.0
    assert meta["leads"] == list(LEADS_12)
    assert meta["units"] == ["mV"] * 12
    assert any("<age>" in c for c in meta["comments"])
    # Manual computation from the header: format 16 interleaved int16,
    # physical = (digital - baseline) / gain with lead V3's own gain 2259 and baseline 3.
    header = (data_dir / "ludb" / "data" / "1.hea").read_text().splitlines()
    v3 = next(line for line in header if line.endswith(" v3")).split()
    gain, baseline = re.match(r"([\d.]+)\((-?\d+)\)", v3[2]).groups()
    assert (float(gain), int(baseline)) == (2259.0, 3)
    digital = np.fromfile(data_dir / "ludb" / "data" / "1.dat", dtype="<i2").reshape(-1, 12)
    expected = (digital[:, 8] - 3) / 2259.0
    np.testing.assert_allclose(X[LEADS_12.index("V3")], expected, atol=1e-6)
    # Leads have different gains, so one shared gain would be wrong.
    assert len(set(meta["adc_gain"])) > 1


def test_read_wfdb_mitdb_comment_first_line_and_mlii(data_dir):
    X, meta = read_wfdb(data_dir / "mitdb" / "100.hea")
    assert X.shape == (2, 650000)
    assert meta["fs"] == 360.0
    assert meta["leads"] == ["II", "V5"]
    assert 0.2 < _r_amplitudes(X[0], 360) < 5.0


def test_read_wfdb_converts_microvolts_and_reorders(tmp_path):
    rng = np.random.RandomState(0)
    X = (rng.randn(12, 1000) * 0.5).astype(np.float32)
    order = [11, 0, 5, 3, 1, 2, 4, 6, 7, 8, 9, 10]
    names = [LEADS_12[i].lower() for i in order]
    import wfdb

    wfdb.wrsamp(
        "uv",
        fs=250,
        units=["uV"] * 12,
        sig_name=names,
        p_signal=(X[order] * 1000).T.astype(np.float64),
        fmt=["32"] * 12,
        adc_gain=[1.0] * 12,
        baseline=[0] * 12,
        write_dir=str(tmp_path),
    )
    Y, meta = read_wfdb(tmp_path / "uv")
    assert meta["leads"] == list(LEADS_12)
    assert meta["units_original"][0].lower() == "uv"
    assert meta["fs"] == 250.0
    np.testing.assert_allclose(Y, X, atol=1e-3)


def test_write_wfdb_roundtrip(tmp_path):
    from ecgsk.datasets import make_synthetic_ecgs

    X = make_synthetic_ecgs(2, n_leads=8, n_samples=800, random_state=1)
    paths = write_wfdb(X, tmp_path, fs=500, start_id=3)
    assert [p.name for p in paths] == ["3", "4"]
    Y, meta = read_wfdb(paths[1])
    assert meta["leads"] == list(LEADS_8)
    np.testing.assert_allclose(Y, X[1], atol=2e-3)
    Y2, _ = read_wfdb(write_wfdb(X[0], tmp_path / "g", adc_gain=1000)[0])
    np.testing.assert_allclose(Y2, X[0], atol=1e-3)


def test_read_wfdb_truncated_signal_and_header_name_the_file(data_dir, tmp_path):
    src = data_dir / "ludb" / "data"
    shutil.copy(src / "1.hea", tmp_path / "1.hea")
    data = (src / "1.dat").read_bytes()
    for cut in (len(data) // 2 + 1, 24 * 1000):  # mid-frame, and at a frame boundary
        (tmp_path / "1.dat").write_bytes(data[:cut])
        with pytest.raises(ECGFileError, match=r"1\.hea"):
            read_wfdb(tmp_path / "1")
    (tmp_path / "2.dat").write_bytes(data)
    (tmp_path / "2.hea").write_text((src / "1.hea").read_text()[:300].replace("1.dat", "2.dat"))
    with pytest.raises(ECGFileError, match=r"2\.hea"):
        read_wfdb(tmp_path / "2")
    with pytest.raises(ECGFileError, match="nothere"):
        read_wfdb(tmp_path / "nothere")
