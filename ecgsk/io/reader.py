"""``ecgsk.io.read``: one call for every format, returning ``(X, meta)``; the inverse of ``ecgsk.io.write``.

Every format goes through its verifying reader, which returns the same
``(X, meta)`` pair for one file (:func:`~ecgsk.io.read_wfdb`,
:func:`~ecgsk.io.read_challenge_record`, :func:`~ecgsk.io.read_asc`,
:func:`~ecgsk.io.read_csv`, :func:`~ecgsk.io.read_npy`,
:func:`~ecgsk.io.read_npz`), so a damaged file raises
:class:`~ecgsk.exceptions.ECGFileError` naming the file and the field.
"""

from pathlib import Path

import numpy as np

from ecgsk.exceptions import ECGFileError
from ecgsk.io.asc import read_asc
from ecgsk.io.challenge import read_challenge_record
from ecgsk.io.csv import read_csv
from ecgsk.io.npy import read_npy, read_npz
from ecgsk.io.wfdb import read_wfdb
from ecgsk.io._verify import _check_fs, _meta_frame

__all__ = ["read", "READ_FORMATS"]

#: Formats :func:`read` reads.
READ_FORMATS = ("wfdb", "challenge", "asc", "csv", "npy", "npz")
_SUFFIX = {".hea": "wfdb", ".dat": "wfdb", ".asc": "asc", ".csv": "csv", ".npy": "npy", ".npz": "npz", ".mat": "challenge"}


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


def _read_one(path, fmt, fs):
    """(X (k, leads, T), list of k row dicts) for one file, through its format's reader."""
    if fmt == "wfdb":
        X, meta = read_wfdb(path)
    elif fmt == "challenge":
        X, meta = read_challenge_record(path)
    elif fmt == "asc":
        X, meta = read_asc(path, fs=fs)
    elif fmt == "csv":
        X, meta = read_csv(path, fs=fs)
    elif fmt == "npy":
        X, meta = read_npy(path, fs=fs)
    else:
        X, meta = read_npz(path, fs=fs)
    return X, meta.to_dict("records")


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
        - ``npz``: one column per other entry of the archive (see
          :func:`~ecgsk.io.read_npz`).
        - ``asc``, ``csv``, ``npy``: nothing more.

        For one file this is the pair the format's own reader returns.

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
    _check_fs(fs)
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
