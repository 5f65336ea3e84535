"""WFDB records (``.hea`` + ``.dat``/``.mat``) through the ``wfdb`` package.

:func:`read_wfdb` and :func:`write_wfdb`; signals in millivolts, leads first.
"""

from pathlib import Path

import numpy as np

from ecgsk.io._common import _fail, _record_base, _reorder_standard, _units_factor
from ecgsk.leads import LEADS_8, LEADS_12, canonical_lead_name
from ecgsk.utils.validation import check_ecg_array

__all__ = ["read_wfdb", "write_wfdb"]


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
