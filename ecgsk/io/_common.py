"""Private helpers shared by the readers and writers of :mod:`ecgsk.io`."""

import os
from pathlib import Path

import numpy as np

from ecgsk.exceptions import ECGFileError
from ecgsk.io._atomic import write_bytes_atomic
from ecgsk.leads import LEADS_12

# Multiply physical values in these units by the factor to get millivolts.
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "microvolt": 1e-3, "v": 1e3, "nv": 1e-6}


def _fail(path, what, exc=None):
    msg = f"{os.fspath(path)}: {what}"
    if exc is not None:
        msg += f" ({type(exc).__name__}: {exc})"
    raise ECGFileError(msg) from exc


def _record_base(path):
    """Strip a ``.hea``/``.dat``/``.mat`` suffix: wfdb wants the record name."""
    path = Path(path)
    if path.suffix.lower() in (".hea", ".dat", ".mat"):
        path = path.with_suffix("")
    return path


def _units_factor(unit):
    """Factor from ``unit`` to mV, or None for a unit that is not a voltage (left as is)."""
    key = (unit or "mV").strip().lower().replace(" ", "")
    return _UNIT_TO_MV.get(key)


def _reorder_standard(signal, leads):
    """Put the 12 standard leads in LEADS_12 order when the record holds exactly them."""
    if len(leads) == 12 and set(leads) == set(LEADS_12):
        order = [leads.index(name) for name in LEADS_12]
        return signal[order], list(LEADS_12), order
    return signal, list(leads), list(range(len(leads)))


def _check_int_array(U, ndim=3):
    U = np.asarray(U)
    if U.ndim == ndim - 1 and ndim == 3:
        U = U[None]
    if U.ndim != ndim:
        raise ValueError(f"expected integer µV of shape (n_ecgs, n_leads, n_samples); got shape {U.shape}")
    if not np.issubdtype(U.dtype, np.integer):
        raise ValueError(f"expected integer µV values; got dtype {U.dtype} (use write_asc for mV)")
    if U.size and (U.min() < np.iinfo(np.int32).min or U.max() > np.iinfo(np.int32).max):
        raise ValueError("µV values must fit in int32, as deepfake-ecg writes int32")
    if U.size == 0:
        raise ValueError(f"empty array of shape {U.shape}")
    return U


def _write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (a temporary name in the same folder, then ``os.replace``)."""
    write_bytes_atomic(path, data)
