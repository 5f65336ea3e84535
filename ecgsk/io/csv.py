"""CSV files of one ECG each: a header row of lead names, one row per sample, mV.

:func:`write_csv` and :func:`read_csv`.
"""

from pathlib import Path

import numpy as np

from ecgsk.io._atomic import atomic_path
from ecgsk.io._common import _fail, _reorder_standard
from ecgsk.io._verify import _check_fs, _meta_frame, _to_mv_float32
from ecgsk.leads import LEADS_8, LEADS_12, canonical_lead_name, default_lead_names
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


def read_csv(path, *, fs=None):
    """Read one ECG from a CSV file: samples in rows, leads in columns, mV.

    The first row holds the lead names.  A file whose first row is all
    numbers has no header: it is read as data, and its columns are named
    :data:`~ecgsk.leads.LEADS_12` for 12 columns, :data:`~ecgsk.leads.LEADS_8`
    for 8, else ``ch0``, ``ch1``, ...

    Parameters
    ----------
    path : str or path-like
    fs : float, optional
        The sampling rate to report in ``meta``: a CSV file stores none, and
        ecgsk never guesses one, so it is NaN unless given.

    Returns
    -------
    X : ndarray of float32, shape (1, n_leads, n_samples)
        In mV; the 12 standard leads put in LEADS_12 order.
    meta : pandas.DataFrame
        One row: ``record`` (file name without suffix), ``fs`` (Hz, float;
        NaN unless given) and ``leads`` (tuple of canonical names in the
        order of ``X``).  The same pair :func:`ecgsk.io.read` returns.

    Raises
    ------
    ECGFileError
        Naming the file: ragged rows (a row with more or fewer fields than
        the first, which is also how decimal commas such as ``0,5`` show),
        values that are not finite real numbers, duplicate lead names, or an
        empty file.
    ValueError
        For an ``fs`` that is not a positive finite number.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_csv(np.ones((1, 8, 3)), d)[0]
    ...     X, meta = read_csv(p, fs=500)
    >>> X.shape, meta.loc[0, "leads"][:2], float(meta.loc[0, "fs"])
    ((1, 8, 3), ('I', 'II'), 500.0)
    """
    import pandas as pd

    rate = _check_fs(fs)
    try:
        # Every field as text: no type guessing, no index column, a longer row is an error.
        frame = pd.read_csv(
            path, header=None, dtype=str, keep_default_na=False, skip_blank_lines=True, index_col=False,
            on_bad_lines="error", engine="c",
        )
    except pd.errors.EmptyDataError:
        _fail(path, "empty CSV file")
    except pd.errors.ParserError as exc:
        _fail(path, "ragged rows: a row holds more fields than the first (decimal commas?)", exc)
    except Exception as exc:
        _fail(path, "could not parse CSV", exc)
    cells = frame.to_numpy()
    if frame.isna().to_numpy().any():
        row = int(np.argwhere(frame.isna().to_numpy())[0][0])
        _fail(path, f"ragged rows: line {row + 1} holds fewer fields than the first")

    def numbers(rows):
        out = np.empty(rows.shape, dtype=np.float64)
        for (i, j), text in np.ndenumerate(rows):
            try:
                out[i, j] = float(text)
            except ValueError:
                return None, (i, j, text)
        return out, None

    first, _ = numbers(cells[:1])
    if first is not None:  # headerless: the first row is data
        body, leads = cells, default_lead_names(cells.shape[1], prefix="ch")
        offset = 1
    else:
        leads = [canonical_lead_name(str(c).strip()) for c in cells[0]]
        if len(set(leads)) != len(leads):
            _fail(path, f"duplicate lead names in the header row {list(cells[0])}")
        body, offset = cells[1:], 2
    if body.shape[0] == 0:
        _fail(path, "no data rows")
    values, bad = numbers(body)
    if values is None:
        i, j, text = bad
        what = "is empty (a ragged row?)" if not str(text).strip() else "is not a number"
        _fail(path, f"line {i + offset}, column {j + 1}: {text!r} {what}")
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        _fail(path, f"line {i + offset}, column {j + 1}: {body[i, j]!r} is not finite")
    X = _to_mv_float32(path, values.T)
    X, leads, _ = _reorder_standard(X, leads)
    return np.ascontiguousarray(X)[None], _meta_frame([{"record": Path(path).stem, "fs": rate, "leads": tuple(leads)}])
