"""deepfake-ecg ``.asc`` text files: rows of 8 (I, II, V1-V6) or 12 integers in microvolts.

:func:`read_asc`, :func:`read_asc_dir`, :func:`format_asc`,
:func:`mv_to_asc_microvolts`, :func:`net_output_to_microvolts`,
:func:`write_asc` and :func:`write_asc_microvolts`.  The writers produce files
byte-identical to ``deepfakeecg.generate`` (which calls
``np.savetxt(path, ints, fmt='%i')``) at a fraction of the cost, through a
vectorised lookup-table formatter.
"""

import re
from pathlib import Path

import numpy as np

from ecgsk.io._common import _check_int_array, _fail, _write_bytes
from ecgsk.io._verify import _check_fs, _meta_frame
from ecgsk.leads import LEADS_8, LEADS_12
from ecgsk.utils.validation import check_ecg_array

__all__ = [
    "read_asc",
    "read_asc_dir",
    "format_asc",
    "mv_to_asc_microvolts",
    "net_output_to_microvolts",
    "write_asc",
    "write_asc_microvolts",
]


def read_asc(path, *, n_samples=None, fs=None):
    """Read a deepfake-ecg ``.asc`` file: rows of 8 (or 12) integers in µV.

    The file is parsed in blocks of about 4 MB (``np.loadtxt`` per block), so
    memory stays within a few times the file size.

    Parameters
    ----------
    path : str or path-like
    n_samples : int, optional
        Required number of rows (deepfake-ecg writes 5000); a file with another
        count raises :class:`ECGFileError`.
    fs : float, optional
        The sampling rate to report in ``meta`` (an ``.asc`` file stores
        none); default deepfake-ecg's 500 Hz.

    Returns
    -------
    X : ndarray of float32, shape (1, n_leads, n_samples)
        In mV (µV / 1000).  ``n_leads`` is the number of columns, 8 or 12.
    meta : pandas.DataFrame
        One row: ``record`` (file name without suffix), ``fs`` (Hz, float) and
        ``leads``: :data:`~ecgsk.leads.LEADS_8` for 8 columns,
        :data:`~ecgsk.leads.LEADS_12` for 12 (as ``ecgsk generate --leads
        12`` writes them).  The same pair :func:`ecgsk.io.read` returns.

    Raises
    ------
    ECGFileError
        Naming the file: empty, a row that does not hold 8 or 12 integers (or
        as many as the first row), an integer beyond int64, or a row count
        other than ``n_samples``.
    ValueError
        For an ``fs`` that is not a positive finite number.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_asc_microvolts(np.ones((1, 8, 5), dtype=int), d)
    ...     X, meta = read_asc(os.path.join(d, "0.asc"))
    >>> X.shape, round(float(X[0, 0, 0]), 6)
    ((1, 8, 5), 0.001)
    >>> meta.loc[0, "record"], float(meta.loc[0, "fs"]), meta.loc[0, "leads"][:3]
    ('0', 500.0, ('I', 'II', 'V1'))
    """
    rate = _check_fs(fs, default=_ASC_FS)
    chunks = _read_asc_blocks(path, n_samples=n_samples, convert=lambda v: (v / 1000.0).astype(np.float32))
    X = np.concatenate(chunks).T
    del chunks
    X = np.ascontiguousarray(X)[None]
    return X, _meta_frame([{"record": Path(path).stem, "fs": rate, "leads": _asc_leads(X.shape[1])}])


#: deepfake-ecg's sampling rate: what an ``.asc`` file is read at unless told otherwise.
_ASC_FS = 500.0


def _asc_leads(n_cols):
    """LEADS_8 for 8 columns, LEADS_12 for 12 (the only counts the reader accepts)."""
    return tuple(LEADS_12 if n_cols == 12 else LEADS_8)


def _read_asc_int(path, *, n_samples=None):
    """The integer µV of an ``.asc`` file as int64, shape (n_samples, n_columns)."""
    return np.concatenate(_read_asc_blocks(path, n_samples=n_samples, convert=lambda v: v))


_ASC_BLOCK = 1 << 22


def _read_asc_blocks(path, *, n_samples=None, convert):
    """Parse an ``.asc`` file block by block; returns the converted (rows, n_cols) chunks."""
    import io

    chunks, n_cols, rows, line = [], None, 0, 1
    try:
        stream = open(path, "rb")
    except OSError as exc:
        _fail(path, "could not read file", exc)
    with stream:
        rest = b""
        while True:
            block = stream.read(_ASC_BLOCK)
            data = rest + block
            if block:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    rest = data
                    continue
                data, rest = data[:cut], data[cut:]
            elif data.strip():
                # np.savetxt ends every row with a newline: a last row without one was cut.
                _fail(path, f"the last line ({data[-40:]!r}) has no newline: the file is truncated")
            if not data.strip():
                if not block:
                    break
                line += data.count(b"\n")
                continue
            try:
                text = data.decode("ascii")
            except UnicodeDecodeError as exc:
                _fail(path, f"non-ASCII bytes after line {line} (not an .asc text file)", exc)
            try:
                values = np.loadtxt(io.StringIO(text), dtype=np.int64, comments=None, ndmin=2)
            except ValueError as exc:
                token = re.search(r"could not convert string '([^']*)'", str(exc))
                if token and re.fullmatch(r"[-+]?\d+", token.group(1)):
                    _fail(path, f"integer {token.group(1)} (lines {line}-{line + text.count(chr(10))}) is beyond int64")
                what = "a row holds a different number of values than the first (truncated?)"
                if "number of columns" not in str(exc):
                    what = "non-integer value"
                _fail(path, f"lines {line}-{line + text.count(chr(10))}: {what}", exc)
            if n_cols is None:
                n_cols = values.shape[1]
                if n_cols not in (8, 12):
                    _fail(path, f"line 1 holds {n_cols} values, expected 8 or 12 integers per row")
            elif values.shape[1] != n_cols:
                _fail(path, f"lines {line}-{line + text.count(chr(10))} hold {values.shape[1]} values per row, "
                      f"the first rows {n_cols} (truncated?)")
            chunks.append(convert(values))
            rows += values.shape[0]
            line += text.count("\n")
            if not block:
                break
    if not chunks:
        _fail(path, "empty .asc file")
    if n_samples is not None and rows != n_samples:
        _fail(path, f"{rows} rows but {n_samples} were expected (truncated?)")
    return chunks


def read_asc_dir(path, *, n_samples=None, fs=None):
    """Read every ``*.asc`` file of a directory, in numeric id order.

    Parameters
    ----------
    path : str or path-like
        A directory such as the ``out_dir`` of ``deepfakeecg.generate``.
    n_samples : int, optional
        Required rows per file; by default all files must match the first.
    fs : float, optional
        The sampling rate to report; default 500 Hz (see :func:`read_asc`).

    Returns
    -------
    X : ndarray of float32, shape (n_files, n_leads, n_samples)
        In mV; 8 leads in :data:`~ecgsk.leads.LEADS_8` order or 12 in
        :data:`~ecgsk.leads.LEADS_12` order.
    meta : pandas.DataFrame
        One row per file, in the order of ``X``: ``record`` (the file stem,
        ``"0"``, ``"1"``, ...), ``fs`` and ``leads``, as :func:`read_asc`.

    Raises
    ------
    FileNotFoundError
        If the directory holds no ``.asc`` file.
    ECGFileError
        If a file is damaged (see :func:`read_asc`) or differs from the first
        in length or lead count.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_asc_microvolts(np.zeros((3, 8, 10), dtype=int), d)
    ...     X, meta = read_asc_dir(d)
    >>> X.shape, meta["record"].tolist()
    ((3, 8, 10), ['0', '1', '2'])
    """
    rate = _check_fs(fs, default=_ASC_FS)
    path = Path(path)
    files = list(path.glob("*.asc"))
    if not files:
        raise FileNotFoundError(f"{path}: no .asc files found")

    def key(p):
        return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)

    files.sort(key=key)
    signals, rows = [], []
    for f in files:
        x, meta = read_asc(f, n_samples=n_samples if n_samples is not None else (signals[0].shape[2] if signals else None),
                           fs=rate)
        if signals and x.shape[1] != signals[0].shape[1]:
            _fail(f, f"{x.shape[1]} columns, the first file {files[0].name} holds {signals[0].shape[1]}")
        signals.append(x)
        rows.extend(meta.to_dict("records"))
    return np.concatenate(signals), _meta_frame(rows)


def net_output_to_microvolts(output, scale=6000):
    """Turn generator outputs in [-1, 1] into deepfake-ecg's integer µV.

    Reproduces ``(out * 6000).int()`` of ``deepfakeecg.generate`` exactly: a
    float32 product, truncated toward zero.

    Parameters
    ----------
    output : array-like of shape (n_ecgs, 8, n_samples)
        Network output (tanh range).
    scale : float, default=6000

    Returns
    -------
    ndarray of int32, same shape

    Examples
    --------
    >>> net_output_to_microvolts(np.array([0.5, -0.00001, 1.0])).tolist()
    [3000, 0, 6000]
    """
    out = np.asarray(output, dtype=np.float32) * np.float32(scale)
    return np.trunc(out).astype(np.int32)


def mv_to_asc_microvolts(X):
    """Convert mV to the integer µV that deepfake-ecg would write (truncation toward zero).

    Two sources of float32 millivolts are handled exactly:

    - values read from an ``.asc`` file (``float32(k / 1000)`` for an integer
      ``k``) give back ``k``, so :func:`read_asc` followed by :func:`write_asc`
      reproduces the file byte for byte;
    - otherwise the value is ``trunc(float32(float32(mV / 6) * 6000))``, which for
      generator output ``mV = float32(net_output * 6)`` recovers deepfake-ecg's
      ``int(net_output * 6000)`` except where two float32 network outputs
      round to one mV value but truncate to different integers (ambiguous from
      mV alone; under 1 value in 10^4 for tanh outputs).

    For guaranteed byte-identity with deepfake-ecg, write the integers from the
    network output: :func:`net_output_to_microvolts` then
    :func:`write_asc_microvolts`.  For other signals the result equals
    ``trunc(mV * 1000)`` up to float32 rounding.

    Parameters
    ----------
    X : array-like
        Values in mV.

    Returns
    -------
    ndarray of int32, same shape

    Examples
    --------
    >>> mv_to_asc_microvolts(np.array([1.5, -0.0125, 0.0, 0.001])).tolist()
    [1500, -12, 0, 1]
    """
    X = np.asarray(X, dtype=np.float32)
    via_net = np.trunc((X / np.float32(6)) * np.float32(6000))
    nearest = np.round(X.astype(np.float64) * 1000.0)
    exact = (nearest / 1000.0).astype(np.float32) == X
    return np.where(exact, nearest, via_net).astype(np.int32)


_LUT_CACHE = {}
_LUT_SPAN = 1 << 16  # the lookup table covers [-65536, 65535]; other values use digit arithmetic


def _lut64():
    """``%i`` text of every integer in [-_LUT_SPAN, _LUT_SPAN) packed right-aligned in 7 bytes of a uint64.

    Unused leading bytes are NUL and the 8th byte holds a space separator, so a
    gather plus deleting the NULs yields ``np.savetxt`` text.
    """
    if "lut64" not in _LUT_CACHE:
        chars = _format_digits(np.arange(-_LUT_SPAN, _LUT_SPAN, dtype=np.int64))  # (n, 7)
        words = np.zeros((chars.shape[0], 8), dtype=np.uint8)
        words[:, 7 - chars.shape[1] : 7] = chars
        words[:, 7] = ord(" ")
        _LUT_CACHE["lut64"] = words.view("<u8").ravel()
    return _LUT_CACHE["lut64"]


def _lut_cells(width):
    """The lookup table cut to its last ``width`` bytes per integer, as a 1-D array of ``V{width}`` cells."""
    key = ("cells", width)
    if key not in _LUT_CACHE:
        table = _lut64().view(np.uint8).reshape(-1, 8)[:, 8 - width :]
        _LUT_CACHE[key] = np.ascontiguousarray(table).view(f"V{width}").ravel()
    return _LUT_CACHE[key]


def _format_digits(values):
    """Right-aligned ``%i`` text of int64 ``values`` as a (n, width) uint8 array, NUL-padded on the left."""
    values = np.asarray(values, dtype=np.int64).ravel()
    neg = values < 0
    mag = np.abs(values)  # int64 min does not occur for int32 inputs
    max_mag = int(mag.max()) if mag.size else 0
    n_digits_max = len(str(max_mag))
    width = n_digits_max + 1
    out = np.zeros((values.size, width), dtype=np.uint8)
    ndig = np.ones(values.shape, dtype=np.int64)
    for k in range(1, n_digits_max):
        ndig += mag >= 10**k
    rest = mag.copy()
    for k in range(n_digits_max):
        digit = (rest % 10).astype(np.uint8) + np.uint8(48)
        rest //= 10
        col = width - 1 - k
        out[:, col] = np.where(k < ndig, digit, np.where((k == ndig) & neg, np.uint8(45), np.uint8(0)))
    # Column 0 holds the minus sign of the numbers that use every digit column.
    out[:, 0] = np.where((ndig == n_digits_max) & neg, np.uint8(45), np.uint8(0))
    return out


def _asc_bytes(U):
    """``np.savetxt(f, u.T, fmt='%i')`` bytes of each ECG ``u`` in U (n, n_leads, T), vectorised.

    Each integer's text comes from a lookup table (or digit arithmetic outside
    its range) right-aligned in a fixed-width, NUL-padded cell followed by its
    separator (space, or newline after the last lead); deleting the NULs with
    ``bytes.translate`` gives the text.  Returns a list of bytes, one per ECG.
    """
    n, n_cols, T = U.shape
    tokens = np.ascontiguousarray(U.transpose(0, 2, 1)).reshape(n, T * n_cols)
    lo, hi = int(tokens.min()), int(tokens.max())
    if lo >= -_LUT_SPAN and hi < _LUT_SPAN:
        # Cells just wide enough for this range (text + separator): fewer NULs to delete.
        width = max(len(str(lo)), len(str(hi))) + 1
        index = tokens.astype(np.int64)
        index += _LUT_SPAN
        cells = np.take(_lut_cells(width), index).view(np.uint8).reshape(n, T, n_cols, width)
    else:
        chars = _format_digits(tokens)
        cells = np.zeros((chars.shape[0], chars.shape[1] + 1), dtype=np.uint8)
        cells[:, :-1] = chars
        cells[:, -1] = ord(" ")
        cells = cells.reshape(n, T, n_cols, -1)
    cells[:, :, -1, -1] = ord("\n")
    return [cells[i].tobytes().translate(None, b"\x00") for i in range(n)]


def format_asc(U):
    """Return the ``.asc`` text of integer µV exactly as ``np.savetxt(fmt='%i')`` writes it.

    Parameters
    ----------
    U : array-like of int, shape (n_leads, n_samples)
        One ECG, leads first (deepfake-ecg transposes to rows of samples).

    Returns
    -------
    bytes

    Examples
    --------
    >>> format_asc(np.array([[1, -20], [300, 0]]))
    b'1 300\\n-20 0\\n'
    """
    U = _check_int_array(U, ndim=2)
    return _asc_bytes(U[None])[0]


def write_asc_microvolts(U, out_dir, start_id=0, *, chunk_size=64):
    """Write integer µV as deepfake-ecg ``{id}.asc`` files, byte-identical to its writer.

    deepfake-ecg writes ``np.savetxt(f"{out_dir}/{i}.asc", ints.T, fmt='%i')``
    where ``ints = (net_output * 6000).int()``; given the same integers this
    function writes the same bytes, about 10-20x faster.

    Parameters
    ----------
    U : array-like of int, shape (n_ecgs, n_leads, n_samples) or (n_leads, n_samples)
        Integer µV, leads first (8 leads I, II, V1-V6 for deepfake-ecg).
    out_dir : str or path-like
        Created if missing.
    start_id : int, default=0
        File ``i`` is named ``f"{start_id + i}.asc"``.
    chunk_size : int, default=64
        ECGs formatted per vectorised batch (bounds memory).

    Returns
    -------
    list of pathlib.Path

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_asc_microvolts(np.array([[[1, -2]] * 8]), d, start_id=5)
    ...     text = paths[0].read_text()
    >>> paths[0].name, text
    ('5.asc', '1 1 1 1 1 1 1 1\\n-2 -2 -2 -2 -2 -2 -2 -2\\n')
    """
    U = _check_int_array(U, ndim=3)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(0, len(U), chunk_size):
        block = U[s : s + chunk_size]
        for j, text in enumerate(_asc_bytes(block)):
            p = out_dir / f"{start_id + s + j}.asc"
            _write_bytes(p, text)
            paths.append(p)
    return paths


def write_asc(X, out_dir, start_id=0, *, chunk_size=64):
    """Write ECGs in mV as deepfake-ecg ``.asc`` files (integer µV, one row per sample).

    Values are converted with :func:`mv_to_asc_microvolts` (truncation toward
    zero, as deepfake-ecg does), then written by :func:`write_asc_microvolts`.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, 8, n_samples) or (8, n_samples)
        ECGs in mV, leads I, II, V1-V6.  Other lead counts are written as they
        are (one column per lead).
    out_dir : str or path-like
    start_id : int, default=0
    chunk_size : int, default=64

    Returns
    -------
    list of pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_asc(np.full((2, 8, 5000), 1.25, dtype="float32"), d)
    ...     first = paths[0].read_text().splitlines()[0]
    >>> len(paths), first
    (2, '1250 1250 1250 1250 1250 1250 1250 1250')
    """
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    X = check_ecg_array(X)
    return write_asc_microvolts(mv_to_asc_microvolts(X), out_dir, start_id, chunk_size=chunk_size)
