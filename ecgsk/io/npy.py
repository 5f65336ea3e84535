"""NumPy ``.npy``/``.npz`` files of ECG batches in mV.

:func:`write_npy`, :func:`read_npy`, :func:`write_npz` and :func:`read_npz`.
"""

import math
from pathlib import Path

import numpy as np

from ecgsk.io._atomic import atomic_path
from ecgsk.io._common import _fail
from ecgsk.io._verify import _check_fs, _meta_frame
from ecgsk.leads import default_lead_names
from ecgsk.utils.validation import check_ecg_array

__all__ = ["write_npy", "read_npy", "write_npz", "read_npz"]


def write_npy(X, path):
    """Save an ECG batch in mV as a float32 ``.npy`` file.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples)
    path : str or path-like

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_npy(np.zeros((2, 12, 100)), os.path.join(d, "x.npy"))
    ...     read_npy(p)[0].shape
    (2, 12, 100)
    """
    X = check_ecg_array(X)
    path = Path(path)
    if path.suffix != ".npy":
        path = path.with_name(path.name + ".npy")  # as np.save names it
    with atomic_path(path) as tmp, open(tmp, "wb") as stream:
        np.save(stream, X, allow_pickle=False)
    return path


def _record_names(path, n):
    """``stem`` for one ECG, ``stem[i]`` for the i-th of several."""
    stem = Path(path).stem
    return [stem] if n == 1 else [f"{stem}[{i}]" for i in range(n)]


def read_npy(path, *, fs=None):
    """Load an ECG batch from ``.npy`` (validated, float32, mV).

    Parameters
    ----------
    path : str or path-like
    fs : float, optional
        The sampling rate to report in ``meta``: a ``.npy`` file stores none,
        and ecgsk never guesses one, so it is NaN unless given.

    Returns
    -------
    X : ndarray of float32, shape (n_ecgs, n_leads, n_samples)
        In mV.
    meta : pandas.DataFrame
        One row per ECG: ``record`` (the file name without suffix for one
        ECG, ``name[i]`` for the i-th of several), ``fs`` (Hz, float; NaN
        unless given) and ``leads`` (:data:`~ecgsk.leads.LEADS_12` for 12
        leads, :data:`~ecgsk.leads.LEADS_8` for 8, else ``ch0``, ``ch1``,
        ...).  The same pair :func:`ecgsk.io.read` returns.

    Raises
    ------
    ECGFileError
        If the file is corrupt or truncated, or does not hold an ECG batch.
    ValueError
        For an ``fs`` that is not a positive finite number.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_npy(np.ones((2, 8, 5)), os.path.join(d, "x.npy"))
    ...     X, meta = read_npy(p, fs=500)
    >>> X.shape, X.dtype.name, meta["record"].tolist(), meta.loc[0, "leads"][:2]
    ((2, 8, 5), 'float32', ['x[0]', 'x[1]'], ('I', 'II'))
    """
    rate = _check_fs(fs)
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        _fail(path, "could not read .npy file (corrupt or truncated?)", exc)
    try:
        X = check_ecg_array(arr)
    except (ValueError, TypeError) as exc:  # TypeError: a complex or non-numeric array
        _fail(path, "does not hold an ECG batch", exc)
    leads = tuple(default_lead_names(X.shape[1], prefix="ch"))
    return X, _meta_frame([{"record": r, "fs": rate, "leads": leads} for r in _record_names(path, len(X))])


def write_npz(path, X, *, compressed=True, **arrays):
    """Save an ECG batch (key ``X``) and any extra arrays in one ``.npz`` file.

    Parameters
    ----------
    path : str or path-like
    X : array-like of shape (n_ecgs, n_leads, n_samples)
        ECGs in mV.
    compressed : bool, default=True
    **arrays
        Further arrays (e.g. ``fs=500``, ``leads=np.array(LEADS_12)``).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_npz(os.path.join(d, "x.npz"), np.zeros((1, 2, 3)), fs=500)
    ...     X, meta = read_npz(p)
    >>> X.shape, float(meta.loc[0, "fs"])
    ((1, 2, 3), 500.0)
    """
    X = check_ecg_array(X)
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # as np.savez names it
    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path) as tmp, open(tmp, "wb") as stream:
        save(stream, X=X, **arrays)
    return path


def _python_value(value):
    """A NumPy value as a plain Python one (a scalar, or a list for an array)."""
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()


def read_npz(path, *, fs=None):
    """Load a ``.npz`` archive of an ECG batch (key ``X``) and what it carries, as :func:`write_npz` writes it.

    Parameters
    ----------
    path : str or path-like
    fs : float, optional
        The sampling rate to report when the archive has no ``fs`` entry
        (NaN otherwise: ecgsk never guesses one).  A stored ``fs`` wins.

    Returns
    -------
    X : ndarray of float32, shape (n_ecgs, n_leads, n_samples)
        The ``X`` entry, validated as an ECG batch, in mV.
    meta : pandas.DataFrame
        One row per ECG: ``record`` (the ``record`` entry, one string per
        ECG, when there is one, else the file name without suffix for one ECG and
        ``name[i]`` for the i-th of several), ``fs`` (the ``fs`` entry, Hz),
        ``leads`` (the ``leads`` entry, else :data:`~ecgsk.leads.LEADS_12`
        for 12 leads, :data:`~ecgsk.leads.LEADS_8` for 8, else ``ch0``, ...),
        then one column per other entry, as Python values: an entry whose
        first axis has ``n_ecgs`` items gives each ECG its item; any other
        (a 0-d entry, or another length) is the same on every row.  The same
        pair :func:`ecgsk.io.read` returns.

    Raises
    ------
    ECGFileError
        If the archive is corrupt or truncated, holds no ``X`` or an ``X``
        that is not an ECG batch, or its ``fs``, ``leads`` or ``record`` do
        not fit (``fs`` not one positive finite number, ``leads`` not one name
        per lead, ``record`` not one string per ECG).
    ValueError
        For an ``fs`` argument that is not a positive finite number.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_npz(os.path.join(d, "x.npz"), np.zeros((1, 2, 3)), fs=250, seed=7)
    ...     X, meta = read_npz(p)
    >>> X.shape, meta.loc[0, "record"], float(meta.loc[0, "fs"]), int(meta.loc[0, "seed"])
    ((1, 2, 3), 'x', 250.0, 7)
    """
    rate = _check_fs(fs)
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except Exception as exc:
        _fail(path, "could not read .npz file (corrupt or truncated?)", exc)
    if "X" not in out:
        _fail(path, "no array 'X' in the archive")
    try:
        X = check_ecg_array(out.pop("X"))
    except (ValueError, TypeError) as exc:
        _fail(path, "entry 'X' is not an ECG batch", exc)
    n = len(X)
    leads = tuple(default_lead_names(X.shape[1], prefix="ch"))
    if "leads" in out:
        leads = tuple(str(v) for v in np.atleast_1d(out.pop("leads")))
        if len(leads) != X.shape[1]:
            _fail(path, f"'leads' names {len(leads)} leads, 'X' holds {X.shape[1]}")
    if "fs" in out:
        try:
            rate = float(np.asarray(out.pop("fs")).reshape(()))
        except (TypeError, ValueError) as exc:
            _fail(path, "'fs' is not one number", exc)
        if not math.isfinite(rate) or rate <= 0:
            _fail(path, f"'fs' {rate} must be positive and finite")
    names = _record_names(path, n)
    if "record" in out:
        record = out.pop("record")
        if record.ndim != 1 or len(record) != n or record.dtype.kind not in "US":
            _fail(path, f"'record' must name the {n} ECGs of 'X' (1-D strings); got shape {record.shape}, "
                  f"dtype {record.dtype}")
        names = [str(v) for v in record]
    rows = [{"record": name, "fs": rate, "leads": leads} for name in names]
    for key, value in out.items():
        if value.ndim >= 1 and len(value) == n:
            for row, item in zip(rows, value):
                row[key] = _python_value(item)
        else:
            shared = _python_value(value)
            for row in rows:
                row[key] = shared
    return X, _meta_frame(rows)
