"""CSV files of one ECG each: a header row of lead names, one row per sample, mV.

:func:`write_csv` and :func:`read_csv`.
"""

from pathlib import Path

import numpy as np

from ecgsk.io._atomic import atomic_path
from ecgsk.io._common import _fail, _reorder_standard
from ecgsk.leads import LEADS_8, LEADS_12, canonical_lead_name
from ecgsk.utils.validation import check_ecg_array

__all__ = ["write_csv", "read_csv"]


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
        with atomic_path(p) as tmp:
            np.savetxt(tmp, x.T, fmt=fmt, delimiter=",", header=",".join(leads), comments="")
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
