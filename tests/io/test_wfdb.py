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
    X, frame = read_wfdb(data_dir / "ludb" / "data" / "1")
    assert X.shape == (1, 12, 5000) and X.dtype == np.float32
    assert list(frame.columns[:3]) == ["record", "fs", "leads"] and len(frame) == 1
    meta = frame.iloc[0]
    X = X[0]
    assert meta["record"] == "1" and meta["fs"] == 500.0
    assert meta["leads"] == LEADS_12
    assert meta["units"] == ("mV",) * 12
    assert any("<age>" in c for c in meta["comments"])
    assert meta["age"] == 51.0 and meta["sex"] == "F"  # LUDB's "<age>: 51", "<sex>: F"
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
    X, frame = read_wfdb(data_dir / "mitdb" / "100.hea")
    meta = frame.iloc[0]
    assert X.shape == (1, 2, 650000)
    assert meta["fs"] == 360.0
    assert meta["leads"] == ("II", "V5")
    assert 0.2 < _r_amplitudes(X[0, 0], 360) < 5.0


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
    Y, frame = read_wfdb(tmp_path / "uv")
    meta = frame.iloc[0]
    assert meta["leads"] == LEADS_12
    assert meta["units_original"][0].lower() == "uv"
    assert meta["fs"] == 250.0
    np.testing.assert_allclose(Y[0], X, atol=1e-3)


def test_write_wfdb_roundtrip(tmp_path):
    from ecgsk.datasets import make_synthetic_ecgs

    X = make_synthetic_ecgs(2, n_leads=8, n_samples=800, random_state=1)
    paths = write_wfdb(X, tmp_path, fs=500, start_id=3)
    assert [p.name for p in paths] == ["3", "4"]
    Y, meta = read_wfdb(paths[1])
    assert meta.loc[0, "leads"] == LEADS_8
    np.testing.assert_allclose(Y[0], X[1], atol=2e-3)
    Y2, _ = read_wfdb(write_wfdb(X[0], tmp_path / "g", adc_gain=1000)[0])
    np.testing.assert_allclose(Y2[0], X[0], atol=1e-3)


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


# Issue 15, "Readers / read_wfdb": each case below read without error before.


def _ludb_copy(data_dir, tmp_path, record="1"):
    """A copy of a real LUDB record in tmp_path; returns (header text, .dat bytes)."""
    src = data_dir / "ludb" / "data"
    shutil.copy(src / f"{record}.hea", tmp_path / f"{record}.hea")
    shutil.copy(src / f"{record}.dat", tmp_path / f"{record}.dat")
    return (tmp_path / f"{record}.hea").read_text(), (tmp_path / f"{record}.dat").read_bytes()


@pytest.mark.parametrize("fs", ["abc", "-500", "0", "nan", "inf"])
def test_read_wfdb_refuses_a_bad_sampling_rate(data_dir, tmp_path, fs):
    # wfdb read "abc"/"-500" as 250 Hz and "0" as 0 Hz.
    text, _ = _ludb_copy(data_dir, tmp_path)
    (tmp_path / "1.hea").write_text(text.replace("1 12 500 5000", f"1 12 {fs} 5000", 1))
    with pytest.raises(ECGFileError, match=r"1\.hea: sampling frequency \(fs\) .*" + re.escape(fs)):
        read_wfdb(tmp_path / "1")


@pytest.mark.parametrize("gain", ["nan", "-1716", "0", "inf", "x"])
def test_read_wfdb_refuses_a_bad_gain(data_dir, tmp_path, gain):
    # wfdb read a gain of "nan/mV" as 200, so lead I peaked at 7.67 mV instead of 0.89.
    text, _ = _ludb_copy(data_dir, tmp_path)
    (tmp_path / "1.hea").write_text(text.replace("1716(6)/mV", f"{gain}(6)/mV", 1))
    with pytest.raises(ECGFileError, match=r"1\.hea: signal 1: ADC gain"):
        read_wfdb(tmp_path / "1")


def test_read_wfdb_checksum_catches_one_flipped_bit(data_dir, tmp_path):
    _, data = _ludb_copy(data_dir, tmp_path)
    X, _ = read_wfdb(tmp_path / "1")
    flipped = bytearray(data)
    flipped[2 * 12 * 2500 + 2 * 4] ^= 0x01  # sample 2500 of lead 5 (aVL), lowest bit
    (tmp_path / "1.dat").write_bytes(bytes(flipped))
    with pytest.raises(ECGFileError, match=r"1\.dat: checksum of signal 5 \(avl\).*1\.hea"):
        read_wfdb(tmp_path / "1")
    # verify=False reads it: the one changed sample differs by one ADC unit.
    Y, meta = read_wfdb(tmp_path / "1", verify=False)
    diff = np.argwhere(Y != X)
    assert diff.tolist() == [[0, LEADS_12.index("aVL"), 2500]]
    assert abs(Y[0, 4, 2500] - X[0, 4, 2500]) == pytest.approx(1 / meta.loc[0, "adc_gain"][4], rel=1e-3)


def test_read_wfdb_checksum_catches_random_dat_of_the_right_size(data_dir, tmp_path):
    _, data = _ludb_copy(data_dir, tmp_path)
    (tmp_path / "1.dat").write_bytes(np.random.default_rng(0).bytes(len(data)))
    with pytest.raises(ECGFileError, match=r"1\.dat: checksum of signal 1 "):
        read_wfdb(tmp_path / "1")


def test_read_wfdb_refuses_signal_files_outside_the_folder(data_dir, tmp_path):
    sub = tmp_path / "rec"
    sub.mkdir()
    text, _ = _ludb_copy(data_dir, tmp_path)  # tmp_path/1.dat exists, one level up from rec/
    for name in ("../1.dat", "/etc/passwd", "sub/1.dat", "..", "~1.dat"):
        (sub / "1.hea").write_text(text.replace("1.dat ", f"{name} "))
        with pytest.raises(ECGFileError, match=r"1\.hea: signal file name .* must be a plain file name"):
            read_wfdb(sub / "1")


def test_read_wfdb_checks_the_sample_count_before_allocating(data_dir, tmp_path):
    text, data = _ludb_copy(data_dir, tmp_path)
    (tmp_path / "1.hea").write_text(text.replace("1 12 500 5000", "1 12 500 1000000000000", 1))
    with pytest.raises(ECGFileError, match=r"1\.dat: signal file holds 120000 bytes but 1\.hea's sig_len"):
        read_wfdb(tmp_path / "1")
    (tmp_path / "1.hea").write_text(text.replace("1 12 500 5000", "1 12 500 -5", 1))
    with pytest.raises(ECGFileError, match=r"1\.hea: number of samples \(sig_len\)"):
        read_wfdb(tmp_path / "1")


def test_read_wfdb_challenge_record_carries_age_sex_dx(data_dir):
    X, meta = read_wfdb(data_dir / "cinc2021" / "HR06000")
    assert X.shape == (1, 12, 5000)
    assert meta.loc[0, ["record", "age", "sex"]].tolist() == ["HR06000", 59.0, "F"]
    assert meta.loc[0, "dx"] == ["164934002", "426783006"]
