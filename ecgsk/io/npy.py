"""NumPy ``.npy``/``.npz`` files of ECG batches in mV.

:func:`write_npy`, :func:`read_npy`, :func:`write_npz` and :func:`read_npz`.
"""

from pathlib import Path

import numpy as np

from ecgsk.io._atomic import atomic_path
from ecgsk.io._common import _fail
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
    ...     read_npy(p).shape
    (2, 12, 100)
    """
    X = check_ecg_array(X)
    path = Path(path)
    if path.suffix != ".npy":
        path = path.with_name(path.name + ".npy")  # as np.save names it
    with atomic_path(path) as tmp, open(tmp, "wb") as stream:
        np.save(stream, X, allow_pickle=False)
    return path


def read_npy(path):
    """Load an ECG batch from ``.npy`` (validated, float32, mV).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray of float32, shape (n_ecgs, n_leads, n_samples)

    Raises
    ------
    ECGFileError
        If the file is corrupt or truncated, or does not hold an ECG batch.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_npy(np.ones((1, 1, 5)), os.path.join(d, "x.npy"))
    ...     read_npy(p).dtype.name
    'float32'
    """
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        _fail(path, "could not read .npy file (corrupt or truncated?)", exc)
    try:
        return check_ecg_array(arr)
    except (ValueError, TypeError) as exc:  # TypeError: a complex or non-numeric array
        _fail(path, "does not hold an ECG batch", exc)


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
    ...     data = read_npz(p)
    >>> sorted(data), int(data["fs"])
    (['X', 'fs'], 500)
    """
    X = check_ecg_array(X)
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # as np.savez names it
    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path) as tmp, open(tmp, "wb") as stream:
        save(stream, X=X, **arrays)
    return path


def read_npz(path):
    """Load a ``.npz`` file written by :func:`write_npz` into a dict of arrays.

    The ``X`` entry is validated as an ECG batch (float32, mV).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    ECGFileError
        If the archive is corrupt or truncated, or ``X`` is not an ECG batch.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_npz(os.path.join(d, "x.npz"), np.zeros((1, 2, 3)))
    ...     read_npz(p)["X"].shape
    (1, 2, 3)
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except Exception as exc:
        _fail(path, "could not read .npz file (corrupt or truncated?)", exc)
    if "X" in out:
        try:
            out["X"] = check_ecg_array(out["X"])
        except (ValueError, TypeError) as exc:
            _fail(path, "entry 'X' is not an ECG batch", exc)
    return out
