"""ecgsk.datasets.loaders: loaders on the real data in ../shared/data, fetch_ludb offline."""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import (
    fetch_ludb,
    get_data_home,
    load_cinc2021,
    load_cpsc2019,
    load_ludb,
    load_mitdb,
)
from ecgsk.io import ECGFileError
from ecgsk.leads import LEADS_12


@pytest.fixture(scope="module")
def ludb(data_dir):
    return load_ludb(data_dir / "ludb", return_delineation=True)


def _r_amplitude(x, fs):
    n = int(fs)
    w = x[: len(x) // n * n].reshape(-1, n)
    return float(np.median(w.max(axis=1) - np.median(w, axis=1)))


# ---------------------------------------------------------------------------
# data home
# ---------------------------------------------------------------------------
def test_get_data_home_default_env_and_argument(monkeypatch, tmp_path):
    # scikit-learn's order: the argument, then ECGSK_DATA, then ~/ecgsk_data (never the checkout)
    monkeypatch.delenv("ECGSK_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert get_data_home() == tmp_path / "user" / "ecgsk_data"
    assert not (tmp_path / "user").exists()  # not created
    assert get_data_home("~/elsewhere") == tmp_path / "user" / "elsewhere"
    monkeypatch.setenv("ECGSK_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home(tmp_path / "x") == tmp_path / "x"


def test_loaders_use_env_data_home(monkeypatch, tmp_path, data_dir):
    monkeypatch.setenv("ECGSK_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="cinc2021"):
        load_cinc2021()
    shutil.copytree(data_dir / "cpsc2019", tmp_path / "cpsc2019")
    X, _ = load_cpsc2019()
    assert X.shape == (50, 1, 5000)


# ---------------------------------------------------------------------------
# LUDB
# ---------------------------------------------------------------------------
def test_load_ludb_shapes_and_metadata(ludb):
    X, meta, _ = ludb
    assert X.shape == (200, 12, 5000) and X.dtype == np.float32
    assert np.isfinite(X).all()
    assert list(meta.columns) == ["record", "age", "sex", "diagnoses"]
    assert meta["record"].tolist() == list(range(1, 201))
    assert meta["age"].dtype == float and meta["age"].between(10, 100).all()
    assert set(meta["sex"]) == {"M", "F"}
    assert (meta["sex"] == "M").sum() == 115
    assert meta.loc[0, "age"] == 51.0 and meta.loc[0, "sex"] == "F"
    assert meta.loc[0, "diagnoses"][0] == "Rhythm: Sinus bradycardia."
    assert all(isinstance(d, list) and d and all(isinstance(s, str) for s in d) for d in meta["diagnoses"])
    assert all(any(s.startswith("Rhythm:") for s in d) for d in meta["diagnoses"])


def test_load_ludb_values_in_mv_with_per_lead_gain(ludb, data_dir):
    X, _, _ = ludb
    # Manual computation for record 17, every lead, from its header gains and baselines.
    header = (data_dir / "ludb" / "data" / "17.hea").read_text().splitlines()[1:13]
    digital = np.fromfile(data_dir / "ludb" / "data" / "17.dat", dtype="<i2").reshape(-1, 12)
    for j, line in enumerate(header):
        parts = line.split()
        gain, baseline = re.match(r"([\d.]+)\((-?\d+)\)", parts[2]).groups()
        lead = {"avr": "aVR", "avl": "aVL", "avf": "aVF"}.get(parts[-1], parts[-1].upper())
        expected = (digital[:, j] - int(baseline)) / float(gain)
        np.testing.assert_allclose(X[16, LEADS_12.index(lead)], expected, atol=1e-6)
    # R waves of lead II are between 0.2 and 5 mV in the vast majority of records.
    amps = np.array([_r_amplitude(X[i, 1], 500) for i in range(200)])
    assert np.mean((amps > 0.2) & (amps < 5.0)) > 0.9
    # Einthoven/Goldberger hold (up to filtering): the limb leads are in standard order.
    def corr(a, b):
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
        return np.median((a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1)))

    lead_i, lead_ii = X[:, 0], X[:, 1]
    assert corr(X[:, 2], lead_ii - lead_i) > 0.85
    assert corr(X[:, 3], -(lead_i + lead_ii) / 2) > 0.95
    assert corr(X[:, 4], lead_i - lead_ii / 2) > 0.9
    assert corr(X[:, 5], lead_ii - lead_i / 2) > 0.9


def test_load_ludb_delineation(ludb):
    X, _, delineation = ludb
    assert len(delineation) == 200
    assert set(delineation[0]) == set(LEADS_12)
    frame = delineation[0]["II"]
    assert list(frame.columns) == ["wave", "onset", "peak", "offset"]
    assert set(frame["wave"]) == {"P", "QRS", "T"}
    assert frame["peak"].dtype == np.int64
    # Record 1, lead I starts with QRS 641-664-690 (checked against wfdb.rdann).
    first = delineation[0]["I"].iloc[0]
    assert (first["wave"], first["onset"], first["peak"], first["offset"]) == ("QRS", 641, 664, 690)
    onset, peak, offset = (
        np.concatenate([f[col].to_numpy() for rec in delineation for f in rec.values()])
        for col in ("onset", "peak", "offset")
    )
    assert len(peak) > 50000
    assert ((peak >= 0) & (peak < 5000)).all()
    known = (onset >= 0) & (offset >= 0)
    assert known.mean() > 0.99
    assert (onset[known] <= peak[known]).all() and (peak[known] <= offset[known]).all()
    # QRS peaks sit on large deflections of their lead.
    qrs = delineation[0]["II"].query("wave == 'QRS'")["peak"].to_numpy()
    x = X[0, 1] - np.median(X[0, 1])
    assert np.median(np.abs(x[qrs])) > 3 * np.median(np.abs(x))


def test_load_ludb_is_fast_without_delineation(data_dir):
    import time

    t0 = time.perf_counter()
    X, _ = load_ludb(data_dir / "ludb" / "data")  # the data/ directory itself is accepted
    assert X.shape == (200, 12, 5000)
    assert time.perf_counter() - t0 < 30  # < 10 s on an idle machine; shared CI cores are slower


def test_load_ludb_truncated_files_name_the_file(data_dir, tmp_path):
    src = data_dir / "ludb" / "data"
    dst = tmp_path / "data"
    dst.mkdir()
    for f in src.glob("1.*"):
        shutil.copy(f, dst / f.name)
    X, meta, dl = load_ludb(tmp_path, return_delineation=True)
    assert X.shape == (1, 12, 5000) and meta["record"].tolist() == [1]
    ann = (dst / "1.v2").read_bytes()
    (dst / "1.v2").write_bytes(ann[: len(ann) // 2])
    with pytest.raises(ECGFileError, match=r"1\.v2"):
        load_ludb(tmp_path, return_delineation=True)
    load_ludb(tmp_path)  # signals alone are still fine
    dat = (dst / "1.dat").read_bytes()
    (dst / "1.dat").write_bytes(dat[:-1000])
    with pytest.raises(ECGFileError, match=r"1\.hea"):
        load_ludb(tmp_path)


@pytest.mark.parametrize("written, age", [(">89", 90.0), (" 51 ", 51.0), ("NaN", np.nan), ("", np.nan)])
def test_load_ludb_reads_open_and_missing_ages(data_dir, tmp_path, written, age):
    """A header age ">89" (how de-identified records cap it) becomes 90; unknown ages become NaN."""
    for f in (data_dir / "ludb" / "data").glob("1.*"):
        if f.suffix in (".hea", ".dat"):
            shutil.copy(f, tmp_path / f.name)
    header = (tmp_path / "1.hea").read_text()
    assert "#<age>: 51\n" in header
    (tmp_path / "1.hea").write_text(header.replace("#<age>: 51\n", f"#<age>:{written}\n"))
    _, meta = load_ludb(tmp_path)
    np.testing.assert_equal(meta["age"].tolist(), [age])


# ---------------------------------------------------------------------------
# fetch_ludb (no network)
# ---------------------------------------------------------------------------
def test_fetch_ludb_uses_local_copy_without_network(data_dir, monkeypatch):
    import wfdb

    def no_network(*args, **kwargs):
        raise AssertionError("fetch_ludb must not download when the data is present")

    monkeypatch.setattr(wfdb, "dl_database", no_network)
    X, meta = fetch_ludb(data_dir / "ludb")
    assert X.shape == (200, 12, 5000) and len(meta) == 200
    X2, _ = fetch_ludb(data_dir)  # a data home holding ludb/
    np.testing.assert_array_equal(X, X2)


def test_fetch_ludb_downloads_when_missing(data_dir, tmp_path, monkeypatch):
    import wfdb

    calls = []

    def fake_dl_database(db_dir, dl_dir, *args, **kwargs):
        calls.append((db_dir, dl_dir))
        (Path(dl_dir) / "data").symlink_to(data_dir / "ludb" / "data", target_is_directory=True)

    monkeypatch.setattr(wfdb, "dl_database", fake_dl_database)
    with pytest.raises(FileNotFoundError, match="download_if_missing"):
        fetch_ludb(tmp_path, download_if_missing=False)
    assert calls == []
    X, meta = fetch_ludb(tmp_path)
    assert calls == [("ludb", str(tmp_path / "ludb"))]
    assert X.shape == (200, 12, 5000) and meta["record"].iloc[-1] == 200
    fetch_ludb(tmp_path)  # now present: no second download
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# CinC 2021, CPSC 2019, MIT-BIH
# ---------------------------------------------------------------------------
def test_load_cinc2021(data_dir):
    X, meta = load_cinc2021(data_dir / "cinc2021")
    assert X.shape == (30, 12, 5000) and X.dtype == np.float32
    assert isinstance(meta, pd.DataFrame) and len(meta) == 30
    assert set(meta["sex"]) <= {"M", "F"}
    assert sum(r.startswith("HR") for r in meta["record"]) == 10
    amps = np.array([_r_amplitude(X[i, 1], 500) for i in range(30)])
    assert np.mean((amps > 0.2) & (amps < 5.0)) > 0.8


def test_load_cpsc2019(data_dir):
    X, peaks = load_cpsc2019(data_dir / "cpsc2019")
    assert X.shape == (50, 1, 5000) and X.dtype == np.float32
    assert len(peaks) == 50 and all(p.dtype == np.int64 and len(p) > 3 for p in peaks)
    assert all(((p >= 0) & (p < 5000)).all() for p in peaks)
    np.testing.assert_array_equal(peaks[0][:4], [282, 656, 1035, 1260])
    # The reference peaks sit on large deflections (ECG in mV, not raw ADC units).
    ratios = []
    for x, p in zip(X[:, 0], peaks):
        d = np.abs(x - np.median(x))
        ratios.append(np.median(d[p]) / np.median(d))
    assert np.median(ratios) > 3
    assert 0.1 < np.median([np.median(np.abs(x[p] - np.median(x))) for x, p in zip(X[:, 0], peaks)]) < 5


def test_load_mitdb(data_dir):
    X, fs, samples, symbols = load_mitdb(data_dir / "mitdb")
    assert X.shape == (1, 2, 650000) and X.dtype == np.float32
    assert fs == 360.0
    assert len(samples) == len(symbols) == 2274
    assert symbols.count("N") == 2239 and symbols.count("A") == 33
    assert np.all(np.diff(samples) >= 0)
    beats = samples[np.isin(symbols, ["N", "A", "V"])]
    ii = X[0, 0] - np.median(X[0, 0])
    amp = np.median(np.abs(ii[beats]))
    assert 0.2 < amp < 5.0


def test_load_mitdb_truncated_annotations_name_the_file(data_dir, tmp_path):
    for ext in ("hea", "dat"):
        shutil.copy(data_dir / "mitdb" / f"100.{ext}", tmp_path / f"100.{ext}")
    atr = (data_dir / "mitdb" / "100.atr").read_bytes()
    (tmp_path / "100.atr").write_bytes(atr[:1000])
    with pytest.raises(ECGFileError, match=r"100\.atr"):
        load_mitdb(tmp_path)
