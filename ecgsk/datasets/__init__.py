"""Dataset loaders and simulators (no torch).

- :func:`get_data_home`: where the loaders look for data.
- :func:`load_ludb`, :func:`fetch_ludb`: the Lobachevsky University database
  (200 12-lead records with age, sex, diagnoses and P/QRS/T delineation).
- :func:`load_cinc2021`, :func:`load_cpsc2019`, :func:`load_mitdb`: small real
  datasets in the data home.
- :func:`load_ptbxl`, :func:`fetch_ptbxl`: PTB-XL in PhysioNet's layout, with
  SCP codes and the NORM/MI/STTC/CD/HYP superclasses.
- :func:`load_mimic_ecg`: MIMIC-IV-ECG in PhysioNet's layout, read lazily.
- :func:`snomed_ct_cinc2021`, :func:`name_snomed_codes`: the CinC 2021 SNOMED CT
  mapping table (package data).
- :func:`make_synthetic_ecgs`: a Gaussian-wave ECG simulator for examples and tests.
- :func:`simulate_survival`: survival times from a known Cox model.
- :class:`ECGDataset`: an ECG batch read record by record (a memmap or a
  reader function), for data larger than memory.

The loaders live in :mod:`ecgsk.datasets.loaders`, the simulators in
:mod:`ecgsk.datasets.simulators`; both are re-exported here.
"""

from ecgsk.datasets.dataset import ECGDataset, is_lazy_ecg
from ecgsk.datasets.loaders import (
    fetch_ludb,
    get_data_home,
    load_cinc2021,
    load_cpsc2019,
    load_ludb,
    load_mitdb,
)
from ecgsk.datasets.mimic import load_mimic_ecg
from ecgsk.datasets.ptbxl import PTBXL_SUPERCLASSES, fetch_ptbxl, load_ptbxl
from ecgsk.datasets.simulators import make_synthetic_ecgs, simulate_survival
from ecgsk.datasets.snomed import name_snomed_codes, snomed_ct_cinc2021

__all__ = [
    "get_data_home",
    "load_ludb",
    "fetch_ludb",
    "load_cinc2021",
    "load_cpsc2019",
    "load_mitdb",
    "make_synthetic_ecgs",
    "simulate_survival",
    "ECGDataset",
    "is_lazy_ecg",
    "load_ptbxl",
    "fetch_ptbxl",
    "PTBXL_SUPERCLASSES",
    "load_mimic_ecg",
    "snomed_ct_cinc2021",
    "name_snomed_codes",
]
