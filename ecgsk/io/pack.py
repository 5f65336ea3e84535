"""Pack a collection of ECG records into one memory-mapped ``.npy`` (no torch).

:func:`pack` reads records one file at a time (through :func:`ecgsk.io.read`),
resamples them to one rate and cuts or pads them to one length, and writes
them into a ``.npy`` made with ``numpy.lib.format.open_memmap`` (int16 with a
stored gain, or float32), with ``<name>.csv`` (one row per ECG) and
``<name>.json`` (gain, rate, length, leads, the rule) beside it.
:func:`open_packed` gives it back as an :class:`ecgsk.datasets.ECGDataset`
that reads records on access, in mV.
"""

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

__all__ = ["pack", "open_packed"]

_SUFFIXES = (".hea", ".asc", ".csv", ".npy", ".npz")


def _record_files(source):
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such file or folder of ECG records")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{source}: no ECG records ({', '.join(_SUFFIXES)}) found")
    return files


def _n_ecgs(path):
    """The ECG count of a ``.npy`` batch or an ``.npz``'s ``X``, from the array header alone; None for one-record formats.

    A file whose header cannot be read counts as one record: reading it then
    raises the reader's ``ECGFileError`` naming the file.
    """
    import zipfile

    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, mmap_mode="r")
            return arr.shape[0] if arr.ndim == 3 else None
        if suffix == ".npz":
            with zipfile.ZipFile(path) as archive, archive.open("X.npy") as stream:
                from numpy.lib import format as npformat

                version = npformat.read_magic(stream)
                read_header = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
                shape = read_header(stream)[0]
            return shape[0] if len(shape) == 3 else None
    except Exception:  # damaged: the reader names the file and the field
        return None
    return None


def _fit_length(x, length):
    """Crop (keep the first ``length`` samples) or zero-pad at the end; return the signal and its real length."""
    n = x.shape[-1]
    if n >= length:
        return x[..., :length], length
    return np.concatenate([x, np.zeros(x.shape[:-1] + (length - n,), x.dtype)], axis=-1), n


def pack(source, out_path, fs=500, length=5000, dtype="int16", *, gain=1000.0, source_fs=None):
    """Write a collection of ECG records as one memory-mapped array, one record at a time.

    Rule: each record is resampled from its own rate to ``fs`` with
    ``scipy.signal.resample_poly``, then its first ``length`` samples are kept;
    a shorter record is zero-padded at the end, and ``n_valid`` in the table
    says how many samples are real.  Every record must have the lead count
    of the first.

    Parameters
    ----------
    source : str or path-like
        A folder (searched recursively) of WFDB/challenge (``.hea``), ``.asc``,
        ``.csv``, ``.npy`` or ``.npz`` records, or one such file.
    out_path : str or path-like
        The ``.npy`` to write; ``.csv`` and ``.json`` of the same name go beside it.
    fs : float, default=500
        Sampling rate of the packed array, in Hz.
    length : int, default=5000
        Samples per packed record.
    dtype : {"int16", "float32"}, default="int16"
        int16 stores ``round(mV * gain)`` (half the disk of float32); float32 stores mV.
    gain : float, default=1000.0
        Units per mV for int16 (1000: 1 µV steps, range ±32.767 mV).  A value
        that does not fit raises ``ValueError`` naming the record.
    source_fs : float, optional
        The rate of records whose format stores none (``.npy``, ``.csv``).

    Returns
    -------
    pathlib.Path
        The ``.npy`` written.

    Examples
    --------
    >>> import tempfile, os
    >>> from ecgsk.io import write
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(3, n_leads=8, n_samples=1000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write(X, os.path.join(d, "in"), format="asc")
    ...     path = pack(os.path.join(d, "in"), os.path.join(d, "x.npy"), fs=250, length=400)
    ...     ds = open_packed(path)
    ...     ds.shape, ds.fs
    ((3, 8, 400), 250.0)
    """
    from scipy.signal import resample_poly

    from ecgsk.io.reader import read

    if dtype not in ("int16", "float32"):
        raise ValueError(f"dtype must be 'int16' or 'float32'; got {dtype!r}")
    fs, length, gain = float(fs), int(length), float(gain)
    if fs <= 0 or length < 1 or gain <= 0:
        raise ValueError(f"fs, length and gain must be positive; got fs={fs}, length={length}, gain={gain}")
    files = _record_files(source)
    counts = [_n_ecgs(f) for f in files]
    out_path = Path(out_path)
    if out_path.suffix != ".npy":
        out_path = out_path.with_name(out_path.name + ".npy")
    tmp = out_path.with_name(out_path.name + ".part")
    rows, arr, leads, n = [], None, None, 0
    try:
        from tqdm.auto import tqdm

        for f, count in zip(tqdm(files, desc="pack", unit="file", disable=len(files) < 100), counts):
            X, meta = read(f, fs=source_fs)
            if arr is None:
                leads = tuple(meta.loc[0, "leads"])
                total = sum(c if c is not None else 1 for c in counts)
                arr = open_memmap(tmp, mode="w+", dtype=np.dtype(dtype), shape=(total, len(leads), length))
            for j in range(len(X)):
                record, rate = X[j], float(meta.loc[j, "fs"])
                name = str(meta.loc[j, "record"])
                if X.shape[1] != len(leads):
                    raise ValueError(f"{f}: record {name} has {X.shape[1]} leads; the pack holds {len(leads)} {leads}")
                if not np.isfinite(rate):
                    raise ValueError(f"{f}: the format stores no sampling rate; pass source_fs=")
                if rate != fs:
                    ratio = Fraction(fs / rate).limit_denominator(1000)
                    record = resample_poly(record, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)
                original = record.shape[-1]
                record, n_valid = _fit_length(record, length)
                if dtype == "int16":
                    scaled = np.rint(record.astype(np.float64) * gain)
                    if np.abs(scaled).max() > 32767:
                        raise ValueError(
                            f"{f}: record {name} reaches {np.abs(record).max():.4g} mV, beyond int16 at gain "
                            f"{gain:g} (±{32767 / gain:.4g} mV); pass a lower gain or dtype='float32'"
                        )
                    record = scaled
                if n >= arr.shape[0]:
                    raise ValueError(f"{f} holds more ECGs than its header said")
                arr[n] = record
                row = {k: meta.loc[j, k] for k in meta.columns if k not in ("leads",)}
                row.update({"source": os.fspath(f), "fs_original": rate, "n_samples_original": original,
                            "n_valid": n_valid})
                rows.append(row)
                n += 1
        arr.flush()
        del arr
        if n != sum(c if c is not None else 1 for c in counts):
            raise ValueError("the records read differ in number from those counted; the collection changed?")
        os.replace(tmp, out_path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    import pandas as pd

    pd.DataFrame(rows).to_csv(out_path.with_suffix(".csv"), index=False)
    info = {"format": "ecgsk-packed", "version": 1, "n_ecgs": n, "fs": fs, "length": length, "dtype": dtype,
            "gain": gain if dtype == "int16" else None, "leads": list(leads),
            "rule": "resample_poly to fs, keep the first `length` samples, zero-pad at the end (n_valid)"}
    out_path.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return out_path


def open_packed(path):
    """Open an array written by :func:`pack` as a read-only :class:`~ecgsk.datasets.ECGDataset` in mV.

    Parameters
    ----------
    path : str or path-like
        The ``.npy`` (its ``.json`` and ``.csv`` must be beside it).

    Returns
    -------
    ECGDataset
        Records read on access; int16 is scaled to mV by the stored gain.
        ``meta`` is the table, ``fs`` and ``leads`` as packed.

    Examples
    --------
    See :func:`pack`.
    """
    import pandas as pd

    from ecgsk.datasets.dataset import ECGDataset  # here: ecgsk.datasets imports ecgsk.io when loaded

    path = Path(path)
    info_path = path.with_suffix(".json")
    if not info_path.is_file():
        raise FileNotFoundError(f"{info_path}: the description written by ecgsk.io.pack is missing")
    info = json.loads(info_path.read_text())
    if info.get("format") != "ecgsk-packed":
        raise ValueError(f"{info_path} was not written by ecgsk.io.pack")
    data = np.load(path, mmap_mode="r")
    meta = pd.read_csv(path.with_suffix(".csv")) if path.with_suffix(".csv").is_file() else None
    return ECGDataset(data, gain=info.get("gain"), meta=meta, fs=info["fs"], leads=info["leads"])
