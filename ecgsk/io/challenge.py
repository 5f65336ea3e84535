"""PhysioNet/CinC challenge records and directories (``.hea`` + ``.mat`` holding ``val``).

:func:`read_challenge_record` and :func:`read_challenge_dir`, with a header
parser that needs no ``wfdb`` and the age/sex parsing of header comments.
"""

import re
from pathlib import Path

import numpy as np

from ecgsk.io._common import _fail, _record_base, _reorder_standard, _units_factor
from ecgsk.io._verify import _check_samples, _comment_columns, _meta_frame, _parse_wfdb_header, _to_mv_float32
from ecgsk.leads import canonical_lead_name

__all__ = ["read_challenge_record", "read_challenge_dir"]


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


def _subject_fields(comments):
    """``age``, ``sex`` and ``dx`` parsed from a header's ``Age:``/``Sex:``/``Dx:`` comment lines."""
    fields = _comment_columns(comments)
    return {
        "age": _parse_age(fields.get("age")),
        "sex": _parse_sex(fields.get("sex")),
        "dx": [d.strip() for d in fields.get("dx", "").split(",") if d.strip()],
    }


def read_challenge_record(path):
    """Read one PhysioNet/CinC challenge record (``.hea`` + ``.mat`` holding ``val``).

    Parameters
    ----------
    path : str or path-like
        The record, with or without the ``.hea``/``.mat`` suffix.

    Returns
    -------
    X : ndarray of float32, shape (1, n_leads, n_samples)
        In mV (``(val - baseline) / gain`` per lead; gain units ``mV`` or
        ``mv``, µV converted), standard leads in LEADS_12 order.
    meta : pandas.DataFrame
        One row: ``record`` (file name without suffix), ``fs`` (Hz, float),
        ``leads`` (tuple of names in the order of ``X``), ``age`` (float, NaN
        when absent), ``sex`` (``"M"``/``"F"``/None) and ``dx`` (list of
        SNOMED CT codes as str) from the ``Age:``/``Sex:``/``Dx:`` comments,
        one column (str values) per other ``key: value`` comment whose key is
        an identifier, and ``comments`` (list of the header's comment lines).
        The same pair :func:`ecgsk.io.read` returns for the record.

    Raises
    ------
    ECGFileError
        Naming the file and the field: a file missing, truncated or not
        matching its header (the shape of ``val`` is checked before it is
        loaded); a sampling rate or gain that is not a positive finite number;
        ``val`` holding NaN, infinite, complex or non-numeric values.

    Examples
    --------
    >>> from ecgsk.datasets import get_data_home
    >>> X, meta = read_challenge_record(get_data_home() / "cinc2021" / "HR06000")
    >>> X.shape, meta.loc[0, "record"], float(meta.loc[0, "fs"]), meta.loc[0, "sex"]
    ((1, 12, 5000), 'HR06000', 500.0, 'F')
    """
    from scipy.io import loadmat, whosmat

    base = _record_base(path)
    hea = base.with_name(base.name + ".hea")
    mat = base.with_name(base.name + ".mat")
    if not hea.is_file():
        _fail(hea, "header file not found")
    if not mat.is_file():
        _fail(mat, "signal file not found")
    header = _parse_wfdb_header(hea)  # fs and gains positive and finite, plain signal file names
    n_sig = header["n_sig"]
    if header["sig_len"] is None:
        _fail(hea, "the record line gives no number of samples (sig_len)")
    for s in header["signals"]:
        if s["file"] != mat.name:
            _fail(hea, f"signal file {s['file']!r} is not the record's {mat.name!r}")
    expected = (n_sig, header["sig_len"])
    try:
        found = {name: (shape, cls) for name, shape, cls in whosmat(str(mat))}
    except Exception as exc:
        _fail(mat, "could not read MATLAB file (corrupt or truncated?)", exc)
    if "val" not in found:
        _fail(mat, "no variable 'val' in the MATLAB file")
    if tuple(found["val"][0]) != expected:  # checked before loadmat allocates anything
        _fail(mat, f"'val' has shape {tuple(found['val'][0])}, header {hea.name} declares {expected}")
    try:
        contents = loadmat(str(mat), variable_names=["val"])
    except Exception as exc:
        _fail(mat, "could not read MATLAB file (corrupt or truncated?)", exc)
    val = _check_samples(mat, contents.get("val"), field="'val' samples")
    if val.shape != expected:
        _fail(mat, f"'val' has shape {val.shape}, header {hea.name} declares {expected}")
    signals = header["signals"]
    gain = np.array([s["gain"] for s in signals], dtype=np.float64)[:, None]
    baseline = np.array([s["baseline"] for s in signals], dtype=np.float64)[:, None]
    units = [s["units"] for s in signals]
    factors = [_units_factor(u) for u in units]
    if any(f is None for f in factors):
        _fail(hea, f"signal units {units} are not all voltages (mV, uV, V)")
    factors = np.array(factors)[:, None]
    X = _to_mv_float32(mat, (val.astype(np.float64) - baseline) / gain * factors, field="'val' samples")
    header["leads"] = [s["name"] for s in signals]
    leads = [canonical_lead_name(n) for n in header["leads"]]
    X, leads, _ = _reorder_standard(X, leads)
    row = {"record": base.name, "fs": header["fs"], "leads": tuple(leads), **_subject_fields(header["comments"])}
    row.update(_comment_columns(header["comments"], exclude=(*row, "comments")))
    row["comments"] = list(header["comments"])
    return np.ascontiguousarray(X)[None], _meta_frame([row])


def read_challenge_dir(path):
    """Read every record of a PhysioNet/CinC challenge directory.

    Parameters
    ----------
    path : str or path-like
        A directory of ``NAME.hea`` + ``NAME.mat`` pairs.  Records are read in
        sorted name order.

    Returns
    -------
    X : ndarray of float32, shape (n_records, n_leads, n_samples)
        In mV, the 12 standard leads in :data:`~ecgsk.leads.LEADS_12` order.
    meta : pandas.DataFrame
        One row per record, the columns of :func:`read_challenge_record`:
        ``record``, ``fs``, ``leads``, ``age``, ``sex``, ``dx``, the other
        ``key: value`` comments, ``comments``.

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
    >>> X.shape, list(meta.columns[:6])
    ((30, 12, 5000), ['record', 'fs', 'leads', 'age', 'sex', 'dx'])
    """
    path = Path(path)
    headers = sorted(path.glob("*.hea"))
    if not headers:
        raise FileNotFoundError(f"{path}: no challenge records (*.hea) found")
    signals, rows = [], []
    for hea in headers:
        x, meta = read_challenge_record(hea)
        if signals and x.shape != signals[0].shape:
            _fail(hea, f"signal shape {x.shape[1:]} differs from the first record's {signals[0].shape[1:]}")
        signals.append(x)
        rows.extend(meta.to_dict("records"))
    return np.concatenate(signals), _meta_frame(rows)
