"""Loaders of real ECG datasets (no torch).

- :func:`get_data_home`: where the loaders look for data.
- :func:`load_ludb`, :func:`fetch_ludb`: the Lobachevsky University database
  (200 12-lead records with age, sex, diagnoses and P/QRS/T delineation).
- :func:`load_cinc2021`, :func:`load_cpsc2019`, :func:`load_mitdb`: small real
  datasets (in the data home, see :func:`get_data_home`).
"""

import os
import re
from pathlib import Path

import numpy as np

from ecgsk.leads import LEADS_12

__all__ = ["get_data_home", "load_ludb", "fetch_ludb", "load_cinc2021", "load_cpsc2019", "load_mitdb"]


def get_data_home(data_home=None):
    """Return the directory that holds ecgsk's datasets, as scikit-learn's ``get_data_home``.

    The first of these that is set wins:

    1. the ``data_home`` argument,
    2. the environment variable ``ECGSK_DATA``,
    3. ``~/ecgsk_data``.

    ``~`` is expanded.  The directory is not created and need not exist (the
    ``fetch_*`` functions create it when they download).  Each dataset lives
    in its own folder inside it: ``ludb/``, ``cinc2021/``, ``cpsc2019/``,
    ``mitdb/``, ``ptbxl/``, ``mimic-iv-ecg/``.

    Parameters
    ----------
    data_home : str or path-like, optional

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> get_data_home("/tmp/ecg-data")
    PosixPath('/tmp/ecg-data')
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get("ECGSK_DATA")
    if env:
        return Path(env).expanduser()
    return Path("~/ecgsk_data").expanduser()


def _dataset_dir(path, name):
    path = get_data_home() / name if path is None else Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{name} data not found at {path}; pass path=..., set ECGSK_DATA, or put it under {get_data_home()}"
        )
    return path


# LUDB annotation-file extensions in LEADS_12 order.
_LUDB_ANN_EXT = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
_LUDB_WAVE = {"p": "P", "N": "QRS", "t": "T"}


def _ludb_data_dir(path):
    """Accept the LUDB root (holding ``data/``) or its ``data/`` directory itself."""
    path = Path(path)
    return path / "data" if (path / "data").is_dir() else path


def _ludb_records(data_dir):
    records = sorted((p.stem for p in data_dir.glob("*.hea") if p.stem.isdigit()), key=int)
    if not records:
        raise FileNotFoundError(f"{data_dir}: no LUDB records (N.hea) found")
    return records


def _ludb_meta(record, comments):
    from ecgsk.io.challenge import _parse_age, _parse_sex

    fields, diagnoses, in_dx = {}, [], False
    for c in comments:
        c = c.strip()
        m = re.match(r"^<(\w+)>:\s*(.*)$", c)
        if m:
            key = m.group(1).lower()
            in_dx = key == "diagnoses"
            fields[key] = m.group(2).strip()
            if in_dx and fields[key]:
                diagnoses.append(fields[key])
        elif in_dx and c:
            diagnoses.append(c)
    return {
        "record": int(record),
        "age": _parse_age(fields.get("age")),
        "sex": _parse_sex(fields.get("sex")),
        "diagnoses": diagnoses,
    }


_ANN_SYMBOLS = {}


def _ann_symbol(code):
    if not _ANN_SYMBOLS:
        from wfdb.io.annotation import ann_label_table

        _ANN_SYMBOLS.update(zip(ann_label_table["label_store"].astype(int), ann_label_table["symbol"]))
    return _ANN_SYMBOLS.get(int(code), str(code))


def _read_mit_annotations(ann_file):
    """Parse a WFDB (MIT-format) annotation file: 0-based sample indices and symbols.

    A small reader for what LUDB and MIT-BIH use (beat/wave codes, SKIP, NUM,
    SUB, CHN and AUX fields); ``wfdb.rdann`` re-parses the record header on
    every call, which makes LUDB's 2400 files take close to a minute.  A file
    that lacks the two-byte end-of-file marker or ends inside a field raises
    :class:`~ecgsk.io.ECGFileError`.
    """
    from ecgsk.io import ECGFileError

    ann_file = Path(ann_file)
    try:
        raw = ann_file.read_bytes()
    except OSError as exc:
        raise ECGFileError(f"{ann_file}: could not read annotation file ({exc})") from exc
    # WFDB annotation files end with a zero word; a file cut short lacks it
    # (wfdb.rdann would silently return partial annotations).
    if len(raw) < 2 or len(raw) % 2 or raw[-2:] != b"\x00\x00":
        raise ECGFileError(f"{ann_file}: truncated or malformed WFDB annotation file (no end-of-file marker)")
    words = np.frombuffer(raw, dtype="<u2").tolist()
    samples, codes = [], []
    sample, i, n = 0, 0, len(words)
    while i < n:
        w = words[i]
        code, value = w >> 10, w & 0x3FF
        if w == 0:
            break
        if code == 59:  # SKIP: a 32-bit interval follows, high word first
            if i + 2 >= n:
                raise ECGFileError(f"{ann_file}: truncated SKIP field")
            skip = (words[i + 1] << 16) | words[i + 2]
            if skip >= 1 << 31:
                skip -= 1 << 32
            sample += skip
            i += 3
        elif code == 63:  # AUX: value bytes follow, padded to an even count
            i += 1 + (value + 1) // 2
        elif code in (60, 61, 62):  # NUM, SUB, CHN
            i += 1
        else:
            sample += value
            samples.append(sample)
            codes.append(code)
            i += 1
    else:
        raise ECGFileError(f"{ann_file}: annotation data runs past the end-of-file marker")
    return np.asarray(samples, dtype=np.int64), [_ann_symbol(c) for c in codes]


def _read_delineation(record_path, ext):
    """Waves of one LUDB lead annotation file as a DataFrame (wave, onset, peak, offset)."""
    import pandas as pd

    samples, symbols = _read_mit_annotations(Path(f"{record_path}.{ext}"))
    symbols = np.asarray(symbols, dtype=object)
    peak = np.flatnonzero(np.isin(symbols, tuple(_LUDB_WAVE)))
    before = np.concatenate([["" ], symbols[:-1]]) if len(symbols) else symbols
    after = np.concatenate([symbols[1:], [""]]) if len(symbols) else symbols
    padded = np.concatenate([[-1], samples, [-1]])
    onset = np.where(before[peak] == "(", padded[peak], -1)
    offset = np.where(after[peak] == ")", padded[peak + 2], -1)
    return pd.DataFrame(
        {
            "wave": np.array([_LUDB_WAVE[s] for s in symbols[peak]], dtype=object),
            "onset": onset.astype(np.int64),
            "peak": samples[peak].astype(np.int64),
            "offset": offset.astype(np.int64),
        }
    )


def load_ludb(path=None, *, return_delineation=False):
    """Load the Lobachevsky University Electrocardiography Database (LUDB).

    200 records of 10 s, 12 leads at 500 Hz (Kalyakulina et al., PhysioNet
    2020, ODC-By 1.0).

    .. warning::
       LUDB v1.0.1 as published stores every lead scaled to 1.000 mV
       peak-to-peak (each lead's ADC gain is chosen so that its range is
       exactly 1 mV).  Its absolute amplitudes are therefore not
       physiological, and neither are the relations between its limb leads
       (Einthoven's ``II = I + III``, ``aVR + aVL + aVF = 0``): do not use it
       to judge amplitudes or lead-derivation, and do not mix its amplitudes
       with those of other datasets without normalising both.

    Parameters
    ----------
    path : str or path-like, optional
        The LUDB directory (holding ``data/1.hea`` ...) or its ``data/``
        directory.  Default ``get_data_home() / "ludb"``.
    return_delineation : bool, default=False
        Also return the cardiologists' per-lead wave delineation.

    Returns
    -------
    X : ndarray of float32, shape (200, 12, 5000)
        In mV (each lead's own ADC gain and baseline applied), leads in
        :data:`~ecgsk.leads.LEADS_12` order, records 1..200 in order.
    meta : pandas.DataFrame
        One row per record: ``record`` (int), ``age`` (float; an age written
        as ``">89"`` becomes 90.0), ``sex`` (``"M"``/``"F"``), ``diagnoses``
        (list of str, the header comment lines after ``<diagnoses>:``).
    delineation : list of dict, only if ``return_delineation``
        ``delineation[i][lead]`` is a DataFrame with columns ``wave``
        (``"P"``, ``"QRS"``, ``"T"``), ``onset``, ``peak``, ``offset``
        (sample indices; -1 where the annotators marked no onset/offset), for
        every lead name in LEADS_12.

    Raises
    ------
    FileNotFoundError
        If the directory or records are missing.
    ecgsk.io.ECGFileError
        If a record or annotation file is corrupt or truncated.

    Examples
    --------
    >>> X, meta = load_ludb()
    >>> X.shape, list(meta.columns)
    ((200, 12, 5000), ['record', 'age', 'sex', 'diagnoses'])
    """
    import pandas as pd

    from ecgsk.io import ECGFileError, read_wfdb

    data_dir = _ludb_data_dir(_dataset_dir(path, "ludb"))
    records = _ludb_records(data_dir)
    signals, rows, delineation = [], [], []
    for rec in records:
        x, frame = read_wfdb(data_dir / rec)
        x, info = x[0], frame.iloc[0]
        if info["leads"] != LEADS_12:
            raise ECGFileError(f"{data_dir / rec}.hea: expected the 12 standard leads, got {info['leads']}")
        if signals and x.shape != signals[0].shape:
            raise ECGFileError(f"{data_dir / rec}.hea: shape {x.shape} differs from record 1's {signals[0].shape}")
        signals.append(x)
        rows.append(_ludb_meta(rec, info["comments"]))
        if return_delineation:
            delineation.append(
                {lead: _read_delineation(data_dir / rec, ext) for lead, ext in zip(LEADS_12, _LUDB_ANN_EXT)}
            )
    X = np.stack(signals)
    meta = pd.DataFrame(rows, columns=["record", "age", "sex", "diagnoses"])
    if return_delineation:
        return X, meta, delineation
    return X, meta


def _ludb_complete(path):
    data_dir = _ludb_data_dir(path)
    return all((data_dir / f"{k}.hea").is_file() and (data_dir / f"{k}.dat").is_file() for k in range(1, 201))


def fetch_ludb(data_home=None, *, download_if_missing=True, return_delineation=False):
    """Load LUDB from ``data_home``, downloading it from PhysioNet if missing.

    Parameters
    ----------
    data_home : str or path-like, optional
        Either the LUDB directory itself (holding ``data/``) or a data home
        whose ``ludb/`` subdirectory holds it (and where it is downloaded).
        Default :func:`get_data_home`.
    download_if_missing : bool, default=True
        If the 200 records are not all there, download them with
        ``wfdb.dl_database("ludb", ...)`` (about 60 MB); if False, raise.
    return_delineation : bool, default=False
        Passed to :func:`load_ludb`.

    Returns
    -------
    X, meta[, delineation]
        As :func:`load_ludb`.

    Raises
    ------
    FileNotFoundError
        If the data is missing and ``download_if_missing`` is False.

    Examples
    --------
    >>> X, meta = fetch_ludb(download_if_missing=False)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (200, 12, 5000)
    """
    home = get_data_home(data_home)
    if _ludb_complete(home):
        target = home
    else:
        target = home / "ludb"
        if not _ludb_complete(target):
            if not download_if_missing:
                raise FileNotFoundError(f"LUDB not found under {home} and download_if_missing=False")
            import wfdb

            target.mkdir(parents=True, exist_ok=True)
            wfdb.dl_database("ludb", dl_dir=str(target))
            if not _ludb_complete(target):
                raise FileNotFoundError(f"downloading LUDB into {target} did not produce the 200 records")
    return load_ludb(target, return_delineation=return_delineation)


def load_cinc2021(path=None):
    """Load the PhysioNet/CinC Challenge 2021 sample (30 12-lead records).

    Parameters
    ----------
    path : str or path-like, optional
        Default ``get_data_home() / "cinc2021"``.

    Returns
    -------
    X : ndarray of float32, shape (n_records, 12, 5000)
        In mV, leads in LEADS_12 order.
    meta : pandas.DataFrame
        ``record``, ``fs``, ``leads``, ``age``, ``sex`` (``"M"``/``"F"``),
        ``dx`` (list of SNOMED CT codes as str), the other ``key: value``
        header comments (``rx``, ``hx``, ``sx``) and ``comments``; see
        :func:`ecgsk.io.read_challenge_dir`.  Then ``dx_abbreviation`` and
        ``dx_name``: for each code of ``dx``, its abbreviation (``"NSR"``) and
        name (``"sinus rhythm"``) from the challenge's SNOMED CT mapping
        table, shipped with ecgsk (:func:`ecgsk.datasets.snomed_ct_cinc2021`:
        the 133 diagnoses of the challenge's ``dx_mapping_scored.csv`` and
        ``dx_mapping_unscored.csv``); a code outside that table keeps its code.

    Examples
    --------
    >>> X, meta = load_cinc2021()
    >>> X.shape
    (30, 12, 5000)
    >>> meta.loc[0, "dx_abbreviation"]
    ['TAb', 'NSR']
    """
    from ecgsk.datasets.snomed import name_snomed_codes
    from ecgsk.io import read_challenge_dir

    X, meta = read_challenge_dir(_dataset_dir(path, "cinc2021"))
    meta["dx_abbreviation"] = [name_snomed_codes(codes) for codes in meta["dx"]]
    meta["dx_name"] = [name_snomed_codes(codes, field="name") for codes in meta["dx"]]
    return X, meta


def load_cpsc2019(path=None):
    """Load the CPSC 2019 QRS-detection sample: 50 single-lead 10-s records at 500 Hz.

    Parameters
    ----------
    path : str or path-like, optional
        The directory holding ``data/data_XXXXX.mat`` (variable ``ecg``, mV)
        and ``ref/R_XXXXX.mat`` (variable ``R_peak``).  Default
        ``get_data_home() / "cpsc2019"``.

    Returns
    -------
    X : ndarray of float32, shape (n_records, 1, 5000)
        In mV, records in sorted id order.
    r_peaks : list of ndarray of int64
        The reference R-peak sample indices of each record, as stored.

    Raises
    ------
    ecgsk.io.ECGFileError
        If a file is corrupt, or a record lacks its reference file.

    Examples
    --------
    >>> X, r_peaks = load_cpsc2019()
    >>> X.shape, len(r_peaks)
    ((50, 1, 5000), 50)
    """
    from scipy.io import loadmat

    from ecgsk.io import ECGFileError

    root = _dataset_dir(path, "cpsc2019")
    files = sorted((root / "data").glob("data_*.mat"))
    if not files:
        raise FileNotFoundError(f"{root}: no data/data_*.mat files found")

    def load(file, key):
        try:
            value = loadmat(str(file), variable_names=[key]).get(key)
        except Exception as exc:
            raise ECGFileError(f"{file}: could not read MATLAB file ({type(exc).__name__}: {exc})") from exc
        if value is None:
            raise ECGFileError(f"{file}: no variable {key!r}")
        return np.asarray(value)

    signals, peaks = [], []
    for f in files:
        ident = f.stem.split("_", 1)[1]
        ref = root / "ref" / f"R_{ident}.mat"
        if not ref.is_file():
            raise ECGFileError(f"{ref}: reference R-peak file missing for {f.name}")
        ecg = load(f, "ecg").astype(np.float64).ravel()
        if signals and ecg.shape != signals[0].shape:
            raise ECGFileError(f"{f}: {ecg.size} samples, expected {signals[0].size}")
        if not np.isfinite(ecg).all():
            raise ECGFileError(f"{f}: non-finite values")
        signals.append(ecg)
        peaks.append(load(ref, "R_peak").astype(np.int64).ravel())
    X = np.stack(signals)[:, None, :].astype(np.float32)
    return X, peaks


def load_mitdb(path=None, record="100"):
    """Load a MIT-BIH Arrhythmia Database record with its beat annotations.

    Parameters
    ----------
    path : str or path-like, optional
        Directory holding ``{record}.hea``, ``.dat`` and ``.atr``.  Default
        ``get_data_home() / "mitdb"``.
    record : str, default="100"

    Returns
    -------
    X : ndarray of float32, shape (1, 2, n_samples)
        In mV; leads in the record's order (record 100: MLII, V5, named
        ``"II"`` and ``"V5"`` by :func:`ecgsk.leads.canonical_lead_name`).
    fs : float
        Sampling rate (360 Hz).
    ann_samples : ndarray of int64
        Annotation sample indices (0-based).
    ann_symbols : list of str
        Annotation symbols (``"N"``, ``"A"``, ``"+"``, ...), same length.

    Examples
    --------
    >>> X, fs, samples, symbols = load_mitdb()
    >>> X.shape, fs
    ((1, 2, 650000), 360.0)
    """
    from ecgsk.io import read_wfdb

    root = _dataset_dir(path, "mitdb")
    x, meta = read_wfdb(root / str(record))
    samples, symbols = _read_mit_annotations(root / f"{record}.atr")
    return x, float(meta.loc[0, "fs"]), samples, symbols
