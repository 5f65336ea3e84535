"""``ecgsk.io.write``: one call for every format, the inverse of ``ecgsk.io.read``.

Every file is written atomically (see ``ecgsk.io._atomic``): after any error
or Ctrl-C each output file is complete or absent.
"""

import numbers
from pathlib import Path

import numpy as np

from ecgsk.io._common import _write_bytes
from ecgsk.leads import default_lead_names
from ecgsk.utils.validation import check_ecg_array

__all__ = ["write", "WRITE_FORMATS"]

#: Formats :func:`write` writes, one file (WFDB: one record) per ECG.
WRITE_FORMATS = ("asc", "csv", "npy", "npz", "wfdb")
_RESERVED = ("record", "fs", "leads")


def _rows(meta, n):
    """``meta`` (DataFrame, list of dicts, one dict or None) as a list of ``n`` dicts."""
    if meta is None:
        return [{} for _ in range(n)]
    if isinstance(meta, dict):
        return [dict(meta) for _ in range(n)]
    if hasattr(meta, "to_dict") and hasattr(meta, "columns"):
        rows = meta.to_dict("records")
    else:
        rows = [dict(r) for r in meta]
    if len(rows) != n:
        raise ValueError(f"meta has {len(rows)} rows; expected one per ECG ({n})")
    return rows


def _leads_of(row, n_leads):
    leads = row.get("leads")
    if leads is None or (isinstance(leads, float) and np.isnan(leads)):
        return default_lead_names(n_leads, prefix="ch")
    if isinstance(leads, str):
        leads = [s.strip() for s in leads.split(",")]
    leads = list(leads)
    if len(leads) != n_leads:
        raise ValueError(f"meta gives {len(leads)} lead names for {n_leads} leads")
    return leads


def _rate_of(row, fs):
    """The row's ``fs``, or ``fs`` where the row gives none (missing, None or NaN, as a reader reports an unknown rate)."""
    rate = row.get("fs")
    if rate is None or (isinstance(rate, (float, np.floating)) and np.isnan(rate)):
        return float(fs)
    return float(rate)


def _npz_entries(row, path):
    """The ``meta`` columns of one row as ``.npz`` entries (None skipped); ValueError for a value NumPy cannot store."""
    entries = {}
    for key, value in row.items():
        if key in _RESERVED or value is None:
            continue
        array = np.asarray(value)
        if array.dtype.kind not in "biufUS":
            raise ValueError(f"{path}: meta column {key!r} holds {value!r}, which .npz cannot store without pickle")
        entries[key] = array[None]  # one item per ECG of the file, so that read_npz gives it to that ECG's row
    return entries


def write(X, out_dir, format="npy", meta=None, *, start_id=0, fs=500):
    """Write an ECG batch in mV to ``out_dir``, one file (WFDB: one record) per ECG.

    The inverse of ``ecgsk.io.read`` and of each format's reader: reading
    ``out_dir`` back gives ``X`` (to the format's resolution: 1 µV for
    ``asc`` and ``wfdb``, 6 significant digits for ``csv``, exact for ``npy``
    and ``npz``) and ``meta``'s ``record`` and ``leads``.  ``fs`` and the
    other columns come back from ``wfdb`` (header comments) and ``npz``
    (archive entries); ``asc``, ``csv`` and ``npy`` store no sampling rate,
    so pass ``fs=`` to the reader (``asc`` is read at 500 Hz by default).

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_leads, n_samples)
        ECGs in mV.
    out_dir : str or path-like
        Created if missing; files with the same names are replaced.
    format : {"npy", "npz", "asc", "csv", "wfdb"}, default="npy"
        ``npy``: float32 ``(1, leads, T)`` per file.  ``npz``: an archive per
        file holding ``X`` (float32 ``(1, leads, T)``), ``fs``, ``leads`` and
        one entry per other ``meta`` column.  ``asc``: deepfake-ecg's
        integer µV text, 8 (LEADS_8) or 12 (LEADS_12) columns.  ``csv``: mV
        with a header of lead names.  ``wfdb``: ``.dat`` (format 16, integer
        gain) + ``.hea``, whose comments carry the other ``meta`` columns.
    meta : DataFrame, list of dict or dict, optional
        One row per ECG.  ``record`` names the file (default
        ``str(start_id + i)``), ``fs`` the sampling rate (WFDB), ``leads`` the
        lead names (a list or a comma-separated string; default LEADS_12 or
        LEADS_8 by count).  Every other column (model, ecgsk_version, seed,
        id, age, ...) becomes a ``key: value`` header comment in WFDB and an
        entry in ``npz``; the other formats store only the samples and lead
        names.
    start_id : int, default=0
        Default record names are ``str(start_id + i)``.
    fs : float, default=500
        Sampling rate where ``meta`` gives none (no ``fs``, or NaN as the
        readers report an unknown rate); stored by ``wfdb`` and ``npz`` only.

    Returns
    -------
    list of pathlib.Path
        One per ECG: the file, or for WFDB the record path without suffix.

    Raises
    ------
    ValueError
        For an unknown ``format``, a batch that breaks the data contract,
        ``meta`` of the wrong length or lead names that do not match,
        ``asc`` with other than 8 or 12 leads, or an ``npz`` ``meta`` value
        NumPy cannot store without pickle (e.g. a dict).

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, n_samples=500, random_state=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write(X, d, format="wfdb", meta={"model": "demo", "seed": 0})
    ...     sorted(p.name for p in Path(d).iterdir())
    ['0.dat', '0.hea', '1.dat', '1.hea']
    """
    if not isinstance(format, str) or format.lower().lstrip(".") not in WRITE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(WRITE_FORMATS)}; got {format!r}")
    fmt = format.lower().lstrip(".")
    if isinstance(start_id, bool) or not isinstance(start_id, numbers.Integral) or start_id < 0:
        raise ValueError(f"start_id must be an integer >= 0; got {start_id!r}")
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    X = check_ecg_array(X)
    n, n_leads, _ = X.shape
    rows = _rows(meta, n)
    names = [str(r.get("record", start_id + i)) for i, r in enumerate(rows)]
    if len(set(names)) != n:
        raise ValueError("meta's record names are not unique")
    for name in names:
        if not name or Path(name).name != name or name.startswith("."):
            raise ValueError(f"record name {name!r} is not a plain file name")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    if fmt == "wfdb":
        from ecgsk.io.wfdb import write_wfdb

        paths = []
        for name, x, row in zip(names, X, rows):
            comments = {k: v for k, v in row.items() if k not in _RESERVED}
            paths += write_wfdb(x[None], out_dir, fs=_rate_of(row, fs), leads=_leads_of(row, n_leads),
                                record_names=[name], comments=comments)
        return paths
    if fmt == "asc":
        if n_leads not in (8, 12):
            raise ValueError(f"asc files hold 8 (LEADS_8) or 12 (LEADS_12) leads; got {n_leads}")
        from ecgsk.io.asc import _asc_bytes, mv_to_asc_microvolts

        paths = []
        for s in range(0, n, 64):
            block = mv_to_asc_microvolts(X[s : s + 64])
            for name, text in zip(names[s : s + 64], _asc_bytes(block)):
                p = out_dir / f"{name}.asc"
                _write_bytes(p, text)
                paths.append(p)
        return paths
    if fmt == "csv":
        return [_csv_one(x, out_dir / f"{name}.csv", _leads_of(row, n_leads)) for name, x, row in zip(names, X, rows)]
    if fmt == "npz":
        from ecgsk.io.npy import write_npz

        entries = [_npz_entries(row, out_dir / f"{name}.npz") for name, row in zip(names, rows)]  # all checked first
        return [
            write_npz(out_dir / f"{name}.npz", x[None], fs=_rate_of(row, fs), leads=np.array(_leads_of(row, n_leads)),
                      **extra)
            for name, x, row, extra in zip(names, X, rows, entries)
        ]
    from ecgsk.io.npy import write_npy

    return [write_npy(x[None], out_dir / f"{name}.npy") for name, x in zip(names, X)]


def _csv_one(x, path, leads):
    from ecgsk.io._atomic import atomic_path

    with atomic_path(path) as tmp:
        np.savetxt(tmp, x.T, fmt="%.6g", delimiter=",", header=",".join(leads), comments="")
    return path
