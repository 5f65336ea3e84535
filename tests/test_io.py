"""ecgsk.io: readers and writers on the real files in ../shared/data and on tmp copies."""

import io as _io
import re
import shutil
import time

import numpy as np
import pytest

from ecgsk.io import (
    ECGFileError,
    format_asc,
    mv_to_asc_microvolts,
    net_output_to_microvolts,
    read_asc,
    read_asc_dir,
    read_challenge_dir,
    read_challenge_record,
    read_csv,
    read_npy,
    read_npz,
    read_wfdb,
    write_asc,
    write_asc_microvolts,
    write_csv,
    write_npy,
    write_npz,
    write_wfdb,
)
from ecgsk.leads import LEADS_8, LEADS_12


def _savetxt_bytes(ints_leads_first):
    """What deepfake-ecg writes: np.savetxt(f, out.T, fmt='%i') on int32."""
    buf = _io.BytesIO()
    np.savetxt(buf, np.asarray(ints_leads_first, dtype=np.int32).T, fmt="%i")
    return buf.getvalue()


def _r_amplitudes(x, fs):
    """Max minus median per 1-s window: a robust R-wave amplitude estimate in mV."""
    n = int(fs)
    windows = x[: len(x) // n * n].reshape(-1, n)
    return np.median(windows.max(axis=1) - np.median(windows, axis=1))


# ---------------------------------------------------------------------------
# WFDB
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Challenge directories
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# .asc
# ---------------------------------------------------------------------------
def test_asc_roundtrip_and_format(tmp_path):
    rng = np.random.RandomState(0)
    U = rng.randint(-6000, 6001, size=(3, 8, 5000))
    paths = write_asc_microvolts(U, tmp_path, start_id=7)
    assert [p.name for p in paths] == ["7.asc", "8.asc", "9.asc"]
    lines = paths[0].read_text().split("\n")
    assert lines[-1] == "" and len(lines) == 5001
    assert all(re.fullmatch(r"-?\d+( -?\d+){7}", ln) for ln in lines[:-1])
    back = np.array([[int(v) for v in ln.split()] for ln in lines[:-1]]).T
    np.testing.assert_array_equal(back, U[0])
    X = read_asc(paths[1], n_samples=5000)
    assert X.shape == (8, 5000) and X.dtype == np.float32
    np.testing.assert_array_equal(np.round(X * 1000).astype(int), U[1])
    Xd, names = read_asc_dir(tmp_path)
    assert names == ["7", "8", "9"]
    np.testing.assert_array_equal(np.round(Xd * 1000).astype(int), U)


@pytest.mark.parametrize(
    "values",
    [
        np.array([[0, -1, 1, 9, -9, 10, -10, 99, -100, 6000, -6000, 65535, -65536, 65536, -65537]]),
        np.array([[2147483647, -2147483648, 123456789, -5, 0]]),
    ],
)
def test_format_asc_matches_savetxt_on_edge_values(values):
    U = np.repeat(values, 8, axis=0)  # (8, n)
    assert format_asc(U) == _savetxt_bytes(U)


def test_write_asc_byte_identical_to_savetxt_on_random_ints(tmp_path):
    rng = np.random.RandomState(1)
    U = (np.tanh(rng.randn(4, 8, 5000)) * 6000).astype(np.int32)
    for p, u in zip(write_asc_microvolts(U, tmp_path), U):
        assert p.read_bytes() == _savetxt_bytes(u)


def test_write_asc_byte_identical_to_deepfakeecg_generate(tmp_path, monkeypatch):
    import torch
    import deepfakeecg.deepfakeecg as dfk

    captured = []

    class RecordingGenerator(dfk.Generator):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            captured.append(out.detach().cpu().numpy().copy())
            return out

    monkeypatch.setattr(dfk, "Generator", RecordingGenerator)
    ref_dir, ours_dir = tmp_path / "deepfakeecg", tmp_path / "ecgsk"
    ref_dir.mkdir()
    torch.manual_seed(0)
    dfk.generate(2, str(ref_dir), start_id=10)
    net = np.concatenate(captured)  # (2, 8, 5000) network output in [-1, 1]
    assert net.shape == (2, 8, 5000)
    paths = write_asc_microvolts(net_output_to_microvolts(net), ours_dir, start_id=10)
    for p in paths:
        assert p.read_bytes() == (ref_dir / p.name).read_bytes()
    # From mV (= net * 6 in float32) the integers agree except where two float32
    # outputs share one mV value (about 4e-5 of values); check agreement rate.
    mv = (torch.from_numpy(net) * 6).numpy()
    ref_ints = (torch.from_numpy(net) * 6000).int().numpy()
    assert np.mean(mv_to_asc_microvolts(mv) != ref_ints) < 1e-3
    # read_asc returns deepfake-ecg's integers in mV.
    np.testing.assert_allclose(read_asc(ref_dir / "10.asc") * 1000, ref_ints[0], atol=1e-3)


def test_mv_to_asc_microvolts_recovers_net_integers_nearly_always():
    import torch
    rng = np.random.RandomState(0)
    net = torch.from_numpy(np.tanh(rng.randn(1_000_000)).astype(np.float32))
    ref = (net * 6000).int().numpy()
    got = mv_to_asc_microvolts((net * 6).numpy())
    assert np.mean(got != ref) < 2e-4
    assert np.abs(got.astype(np.int64) - ref).max() <= 1
    np.testing.assert_array_equal(net_output_to_microvolts(net.numpy()), ref)


def test_read_then_write_asc_reproduces_the_file(tmp_path):
    ints = np.arange(-70000, 70008)  # every µV value in [-70000, 70007], 8 per row
    U = ints.reshape(1, -1, 8).transpose(0, 2, 1)
    src = write_asc_microvolts(U, tmp_path / "a")[0]
    X = read_asc(src)
    np.testing.assert_array_equal(mv_to_asc_microvolts(X), U[0])
    out = write_asc(X, tmp_path / "b")[0]
    assert out.read_bytes() == src.read_bytes()


def test_write_asc_from_mv(tmp_path):
    X = np.zeros((1, 8, 5000), dtype=np.float32)
    X[0, 0, 0], X[0, 1, 0], X[0, 2, 0] = 1.2345, -0.0019, 5.999
    p = write_asc(X, tmp_path)[0]
    first = p.read_text().splitlines()[0].split()
    assert first[:3] == ["1234", "-1", "5999"]
    with pytest.raises(ValueError):
        write_asc(np.full((1, 8, 10), np.nan), tmp_path)
    with pytest.raises(ValueError):
        write_asc_microvolts(np.zeros((1, 8, 10)), tmp_path)  # floats are not µV integers


def test_write_asc_is_fast(tmp_path):
    rng = np.random.RandomState(0)
    U = (np.tanh(rng.randn(32, 8, 5000)) * 6000).astype(np.int32)
    write_asc_microvolts(U[:1], tmp_path / "warm")
    t0 = time.perf_counter()
    write_asc_microvolts(U, tmp_path / "fast")
    ours = (time.perf_counter() - t0) / len(U)
    t0 = time.perf_counter()
    for i in range(4):
        np.savetxt(tmp_path / f"s{i}.asc", U[i].T, fmt="%i")
    ref = (time.perf_counter() - t0) / 4
    assert ours < ref / 3, f"write_asc_microvolts {ours * 1e3:.2f} ms/ECG vs np.savetxt {ref * 1e3:.2f} ms/ECG"


def test_read_asc_corrupt_files_name_the_file(tmp_path):
    rng = np.random.RandomState(0)
    p = write_asc_microvolts(rng.randint(-999, 999, size=(1, 8, 5000)), tmp_path)[0]
    data = p.read_bytes()
    cases = {
        "midline.asc": data[: len(data) // 2 - 3],  # cut inside a line
        "empty.asc": b"",
        "garbage.asc": data.replace(b"\n", b"\nx 1 2 3 4 5 6 7\n", 1),
        "wide.asc": b"1 2 3 4 5 6 7 8 9\n" * 10,
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ECGFileError, match=re.escape(name)):
            read_asc(tmp_path / name)
    # Cut exactly at a line end: only a row-count check can tell.
    lines = data.split(b"\n")
    (tmp_path / "short.asc").write_bytes(b"\n".join(lines[:4000]) + b"\n")
    assert read_asc(tmp_path / "short.asc").shape == (8, 4000)
    with pytest.raises(ECGFileError, match="short.asc"):
        read_asc(tmp_path / "short.asc", n_samples=5000)
    only = tmp_path / "dir"
    only.mkdir()
    shutil.copy(p, only / "0.asc")
    shutil.copy(tmp_path / "short.asc", only / "1.asc")
    with pytest.raises(ECGFileError, match=r"1\.asc"):
        read_asc_dir(only)  # all files must match the first one's length


# ---------------------------------------------------------------------------
# npy / npz / csv
# ---------------------------------------------------------------------------
def test_npy_npz_csv_roundtrip(tmp_path, ecg12):
    p = write_npy(ecg12, tmp_path / "x.npy")
    np.testing.assert_array_equal(read_npy(p), ecg12)
    p = write_npz(tmp_path / "x.npz", ecg12, fs=500, leads=np.array(LEADS_12))
    data = read_npz(p)
    np.testing.assert_array_equal(data["X"], ecg12)
    assert int(data["fs"]) == 500 and tuple(data["leads"]) == LEADS_12
    paths = write_csv(ecg12[:2], tmp_path / "csv")
    assert paths[0].read_text().splitlines()[0] == ",".join(LEADS_12)
    Y, leads = read_csv(paths[1])
    assert leads == list(LEADS_12)
    np.testing.assert_allclose(Y, ecg12[1], atol=1e-5)


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


def test_io_and_datasets_do_not_import_torch(data_dir):
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from ecgsk.io import read_wfdb, read_challenge_record, write_asc, read_asc\n"
        "from ecgsk.datasets import load_cpsc2019, simulate_survival\n"
        f"read_wfdb({str(data_dir / 'ludb' / 'data' / '1')!r})\n"
        f"read_challenge_record({str(data_dir / 'cinc2021' / 'HR06000')!r})\n"
        f"load_cpsc2019({str(data_dir / 'cpsc2019')!r})\n"
        "simulate_survival(np.zeros((5, 1)), [1.0])\n"
        "import tempfile\n"
        "d = tempfile.mkdtemp(); read_asc(write_asc(np.zeros((1, 8, 10)), d)[0])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
