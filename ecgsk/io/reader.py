"""``ecgsk.io.read``: one call for every format, returning ``(X, meta)``; the inverse of ``ecgsk.io.write``.

Every format goes through its verifying reader (:func:`~ecgsk.io.read_wfdb`,
:func:`~ecgsk.io.read_challenge_record`, :func:`~ecgsk.io.read_asc`,
:func:`~ecgsk.io.read_csv`, :func:`~ecgsk.io.read_npy`,
:func:`~ecgsk.io.read_npz`), so a damaged file raises
:class:`~ecgsk.exceptions.ECGFileError` naming the file and the field.
"""

import math
import re
from pathlib import Path

import numpy as np

from ecgsk.exceptions import ECGFileError
from ecgsk.io.asc import read_asc
from ecgsk.io.challenge import read_challenge_record
from ecgsk.io.csv import read_csv
from ecgsk.io.npy import read_npy, read_npz
from ecgsk.io.wfdb import read_wfdb
from ecgsk.io._verify import _meta_frame
from ecgsk.leads import default_lead_names

__all__ = ["read", "READ_FORMATS"]

#: Formats :func:`read` reads.
READ_FORMATS = ("wfdb", "challenge", "asc", "csv", "npy", "npz")
_SUFFIX = {".hea": "wfdb", ".dat": "wfdb", ".asc": "asc", ".csv": "csv", ".npy": "npy", ".npz": "npz", ".mat": "challenge"}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _sort_key(p):
    return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)


def _detect_file(path):
    fmt = _SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise ECGFileError(f"{path}: unknown file type {path.suffix!r}; pass format= one of {', '.join(READ_FORMATS)}")
    if fmt in ("wfdb", "challenge"):
        base = path.with_suffix("")
        hea, mat = base.with_name(base.name + ".hea"), base.with_name(base.name + ".mat")
        if mat.is_file() and hea.is_file():
            text = hea.read_text(errors="replace")
            fmt = "challenge" if f"{mat.name} " in text else "wfdb"
        elif fmt == "challenge":
            raise ECGFileError(f"{hea}: the header of {mat.name} is missing")
    return fmt


def _records_in(folder, format):
    """(format, files) for a folder: one record per file (WFDB: per header)."""
    found = {}
    for p in folder.iterdir():
        fmt = {".hea": "wfdb", ".asc": "asc", ".csv": "csv", ".npy": "npy", ".npz": "npz"}.get(p.suffix.lower())
        if fmt and p.is_file():
            found.setdefault(fmt, []).append(p)
    if format is not None:
        key = "wfdb" if format == "challenge" else format
        files = found.get(key, [])
        if not files:
            raise FileNotFoundError(f"{folder}: no {format} records found")
        return format, sorted(files, key=_sort_key)
    if not found:
        raise FileNotFoundError(f"{folder}: no ECG records (.hea, .asc, .csv, .npy, .npz) found")
    if len(found) > 1:
        raise ValueError(f"{folder} holds records of several formats ({', '.join(sorted(found))}); pass format=")
    (fmt, files), = found.items()
    return fmt, sorted(files, key=_sort_key)


def _comment_columns(comments):
    """``key: value`` header comments whose key is a plain identifier (what ``ecgsk.io.write`` writes)."""
    out = {}
    for line in comments:
        key, sep, value = str(line).partition(":")
        key = key.strip().strip("<>").strip().lower()
        if sep and _IDENT.match(key) and key not in out:
            out[key] = value.strip()
    return out


def _read_one(path, fmt, fs):
    """(X (k, leads, T), list of k row dicts) for one file."""
    unknown = math.nan if fs is None else float(fs)
    if fmt == "wfdb":
        X, meta = read_wfdb(path)
        row = meta.iloc[0].to_dict()
        extra = {k: v for k, v in _comment_columns(row["comments"]).items() if k not in row}
        return X, [{**row, **extra}]
    if fmt == "challenge":
        x, info = read_challenge_record(path)
        row = {"record": info["record"], "fs": info["fs"], "leads": tuple(info["leads"]), "age": info["age"],
               "sex": info["sex"], "dx": info["dx"]}
        extra = {k: v for k, v in _comment_columns(info["comments"]).items() if k not in row}
        return x[None], [{**row, **extra, "comments": info["comments"]}]
    if fmt == "asc":
        x = read_asc(path)
        return x[None], [{"record": path.stem, "fs": 500.0 if fs is None else float(fs), "leads": tuple(default_lead_names(len(x), prefix="ch"))}]
    if fmt == "csv":
        x, leads = read_csv(path)
        return x[None], [{"record": path.stem, "fs": unknown, "leads": tuple(leads)}]
    if fmt == "npy":
        X = read_npy(path)
        leads, rate = tuple(default_lead_names(X.shape[1], prefix="ch")), unknown
    else:
        data = read_npz(path)
        if "X" not in data:
            raise ECGFileError(f"{path}: no array 'X' in the archive")
        X = data["X"]
        leads = tuple(default_lead_names(X.shape[1], prefix="ch"))
        if "leads" in data:
            leads = tuple(str(v) for v in np.atleast_1d(data["leads"]))
            if len(leads) != X.shape[1]:
                raise ECGFileError(f"{path}: 'leads' names {len(leads)} leads, 'X' holds {X.shape[1]}")
        rate = unknown
        if "fs" in data:
            try:
                rate = float(np.asarray(data["fs"]).reshape(()))
            except (TypeError, ValueError) as exc:
                raise ECGFileError(f"{path}: 'fs' is not one number") from exc
            if not math.isfinite(rate) or rate <= 0:
                raise ECGFileError(f"{path}: 'fs' {rate} must be positive and finite")
    names = [path.stem] if len(X) == 1 else [f"{path.stem}[{i}]" for i in range(len(X))]
    return X, [{"record": n, "fs": rate, "leads": leads} for n in names]


def read(path, format=None, *, fs=None):
    """Read an ECG file or a folder of ECG files in any supported format.

    Parameters
    ----------
    path : str or path-like
        A file (a WFDB record may be named with or without ``.hea``) or a
        folder holding records of one format (sorted by name, numeric names in
        numeric order).
    format : {"wfdb", "challenge", "asc", "csv", "npy", "npz"}, optional
        Detected when not given: from the suffix of a file (a ``.hea`` whose
        signal file is the record's ``.mat`` is ``challenge``), from the files
        in a folder.
    fs : float, optional
        The sampling rate to report for formats that do not store one
        (``csv``, ``npy``, ``npz`` without ``fs``; ``asc`` defaults to
        deepfake-ecg's 500 Hz).  Otherwise those rows hold NaN: ecgsk never
        guesses a sampling rate.

    Returns
    -------
    X : ndarray of float32, shape (n_records, n_leads, n_samples)
        In mV; the 12 standard leads in :data:`~ecgsk.leads.LEADS_12` order.
    meta : pandas.DataFrame
        One row per ECG.  Always ``record`` (file name without suffix;
        ``name[i]`` for the i-th ECG of a multi-ECG ``.npy``/``.npz``),
        ``fs`` (Hz, float) and ``leads`` (tuple of names in the order of
        ``X``).  What a format carries besides:

        - ``wfdb`` and ``challenge``: ``age`` (float, NaN if absent), ``sex``
          (``"M"``/``"F"``/None), ``dx`` (list of str) from the ``Age:``,
          ``Sex:``, ``Dx:`` comments; ``comments`` (list of str); one column
          (str values) per other ``key: value`` comment whose key is an
          identifier, e.g. ``model``, ``ecgsk_version``, ``seed``, ``id`` as
          :func:`ecgsk.io.write` writes them; ``wfdb`` also ``units``,
          ``units_original``, ``adc_gain`` and ``sig_len``.
        - ``asc``, ``csv``, ``npy``, ``npz``: nothing more.

    Raises
    ------
    ECGFileError
        For a damaged file (naming it and the field), or records in a folder
        that differ in leads or length.
    FileNotFoundError
        For a path that does not exist or a folder with no records.
    ValueError
        For an unknown ``format``, or a folder holding several formats.

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.io import write
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=8, n_samples=500, random_state=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write(X, d, format="asc")
    ...     Y, meta = read(d)
    >>> Y.shape, meta["record"].tolist(), meta.loc[0, "leads"][:2]
    ((2, 8, 500), ['0', '1'], ('I', 'II'))
    """
    if format is not None and (not isinstance(format, str) or format.lower().lstrip(".") not in READ_FORMATS):
        raise ValueError(f"format must be one of {', '.join(READ_FORMATS)}; got {format!r}")
    format = None if format is None else format.lower().lstrip(".")
    if fs is not None and (isinstance(fs, bool) or not isinstance(fs, (int, float)) or not math.isfinite(fs) or fs <= 0):
        raise ValueError(f"fs must be a positive finite number of Hz; got {fs!r}")
    path = Path(path)
    if path.is_dir():
        fmt, files = _records_in(path, format)
        if fmt == "wfdb" and format is None:
            files_fmt = [(f, _detect_file(f)) for f in files]
        else:
            files_fmt = [(f, fmt) for f in files]
    else:
        if not path.exists() and not path.with_name(path.name + ".hea").is_file():
            raise FileNotFoundError(f"{path}: no such file or record")
        if not path.exists():
            path = path.with_name(path.name + ".hea")
        files_fmt = [(path, format or _detect_file(path))]
    arrays, rows = [], []
    for f, fmt in files_fmt:
        X, r = _read_one(f, fmt, fs)
        if arrays and (X.shape[1:] != arrays[0].shape[1:] or r[0]["leads"] != rows[0]["leads"]):
            raise ECGFileError(
                f"{f}: {X.shape[1]} leads {r[0]['leads']} x {X.shape[2]} samples differ from the first record's "
                f"{arrays[0].shape[1]} leads {rows[0]['leads']} x {arrays[0].shape[2]} samples; read the files one by one"
            )
        arrays.append(X)
        rows.extend(r)
    return np.concatenate(arrays).astype(np.float32, copy=False), _meta_frame(rows)
