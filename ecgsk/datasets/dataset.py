"""A lazily read ECG batch: :class:`ECGDataset` (NumPy only, no torch).

An :class:`ECGDataset` looks like an ECG batch of shape
``(n_ecgs, n_leads, n_samples)`` in mV, but reads its records only when they
are indexed: from a memory-mapped array (int16 with a gain, or float32, as
:func:`ecgsk.io.pack` writes them) or from a per-record reader function (a
folder of files, MIMIC-IV-ECG).  It is a plain map-style sequence, so
``torch.utils.data.DataLoader`` accepts it as it is, and every ecgsk model
whose documentation says so fits on it without loading it whole.
"""

import mmap
import numbers
import os
from collections.abc import Sequence

import numpy as np

from ..utils.validation import is_lazy_ecg_input

__all__ = ["ECGDataset", "is_lazy_ecg", "as_ecg_dataset", "map_rows", "lead_statistics"]


def is_lazy_ecg(X):
    """Whether ``X`` is a batch read on access: an :class:`ECGDataset` or a ``numpy.memmap``.

    The same test as :func:`ecgsk.utils.validation.is_lazy_ecg_input` (any
    object whose class sets ``__ecg_lazy__`` counts), under the name the
    datasets use.

    Parameters
    ----------
    X : object
        Anything; nothing is read from it.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_lazy_ecg(np.zeros((1, 1, 5))), is_lazy_ecg(ECGDataset(np.zeros((1, 1, 5))))
    (False, True)
    """
    return is_lazy_ecg_input(X)


def as_ecg_dataset(X):
    """``X`` as an :class:`ECGDataset` (itself when it is one; a memmap or an array is wrapped, not read).

    An integer memmap is taken to hold mV, as :func:`ecgsk.utils.validation.check_ecg_array`
    takes integer arrays; wrap it yourself with ``ECGDataset(raw, gain=...)`` when
    it holds analogue-to-digital units.

    Examples
    --------
    >>> import numpy as np
    >>> as_ecg_dataset(np.zeros((2, 3, 4))).shape
    (2, 3, 4)
    """
    if isinstance(X, ECGDataset):
        return X
    dtype = np.dtype(getattr(X, "dtype", np.float64))
    return ECGDataset(X, gain=1.0 if np.issubdtype(dtype, np.integer) or dtype == bool else None)


def map_rows(X, function):
    """``function(X)`` for an array; for an :class:`ECGDataset`, a lazy dataset applying it per batch read.

    ``function`` must work row by row (the result for a row depends on that
    row alone), take a float32 batch ``(k, n_leads, n_samples)`` and return a
    batch with ``k`` rows.  Models use it to scale their training data
    without reading a memory-mapped input whole.

    Examples
    --------
    >>> import numpy as np
    >>> ds = map_rows(ECGDataset(np.ones((3, 1, 4))), lambda b: b * 2)
    >>> ds[0].tolist(), map_rows(np.ones((1, 1, 2)), lambda b: b * 2).tolist()
    ([[2.0, 2.0, 2.0, 2.0]], [[[2.0, 2.0]]])
    """
    return X.map(function) if isinstance(X, ECGDataset) else function(X)


def lead_statistics(X, chunk_size=256):
    """Per-lead mean, standard deviation and largest magnitude over all ECGs and samples.

    An :class:`ECGDataset` is read ``chunk_size`` ECGs at a time (sums in
    float64); an array is reduced at once.

    Parameters
    ----------
    X : ndarray or ECGDataset of shape (n_ecgs, n_leads, n_samples)
    chunk_size : int, default=256

    Returns
    -------
    dict with ``mean``, ``std`` and ``abs_max``, each an ndarray of float64, shape (n_leads,)

    Examples
    --------
    >>> import numpy as np
    >>> stats = lead_statistics(ECGDataset(np.array([[[1.0, 3.0]], [[-5.0, 5.0]]])), chunk_size=1)
    >>> stats["mean"].tolist(), stats["abs_max"].tolist()
    ([1.0], [5.0])
    """
    if not isinstance(X, ECGDataset):
        X = np.asarray(X, dtype=np.float64)
        return {"mean": X.mean(axis=(0, 2)), "std": X.std(axis=(0, 2)), "abs_max": np.abs(X).max(axis=(0, 2))}
    total = np.zeros(X.n_leads)
    squares = np.zeros(X.n_leads)
    peak = np.zeros(X.n_leads)
    count = 0
    for _, chunk in X.iter_chunks(chunk_size):
        chunk = chunk.astype(np.float64)
        total += chunk.sum(axis=(0, 2))
        squares += (chunk**2).sum(axis=(0, 2))
        peak = np.maximum(peak, np.abs(chunk).max(axis=(0, 2)))
        count += chunk.shape[0] * chunk.shape[2]
    mean = total / count
    return {"mean": mean, "std": np.sqrt(np.maximum(squares / count - mean**2, 0.0)), "abs_max": peak}


def _memmap_origin(arr):
    """``(filename, byte offset, dtype, shape)`` of a C-contiguous memmap (or a view of one), else None.

    It lets a memmap travel to another process (DataLoader workers under
    ``spawn``/``forkserver``) as its file name rather than as its contents,
    which is what pickling an ``np.memmap`` does.
    """
    filename = getattr(arr, "filename", None)
    handle = getattr(arr, "_mmap", None)
    if not isinstance(arr, np.memmap) or filename is None or handle is None or not arr.flags.c_contiguous:
        return None
    try:
        start = int(arr.offset) - int(arr.offset) % mmap.ALLOCATIONGRANULARITY
        base = np.frombuffer(handle, dtype=np.uint8).__array_interface__["data"][0]
    except (TypeError, ValueError, BufferError):  # a closed or foreign mapping
        return None
    pointer = arr.__array_interface__["data"][0]
    return os.fspath(filename), start + pointer - base, arr.dtype.str, tuple(arr.shape)


def _pread_into(fd, view, offset):
    data = os.pread(fd, len(view), offset)
    view[:len(data)] = data
    return len(data)


class ECGDataset(Sequence):
    """An ECG batch read record by record, in mV, from a memmap or a reader function.

    ``ds[i]`` is one ECG, a float32 array of shape ``(n_leads, n_samples)`` in
    millivolts; ``ds[a:b]``, ``ds[[i, j]]`` and ``ds[mask]`` are float32
    batches of shape ``(k, n_leads, n_samples)``.  Only the indexed records
    are read.  ``np.asarray(ds)`` reads everything (do it only when it fits
    in memory).

    Parameters
    ----------
    data : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        The stored values, typically a ``numpy.memmap`` (see
        :func:`ecgsk.io.open_packed`).  A 2-D array is single-lead.  Integer
        data need a ``gain``.
    gain : float or array-like of shape (n_leads,), optional
        Analogue-to-digital units per mV: a record in mV is
        ``(data[i] - baseline) / gain``.  None means the data are already mV.
    baseline : float or array-like of shape (n_leads,), default=0
        The stored value of 0 mV.
    meta : pandas.DataFrame, optional
        One row per ECG (record name, age, sex, diagnoses ...).
    fs : float, optional
        Sampling rate in Hz, for reference (models take their own ``fs``).
    leads : sequence of str, optional
        Lead names, one per lead.

    Attributes
    ----------
    shape : tuple of int
        ``(n_ecgs, n_leads, n_samples)``.
    n_leads, n_samples : int
    data : array-like or None
        The backing array (None for a reader-backed dataset).
    meta, fs, leads, gain, baseline
        As given.

    Raises
    ------
    ValueError
        For data that is not 2-D or 3-D, integer data without a gain, a
        ``meta`` table or ``leads`` of the wrong length, or (on access) a
        record that holds NaN or infinity or has the wrong shape.

    See Also
    --------
    ECGDataset.from_reader : a dataset that calls a function per record.
    ecgsk.io.pack : write a collection of records as one memory-mapped array.
    ecgsk.io.open_packed : open such an array as an :class:`ECGDataset`.

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.array([[[1000, -500, 0]], [[250, 250, 0]]], dtype=np.int16)  # µV
    >>> ds = ECGDataset(raw, gain=1000.0, fs=500)
    >>> len(ds), ds.shape
    (2, (2, 1, 3))
    >>> ds[0]
    array([[ 1. , -0.5,  0. ]], dtype=float32)
    >>> ds[[1, 0]].shape
    (2, 1, 3)
    """

    ndim = 3
    dtype = np.dtype(np.float32)
    #: read on access: :func:`ecgsk.utils.validation.check_ecg_array` checks it in chunks (``lazy=True``)
    __ecg_lazy__ = True
    _parent = None
    _rows = None
    _function = None

    def __init__(self, data, *, gain=None, baseline=0.0, meta=None, fs=None, leads=None):
        if not hasattr(data, "shape") or not hasattr(data, "__getitem__"):
            data = np.asarray(data)
        if len(data.shape) == 2:
            self._promote = True
            n, n_leads, n_samples = data.shape[0], 1, data.shape[1]
        elif len(data.shape) == 3:
            self._promote = False
            n, n_leads, n_samples = data.shape
        else:
            raise ValueError(
                "ECGDataset data must have shape (n_ecgs, n_leads, n_samples), or (n_ecgs, n_samples) for a "
                f"single lead; got shape {tuple(data.shape)}"
            )
        dtype = np.dtype(getattr(data, "dtype", np.float64))
        if not (np.issubdtype(dtype, np.number) or dtype == bool) or np.issubdtype(dtype, np.complexfloating):
            raise TypeError(f"ECGDataset data must hold real numbers; got dtype {dtype}")
        if gain is None and np.issubdtype(dtype, np.integer):
            raise ValueError(
                f"ECGDataset data are integers ({dtype}): pass gain= (analogue-to-digital units per mV, e.g. "
                "1000.0 for µV) so that records can be given back in mV"
            )
        self.data = data
        self.gain = self._per_lead(gain, n_leads, "gain", positive=True)
        self.baseline = self._per_lead(baseline, n_leads, "baseline")
        self._reader = None
        self._init_common(n, n_leads, n_samples, meta, fs, leads)

    @classmethod
    def from_reader(cls, reader, n_ecgs, *, n_leads, n_samples, meta=None, fs=None, leads=None):
        """A dataset whose record ``i`` is ``reader(i)``, called on access.

        Parameters
        ----------
        reader : callable
            ``reader(i)`` returns record ``i`` as an array of shape
            ``(n_leads, n_samples)`` in mV (e.g. it reads one file).  It must be
            picklable to be used with DataLoader workers under ``spawn``.
        n_ecgs : int
            Number of records.
        n_leads, n_samples : int
            Shape every record has; a record of another shape raises
            ``ValueError`` when it is read.
        meta, fs, leads
            As for :class:`ECGDataset`.

        Returns
        -------
        ECGDataset

        Examples
        --------
        >>> import numpy as np
        >>> ds = ECGDataset.from_reader(lambda i: np.full((2, 4), i), 3, n_leads=2, n_samples=4)
        >>> ds[2][0].tolist(), ds.shape
        ([2.0, 2.0, 2.0, 2.0], (3, 2, 4))
        """
        if not callable(reader):
            raise TypeError(f"reader must be callable (record index -> (n_leads, n_samples) mV); got {reader!r}")
        self = cls.__new__(cls)
        self.data = None
        self.gain = None
        self.baseline = None
        self._promote = False
        self._reader = reader
        for name, value in (("n_ecgs", n_ecgs), ("n_leads", n_leads), ("n_samples", n_samples)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self._init_common(int(n_ecgs), int(n_leads), int(n_samples), meta, fs, leads)
        return self

    def _init_common(self, n, n_leads, n_samples, meta, fs, leads):
        self.shape = (int(n), int(n_leads), int(n_samples))
        self.n_leads, self.n_samples = int(n_leads), int(n_samples)
        if meta is not None:
            import pandas as pd

            if not isinstance(meta, pd.DataFrame):
                meta = pd.DataFrame(meta)
            if len(meta) != n:
                raise ValueError(f"meta has {len(meta)} rows but the dataset holds {n} ECGs (one row per ECG)")
            meta = meta.reset_index(drop=True)
        self.meta = meta
        self.fs = fs
        if leads is not None:
            leads = tuple(str(name) for name in leads)
            if len(leads) != n_leads:
                raise ValueError(f"leads names {len(leads)} lead(s) but the data hold {n_leads}: {leads}")
        self.leads = leads

    @staticmethod
    def _per_lead(value, n_leads, name, positive=False):
        if value is None:
            return None
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n_leads, float(arr))
        if arr.shape != (n_leads,):
            raise ValueError(f"{name} must be a number or one value per lead ({n_leads}); got shape {arr.shape}")
        if not np.isfinite(arr).all() or (positive and (arr <= 0).any()):
            raise ValueError(f"{name} must be finite{' and positive' if positive else ''}; got {value!r}")
        return arr

    # -- the sequence ------------------------------------------------------------------
    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if isinstance(index, (numbers.Integral, np.integer)) and not isinstance(index, bool):
            i = int(index)
            if i < -len(self) or i >= len(self):
                raise IndexError(f"ECG index {i} is out of range for a dataset of {len(self)}")
            i %= len(self)
            return self._read(np.array([i]))[0]
        if isinstance(index, slice):
            rows = np.arange(len(self))[index]
        else:
            rows = np.asarray(index)
            if rows.dtype == bool:
                if rows.shape != (len(self),):
                    raise IndexError(f"boolean index of shape {rows.shape} for a dataset of {len(self)} ECGs")
                rows = np.flatnonzero(rows)
            elif rows.ndim != 1 or not (np.issubdtype(rows.dtype, np.integer) or rows.size == 0):
                raise IndexError(
                    f"ECGDataset takes an int, a slice, a 1-D array of ints or a boolean mask; got {index!r}"
                )
            rows = rows.astype(np.int64)
            if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
                raise IndexError(f"ECG index out of range for a dataset of {len(self)}")
            rows %= max(len(self), 1)
        return self._read(rows)

    def _read(self, rows):
        """Records ``rows`` (ints in range) as float32 mV, shape ``(k, n_leads, n_samples)``."""
        if self._parent is not None:
            out = self._parent._read(rows if self._rows is None else self._rows[rows])
            if self._function is None:
                return out
            out = np.asarray(self._function(out), dtype=np.float32)
            if out.shape != (len(rows),) + self.shape[1:]:
                raise ValueError(
                    f"the function mapped over this dataset gave shape {out.shape} for {len(rows)} record(s); "
                    f"expected {(len(rows),) + self.shape[1:]}"
                )
            return out
        if self._reader is not None:
            out = np.empty((len(rows),) + self.shape[1:], dtype=np.float32)
            for j, i in enumerate(rows):
                record = np.asarray(self._reader(int(i)), dtype=np.float32)
                if record.shape != self.shape[1:]:
                    raise ValueError(
                        f"record {self._name(i)} has shape {record.shape}; this dataset's records have shape "
                        f"{self.shape[1:]} (n_leads, n_samples)"
                    )
                out[j] = record
        else:
            raw = self._raw(rows)
            if self._promote:
                raw = raw[:, None, :]
            if self.gain is None:
                out = raw.astype(np.float32, copy=True)
            else:
                out = raw.astype(np.float32)
                out -= self.baseline.astype(np.float32)[:, None]
                out /= self.gain.astype(np.float32)[:, None]
            if np.issubdtype(raw.dtype, np.integer):
                return out
        if not np.isfinite(out).all():
            bad = rows[~np.isfinite(out).reshape(len(rows), -1).all(axis=1)]
            raise ValueError(
                f"ECG record(s) {', '.join(self._name(i) for i in bad[:5])} hold NaN or infinite values; "
                "expected finite millivolts"
            )
        return out

    def _raw(self, rows):
        """Stored values of ``rows``, as read from the file for a memmap (so they stay out of this process's RSS).

        Reading a memmap through its mapping leaves every page read resident
        in the process (a 2 GB epoch would be 2 GB of RSS); ``os.pread`` goes
        through the page cache only.
        """
        origin = self.__dict__.get("_origin", False)
        if origin is False:
            origin = self._origin = _memmap_origin(self.data) if isinstance(self.data, np.memmap) else None
        contiguous = len(rows) > 0 and bool(np.all(np.diff(rows) == 1))
        if origin is None:
            if contiguous:
                return np.asarray(self.data[int(rows[0]):int(rows[-1]) + 1])  # one contiguous read
            return np.asarray(self.data[rows])
        filename, offset, dtype, shape = origin
        dtype = np.dtype(dtype)
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        fd = self.__dict__.get("_fd")
        if fd is None or self.__dict__.get("_fd_pid") != os.getpid():
            fd = self._fd = os.open(filename, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            self._fd_pid = os.getpid()
        out = np.empty((len(rows),) + tuple(shape[1:]), dtype=dtype)
        buffer = out.reshape(-1).view(np.uint8)
        spans = [(int(rows[0]), len(rows))] if contiguous else [(int(r), 1) for r in rows]
        position = 0
        for first, count in spans:
            want = count * row_bytes
            view = memoryview(buffer[position:position + want])
            done = 0
            while done < want:
                got = os.preadv(fd, [view[done:]], offset + first * row_bytes + done) if hasattr(os, "preadv") \
                    else _pread_into(fd, view[done:], offset + first * row_bytes + done)
                if got == 0:
                    raise ValueError(f"{filename} is shorter than its header says (truncated?)")
                done += got
            position += want
        return out

    def _name(self, i):
        if self._parent is not None:
            return self._parent._name(i if self._rows is None else self._rows[int(i)])
        if self.meta is not None and "record" in self.meta.columns:
            return f"{int(i)} ({self.meta['record'].iloc[int(i)]})"
        return str(int(i))

    def __iter__(self):
        for start, chunk in self.iter_chunks():
            yield from chunk

    def iter_chunks(self, chunk_size=256):
        """Yield ``(start, batch)`` pairs of consecutive records, ``chunk_size`` at a time.

        Parameters
        ----------
        chunk_size : int, default=256

        Yields
        ------
        start : int
        batch : ndarray of float32, shape (k, n_leads, n_samples)

        Examples
        --------
        >>> import numpy as np
        >>> [(s, len(b)) for s, b in ECGDataset(np.zeros((5, 1, 3))).iter_chunks(2)]
        [(0, 2), (2, 2), (4, 1)]
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
        for start in range(0, len(self), int(chunk_size)):
            yield start, self._read(np.arange(start, min(start + int(chunk_size), len(self))))

    def subset(self, indices):
        """A lazy dataset of the records ``indices`` (nothing is read).

        Parameters
        ----------
        indices : array-like of int, slice or boolean mask

        Returns
        -------
        ECGDataset

        Examples
        --------
        >>> import numpy as np
        >>> ds = ECGDataset(np.arange(12.0).reshape(4, 1, 3))
        >>> ds.subset([3, 1])[0].tolist()
        [[9.0, 10.0, 11.0]]
        """
        rows = np.arange(len(self))[indices] if isinstance(indices, slice) else np.asarray(indices)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise IndexError(f"boolean index of shape {rows.shape} for a dataset of {len(self)} ECGs")
            rows = np.flatnonzero(rows)
        if rows.ndim != 1 or not (np.issubdtype(rows.dtype, np.integer) or rows.size == 0):
            raise IndexError(f"subset takes a 1-D array of ints, a slice or a boolean mask; got {indices!r}")
        rows = rows.astype(np.int64)
        if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise IndexError(f"ECG index out of range for a dataset of {len(self)}")
        rows %= max(len(self), 1)
        sub = ECGDataset.__new__(ECGDataset)
        sub.__dict__.update(self.__dict__)
        sub._parent, sub._rows, sub._function = self, rows, None
        meta = None if self.meta is None else self.meta.iloc[rows]
        sub._init_common(len(rows), self.n_leads, self.n_samples, meta, self.fs, self.leads)
        return sub

    def map(self, function, *, n_leads=None, n_samples=None):
        """A lazy dataset whose batches are ``function(batch)`` of this one's (nothing is read now).

        Parameters
        ----------
        function : callable
            Takes a float32 batch ``(k, n_leads, n_samples)`` in mV and returns
            ``k`` rows; it must work row by row.  For DataLoader workers under
            ``spawn`` it must be picklable (a module-level function or a
            ``functools.partial``, not a lambda).
        n_leads, n_samples : int, optional
            The shape of the output records; by default found by applying
            ``function`` to the first record.

        Returns
        -------
        ECGDataset

        Examples
        --------
        >>> import numpy as np
        >>> ds = ECGDataset(np.ones((2, 3, 4))).map(lambda b: b[:, :1] * 5)
        >>> ds.shape, ds[1].tolist()
        ((2, 1, 4), [[5.0, 5.0, 5.0, 5.0]])
        """
        if not callable(function):
            raise TypeError(f"function must be callable; got {function!r}")
        if n_leads is None or n_samples is None:
            probe = np.asarray(function(self._read(np.array([0]))))
            if probe.ndim != 3 or probe.shape[0] != 1:
                raise ValueError(f"the mapped function must return a batch (k, n_leads, n_samples); got {probe.shape}")
            n_leads = probe.shape[1] if n_leads is None else n_leads
            n_samples = probe.shape[2] if n_samples is None else n_samples
        out = ECGDataset.__new__(ECGDataset)
        out.__dict__.update(self.__dict__)
        out._parent, out._rows, out._function = self, None, function
        leads = self.leads if n_leads == self.n_leads else None
        out._init_common(len(self), int(n_leads), int(n_samples), self.meta, self.fs, leads)
        return out

    def validate(self, chunk_size=256, name="X"):
        """Check every stored value is finite, ``chunk_size`` ECGs at a time; returns ``self``.

        Integer data are always finite and are not read; a reader-backed
        dataset is checked as its records are read, not here.

        Parameters
        ----------
        chunk_size : int, default=256
            ECGs read at a time (bounds memory).
        name : str, default="X"
            The argument name used in the error message.

        Returns
        -------
        self : ECGDataset

        Raises
        ------
        ValueError
            Naming the first records that hold NaN or infinity.

        Examples
        --------
        >>> import numpy as np
        >>> ECGDataset(np.zeros((3, 1, 4))).validate().shape
        (3, 1, 4)
        """
        root = self
        while root._parent is not None:
            root = root._parent
        if root._reader is not None or not np.issubdtype(np.dtype(root.data.dtype), np.floating):
            return self
        if self._parent is not None:
            for _ in self.iter_chunks(chunk_size):  # _read raises on a non-finite record
                pass
            return self
        for start in range(0, len(self), int(chunk_size)):
            chunk = self._raw(np.arange(start, min(start + int(chunk_size), len(self))))
            finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
            if not finite.all():
                bad = ", ".join(self._name(start + i) for i in np.flatnonzero(~finite)[:5])
                raise ValueError(f"{name} contains NaN or infinite values (in ECG(s) {bad}); expected finite millivolts")
        return self

    def __array__(self, dtype=None, copy=None):
        out = self._read(np.arange(len(self)))
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self):
        source = "reader" if self._reader is not None else type(self.data).__name__
        extra = "" if self.gain is None else f", gain={self.gain[0]:g}" if np.all(self.gain == self.gain[0]) \
            else ", gain=per-lead"
        return f"ECGDataset(shape={self.shape}, source={source}{extra}, fs={self.fs})"

    # -- pickling: a memmap travels as its file name, never as its contents ------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_fd", "_fd_pid", "_origin"):
            state.pop(key, None)
        origin = _memmap_origin(self.data) if isinstance(self.data, np.memmap) else None
        if origin is not None:
            state["data"] = ("__memmap__",) + origin
        return state

    def __setstate__(self, state):
        data = state.get("data")
        if isinstance(data, tuple) and data and data[0] == "__memmap__":
            _, filename, offset, dtype, shape = data
            state["data"] = np.memmap(filename, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape)
        self.__dict__.update(state)
