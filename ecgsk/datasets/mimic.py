"""MIMIC-IV-ECG (Gow et al., PhysioNet 2023): :func:`load_mimic_ecg`, read lazily (no torch).

About 800,000 diagnostic 12-lead ECGs of 10 s at 500 Hz from about 160,000
patients of the MIMIC-IV database (open access on PhysioNet, ODbL 1.0).  At about 190 GB as
float32 it does not fit in memory, so the loader returns an
:class:`~ecgsk.datasets.ECGDataset` that reads each record when it is
indexed.
"""

import os
from pathlib import Path

import numpy as np

from ecgsk.datasets._records import read_standard_12
from ecgsk.datasets.loaders import _dataset_dir
from ecgsk.leads import LEADS_12

__all__ = ["load_mimic_ecg"]

_RECORD_LIST_COLUMNS = ("subject_id", "study_id", "file_name", "ecg_time", "path")


class _MIMICRecordReader:
    """``reader(i)``: record ``i`` of the record list in mV, LEADS_12 order (picklable for DataLoader workers)."""

    def __init__(self, root, paths, n_samples):
        self.root = os.fspath(root)
        self.paths = list(paths)
        self.n_samples = n_samples

    def __call__(self, i):
        from ecgsk.io import ECGFileError

        base = Path(self.root) / self.paths[i]
        if not base.with_name(base.name + ".hea").is_file():
            raise FileNotFoundError(f"{base}.hea: record listed in record_list.csv not found")
        x, info = read_standard_12(base)
        if x.shape[1] != self.n_samples:
            raise ECGFileError(f"{base}.hea: {x.shape[1]} samples, expected {self.n_samples}")
        return x


def load_mimic_ecg(path=None, *, subjects=None, n_samples=5000, fs=500.0, machine_measurements=True):
    """Open MIMIC-IV-ECG as a lazily read ECG batch.

    The folder is PhysioNet's layout: ``record_list.csv`` (one row per ECG:
    ``subject_id``, ``study_id``, ``file_name``, ``ecg_time``, ``path``) and
    the WFDB records ``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.hea/.dat``
    that its ``path`` column names (relative to the folder, without
    suffix).  Only the table is read here; each record is read from its file
    when the dataset is indexed.

    Parameters
    ----------
    path : str or path-like, optional
        The MIMIC-IV-ECG folder.  Default ``get_data_home() / "mimic-iv-ecg"``.
    subjects : sequence of int, optional
        Keep only the ECGs of these ``subject_id`` values.  Default all.
    n_samples : int, default=5000
        Samples each record holds (10 s at 500 Hz); a record of another
        length raises ``ECGFileError`` when it is read.
    fs : float, default=500.0
        The sampling rate, recorded on the dataset.
    machine_measurements : bool, default=True
        When ``machine_measurements.csv`` sits beside ``record_list.csv``,
        join its columns (the machine's report lines ``report_0`` ...,
        intervals and axes) to ``meta`` on ``study_id``.

    Returns
    -------
    ecgsk.datasets.ECGDataset
        ``len(ds)`` ECGs of shape ``(12, n_samples)``; ``ds[i]`` reads record
        ``i`` (float32 mV, :data:`~ecgsk.leads.LEADS_12` order), ``ds[a:b]``
        and ``ds[[i, j]]`` read batches.  ``ds.meta`` is ``record_list.csv``
        (rows in its order) with a ``record`` column (the file name) and
        ``fs``.  A record holding NaN (MIMIC-IV-ECG has a few with missing
        samples) raises ``ValueError`` naming it when it is read.

    Raises
    ------
    FileNotFoundError
        If the folder or ``record_list.csv`` is missing, or (on access) a
        record file.
    ecgsk.io.ECGFileError
        If ``record_list.csv`` lacks a column, or (on access) a record is
        corrupt, not 12-lead or of another length.

    Examples
    --------
    >>> ds = load_mimic_ecg()  # doctest: +SKIP
    >>> len(ds), ds.shape[1:]  # doctest: +SKIP
    (800035, (12, 5000))
    >>> ds[0].shape, ds.meta.loc[0, "subject_id"]  # doctest: +SKIP
    ((12, 5000), 10000032)
    """
    import pandas as pd

    from ecgsk.datasets.dataset import ECGDataset
    from ecgsk.io import ECGFileError

    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    root = _dataset_dir(path, "mimic-iv-ecg")
    table = root / "record_list.csv"
    if not table.is_file():
        raise FileNotFoundError(f"{root}: record_list.csv not found (is this the MIMIC-IV-ECG folder?)")
    meta = pd.read_csv(table)
    missing = set(_RECORD_LIST_COLUMNS) - set(meta.columns)
    if missing:
        raise ECGFileError(f"{table}: missing column(s) {sorted(missing)}")
    if subjects is not None:
        meta = meta[meta["subject_id"].isin(list(subjects))]
    meta = meta.reset_index(drop=True)
    if meta.empty:
        raise FileNotFoundError(f"{table}: no records" + (" of these subjects" if subjects is not None else ""))
    measurements = root / "machine_measurements.csv"
    if machine_measurements and measurements.is_file():
        extra = pd.read_csv(measurements)
        extra = extra.drop(columns=[c for c in extra.columns if c in meta.columns and c != "study_id"])
        meta = meta.merge(extra, on="study_id", how="left", validate="one_to_one")
    meta.insert(0, "fs", float(fs))
    meta.insert(0, "record", [Path(str(p)).name for p in meta["path"]])
    reader = _MIMICRecordReader(root, meta["path"].astype(str), int(n_samples))
    return ECGDataset.from_reader(reader, len(meta), n_leads=12, n_samples=int(n_samples), meta=meta,
                                  fs=float(fs), leads=list(LEADS_12))
