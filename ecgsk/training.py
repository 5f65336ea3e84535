"""Train a registered model on a folder of ECG records and save it: what ``ecgsk train`` runs.

``train("pulse2pulse", "my_ecgs/", "model.ecgsk", params={"max_epochs": 50})``
reads every record of the folder with ecgsk's readers (WFDB ``.hea``,
challenge ``.hea`` + ``.mat``, deepfake-ecg ``.asc``, NumPy ``.npy``), puts
the leads in the order the model needs, cuts the records into what the model
trains on (windows of a fixed-length model's length, or, for the beat models
that declare the ``training_unit="median_beat"`` tag, one R-peak-aligned
median beat per record), takes per-record conditions (age, sex) from the
headers or a CSV and survival targets from a CSV, fits the model with a
progress bar and checkpoints, and writes one file that ``ecgsk.load`` and
``ecgsk generate --weights`` read.  Under ``torchrun`` every process reads the same data and
the engine trains them together; only rank 0 writes.
"""

import numbers
import os
from pathlib import Path

import numpy as np

__all__ = ["train", "read_training_folder"]


def read_training_folder(path, *, return_meta=False):
    """Read every ECG record in a folder, in millivolts, as one array.

    Parameters
    ----------
    path : str or path-like
        A folder of WFDB / challenge records (``.hea`` with ``.dat`` or
        ``.mat``), deepfake-ecg ``.asc`` files or ``.npy`` arrays (one format
        per folder).
    return_meta : bool, default=False
        Also return a DataFrame with one row per record: ``record`` (the
        record or file name; ``name[i]`` for the i-th ECG of a multi-ECG
        ``.npy``), and ``age`` and ``sex`` where the headers carry them
        (challenge ``# Age:``/``# Sex:`` and LUDB ``<age>:``/``<sex>:``
        comments).

    Returns
    -------
    X : ndarray of float32, shape (n_records, n_leads, n_samples)
        Records of different lengths are cropped to the shortest one.
    leads : tuple of str
        The lead names of the rows.
    fs : float
        The sampling rate in Hz.
    meta : DataFrame
        Only with ``return_meta=True``.

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a folder.
    ValueError
        When it holds no readable records, or records of different sampling
        rates or leads.
    """
    from . import io
    from .leads import LEADS_8, LEADS_12

    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of ECG records")
    headers = sorted(folder.glob("*.hea"))
    rows = []
    if headers:
        records, rates, lead_sets = [], set(), set()
        for header in headers:
            X, frame = io.read_wfdb(header.with_suffix(""))
            X, info = X[0], frame.iloc[0]
            records.append(X)
            rates.add(float(info["fs"]))
            lead_sets.add(tuple(info["leads"]))
            rows.append({"record": header.stem, **_header_conditions(info["comments"] or [])})
        if len(rates) > 1:
            raise ValueError(f"{folder}: records have different sampling rates {sorted(rates)}; resample them first")
        if len(lead_sets) > 1:
            raise ValueError(f"{folder}: records have different leads; found {sorted(lead_sets)}")
        leads, fs = lead_sets.pop(), rates.pop()
    elif any(folder.glob("*.asc")):
        stacked, frame = io.read_asc_dir(folder)  # 8 columns: LEADS_8, 12: LEADS_12; read at 500 Hz
        records, leads, fs = list(stacked), tuple(frame.loc[0, "leads"]), float(frame.loc[0, "fs"])
        rows = [{"record": str(name)} for name in frame["record"]]
    elif any(folder.glob("*.npy")):
        records = []
        for file in sorted(folder.glob("*.npy")):
            stacked, frame = io.read_npy(file)
            records.extend(stacked)
            rows.extend({"record": str(name)} for name in frame["record"])
        n_leads = records[0].shape[0]
        leads = LEADS_12 if n_leads == 12 else LEADS_8 if n_leads == 8 else tuple(f"lead{i}" for i in range(n_leads))
        fs = 500.0
    else:
        raise ValueError(f"{folder} holds no ECG records (.hea, .asc or .npy files)")
    length = min(x.shape[-1] for x in records)
    X = np.stack([x[..., :length] for x in records]).astype(np.float32)
    if not return_meta:
        return X, tuple(leads), fs
    import pandas as pd

    return X, tuple(leads), fs, pd.DataFrame(rows)


def _header_conditions(comments):
    """``age`` and ``sex`` from WFDB header comments (challenge ``Age: 53``, LUDB ``<age>: 53``), where present."""
    from .io.challenge import _parse_age, _parse_sex

    fields = {}
    for line in comments:
        key, sep, value = str(line).partition(":")
        key = key.strip().strip("<>").strip().lower()
        if sep and key in ("age", "sex") and key not in fields:
            fields[key] = value.strip()
    found = {}
    if "age" in fields:
        found["age"] = _parse_age(fields["age"])
    if "sex" in fields:
        found["sex"] = _parse_sex(fields["sex"])
    return found


def _model_leads(est, n_leads):
    """The lead names ``est`` is fitted on: LEADS_12 for 12 leads, LEADS_8 for 8, else the first n."""
    from .leads import LEADS_8, LEADS_12

    if n_leads == 12:
        return LEADS_12
    if n_leads == 8:
        return LEADS_8
    return None


def _median_beats(X, length, fs, names):
    """One R-aligned median beat per record; records without a complete beat are dropped with a warning."""
    import warnings

    from .preprocessing import MedianBeat

    beats, kept, dropped = [], [], []
    for i, record in enumerate(X):
        try:
            beats.append(MedianBeat(length=length, fs=fs).fit(record[None]).transform(record[None])[0])
            kept.append(i)
        except ValueError as exc:
            dropped.append(f"{names[i]} ({exc})")
    if dropped:
        warnings.warn(f"{len(dropped)} of {len(X)} record(s) hold no usable beat and are left out: "
                      + "; ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else ""), UserWarning, stacklevel=3)
    if not beats:
        raise ValueError(f"no record yields a median beat of {length} samples; check the data and beat_length")
    return np.stack(beats).astype(np.float32), np.asarray(kept)


def _prepare(est, X, leads, fs=500.0, names=None):
    """Order the leads and cut windows (or median beats) the way ``est`` needs them.

    Returns the training array and, for each of its rows, the index of the record it came from.
    """
    from .base import get_tags
    from .leads import lead_indices

    wanted = est._expected_fit_leads() if hasattr(est, "_expected_fit_leads") else None
    if isinstance(wanted, numbers.Integral) and wanted != X.shape[1]:
        names = _model_leads(est, int(wanted))
        if names is None:
            X = X[:, : int(wanted)]
        else:
            try:
                X = X[:, lead_indices(names, leads)]
            except (KeyError, ValueError) as exc:
                raise ValueError(
                    f"the model needs the leads {', '.join(names)}; the records hold {', '.join(leads)}"
                ) from exc
    tags = get_tags(est)
    param = tags["fixed_length_param"]
    length = getattr(est, param, None) if param else None
    records = np.arange(len(X))
    if tags["training_unit"] == "median_beat":
        if not isinstance(length, numbers.Integral):
            raise ValueError(f"{type(est).__name__} trains on median beats but {param}={length!r} sets no length")
        names = names if names is not None else [str(i) for i in range(len(X))]
        X, records = _median_beats(X, int(length), fs, names)
    elif tags["training_unit"] is not None:
        raise ValueError(f"{type(est).__name__} declares training_unit={tags['training_unit']!r}; "
                         "ecgsk train knows None and 'median_beat'")
    elif isinstance(length, numbers.Integral):
        n_windows = X.shape[2] // int(length)
        if n_windows == 0:
            raise ValueError(
                f"the model needs {length} samples per ECG ({param}={length}); the records have {X.shape[2]}"
            )
        X = X[:, :, : n_windows * int(length)].reshape(X.shape[0], X.shape[1], n_windows, int(length))
        X = X.transpose(0, 2, 1, 3).reshape(-1, X.shape[1], int(length))
        records = np.repeat(records, n_windows)
    return np.ascontiguousarray(X), records


def _table(source, flag):
    """A DataFrame from a DataFrame or a CSV path, with a ``record`` column of str."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{flag}: no such file {path}")
        table = pd.read_csv(path)
    if "record" not in table.columns:
        raise ValueError(f"{flag} needs a 'record' column naming each record; it has {', '.join(map(str, table.columns))}")
    table["record"] = table["record"].astype(str)
    duplicated = table["record"][table["record"].duplicated()].unique()
    if len(duplicated):
        raise ValueError(f"{flag} names record(s) {', '.join(duplicated[:5])} more than once")
    return table.set_index("record")


def _rows_for(table, names, flag):
    """The rows of ``table`` for the records ``names``, in that order; every record must be there."""
    missing = [n for n in names if n not in table.index]
    if missing:
        raise ValueError(f"{flag} has no row for record(s) {', '.join(missing[:5])}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    return table.loc[list(names)].reset_index(drop=True)


def _conditions_for(est, meta, conditions):
    """Per-record conditions for a conditional model: from ``conditions`` or else from the headers."""
    from .base import get_tags

    tags = get_tags(est)
    if not tags["conditional"]:
        if conditions is not None:
            raise ValueError(f"{type(est).__name__} is not conditional; it takes no --conditions")
        return None
    names = list(meta["record"])
    if conditions is not None:
        return _rows_for(_table(conditions, "--conditions"), names, "--conditions")
    columns = [c for c in ("age", "sex") if c in meta.columns]
    if columns:
        found = meta[columns].reset_index(drop=True)
        incomplete = found.isna().any(axis=1).to_numpy()
        if not incomplete.any():
            return found
        if tags["requires_conditions"]:
            bad = ", ".join(meta["record"][incomplete][:5])
            raise ValueError(f"the headers of record(s) {bad} lack {' or '.join(columns)}; "
                             "give --conditions FILE.csv with a 'record' column")
    if tags["requires_conditions"]:
        raise ValueError(f"{type(est).__name__} needs per-record conditions and the headers carry no age or sex; "
                         "give --conditions FILE.csv with a 'record' column and one column per condition")
    return None


def _target_for(est, meta, target):
    """The survival target ``(event, time)`` per record for a risk model, from ``target``."""
    from .base import get_tags

    is_risk = "risk" in get_tags(est)["kind"]
    if not is_risk:
        if target is not None:
            raise ValueError(f"{type(est).__name__} is not a risk model; it takes no --target")
        return None
    if target is None:
        raise ValueError(f"{type(est).__name__} is a risk model: give --target FILE.csv with columns "
                         "record, time, event")
    rows = _rows_for(_table(target, "--target"), list(meta["record"]), "--target")
    absent = [c for c in ("time", "event") if c not in rows.columns]
    if absent:
        raise ValueError(f"--target needs columns record, time and event; it lacks {', '.join(absent)}")
    y = np.empty(len(rows), dtype=[("event", bool), ("time", float)])
    events = rows["event"].to_numpy(dtype=float)
    if not np.isin(events, (0.0, 1.0)).all():
        raise ValueError("--target: 'event' must be 0 or 1 (1 = the event happened, 0 = censored)")
    y["event"], y["time"] = events.astype(bool), rows["time"].to_numpy(dtype=float)
    return y


def train(model, data, output, *, params=None, epochs=None, device=None, checkpoint_every=None, verbose=1,
          conditions=None, target=None):
    """Fit a registered model on a folder of records and save it to ``output``.

    Parameters
    ----------
    model : str
        A registered model name (``ecgsk models`` lists them).
    data : str or path-like
        A folder of records (see :func:`read_training_folder`).
    output : str or path-like
        Where to write the fitted model (read back with :func:`ecgsk.load`).
    params : dict, optional
        Constructor parameters, e.g. ``{"model_size": 25, "lr": 2e-4}``.
    epochs : int, optional
        ``max_epochs`` (a shortcut for ``params={"max_epochs": ...}``).
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    checkpoint_every : int, optional
        Save to ``output`` every this many epochs as well as at the end
        (torch models), so that a long run that is stopped keeps its progress.
    verbose : int, default=1
        Show progress.
    conditions : str, path-like or DataFrame, optional
        For conditional models (the cVAEs): a CSV (or DataFrame) with a
        ``record`` column naming each record (the file name without suffix)
        and one column per condition, e.g. ``record,age,sex``.  Without it
        the conditions are age and sex from the record headers (challenge
        and LUDB headers carry them); a record lacking them is an error.
    target : str, path-like or DataFrame, optional
        For risk models (the Cox cVAE), required: a CSV (or DataFrame) with
        columns ``record``, ``time`` and ``event`` (1 = the event happened,
        0 = censored).

    Returns
    -------
    estimator
        The fitted model.

    Examples
    --------
    >>> from ecgsk.training import train
    >>> est = train("linear_reconstructor", "records/", "linear.ecgsk")  # doctest: +SKIP
    >>> est = train("cox_cvae", "records/", "cox.ecgsk", target="outcomes.csv")  # doctest: +SKIP
    """
    from .registry import get_model

    cls = get_model(model)
    params = dict(params or {})
    if epochs is not None:
        params["max_epochs"] = epochs
    if device is not None:
        params["device"] = device
    accepted = cls().get_params(deep=False)
    if "verbose" in accepted and "verbose" not in params:
        params["verbose"] = verbose
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"model {model!r} has no parameter(s) {', '.join(unknown)}; it takes {', '.join(sorted(accepted))}")
    if checkpoint_every is not None:
        if "callbacks" not in accepted:
            raise ValueError(f"model {model!r} does not train with callbacks, so it cannot checkpoint")
        from .nn.callbacks import Checkpoint

        params["callbacks"] = list(params.get("callbacks") or []) + [Checkpoint(output, every=checkpoint_every)]
    est = cls(**params)
    X, leads, fs, meta = read_training_folder(data, return_meta=True)
    if "fs" in accepted and "fs" not in params:
        est.set_params(fs=fs)
    # conditions and targets are matched to records before cutting, so a bad CSV fails fast
    record_conditions = _conditions_for(est, meta, conditions)
    y = _target_for(est, meta, target)
    X, rows = _prepare(est, X, leads, fs=fs, names=list(meta["record"]))
    fit_args = {}
    if record_conditions is not None:
        fit_args["conditions"] = record_conditions.iloc[rows].reset_index(drop=True)
    if y is not None:
        est.fit(X, y[rows], **fit_args)
    else:
        est.fit(X, **fit_args)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 writes
        est.save(output)
    return est
