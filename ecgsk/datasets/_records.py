"""Private helpers shared by the PTB-XL and MIMIC-IV-ECG loaders (no torch)."""

from pathlib import Path

from ecgsk.leads import LEADS_12


def read_record(base):
    """One WFDB record as ``(X (n_leads, T) float32 mV, info dict)`` through :func:`ecgsk.io.read_wfdb`.

    ``info`` is the one row of the reader's ``meta`` (``record``, ``fs``,
    ``leads``, ``comments``, ...).
    """
    from ecgsk.io import read_wfdb

    X, meta = read_wfdb(base)
    return X[0], meta.iloc[0].to_dict()


def read_standard_12(base):
    """A 12-lead record in LEADS_12 order; an ECGFileError names the file when the leads differ."""
    from ecgsk.io import ECGFileError

    x, info = read_record(base)
    leads = list(info["leads"])
    if leads != list(LEADS_12):
        raise ECGFileError(f"{base}.hea: expected the 12 standard leads, got {leads}")
    return x, info


def progress(iterable, total, desc, verbose):
    """A tqdm bar over ``iterable`` when ``verbose``, else the iterable itself."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices, key=str)}; got {value!r}")
    return value


def as_dir(path, what):
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found at {path}")
    return path
