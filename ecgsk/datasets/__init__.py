"""Dataset loaders and simulators (no torch).

- :func:`get_data_home`: where the loaders look for data.
- :func:`load_ludb`, :func:`fetch_ludb`: the Lobachevsky University database
  (200 12-lead records with age, sex, diagnoses and P/QRS/T delineation).
- :func:`load_cinc2021`, :func:`load_cpsc2019`, :func:`load_mitdb`: small real
  datasets in ``../shared/data``.
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
from ecgsk.datasets.simulators import make_synthetic_ecgs, simulate_survival

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
]
