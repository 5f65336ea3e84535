"""Private checks the readers of :mod:`ecgsk.io` run before they return.

- :func:`_parse_wfdb_header`: a strict parser of a WFDB header (``.hea``)
  that validates every field the readers use (sampling rate, gains, sample
  count, signal file names, formats) and raises :class:`ECGFileError` naming
  the file and the field.  ``wfdb``'s own parser falls back to defaults
  silently (``fs`` of ``abc`` becomes 250, a gain of ``nan`` becomes 200);
  this one never guesses.
- :func:`_signal_file_bytes`: the bytes a WFDB signal file must hold, so a
  truncated file is refused before anything is allocated.
- :func:`_check_samples`: samples are real, numeric and finite.
- :func:`_meta_frame`: the ``meta`` DataFrame every reader returns;
  :func:`_check_fs` the ``fs`` a reader reports for a format that stores
  none; :func:`_comment_columns` the ``key: value`` header comments that
  become ``meta`` columns.
"""

import math
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from ecgsk.exceptions import ECGFileError

# Bits per sample of the WFDB storage formats whose size is known in advance.
_WFDB_FORMAT_BITS = {8: 8, 16: 16, 24: 24, 32: 32, 61: 16, 80: 8, 160: 16, 212: 12, 310: 32 / 3, 311: 32 / 3}

_RECORD_FS_RE = re.compile(r"^([^/()]+)(?:/([^()]+))?(?:\(([^()]*)\))?$")
_FORMAT_RE = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_GAIN_RE = re.compile(r"^([^(/]+)(?:\(([^)]*)\))?(?:/(.*))?$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _fail(path, what):
    raise ECGFileError(f"{os.fspath(path)}: {what}")


def _positive_finite(path, field, token):
    """``token`` as a float that is finite and > 0, else ECGFileError naming the field."""
    try:
        value = float(token)
    except (TypeError, ValueError):
        _fail(path, f"{field} {token!r} is not a number")
    if not math.isfinite(value) or value <= 0:
        _fail(path, f"{field} {token!r} must be positive and finite")
    return value


def _int_field(path, field, token, *, minimum=None):
    try:
        value = int(token)
    except (TypeError, ValueError):
        _fail(path, f"{field} {token!r} is not an integer")
    if minimum is not None and value < minimum:
        _fail(path, f"{field} {value} must be at least {minimum}")
    return value


def _plain_file_name(path, name):
    """Refuse a signal file name that could point outside the record's folder."""
    if (
        not name
        or name in (".", "..", "-", "~")
        or name != PurePosixPath(name).name
        or name != PureWindowsPath(name).name
        or name.startswith("~")
        or "\x00" in name
    ):
        _fail(path, f"signal file name {name!r} must be a plain file name in the record's folder")
    return name


def _parse_wfdb_header(hea):
    """Parse and validate a single-segment WFDB header.

    Returns a dict: ``record``, ``n_sig``, ``fs``, ``sig_len`` (None when the
    header omits it), ``comments`` and ``signals``, a list of dicts with
    ``file``, ``fmt``, ``byte_offset``, ``gain``, ``baseline``, ``units``,
    ``adc_zero``, ``init_value`` and ``checksum`` (None when absent) and
    ``name``.

    Raises
    ------
    ECGFileError
        Naming the file and the field, for anything malformed.
    """
    hea = Path(hea)
    try:
        raw = hea.read_bytes()
    except OSError as exc:
        raise ECGFileError(f"{hea}: could not read the header ({type(exc).__name__}: {exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # comments in old records; fields are ASCII and checked below
    if "\x00" in text:
        _fail(hea, "the header holds NUL bytes (not a text header)")
    comments, body = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
        else:
            body.append(stripped.split("#", 1)[0].split())
    if not body:
        _fail(hea, "empty header: no record line")
    first = body[0]
    if len(first) < 2:
        _fail(hea, f"record line {' '.join(first)!r} needs a record name and a signal count")
    if "/" in first[0]:
        _fail(hea, f"multi-segment record {first[0]!r} (record name/segments) is not supported")
    n_sig = _int_field(hea, "signal count", first[1], minimum=1)
    fs = 250.0  # the WFDB default when the header gives no sampling rate
    if len(first) > 2:
        m = _RECORD_FS_RE.match(first[2])
        if not m:
            _fail(hea, f"sampling frequency field {first[2]!r} is malformed")
        fs = _positive_finite(hea, "sampling frequency (fs)", m.group(1))
    sig_len = None
    if len(first) > 3:
        sig_len = _int_field(hea, "number of samples (sig_len)", first[3], minimum=1)
    if len(body) - 1 < n_sig:
        _fail(hea, f"the header declares {n_sig} signals but has {len(body) - 1} signal lines (truncated?)")
    signals = []
    for k, tokens in enumerate(body[1 : 1 + n_sig]):
        where = f"signal {k + 1}"
        if len(tokens) < 3:
            _fail(hea, f"{where}: line {' '.join(tokens)!r} lacks a gain (file, format and gain are required)")
        name = _plain_file_name(hea, tokens[0])
        m = _FORMAT_RE.match(tokens[1])
        if not m:
            _fail(hea, f"{where}: format field {tokens[1]!r} is malformed")
        fmt = int(m.group(1))
        if fmt not in _WFDB_FORMAT_BITS:
            _fail(hea, f"{where}: storage format {fmt} is not supported (supported: {sorted(_WFDB_FORMAT_BITS)})")
        if m.group(2) not in (None, "1"):
            _fail(hea, f"{where}: {m.group(2)} samples per frame (multi-frequency records) is not supported")
        if m.group(3) not in (None, "0"):
            _fail(hea, f"{where}: skew {m.group(3)} is not supported")
        byte_offset = int(m.group(4) or 0)
        g = _GAIN_RE.match(tokens[2])
        if not g:
            _fail(hea, f"{where}: gain field {tokens[2]!r} is malformed")
        gain = _positive_finite(hea, f"{where}: ADC gain", g.group(1))
        units = g.group(3) if g.group(3) else "mV"
        adc_zero = _int_field(hea, f"{where}: ADC zero", tokens[4]) if len(tokens) > 4 else 0
        baseline = _int_field(hea, f"{where}: baseline", g.group(2)) if g.group(2) not in (None, "") else adc_zero
        if len(tokens) > 3:
            _int_field(hea, f"{where}: ADC resolution", tokens[3], minimum=0)
        init_value = _int_field(hea, f"{where}: initial value", tokens[5]) if len(tokens) > 5 else None
        checksum = _int_field(hea, f"{where}: checksum", tokens[6]) if len(tokens) > 6 else None
        if len(tokens) > 7:
            _int_field(hea, f"{where}: block size", tokens[7], minimum=0)
        signals.append(
            {
                "file": name,
                "fmt": fmt,
                "byte_offset": byte_offset,
                "gain": gain,
                "baseline": baseline,
                "units": units,
                "adc_zero": adc_zero,
                "init_value": init_value,
                "checksum": checksum,
                "name": " ".join(tokens[8:]) if len(tokens) > 8 else f"ch{k}",
            }
        )
    return {"record": first[0], "n_sig": n_sig, "fs": fs, "sig_len": sig_len, "comments": comments, "signals": signals}


def _signal_file_bytes(hea, header):
    """Check every signal file against the header before reading: present and large enough.

    Returns ``sig_len``: the header's, or the one the file sizes give when the
    header omits it.
    """
    folder = Path(hea).parent
    files = {}
    for s in header["signals"]:
        files.setdefault(s["file"], []).append(s)
    sig_len = header["sig_len"]
    for name, sigs in files.items():
        if len({s["fmt"] for s in sigs}) > 1 or len({s["byte_offset"] for s in sigs}) > 1:
            _fail(hea, f"signals stored in {name} mix formats or byte offsets")
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            _fail(path, f"signal file named in {Path(hea).name} not found")
        if not path.is_file():
            _fail(path, "signal file is not a regular file")
        bits = _WFDB_FORMAT_BITS[sigs[0]["fmt"]] * len(sigs)
        offset = sigs[0]["byte_offset"]
        available = size - offset
        if sig_len is None:
            n = int(max(available, 0) * 8 // bits)
            if n < 1:
                _fail(path, "signal file holds no samples")
            sig_len = n
        needed = math.ceil(sig_len * bits / 8)
        if available < needed:
            _fail(
                path,
                f"signal file holds {size} bytes but {Path(hea).name}'s sig_len={sig_len} needs {offset + needed} "
                "(truncated?)",
            )
    return sig_len


def _check_samples(path, X, field="samples"):
    """Refuse complex, non-numeric or non-finite samples; return ``X`` as a real ndarray."""
    X = np.asarray(X)
    if np.iscomplexobj(X):
        _fail(path, f"{field} are complex (dtype {X.dtype}); an ECG is real-valued")
    if X.dtype == bool or not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        _fail(path, f"{field} have dtype {X.dtype}, expected integer or floating-point numbers")
    if X.size == 0:
        _fail(path, f"{field} are empty (shape {X.shape})")
    if np.issubdtype(X.dtype, np.floating) and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        _fail(path, f"{field} hold NaN or infinite values (first at index {tuple(int(i) for i in bad)})")
    return X


def _to_mv_float32(path, X, field="samples"):
    """Cast physical values (already in mV) to float32, refusing values beyond float32's range."""
    X = np.asarray(X)
    with np.errstate(over="ignore", invalid="ignore"):
        out = X.astype(np.float32)
    if not np.isfinite(out).all():
        bad = np.argwhere(~np.isfinite(out))[0]
        _fail(path, f"{field} overflow float32 in mV (first at index {tuple(int(i) for i in bad)}; wrong gain?)")
    return out


def _meta_frame(rows, extra_columns=()):
    """The readers' ``meta``: one row per record, ``record``, ``fs``, ``leads`` first."""
    import pandas as pd

    columns = ["record", "fs", "leads", *[c for c in extra_columns if c not in ("record", "fs", "leads")]]
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    frame = pd.DataFrame(rows, columns=columns)
    frame["fs"] = frame["fs"].astype(float)
    return frame


def _check_fs(fs, default=math.nan):
    """The sampling rate a reader reports for a format that stores none: ``fs``, or ``default`` when None.

    Raises ``ValueError`` for anything but a positive finite number of Hz.
    """
    if fs is None:
        return float(default)
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)) or not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a positive finite number of Hz; got {fs!r}")
    return float(fs)


def _comment_columns(comments, exclude=()):
    """``key: value`` header comments whose key is a plain identifier (what ``ecgsk.io.write`` writes).

    Keys are lower-cased and stripped of LUDB's ``<...>``; the first line of a
    key wins; keys in ``exclude`` (columns the reader already fills) are left out.
    """
    out = {}
    for line in comments:
        key, sep, value = str(line).partition(":")
        key = key.strip().strip("<>").strip().lower()
        if sep and _IDENT.match(key) and key not in out and key not in exclude:
            out[key] = value.strip()
    return out
