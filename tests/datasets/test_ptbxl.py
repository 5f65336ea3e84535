"""ecgsk.datasets.ptbxl: load_ptbxl and fetch_ptbxl on a PTB-XL tree built from real records (see conftest)."""

import shutil

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import PTBXL_SUPERCLASSES, fetch_ptbxl, load_ptbxl
from ecgsk.io import ECGFileError


@pytest.fixture(scope="module")
def ptbxl(ptbxl_tree):
    return load_ptbxl(ptbxl_tree, verbose=False)


def test_signals_are_the_real_records_in_mv(ptbxl, cinc_hr):
    X, meta = ptbxl
    assert X.shape == (10, 12, 5000) and X.dtype == np.float32
    for i, rec in enumerate(cinc_hr):
        # the HR record's digital values at 1000 adu/mV, leads already in LEADS_12 order
        np.testing.assert_allclose(X[i], rec["val"] / 1000.0, atol=1e-6)
    assert meta["record"].tolist() == [f"0{6000 + i}_hr" for i in range(10)]
    assert (meta["fs"] == 500.0).all()


def test_metadata_age_sex_codes_folds(ptbxl, cinc_hr):
    _, meta = ptbxl
    assert meta["ecg_id"].tolist() == list(range(6000, 6010))
    assert meta["age"].tolist() == [r["age"] for r in cinc_hr]
    assert meta["sex"].tolist() == [r["sex"] for r in cinc_hr]  # PTB-XL's coding: 0 = male
    assert set(meta["sex"]) == {0, 1}
    assert meta["strat_fold"].tolist() == list(range(1, 11))
    assert meta.loc[0, "scp_codes"] == {"NDT": 100.0, "SR": 0.0}  # HR06000: T-wave abnormality, sinus rhythm
    assert {"patient_id", "filename_hr", "filename_lr"} <= set(meta.columns)


def test_superclasses_are_multi_hot(ptbxl, cinc_hr):
    _, meta = ptbxl
    assert list(meta.columns[-5:]) == list(PTBXL_SUPERCLASSES)
    hot = meta[list(PTBXL_SUPERCLASSES)]
    assert hot.dtypes.map(lambda d: np.issubdtype(d, np.integer)).all()
    assert meta.loc[0, "superdiagnostic"] == ["STTC"]
    assert meta.loc[2, "superdiagnostic"] == ["CD"]  # HR06002: incomplete RBBB
    assert meta.loc[3, "superdiagnostic"] == ["NORM"]
    assert hot.sum().to_dict() == {"NORM": 7, "MI": 0, "STTC": 2, "CD": 1, "HYP": 0}
    for labels, row in zip(meta["superdiagnostic"], hot.to_numpy()):
        assert sorted(np.array(PTBXL_SUPERCLASSES)[row == 1]) == sorted(labels)


def test_other_label_sets(ptbxl_tree):
    _, rhythm = load_ptbxl(ptbxl_tree, labels="rhythm", verbose=False)
    assert rhythm.loc[3, "rhythm"] == ["SR", "STACH"]  # HR06003: two rhythm statements, both multi-hot
    assert rhythm.loc[3, ["SBRAD", "SR", "STACH"]].tolist() == [0, 1, 1]
    _, sub = load_ptbxl(ptbxl_tree, labels="subdiagnostic", verbose=False)
    assert sub.loc[1, "subdiagnostic"] == ["NST_"]
    _, plain = load_ptbxl(ptbxl_tree, labels=None, verbose=False)
    assert not set(PTBXL_SUPERCLASSES) & set(plain.columns)
    # rhythm statements have likelihood 0: a threshold drops them
    _, strict = load_ptbxl(ptbxl_tree, labels="all", min_likelihood=50, verbose=False)
    assert strict.loc[0, "all"] == ["NDT"]


def test_100_hz_and_folds(ptbxl_tree, ptbxl):
    X500, _ = ptbxl
    X, meta = load_ptbxl(ptbxl_tree, sampling_rate=100, folds=[9, 10], verbose=False)
    assert X.shape == (2, 12, 1000) and meta["strat_fold"].tolist() == [9, 10]
    assert meta["record"].tolist() == ["06008_lr", "06009_lr"]
    # the 100-Hz copy follows the 500-Hz signal (every 5th sample, up to the resampling filter)
    r = np.corrcoef(X[0].ravel(), X500[8][:, ::5].ravel())[0, 1]
    assert r > 0.95


def test_age_300_means_over_89(ptbxl_tree, tmp_path):
    shutil.copytree(ptbxl_tree, tmp_path / "p")
    db = pd.read_csv(tmp_path / "p" / "ptbxl_database.csv")
    db.loc[0, "age"] = 300
    db.to_csv(tmp_path / "p" / "ptbxl_database.csv", index=False)
    _, meta = load_ptbxl(tmp_path / "p", folds=1, verbose=False)
    assert meta["age"].tolist() == [90.0]


@pytest.mark.parametrize("kwargs, match", [
    ({"sampling_rate": 250}, "sampling_rate"),
    ({"labels": "superclass"}, "labels"),
    ({"folds": [0]}, "folds"),
    ({"min_likelihood": 150}, "min_likelihood"),
])
def test_bad_arguments_name_the_parameter(ptbxl_tree, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_ptbxl(ptbxl_tree, verbose=False, **kwargs)


def test_broken_trees_raise_clear_errors(ptbxl_tree, tmp_path):
    with pytest.raises(FileNotFoundError, match="ptbxl"):
        load_ptbxl(tmp_path / "nothing")
    broken = tmp_path / "broken"
    shutil.copytree(ptbxl_tree, broken)
    (broken / "records500" / "06000" / "06003_hr.hea").unlink()
    with pytest.raises(FileNotFoundError, match="06003_hr"):
        load_ptbxl(broken, verbose=False)
    db = pd.read_csv(broken / "ptbxl_database.csv")
    db.loc[0, "scp_codes"] = "NORM"
    db.to_csv(broken / "ptbxl_database.csv", index=False)
    with pytest.raises(ECGFileError, match="scp_codes"):
        load_ptbxl(broken, sampling_rate=100, verbose=False)
    (broken / "scp_statements.csv").unlink()
    with pytest.raises(FileNotFoundError, match="scp_statements.csv"):
        load_ptbxl(broken, verbose=False)


def test_fetch_downloads_once_then_reads_the_local_copy(ptbxl_tree, tmp_path, monkeypatch):
    import wfdb

    calls = []

    def fake_dl_database(slug, dl_dir, **kwargs):  # offline: "download" copies the fixture tree
        calls.append((slug, dl_dir))
        shutil.copytree(ptbxl_tree, dl_dir, dirs_exist_ok=True)

    monkeypatch.setattr(wfdb, "dl_database", fake_dl_database)
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        fetch_ptbxl(home, download_if_missing=False)
    assert calls == []
    X, meta = fetch_ptbxl(home, verbose=False)
    assert calls == [("ptb-xl", str(home / "ptbxl"))]
    assert X.shape == (10, 12, 5000) and meta["NORM"].sum() == 7
    X2, _ = fetch_ptbxl(home, sampling_rate=100, verbose=False)  # present: no second download
    assert len(calls) == 1 and X2.shape == (10, 12, 1000)
    # the data home from ECGSK_DATA, and a copy unpacked from PhysioNet's zip (ptb-xl-1.0.3/) is found too
    (home / "ptbxl").rename(tmp_path / "ptb-xl-1.0.3")
    monkeypatch.setenv("ECGSK_DATA", str(tmp_path))
    X3, _ = fetch_ptbxl(download_if_missing=False, verbose=False)
    assert len(calls) == 1
    np.testing.assert_array_equal(X3, X)


def test_fetch_redownloads_when_records_are_missing(ptbxl_tree, tmp_path, monkeypatch):
    import wfdb

    calls = []
    monkeypatch.setattr(wfdb, "dl_database",
                        lambda slug, dl_dir, **kw: calls.append(slug) or shutil.copytree(ptbxl_tree, dl_dir,
                                                                                         dirs_exist_ok=True))
    shutil.copytree(ptbxl_tree, tmp_path / "ptbxl")
    shutil.rmtree(tmp_path / "ptbxl" / "records100")
    fetch_ptbxl(tmp_path, verbose=False)  # 500 Hz complete: nothing downloaded
    assert calls == []
    X, _ = fetch_ptbxl(tmp_path, sampling_rate=100, verbose=False)
    assert calls == ["ptb-xl"] and X.shape == (10, 12, 1000)
