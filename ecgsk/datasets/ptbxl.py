"""PTB-XL (Wagner et al., PhysioNet 2020, CC BY 4.0): :func:`load_ptbxl` and :func:`fetch_ptbxl`.

21,799 clinical 12-lead ECGs of 10 s from 18,869 patients, at 500 Hz
(``records500/``) and 100 Hz (``records100/``), annotated with SCP-ECG
statements.  NumPy, pandas and wfdb only (no torch).
"""

import ast
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ecgsk.datasets._records import check_choice, progress, read_standard_12
from ecgsk.datasets.loaders import _dataset_dir, get_data_home

__all__ = ["load_ptbxl", "fetch_ptbxl", "PTBXL_SUPERCLASSES"]

#: The five diagnostic superclasses of PTB-XL (``diagnostic_class`` of ``scp_statements.csv``).
PTBXL_SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")

# labels= -> (column of scp_statements.csv that selects the statements, column that names the label)
_LABEL_SETS = {
    "superdiagnostic": ("diagnostic", "diagnostic_class"),
    "subdiagnostic": ("diagnostic", "diagnostic_subclass"),
    "diagnostic": ("diagnostic", None),
    "form": ("form", None),
    "rhythm": ("rhythm", None),
    "all": (None, None),
}
_FILENAME = {500: "filename_hr", 100: "filename_lr"}
_PHYSIONET_SLUG = "ptb-xl"


def _read_tables(root):
    import pandas as pd

    from ecgsk.io import ECGFileError

    files = {name: root / name for name in ("ptbxl_database.csv", "scp_statements.csv")}
    for name, file in files.items():
        if not file.is_file():
            raise FileNotFoundError(f"{root}: {name} not found (is this the PTB-XL folder?)")
    db = pd.read_csv(files["ptbxl_database.csv"], index_col="ecg_id")
    missing = {"patient_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr", "filename_hr"} - set(db.columns)
    if missing:
        raise ECGFileError(f"{files['ptbxl_database.csv']}: missing column(s) {sorted(missing)}")
    statements = pd.read_csv(files["scp_statements.csv"], index_col=0)
    missing = {"diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"} - set(statements.columns)
    if missing:
        raise ECGFileError(f"{files['scp_statements.csv']}: missing column(s) {sorted(missing)}")

    def parse(text, ecg_id):
        try:
            codes = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ECGFileError(f"{files['ptbxl_database.csv']}: ecg_id {ecg_id}: scp_codes {text!r} is not a "
                               "dict of code -> likelihood") from exc
        if not isinstance(codes, dict):
            raise ECGFileError(f"{files['ptbxl_database.csv']}: ecg_id {ecg_id}: scp_codes {text!r} is not a dict")
        return {str(k): float(v) for k, v in codes.items()}

    db["scp_codes"] = [parse(text, i) for i, text in zip(db.index, db["scp_codes"])]
    return db, statements


def _label_lists(scp_codes, statements, labels, min_likelihood):
    """Per record, the sorted labels of ``labels`` that its statements carry, and the label vocabulary."""
    select, name_col = _LABEL_SETS[labels]
    chosen = statements if select is None else statements[statements[select].fillna(0).astype(float) == 1]
    if name_col is None:
        names = {code: code for code in chosen.index}
    else:
        names = {code: value for code, value in chosen[name_col].items() if isinstance(value, str) and value}
    vocabulary = list(PTBXL_SUPERCLASSES) if labels == "superdiagnostic" else sorted(set(names.values()))
    lists = [sorted({names[c] for c, lik in codes.items() if c in names and lik >= min_likelihood})
             for codes in scp_codes]
    return lists, vocabulary


def load_ptbxl(path=None, sampling_rate=500, labels="superdiagnostic", *, folds=None, min_likelihood=0.0,
               verbose=True):
    """Load PTB-XL from the official PhysioNet layout.

    The folder holds ``ptbxl_database.csv`` (one row per ECG: ``ecg_id``,
    ``patient_id``, ``age``, ``sex``, ``scp_codes`` as a dict string of SCP
    code -> likelihood in %, ``strat_fold``, ``filename_lr``,
    ``filename_hr`` ...), ``scp_statements.csv`` (one row per SCP code with
    the ``diagnostic``/``form``/``rhythm`` flags and ``diagnostic_class``)
    and the WFDB records ``records500/00000/00001_hr`` (500 Hz) and
    ``records100/00000/00001_lr`` (100 Hz).

    **Recommended split** (Wagner et al. 2020; Strodthoff et al. 2021):
    ``strat_fold`` 1-8 for training, fold 9 for validation and fold 10 for
    testing.  The folds are stratified by diagnosis, patients do not cross
    folds, and folds 9 and 10 hold only ECGs validated by a cardiologist.

    Parameters
    ----------
    path : str or path-like, optional
        The PTB-XL folder.  Default ``get_data_home() / "ptbxl"``.
    sampling_rate : {500, 100}, default=500
        Read ``records500`` (``filename_hr``, 5000 samples) or ``records100``
        (``filename_lr``, 1000 samples).
    labels : {"superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"} or None, \
default="superdiagnostic"
        Which statements become multi-hot label columns: the five diagnostic
        superclasses NORM/MI/STTC/CD/HYP (the ``diagnostic_class`` of the
        diagnostic statements, as in PTB-XL's example code), the 23
        subclasses, the diagnostic, form or rhythm SCP codes themselves, or
        every code.  None adds no label columns.
    folds : int or sequence of int, optional
        Load only these ``strat_fold`` values (e.g. ``range(1, 9)`` for the
        training folds).  Default all.
    min_likelihood : float, default=0.0
        A statement counts towards the labels when its likelihood (0-100) is
        at least this.  0 keeps every statement, as PTB-XL's example does
        (rhythm statements are always written with likelihood 0).
    verbose : bool, default=True
        Show a tqdm progress bar while the records are read.

    Returns
    -------
    X : ndarray of float32, shape (n_records, 12, 5000 or 1000)
        In mV, leads in :data:`~ecgsk.leads.LEADS_12` order, rows in
        ``ecg_id`` order.
    meta : pandas.DataFrame
        One row per ECG: ``record`` (the file name's stem, ``"00001_hr"``),
        ``fs``, ``ecg_id``, ``patient_id``, ``age`` (float; PTB-XL writes 300
        for patients older than 89, which becomes 90.0), ``sex`` (as in
        PTB-XL: 0 = male, 1 = female), ``scp_codes`` (dict of SCP code ->
        likelihood), ``strat_fold``, every other column of
        ``ptbxl_database.csv`` as it is, then, unless ``labels`` is None, a
        column named after ``labels`` holding each record's list of labels
        and one 0/1 column per label (for ``"superdiagnostic"`` always
        ``NORM``, ``MI``, ``STTC``, ``CD``, ``HYP``, in that order).  A
        record may have no label.

    Raises
    ------
    FileNotFoundError
        If the folder, a table or a record is missing.
    ValueError
        For an unknown ``sampling_rate``, ``labels`` or fold.
    ecgsk.io.ECGFileError
        If a table lacks a column, a ``scp_codes`` entry is not a dict, or a
        record is corrupt or does not hold the 12 standard leads.

    See Also
    --------
    fetch_ptbxl : download PTB-XL into the data home first.

    Examples
    --------
    >>> X, meta = load_ptbxl()  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (21799, 12, 5000)
    >>> train = meta["strat_fold"] <= 8  # doctest: +SKIP
    >>> meta.loc[train, ["NORM", "MI", "STTC", "CD", "HYP"]].sum()  # doctest: +SKIP
    """
    import pandas as pd
    from sklearn.preprocessing import MultiLabelBinarizer

    from ecgsk.io import ECGFileError

    if isinstance(sampling_rate, bool) or sampling_rate not in _FILENAME:
        raise ValueError(f"sampling_rate must be 500 or 100 (PTB-XL's records500/records100); got {sampling_rate!r}")
    if labels is not None:
        check_choice(labels, "labels", list(_LABEL_SETS))
    if isinstance(min_likelihood, bool) or not isinstance(min_likelihood, Real) or not 0 <= min_likelihood <= 100:
        raise ValueError(f"min_likelihood must be a number in [0, 100]; got {min_likelihood!r}")
    root = _dataset_dir(path, "ptbxl")
    db, statements = _read_tables(root)
    if folds is not None:
        wanted = [folds] if isinstance(folds, Integral) else list(folds)
        bad = [f for f in wanted if isinstance(f, bool) or not isinstance(f, Integral) or not 1 <= f <= 10]
        if bad or not wanted:
            raise ValueError(f"folds must be strat_fold values in 1..10; got {folds!r}")
        db = db[db["strat_fold"].isin(wanted)]
    if db.empty:
        raise FileNotFoundError(f"{root}: ptbxl_database.csv lists no records" + (" in these folds" if folds else ""))
    db = db.sort_index()
    column = _FILENAME[sampling_rate]
    signals = []
    for name in progress(db[column], len(db), f"PTB-XL {sampling_rate} Hz", verbose):
        base = root / str(name)
        if not base.with_name(base.name + ".hea").is_file():
            raise FileNotFoundError(f"{base}.hea: record listed in ptbxl_database.csv ({column}) not found")
        x, info = read_standard_12(base)
        if float(info["fs"]) != sampling_rate:
            raise ECGFileError(f"{base}.hea: sampled at {info['fs']} Hz, expected {sampling_rate} Hz")
        if signals and x.shape != signals[0].shape:
            raise ECGFileError(f"{base}.hea: shape {x.shape} differs from the first record's {signals[0].shape}")
        signals.append(x)
    X = np.stack(signals)

    meta = db.reset_index()
    meta.insert(0, "fs", float(sampling_rate))
    meta.insert(0, "record", [Path(str(n)).name for n in db[column]])
    meta["age"] = pd.to_numeric(meta["age"], errors="coerce").astype(float)
    meta.loc[meta["age"] >= 300, "age"] = 90.0  # PTB-XL's code for "older than 89"
    if labels is not None:
        lists, vocabulary = _label_lists(meta["scp_codes"], statements, labels, min_likelihood)
        meta[labels] = lists
        hot = MultiLabelBinarizer(classes=vocabulary).fit(lists).transform(lists)
        meta = pd.concat([meta, pd.DataFrame(hot.astype(np.int8), columns=vocabulary)], axis=1)
    return X, meta


def _ptbxl_root(home):
    """The PTB-XL folder under ``home``: ``home`` itself, ``home/ptbxl``, or a PhysioNet zip's folder inside it."""
    candidates = [home, home / "ptbxl"]
    for base in (home, home / "ptbxl"):
        if base.is_dir():
            candidates += sorted(p for p in base.glob("ptb-xl*") if p.is_dir())
    for c in candidates:
        if (c / "ptbxl_database.csv").is_file() and (c / "scp_statements.csv").is_file():
            return c
    return None


def _ptbxl_complete(root, sampling_rate):
    import pandas as pd

    if root is None:
        return False
    names = pd.read_csv(root / "ptbxl_database.csv", usecols=[_FILENAME[sampling_rate]]).iloc[:, 0]
    return all((root / f"{n}.hea").is_file() and (root / f"{n}.dat").is_file() for n in names)


def fetch_ptbxl(data_home=None, *, sampling_rate=500, labels="superdiagnostic", download_if_missing=True,
                verbose=True, **load_params):
    """Load PTB-XL from the data home, downloading it from PhysioNet if it is missing.

    Parameters
    ----------
    data_home : str or path-like, optional
        A data home (see :func:`get_data_home`): PTB-XL is looked for in it,
        in its ``ptbxl/`` folder (where it is downloaded) or in a
        ``ptb-xl*`` folder as PhysioNet's zip unpacks.
    sampling_rate, labels, verbose, **load_params
        Passed to :func:`load_ptbxl`.
    download_if_missing : bool, default=True
        When the tables or a record of ``sampling_rate`` are missing,
        download the database with ``wfdb.dl_database("ptb-xl", ...)`` (both
        rates, about 3 GB) into ``data_home / "ptbxl"``; if False, raise.  A
        complete copy is never downloaded again.

    Returns
    -------
    X, meta
        As :func:`load_ptbxl`.

    Raises
    ------
    FileNotFoundError
        If the data is missing and ``download_if_missing`` is False, or the
        download did not produce it.

    Examples
    --------
    >>> X, meta = fetch_ptbxl(sampling_rate=100)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (21799, 12, 1000)
    """
    if isinstance(sampling_rate, bool) or sampling_rate not in _FILENAME:
        raise ValueError(f"sampling_rate must be 500 or 100 (PTB-XL's records500/records100); got {sampling_rate!r}")
    home = get_data_home(data_home)
    root = _ptbxl_root(home)
    if not _ptbxl_complete(root, sampling_rate):
        if not download_if_missing:
            raise FileNotFoundError(f"PTB-XL not found (complete at {sampling_rate} Hz) under {home} "
                                    "and download_if_missing=False")
        import wfdb

        target = home / "ptbxl"
        target.mkdir(parents=True, exist_ok=True)
        wfdb.dl_database(_PHYSIONET_SLUG, dl_dir=str(target))
        root = _ptbxl_root(home)
        if not _ptbxl_complete(root, sampling_rate):
            raise FileNotFoundError(f"downloading PTB-XL into {target} did not produce the tables and records")
    return load_ptbxl(root, sampling_rate=sampling_rate, labels=labels, verbose=verbose, **load_params)
