"""WFDB records (``.hea`` + ``.dat``/``.mat``) through the ``wfdb`` package.

:func:`read_wfdb` and :func:`write_wfdb`; signals in millivolts, leads first.
:func:`read_wfdb` validates the header with its own strict parser
(``ecgsk.io._verify``) before ``wfdb`` reads the signal, and checks the
header's checksums.
"""

import os
from pathlib import Path

import numpy as np

from ecgsk.io._atomic import _finish, atomic_dir
from ecgsk.io._common import _fail, _record_base, _reorder_standard, _units_factor
from ecgsk.io._verify import _comment_columns, _meta_frame, _parse_wfdb_header, _signal_file_bytes, _to_mv_float32
from ecgsk.io.challenge import _subject_fields
from ecgsk.leads import LEADS_8, LEADS_12, canonical_lead_name
from ecgsk.utils.validation import check_ecg_array

__all__ = ["read_wfdb", "write_wfdb", "wfdb_gain"]


def _move_record(tmp_dir, out_dir, name):
    """Move a record's signal, then the header that names it; a Ctrl-C between the two cannot split them."""
    def move_what_is_left():
        for suffix in (".dat", ".hea"):
            source = tmp_dir / f"{name}{suffix}"
            if source.exists():
                os.replace(source, out_dir / f"{name}{suffix}")

    _finish(move_what_is_left)  # re-raises the Ctrl-C once both are in place


def read_wfdb(path, *, verify=True):
    """Read a WFDB record into millivolts, verifying its header and signal file first.

    Parameters
    ----------
    path : str or path-like
        The record name, with or without a ``.hea`` (or ``.dat``/``.mat``)
        suffix, e.g. ``"ludb/data/1"``.
    verify : bool, default=True
        Compare each signal with the checksum its header line carries (the
        16-bit sum of its digital samples) and raise on a mismatch.  Pass
        ``False`` to skip that comparison; every other check always runs.

    Returns
    -------
    X : ndarray of float32, shape (1, n_leads, n_samples)
        Physical values in mV: ``(digital - baseline) / gain`` per lead, and
        leads recorded in µV (or V) converted to mV.  When the record holds the
        12 standard leads they are put in :data:`~ecgsk.leads.LEADS_12` order.
    meta : pandas.DataFrame
        One row: ``record`` (file name without suffix), ``fs`` (Hz, float),
        ``leads`` (tuple of canonical names in the order of ``X``), ``age``
        (float, NaN when the comments give none), ``sex`` (``"M"``/``"F"``/None)
        and ``dx`` (list of str) parsed from ``Age:``/``Sex:``/``Dx:`` comment
        lines, ``units`` (after conversion: ``"mV"`` for every voltage channel;
        other channels, e.g. ``"mmHg"``, are left as they are),
        ``units_original`` (as written in the header), ``adc_gain`` (digital
        units per original unit), ``comments`` (list of the header's comment
        lines) and ``sig_len``; then one column (str values) per other
        ``key: value`` comment whose key is an identifier, e.g. ``model``,
        ``ecgsk_version``, ``seed`` and ``id`` as :func:`ecgsk.io.write` writes
        them.  The same pair :func:`ecgsk.io.read` returns for the record.

    Raises
    ------
    ECGFileError
        Naming the file and the field: a missing or malformed header; a
        sampling rate or gain that is not a positive finite number; a signal
        file name outside the record's folder; a signal file smaller than the
        header's sample count needs (checked before anything is allocated); a
        checksum mismatch (unless ``verify=False``); invalid-sample markers or
        values that overflow float32.

    Examples
    --------
    >>> from ecgsk.datasets import get_data_home
    >>> X, meta = read_wfdb(get_data_home() / "ludb" / "data" / "1")
    >>> X.shape, float(meta.loc[0, "fs"]), meta.loc[0, "leads"][:3]
    ((1, 12, 5000), 500.0, ('I', 'II', 'III'))
    """
    import wfdb

    base = _record_base(path)
    hea = base.with_name(base.name + ".hea")
    if not hea.is_file():
        _fail(hea, "WFDB header file not found")
    header = _parse_wfdb_header(hea)
    sig_len = _signal_file_bytes(hea, header)
    signals = header["signals"]
    try:
        record = wfdb.rdrecord(str(base), physical=False, return_res=64)
    except Exception as exc:  # wfdb raises many types for broken files
        _fail(hea, "could not read WFDB record (corrupt or truncated header/signal file?)", exc)
    # wfdb's own header parser falls back to defaults where ours refuses; both must agree.
    parsed = {
        "fs": (float(record.fs), header["fs"]),
        "signal count": (record.n_sig, header["n_sig"]),
        "sig_len": (record.sig_len, sig_len),
        "signal file names": (list(record.file_name or []), [s["file"] for s in signals]),
        "formats": ([str(f) for f in record.fmt or []], [str(s["fmt"]) for s in signals]),
        "ADC gains": ([float(g) for g in record.adc_gain or []], [s["gain"] for s in signals]),
        "baselines": ([int(b) for b in record.baseline or []], [s["baseline"] for s in signals]),
    }
    for field, (theirs, ours) in parsed.items():
        if theirs != ours:
            _fail(hea, f"header field {field} is ambiguous: wfdb reads {theirs}, the header says {ours}")
    digital = record.d_signal
    if digital is None or digital.ndim != 2 or digital.shape != (sig_len, header["n_sig"]):
        got = None if digital is None else digital.shape
        _fail(hea, f"signal of shape {got} read, the header declares {(sig_len, header['n_sig'])} (truncated?)")
    names = [s["name"] for s in signals]
    if verify:
        sums = np.mod(digital.sum(axis=0, dtype=np.int64), 65536)
        for k, s in enumerate(signals):
            if s["checksum"] is not None and int(sums[k]) != s["checksum"] % 65536:
                want = s["checksum"]
                got = int(sums[k]) - 65536 if sums[k] >= 32768 else int(sums[k])
                _fail(
                    base.parent / s["file"],
                    f"checksum of signal {k + 1} ({names[k]}) is {got}, the header {hea.name} says {want} "
                    "(corrupt signal file; read_wfdb(..., verify=False) skips this check)",
                )
    physical = record.dac(expanded=False, return_res=64, inplace=False)
    if not np.isfinite(physical).all():
        k = int(np.argwhere(~np.isfinite(physical))[0][1])
        _fail(base.parent / signals[k]["file"], f"signal {k + 1} ({names[k]}) holds invalid-sample markers")
    units_original = [s["units"] for s in signals]
    factors = [_units_factor(u) for u in units_original]
    units = ["mV" if f is not None else u for f, u in zip(factors, units_original)]
    factors = np.array([1.0 if f is None else f for f in factors])
    X = _to_mv_float32(hea, physical.T * factors[:, None])
    leads = [canonical_lead_name(n) for n in names]
    X, leads, order = _reorder_standard(X, leads)
    row = {
        "record": base.name,
        "fs": header["fs"],
        "leads": tuple(leads),
        **_subject_fields(header["comments"]),
        "units": tuple(units[i] for i in order),
        "units_original": tuple(units_original[i] for i in order),
        "adc_gain": tuple(signals[i]["gain"] for i in order),
        "comments": list(header["comments"]),
        "sig_len": int(sig_len),
    }
    row.update(_comment_columns(header["comments"], exclude=row))
    return np.ascontiguousarray(X)[None], _meta_frame([row])


_INT16_MAX = 32767  # -32768 is WFDB's "no sample" in format 16


def wfdb_gain(x, default=1000):
    """Integer ADC gain (adu/mV) for ``x`` in format 16: ``default``, or the largest integer gain that fits.

    Parameters
    ----------
    x : ndarray
        Values in mV.
    default : int, default=1000
        1000 adu/mV is 1 µV resolution, ±32.767 mV.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When even 1 adu/mV does not fit (values beyond ±32767 mV).

    Examples
    --------
    >>> wfdb_gain(np.array([1.0, -2.5])), wfdb_gain(np.array([50.0]))
    (1000, 655)
    """
    peak = float(np.max(np.abs(x))) if np.size(x) else 0.0
    if peak * default <= _INT16_MAX:
        return int(default)
    gain = int(_INT16_MAX // peak)
    if gain < 1:
        raise ValueError(f"values up to {peak:g} mV do not fit WFDB format 16 even at 1 adu/mV")
    return gain


def _comment_lines(comments):
    if comments is None:
        return []
    if isinstance(comments, dict):
        return [f"{k}: {v}" for k, v in comments.items() if v is not None]
    return [str(c) for c in comments]


def write_wfdb(X, out_dir, *, fs=500, leads=None, start_id=0, record_names=None, fmt="16", adc_gain=None,
               comments=None):
    """Write ECGs in mV as WFDB records (``.hea`` + ``.dat``) with ``wfdb.wrsamp``, atomically.

    Each record is written with integer gains (format 16, ``adc_gain``
    adu/mV for every lead, baseline 0) into a temporary folder inside
    ``out_dir``; its ``.dat`` is then renamed into ``out_dir`` before its
    ``.hea``, so a header never names a signal file that is missing or
    incomplete.

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
    adc_gain : int, optional
        Integer digital units per mV for every lead.  Default 1000 (1 µV
        steps), or, for a record beyond ±32.767 mV, the largest integer gain
        that fits format 16 (:func:`wfdb_gain`).
    comments : dict, list of dict or None
        Header comments, ``key: value`` per line (e.g. ``{"model": ...,
        "seed": 0}``): one dict for every record or one per record.

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
    ...     paths = write_wfdb(X, d, comments={"model": "demo"})
    ...     Y, meta = read_wfdb(paths[0])
    >>> bool(abs(Y[0] - X[0]).max() < 1e-3), meta.loc[0, "comments"]
    (True, ['model: demo'])
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
    if isinstance(comments, (list, tuple)) and comments and isinstance(comments[0], dict):
        if len(comments) != n:
            raise ValueError(f"got {len(comments)} comment dicts for {n} ECGs")
        per_record = [_comment_lines(c) for c in comments]
    else:
        per_record = [_comment_lines(comments)] * n
    if adc_gain is not None and (isinstance(adc_gain, bool) or int(adc_gain) != adc_gain or adc_gain < 1):
        raise ValueError(f"adc_gain must be a positive integer (adu/mV); got {adc_gain!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with atomic_dir(out_dir) as tmp_dir:
        for name, x, lines in zip(record_names, X, per_record):
            gain = int(adc_gain) if adc_gain is not None else wfdb_gain(x)
            if float(np.max(np.abs(x))) * gain > _INT16_MAX:
                raise ValueError(f"record {name}: values up to {float(np.max(np.abs(x))):g} mV do not fit "
                                 f"format 16 at adc_gain={gain}")
            wfdb.wrsamp(
                str(name),
                fs=fs,
                units=["mV"] * n_leads,
                sig_name=leads,
                p_signal=x.T.astype(np.float64),
                fmt=[str(fmt)] * n_leads,
                adc_gain=[float(gain)] * n_leads,
                baseline=[0] * n_leads,
                comments=lines or None,
                write_dir=str(tmp_dir),
            )
            _move_record(tmp_dir, out_dir, name)
            paths.append(out_dir / str(name))
    return paths
