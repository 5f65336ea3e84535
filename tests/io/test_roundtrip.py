"""ecgsk.io.write is the inverse of ecgsk.io.read: every format, 8 and 12 leads (issue 16 item 1)."""

import numpy as np
import pandas as pd
import pytest

import ecgsk.io as eio
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.leads import LEADS_8, LEADS_12

# resolution of each format: asc/wfdb store integer µV (asc truncates toward zero), csv 6 significant digits
ATOL = {"asc": 1.001e-3, "wfdb": 0.5001e-3, "csv": 5e-5, "npy": 0.0, "npz": 0.0}
READERS = {"asc": eio.read_asc, "csv": eio.read_csv, "npy": eio.read_npy, "npz": eio.read_npz, "wfdb": eio.read_wfdb}
STORES_FS = {"wfdb", "npz"}  # asc, csv and npy hold samples (and lead names) only


def test_every_written_format_has_a_reader():
    assert set(eio.WRITE_FORMATS) == set(READERS) and set(eio.WRITE_FORMATS) <= set(eio.READ_FORMATS)


@pytest.mark.parametrize("n_leads", [8, 12])
@pytest.mark.parametrize("fmt", ["asc", "csv", "npy", "npz", "wfdb"])
def test_write_then_read_gives_the_batch_back(tmp_path, fmt, n_leads):
    X = make_synthetic_ecgs(3, n_leads=n_leads, n_samples=800, random_state=n_leads)
    expected = LEADS_12 if n_leads == 12 else LEADS_8
    written = pd.DataFrame({"record": ["b", "a", "10"], "fs": 250.0, "leads": [expected] * 3})
    paths = eio.write(X, tmp_path, format=fmt, meta=written)
    assert len(paths) == 3
    Y, meta = eio.read(tmp_path, fs=None if fmt in STORES_FS else 250.0)
    assert Y.dtype == np.float32 and Y.shape == X.shape
    assert sorted(meta["record"]) == sorted(written["record"])
    order = [meta["record"].tolist().index(r) for r in written["record"]]
    np.testing.assert_allclose(Y[order], X, atol=ATOL[fmt], rtol=0)
    assert (meta["fs"] == 250.0).all()
    assert all(tuple(leads) == tuple(expected) for leads in meta["leads"])
    if fmt not in STORES_FS:  # never guessed: NaN, or deepfake-ecg's 500 Hz for asc
        _, unknown = eio.read(tmp_path)
        assert (unknown["fs"] == 500.0).all() if fmt == "asc" else unknown["fs"].isna().all()
    # Each file through its format's own reader: the same (X, meta) pair, one record per file.
    for i, path in enumerate(paths):
        kwargs = {} if fmt in STORES_FS else {"fs": 250.0}
        Xi, meta_i = READERS[fmt](path, **kwargs)
        assert Xi.shape == (1, n_leads, 800) and Xi.dtype == np.float32
        np.testing.assert_allclose(Xi[0], X[i], atol=ATOL[fmt], rtol=0)
        assert list(meta_i.columns[:3]) == ["record", "fs", "leads"]
        assert meta_i.loc[0, ["record", "fs"]].tolist() == [written.loc[i, "record"], 250.0]
        assert tuple(meta_i.loc[0, "leads"]) == tuple(expected)
        assert set(meta_i.columns) == set(meta.columns)


@pytest.mark.parametrize("fmt", ["wfdb", "npz"])
def test_formats_with_metadata_carry_the_other_columns(tmp_path, fmt):
    X = make_synthetic_ecgs(2, n_leads=8, n_samples=300, random_state=0)
    meta = [{"record": "x", "model": "pulse2pulse", "seed": 3, "id": 0, "age": 61.0, "sex": "F"},
            {"record": "y", "model": "pulse2pulse", "seed": 3, "id": 1, "age": 40.0, "sex": None}]
    eio.write(X, tmp_path, format=fmt, meta=meta)
    _, back = eio.read(tmp_path)
    back = back.set_index("record")
    assert back.loc["x", "model"] == "pulse2pulse" and back.loc["y", "age"] == 40.0 and back.loc["x", "sex"] == "F"
    assert str(back.loc["y", "id"]) == "1" and str(back.loc["x", "seed"]) == "3"  # WFDB comments are text
    assert back.loc["y", "sex"] is None or pd.isna(back.loc["y", "sex"])  # None is not written


def test_npz_refuses_meta_it_cannot_store(tmp_path):
    X = make_synthetic_ecgs(1, n_leads=8, n_samples=300, random_state=0)
    with pytest.raises(ValueError, match=r"0\.npz: meta column 'extra' holds \{'a': 1\}"):
        eio.write(X, tmp_path, format="npz", meta={"extra": {"a": 1}})
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_rate_is_written_as_the_fs_argument(tmp_path):
    # A csv read gives fs NaN (not stored); writing that meta to WFDB uses write's fs, not NaN.
    X = make_synthetic_ecgs(1, n_leads=8, n_samples=300, random_state=0)
    eio.write(X, tmp_path / "csv", format="csv")
    Y, meta = eio.read(tmp_path / "csv")
    assert meta["fs"].isna().all()
    eio.write(Y, tmp_path / "wfdb", format="wfdb", meta=meta, fs=360)
    _, back = eio.read(tmp_path / "wfdb")
    assert back.loc[0, "fs"] == 360.0


def test_twelve_lead_asc_reads_back(tmp_path):
    # Why (issue 16): .asc written by `ecgsk generate --leads 12` failed in read_asc ("holds 12 values, expected 8").
    X = make_synthetic_ecgs(2, n_leads=12, n_samples=500, random_state=0)
    eio.write(X, tmp_path, format="asc")
    Y, meta = eio.read(tmp_path / "1.asc")
    assert Y.shape == (1, 12, 500) and tuple(meta.loc[0, "leads"]) == LEADS_12
    np.testing.assert_allclose(Y[0], X[1], atol=1.001e-3, rtol=0)


def test_wfdb_uses_integer_gains_and_carries_meta(tmp_path):
    # Why (issue 16): WFDB headers carried per-lead float gains such as 92254.2358474187/mV and no model or seed.
    X = make_synthetic_ecgs(2, n_leads=12, n_samples=500, random_state=0)
    X[1, 3] *= 100  # 100x a normal lead: beyond ±32.767 mV at 1000 adu/mV
    meta = pd.DataFrame({"record": ["a", "b"], "model": "pulse2pulse", "seed": [7, 7], "id": [0, 1], "fs": 250.0})
    eio.write(X, tmp_path, format="wfdb", meta=meta)
    gains = []
    for name in ("a", "b"):
        lines = (tmp_path / f"{name}.hea").read_text().splitlines()
        assert lines[0].split()[2] == "250"
        fields = [line.split()[2] for line in lines[1:13]]
        gains.append({float(f.split("(")[0]) for f in fields})
        assert all(line.split()[1] == "16" for line in lines[1:13])
        assert "# model: pulse2pulse" in lines and "# seed: 7" in lines
    assert gains[0] == {1000.0}
    (g,) = gains[1]
    assert g == int(g) and g == int(32767 // np.abs(X[1]).max()) < 1000
    Y, back = eio.read(tmp_path)
    back = back.set_index("record")
    assert str(back.loc["b", "model"]) == "pulse2pulse" and int(back.loc["b", "id"]) == 1
    assert int(back.loc["a", "seed"]) == 7 and float(back.loc["a", "fs"]) == 250.0
    np.testing.assert_allclose(Y[list(back.index).index("b")], X[1], atol=0.5 / g + 1e-6, rtol=0)


def test_write_checks_its_arguments(tmp_path):
    X = make_synthetic_ecgs(2, n_leads=8, n_samples=300, random_state=0)
    with pytest.raises(ValueError, match="format must be one of"):
        eio.write(X, tmp_path, format="mat")
    with pytest.raises(ValueError, match="one per ECG"):
        eio.write(X, tmp_path, format="npy", meta=pd.DataFrame({"record": ["a"]}))
    with pytest.raises(ValueError, match="not a plain file name"):
        eio.write(X, tmp_path, format="npy", meta=[{"record": "../x"}, {"record": "y"}])
    with pytest.raises(ValueError, match="8 .* or 12"):
        eio.write(X[:, :3], tmp_path, format="asc")
    assert list(tmp_path.iterdir()) == []


def test_generate_wfdb_headers_name_model_version_seed_and_id(tmp_path, tiny_p2p_file):
    from ecgsk.generation import generate
    from ecgsk.io.estimator_file import ecgsk_version

    generate(2, tmp_path / "o", start_id=5, format="wfdb", weights=tiny_p2p_file, random_state=3)
    lines = (tmp_path / "o" / "6.hea").read_text().splitlines()
    for expected in ("# model: pulse2pulse", f"# ecgsk_version: {ecgsk_version()}", "# seed: 3", "# id: 6"):
        assert expected in lines
    assert {line.split()[2] for line in lines[1:9]} == {"1000.0(0)/mV"}
