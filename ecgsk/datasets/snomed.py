"""The SNOMED CT diagnosis codes of the PhysioNet/CinC Challenge 2021, with names and abbreviations (no torch).

The table ships as package data, ``ecgsk/datasets/data/snomed_ct_cinc2021.csv``,
written from the challenge's own mapping tables ``dx_mapping_scored.csv`` (30
scored diagnoses) and ``dx_mapping_unscored.csv`` (103 unscored ones) of
https://github.com/physionetchallenges/evaluation-2021 (BSD 2-Clause
licence, copyright 2020, 2021 PhysioNet/Computing in Cardiology Challenges).
It covers the 133 diagnoses that the challenge lists for its training sets;
a code outside it has no name.
"""

from functools import lru_cache

__all__ = ["snomed_ct_cinc2021", "name_snomed_codes"]


@lru_cache(maxsize=1)
def _table():
    from importlib.resources import files

    import pandas as pd

    with files("ecgsk.datasets").joinpath("data", "snomed_ct_cinc2021.csv").open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, comment="#", dtype={"snomed_ct_code": str, "scored_as": str},
                            keep_default_na=False)
    table["scored"] = table["scored"].astype(bool)
    return table.set_index("snomed_ct_code", drop=False)


def snomed_ct_cinc2021():
    """The CinC 2021 SNOMED CT mapping table, one row per diagnosis.

    Returns
    -------
    pandas.DataFrame
        133 rows indexed by code, with columns ``snomed_ct_code`` (str),
        ``abbreviation`` (the challenge's, e.g. ``"NSR"``), ``name`` (e.g.
        ``"sinus rhythm"``), ``scored`` (bool: one of the challenge's 30
        scored classes), ``scored_as`` (the code the challenge scores it
        together with, or ``""``) and ``n_training_records`` (records of the
        challenge's training sets carrying it).  See the module docstring for
        the source.

    Examples
    --------
    >>> table = snomed_ct_cinc2021()
    >>> table.loc["426783006", ["abbreviation", "name"]].tolist()
    ['NSR', 'sinus rhythm']
    >>> len(table), int(table["scored"].sum())
    (133, 30)
    """
    return _table().copy()


def name_snomed_codes(codes, field="abbreviation"):
    """Abbreviations (or names) of SNOMED CT codes from :func:`snomed_ct_cinc2021`.

    Parameters
    ----------
    codes : iterable of str or int
    field : {"abbreviation", "name"}, default="abbreviation"

    Returns
    -------
    list of str
        One entry per code; a code the table does not hold keeps its code
        (as str), so that nothing is silently dropped.

    Examples
    --------
    >>> name_snomed_codes(["426783006", "164934002"])
    ['NSR', 'TAb']
    >>> name_snomed_codes([426783006], field="name")
    ['sinus rhythm']
    """
    if field not in ("abbreviation", "name"):
        raise ValueError(f"field must be 'abbreviation' or 'name'; got {field!r}")
    column = _table()[field]
    return [str(column.get(str(c).strip(), str(c).strip())) for c in codes]
