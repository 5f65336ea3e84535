"""ecgsk.datasets.mimic: load_mimic_ecg on a MIMIC-IV-ECG tree built from real records (see conftest)."""

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import ECGDataset, load_mimic_ecg
from ecgsk.io import ECGFileError


def test_lazy_dataset_reads_the_real_records(mimic_tree, cinc_hr):
    ds = load_mimic_ecg(mimic_tree)
    assert isinstance(ds, ECGDataset)
    assert len(ds) == 10 and ds.shape == (10, 12, 5000) and ds.fs == 500.0
    # MIMIC writes aVF before aVL: the reader puts the leads in LEADS_12 order
    np.testing.assert_allclose(ds[3], cinc_hr[3]["val"] / 1000.0, atol=1e-6)
    batch = ds[[0, 9]]
    assert batch.shape == (2, 12, 5000) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[1], cinc_hr[9]["val"] / 1000.0, atol=1e-6)
    meta = ds.meta
    assert {"subject_id", "study_id", "file_name", "ecg_time", "path", "record", "fs"} <= set(meta.columns)
    assert meta.loc[0, "record"] == str(meta.loc[0, "study_id"])
    assert meta.loc[2, "report_0"] == "constructed report 2"  # machine_measurements.csv joined on study_id


def test_records_are_read_on_access_not_on_open(mimic_tree, tmp_path):
    tree = tmp_path / "m"
    shutil.copytree(mimic_tree, tree)
    ds = load_mimic_ecg(tree)
    first = pd.read_csv(tree / "record_list.csv").loc[0, "path"]
    (tree / f"{first}.dat").unlink()  # opening read no signal, so it still worked
    np.testing.assert_equal(ds[1].shape, (12, 5000))
    with pytest.raises(Exception, match=str(first.rsplit("/", 1)[1])):
        ds[0]


def test_subjects_and_pickling(mimic_tree):
    subjects = pd.read_csv(mimic_tree / "record_list.csv")["subject_id"].tolist()
    ds = load_mimic_ecg(mimic_tree, subjects=subjects[4:6], machine_measurements=False)
    assert len(ds) == 2 and ds.meta["subject_id"].tolist() == subjects[4:6]
    assert "report_0" not in ds.meta.columns
    again = pickle.loads(pickle.dumps(ds))  # DataLoader workers under spawn pickle the dataset
    np.testing.assert_array_equal(again[1], ds[1])


def test_errors(mimic_tree, tmp_path):
    with pytest.raises(FileNotFoundError, match="mimic-iv-ecg"):
        load_mimic_ecg(tmp_path / "missing")
    with pytest.raises(ValueError, match="n_samples"):
        load_mimic_ecg(mimic_tree, n_samples=0)
    ds = load_mimic_ecg(mimic_tree, n_samples=4000)
    with pytest.raises(ECGFileError, match="5000 samples, expected 4000"):
        ds[0]
    tree = tmp_path / "t"
    shutil.copytree(mimic_tree, tree)
    pd.read_csv(tree / "record_list.csv").drop(columns="path").to_csv(tree / "record_list.csv", index=False)
    with pytest.raises(ECGFileError, match="path"):
        load_mimic_ecg(tree)
