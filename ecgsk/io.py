"""Readers and writers for ECG files (no torch).

Every reader returns signals in **millivolts** as ``float32``, leads first
(``(n_leads, n_samples)`` for one record, ``(n_ecgs, n_leads, n_samples)`` for
a directory), with the 12 standard leads in :data:`~ecgsk.leads.LEADS_12`
order.  A file that is corrupt or truncated raises :class:`ECGFileError`
(a :class:`ValueError`) whose message names the file; readers never return
partial data.

Formats
-------
- WFDB (``.hea`` + ``.dat``/``.mat``) through the ``wfdb`` package:
  :func:`read_wfdb`, :func:`write_wfdb`.
- PhysioNet/CinC challenge directories (``.hea`` + ``.mat`` holding ``val``):
  :func:`read_challenge_dir`.
- deepfake-ecg ``.asc`` text files (5000 rows of 8 integers in microvolts,
  leads I, II, V1-V6): :func:`read_asc`, :func:`read_asc_dir`,
  :func:`write_asc`, :func:`write_asc_microvolts`.  The writers produce files
  byte-identical to ``deepfakeecg.generate`` (which calls
  ``np.savetxt(path, ints, fmt='%i')``) at a fraction of the cost.
- NumPy ``.npy``/``.npz`` and CSV: :func:`write_npy`, :func:`read_npy`,
  :func:`write_npz`, :func:`read_npz`, :func:`write_csv`, :func:`read_csv`.
"""

import os
import re
from pathlib import Path

import numpy as np

from .exceptions import ECGFileError
from .leads import LEADS_8, LEADS_12, canonical_lead_name
from .utils.validation import check_ecg_array

__all__ = [
    "ECGFileError",
    "read_wfdb",
    "read_challenge_dir",
    "read_challenge_record",
    "read_asc",
    "read_asc_dir",
    "format_asc",
    "mv_to_asc_microvolts",
    "net_output_to_microvolts",
    "write_asc",
    "write_asc_microvolts",
    "write_npy",
    "read_npy",
    "write_npz",
    "read_npz",
    "write_csv",
    "read_csv",
    "write_wfdb",
]

# Multiply physical values in these units by the factor to get millivolts.
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "microvolt": 1e-3, "v": 1e3, "nv": 1e-6}


def _fail(path, what, exc=None):
    msg = f"{os.fspath(path)}: {what}"
    if exc is not None:
        msg += f" ({type(exc).__name__}: {exc})"
    raise ECGFileError(msg) from exc


# ---------------------------------------------------------------------------
# WFDB
# ---------------------------------------------------------------------------
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


def read_wfdb(path):
    """Read a WFDB record into millivolts.

    Parameters
    ----------
    path : str or path-like
        The record name, with or without a ``.hea`` (or ``.dat``/``.mat``)
        suffix, e.g. ``"ludb/data/1"``.

    Returns
    -------
    X : ndarray of float32, shape (n_leads, n_samples)
        Physical values in mV: ``(digital - baseline) / gain`` per lead, and
        leads recorded in µV (or V) converted to mV.  When the record holds the
        12 standard leads they are put in :data:`~ecgsk.leads.LEADS_12` order.
    meta : dict
        ``record`` (name), ``fs`` (Hz, float), ``leads`` (canonical names in the
        order of ``X``), ``units`` (after conversion: ``"mV"`` for every
        voltage channel; other channels, e.g. ``"mmHg"``, are left as they are),
        ``units_original`` (as written in the header, same order),
        ``adc_gain`` (digital units per original unit, same order),
        ``comments`` (header comment lines, list of str), ``sig_len``.

    Raises
    ------
    ECGFileError
        If the header or signal file is missing, malformed or truncated.

    Examples
    --------
    >>> from ecgsk.datasets import get_data_home
    >>> X, meta = read_wfdb(get_data_home() / "ludb" / "data" / "1")
    >>> X.shape, meta["fs"], meta["leads"][:3]
    ((12, 5000), 500.0, ['I', 'II', 'III'])
    """
    import wfdb

    base = _record_base(path)
    hea = base.with_name(base.name + ".hea")
    if not hea.is_file():
        _fail(hea, "WFDB header file not found")
    try:
        record = wfdb.rdrecord(str(base))
    except Exception as exc:  # wfdb raises many types for broken files
        _fail(hea, "could not read WFDB record (corrupt or truncated header/signal file?)", exc)
    signal = record.p_signal
    if signal is None or signal.ndim != 2 or signal.shape[1] != record.n_sig:
        _fail(hea, f"no signal of the {record.n_sig} channels declared in the header could be read")
    if record.sig_len is not None and signal.shape[0] != record.sig_len:
        _fail(hea, f"signal has {signal.shape[0]} samples but the header declares {record.sig_len} (truncated?)")
    units_original = list(record.units or ["mV"] * record.n_sig)
    factors = [_units_factor(u) for u in units_original]
    units = ["mV" if f is not None else u for f, u in zip(factors, units_original)]
    factors = np.array([1.0 if f is None else f for f in factors])
    X = (signal.T * factors[:, None]).astype(np.float32)
    leads = [canonical_lead_name(n) for n in (record.sig_name or [f"ch{i}" for i in range(record.n_sig)])]
    X, leads, order = _reorder_standard(X, leads)
    meta = {
        "record": record.record_name,
        "fs": float(record.fs),
        "leads": leads,
        "units": [units[i] for i in order],
        "units_original": [units_original[i] for i in order],
        "adc_gain": [float(record.adc_gain[i]) for i in order] if record.adc_gain else None,
        "comments": list(record.comments or []),
        "sig_len": int(signal.shape[0]),
    }
    return np.ascontiguousarray(X), meta


def write_wfdb(X, out_dir, *, fs=500, leads=None, start_id=0, record_names=None, fmt="16", adc_gain=None):
    """Write ECGs in mV as WFDB records (``.hea`` + ``.dat``) with ``wfdb.wrsamp``.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_leads, n_samples)
        ECGs in mV.  A 2-D array is one record.
    out_dir : str or path-like
        Directory (created if missing).
    fs : float, default=500
        Sampling rate in Hz.
    leads : sequence of str, optional
        Lead names; default :data:`~ecgsk.leads.LEADS_12` for 12 leads,
        :data:`~ecgsk.leads.LEADS_8` for 8, else ``ch0``, ``ch1``, ...
    start_id : int, default=0
        Records are named ``str(start_id + i)`` unless ``record_names`` is given.
    record_names : sequence of str, optional
    fmt : str, default="16"
        WFDB storage format of every channel.
    adc_gain : float, optional
        Digital units per mV; by default ``wfdb`` chooses a gain per lead.

    Returns
    -------
    list of pathlib.Path
        The record paths (without suffix), readable with :func:`read_wfdb`.

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_wfdb(X, d)
    ...     Y, meta = read_wfdb(paths[0])
    >>> bool(abs(Y - X[0]).max() < 1e-3)
    True
    """
    import wfdb

    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    X = check_ecg_array(X)
    n, n_leads, _ = X.shape
    if leads is None:
        leads = LEADS_12 if n_leads == 12 else LEADS_8 if n_leads == 8 else [f"ch{i}" for i in range(n_leads)]
    leads = list(leads)
    if len(leads) != n_leads:
        raise ValueError(f"got {len(leads)} lead names for {n_leads} leads")
    if record_names is None:
        record_names = [str(start_id + i) for i in range(n)]
    if len(record_names) != n:
        raise ValueError(f"got {len(record_names)} record names for {n} ECGs")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, x in zip(record_names, X):
        sig = x.T.astype(np.float64)
        kwargs = {}
        if adc_gain is not None:
            kwargs = {"adc_gain": [float(adc_gain)] * n_leads, "baseline": [0] * n_leads}
        wfdb.wrsamp(
            str(name),
            fs=fs,
            units=["mV"] * n_leads,
            sig_name=leads,
            p_signal=sig,
            fmt=[str(fmt)] * n_leads,
            write_dir=str(out_dir),
            **kwargs,
        )
        paths.append(out_dir / str(name))
    return paths


# ---------------------------------------------------------------------------
# PhysioNet/CinC challenge (.hea + .mat)
# ---------------------------------------------------------------------------
_GAIN_RE = re.compile(r"^([-+0-9.eE]+)(?:\(([-+0-9]+)\))?(?:/(\S+))?$")


def _parse_challenge_header(hea):
    """Parse a challenge header without wfdb: fs, n_samples, per-lead gain/baseline/units/name, comments."""
    try:
        text = Path(hea).read_text(errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(hea, "could not read header", exc)
    lines = [ln.strip() for ln in text.splitlines()]
    comments = [ln.lstrip("#").strip() for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    if not body:
        _fail(hea, "empty header")
    first = body[0].split()
    try:
        n_sig = int(first[1])
        fs = float(first[2].split("/")[0])
        sig_len = int(first[3])
    except (IndexError, ValueError) as exc:
        _fail(hea, f"malformed record line {body[0]!r}", exc)
    if len(body) < 1 + n_sig:
        _fail(hea, f"header declares {n_sig} signals but has {len(body) - 1} signal lines (truncated?)")
    gains, baselines, units, names, files = [], [], [], [], []
    for ln in body[1 : 1 + n_sig]:
        parts = ln.split()
        if len(parts) < 3:
            _fail(hea, f"malformed signal line {ln!r}")
        m = _GAIN_RE.match(parts[2])
        if not m:
            _fail(hea, f"malformed gain {parts[2]!r}")
        gain = float(m.group(1)) or 200.0
        adc_zero = int(parts[4]) if len(parts) > 4 else 0
        baseline = int(m.group(2)) if m.group(2) is not None else adc_zero
        gains.append(gain)
        baselines.append(baseline)
        units.append(m.group(3) or "mV")
        names.append(parts[8] if len(parts) > 8 else f"ch{len(names)}")
        files.append(parts[0])
    return {
        "n_sig": n_sig,
        "fs": fs,
        "sig_len": sig_len,
        "gain": gains,
        "baseline": baselines,
        "units": units,
        "leads": names,
        "files": files,
        "comments": comments,
    }


def _parse_sex(value):
    if value is None:
        return None
    v = str(value).strip().lower()
    if v in ("m", "male", "man", "0"):
        return "M"
    if v in ("f", "female", "woman", "1"):
        return "F"
    return None


def _parse_age(value):
    """Ages as float; ``">89"`` becomes 90.0, ``"NaN"``/unknown become NaN."""
    if value is None:
        return np.nan
    v = str(value).strip()
    m = re.match(r"^([<>]=?)?\s*(\d+(?:\.\d+)?)", v)
    if not m:
        return np.nan
    age = float(m.group(2))
    if m.group(1) and m.group(1).startswith(">"):
        age += 1.0
    return age


def _comment_fields(comments):
    fields = {}
    for c in comments:
        if ":" in c:
            key, value = c.split(":", 1)
            fields[key.strip().lower().strip("<>")] = value.strip()
    return fields


def read_challenge_record(path):
    """Read one PhysioNet/CinC challenge record (``.hea`` + ``.mat`` holding ``val``).

    Parameters
    ----------
    path : str or path-like
        The record, with or without the ``.hea``/``.mat`` suffix.

    Returns
    -------
    X : ndarray of float32, shape (n_leads, n_samples)
        In mV (``(val - baseline) / gain`` per lead; gain units ``mV`` or
        ``mv``, µV converted), standard leads in LEADS_12 order.
    info : dict
        ``record``, ``age`` (float), ``sex`` (``"M"``/``"F"``/None), ``dx``
        (list of SNOMED codes as str), ``fs``, ``leads``, ``comments``.

    Raises
    ------
    ECGFileError
        If a file is missing, truncated or does not match its header.

    Examples
    --------
    >>> from ecgsk.datasets import get_data_home
    >>> X, info = read_challenge_record(get_data_home() / "cinc2021" / "HR06000")
    >>> X.shape, info["sex"]
    ((12, 5000), 'F')
    """
    from scipy.io import loadmat

    base = _record_base(path)
    hea = base.with_name(base.name + ".hea")
    mat = base.with_name(base.name + ".mat")
    if not hea.is_file():
        _fail(hea, "header file not found")
    if not mat.is_file():
        _fail(mat, "signal file not found")
    header = _parse_challenge_header(hea)
    try:
        contents = loadmat(str(mat), variable_names=["val"])
    except Exception as exc:
        _fail(mat, "could not read MATLAB file (corrupt or truncated?)", exc)
    if "val" not in contents:
        _fail(mat, "no variable 'val' in the MATLAB file")
    val = np.asarray(contents["val"])
    if val.ndim != 2 or val.shape != (header["n_sig"], header["sig_len"]):
        _fail(mat, f"'val' has shape {val.shape}, header {hea.name} declares {(header['n_sig'], header['sig_len'])}")
    gain = np.asarray(header["gain"], dtype=np.float64)[:, None]
    baseline = np.asarray(header["baseline"], dtype=np.float64)[:, None]
    factors = [_units_factor(u) for u in header["units"]]
    if any(f is None for f in factors):
        _fail(hea, f"signal units {header['units']} are not all voltages (mV, uV, V)")
    factors = np.array(factors)[:, None]
    X = ((val.astype(np.float64) - baseline) / gain * factors).astype(np.float32)
    leads = [canonical_lead_name(n) for n in header["leads"]]
    X, leads, _ = _reorder_standard(X, leads)
    fields = _comment_fields(header["comments"])
    dx = [d.strip() for d in fields.get("dx", "").split(",") if d.strip()]
    info = {
        "record": base.name,
        "age": _parse_age(fields.get("age")),
        "sex": _parse_sex(fields.get("sex")),
        "dx": dx,
        "fs": header["fs"],
        "leads": leads,
        "comments": header["comments"],
    }
    return np.ascontiguousarray(X), info


def read_challenge_dir(path):
    """Read every record of a PhysioNet/CinC challenge directory.

    Parameters
    ----------
    path : str or path-like
        A directory of ``NAME.hea`` + ``NAME.mat`` pairs.  Records are read in
        sorted name order.

    Returns
    -------
    X : ndarray of float32, shape (n_records, 12, n_samples)
        In mV, leads in :data:`~ecgsk.leads.LEADS_12` order.
    meta : pandas.DataFrame
        One row per record, columns ``record``, ``age`` (float), ``sex``
        (``"M"``/``"F"``/None), ``dx`` (list of SNOMED CT codes as str),
        ``fs`` and ``leads`` (tuple of names).

    Raises
    ------
    ECGFileError
        If a record is corrupt, or records differ in lead count or length.
    FileNotFoundError
        If the directory holds no ``.hea`` files.

    Examples
    --------
    >>> from ecgsk.datasets import get_data_home
    >>> X, meta = read_challenge_dir(get_data_home() / "cinc2021")
    >>> X.shape, list(meta.columns)
    ((30, 12, 5000), ['record', 'age', 'sex', 'dx', 'fs', 'leads'])
    """
    import pandas as pd

    path = Path(path)
    headers = sorted(path.glob("*.hea"))
    if not headers:
        raise FileNotFoundError(f"{path}: no challenge records (*.hea) found")
    signals, rows = [], []
    for hea in headers:
        x, info = read_challenge_record(hea)
        if signals and x.shape != signals[0].shape:
            _fail(hea, f"signal shape {x.shape} differs from the first record's {signals[0].shape}")
        signals.append(x)
        rows.append(
            {
                "record": info["record"],
                "age": info["age"],
                "sex": info["sex"],
                "dx": info["dx"],
                "fs": info["fs"],
                "leads": tuple(info["leads"]),
            }
        )
    return np.stack(signals), pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# deepfake-ecg .asc
# ---------------------------------------------------------------------------
def read_asc(path, *, n_samples=None):
    """Read a deepfake-ecg ``.asc`` file: rows of 8 integers in µV (I, II, V1-V6).

    Parameters
    ----------
    path : str or path-like
    n_samples : int, optional
        Required number of rows (deepfake-ecg writes 5000); a file with another
        count raises :class:`ECGFileError`.

    Returns
    -------
    ndarray of float32, shape (8, n_samples)
        In mV (µV / 1000), leads in :data:`~ecgsk.leads.LEADS_8` order.

    Raises
    ------
    ECGFileError
        If the file is empty, a row does not hold exactly 8 integers, or the
        row count differs from ``n_samples``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_asc_microvolts(np.ones((1, 8, 5), dtype=int), d)
    ...     X = read_asc(os.path.join(d, "0.asc"))
    >>> X.shape, round(float(X[0, 0]), 6)
    ((8, 5), 0.001)
    """
    values = _read_asc_int(path, n_samples=n_samples)
    return np.ascontiguousarray((values.T / 1000.0).astype(np.float32))


def _read_asc_int(path, *, n_samples=None, n_cols=8):
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        _fail(path, "could not read file", exc)
    if not data.strip():
        _fail(path, "empty .asc file")
    lines = data.splitlines()
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    rows = [ln.split() for ln in lines]
    bad = next((i for i, row in enumerate(rows) if len(row) != n_cols), None)
    if bad is not None:
        _fail(path, f"line {bad + 1} holds {len(rows[bad])} values, expected {n_cols} integers (truncated?)")
    tokens = [tok for row in rows for tok in row]
    try:
        values = np.array(tokens, dtype=np.int64)
    except ValueError as exc:
        _fail(path, "non-integer value in .asc file", exc)
    values = values.reshape(len(lines), n_cols)
    if n_samples is not None and values.shape[0] != n_samples:
        _fail(path, f"{values.shape[0]} rows but {n_samples} were expected (truncated?)")
    return values


def read_asc_dir(path, *, n_samples=None):
    """Read every ``*.asc`` file of a directory, in numeric id order.

    Parameters
    ----------
    path : str or path-like
        A directory such as the ``out_dir`` of ``deepfakeecg.generate``.
    n_samples : int, optional
        Required rows per file; by default all files must match the first.

    Returns
    -------
    X : ndarray of float32, shape (n_files, 8, n_samples)
        In mV, leads in :data:`~ecgsk.leads.LEADS_8` order.
    names : list of str
        File stems (``"0"``, ``"1"``, ...) in the order of ``X``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_asc_microvolts(np.zeros((3, 8, 10), dtype=int), d)
    ...     X, names = read_asc_dir(d)
    >>> X.shape, names
    ((3, 8, 10), ['0', '1', '2'])
    """
    path = Path(path)
    files = list(path.glob("*.asc"))
    if not files:
        raise FileNotFoundError(f"{path}: no .asc files found")

    def key(p):
        return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)

    files.sort(key=key)
    signals = []
    for f in files:
        x = read_asc(f, n_samples=n_samples if n_samples is not None else (signals[0].shape[1] if signals else None))
        signals.append(x)
    return np.stack(signals), [f.stem for f in files]


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
    """Write ``data`` to ``path`` with unbuffered OS calls (cheaper than ``open`` for many files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


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


# ---------------------------------------------------------------------------
# NumPy and CSV
# ---------------------------------------------------------------------------
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
    np.save(path, X, allow_pickle=False)
    return path if path.suffix == ".npy" else path.with_name(path.name + ".npy")


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
    except ValueError as exc:
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
    save = np.savez_compressed if compressed else np.savez
    save(path, X=X, **arrays)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


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
        except ValueError as exc:
            _fail(path, "entry 'X' is not an ECG batch", exc)
    return out


def write_csv(X, out_dir, *, leads=None, start_id=0, fmt="%.6g"):
    """Write each ECG as a CSV file ``{id}.csv``: a header row of lead names, one row per sample, mV.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_leads, n_samples)
    out_dir : str or path-like
    leads : sequence of str, optional
        Column names; default LEADS_12 / LEADS_8 by lead count.
    start_id : int, default=0
    fmt : str, default="%.6g"
        Number format.

    Returns
    -------
    list of pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_csv(np.ones((1, 8, 3)), d)[0]
    ...     p.read_text().splitlines()[:2]
    ['I,II,V1,V2,V3,V4,V5,V6', '1,1,1,1,1,1,1,1']
    """
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    X = check_ecg_array(X)
    n_leads = X.shape[1]
    if leads is None:
        leads = LEADS_12 if n_leads == 12 else LEADS_8 if n_leads == 8 else [f"ch{i}" for i in range(n_leads)]
    leads = list(leads)
    if len(leads) != n_leads:
        raise ValueError(f"got {len(leads)} lead names for {n_leads} leads")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, x in enumerate(X):
        p = out_dir / f"{start_id + i}.csv"
        np.savetxt(p, x.T, fmt=fmt, delimiter=",", header=",".join(leads), comments="")
        paths.append(p)
    return paths


def read_csv(path):
    """Read one ECG from a CSV file with a header row of lead names (samples in rows, mV).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    X : ndarray of float32, shape (n_leads, n_samples)
        Standard 12 leads put in LEADS_12 order.
    leads : list of str
        Canonical lead names in the order of ``X``.

    Raises
    ------
    ECGFileError
        If rows are ragged or values are not finite numbers.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_csv(np.ones((1, 8, 3)), d)[0]
    ...     X, leads = read_csv(p)
    >>> X.shape, leads[:2]
    ((8, 3), ['I', 'II'])
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except Exception as exc:
        _fail(path, "could not parse CSV", exc)
    try:
        values = frame.to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        _fail(path, "non-numeric values", exc)
    if values.size == 0 or not np.isfinite(values).all():
        _fail(path, "empty, ragged or non-finite values (truncated?)")
    leads = [canonical_lead_name(str(c)) for c in frame.columns]
    X, leads, _ = _reorder_standard(values.T.astype(np.float32), leads)
    return np.ascontiguousarray(X), leads
