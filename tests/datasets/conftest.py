"""Fixture trees in the official PTB-XL and MIMIC-IV-ECG layouts, built at test time from real records.

What is real and what is constructed:

- **Real**: the signals and the age, sex and diagnoses of the ten CinC 2021
  ``HR06000``-``HR06009`` records in ``../shared/data/cinc2021``, which are
  PTB-XL records.
  Their digital values (gain 1000 adu/mV, int16) are written unchanged as
  ``records500/06000/06000_hr`` ... in WFDB format 16, with PTB-XL's
  upper-case lead names (``AVR``, ``AVL``, ``AVF``).
- **Constructed**:
  - ``records100/.../*_lr``: the same signals resampled to 100 Hz with
    ``scipy.signal.resample_poly(x, 1, 5)`` (PTB-XL's own 100 Hz files were
    downsampled by its authors, not like this);
  - ``ptbxl_database.csv``: ``ecg_id`` taken from the record number
    (``HR06000`` -> 6000; not checked against PTB-XL's table), ``patient_id``
    ``15000 + i``, ``strat_fold`` ``1 + i % 10``, ``scp_codes`` mapped from
    the records' SNOMED CT Dx codes by ``_SNOMED_TO_SCP`` (diagnostic
    statements at likelihood 100, rhythm statements at 0, as PTB-XL writes
    them), plus ``NORM: 100`` for a record whose Dx holds rhythm codes only;
  - ``scp_statements.csv``: the rows of the SCP codes used here, with the
    ``diagnostic``/``form``/``rhythm`` flags, ``diagnostic_class`` and
    ``diagnostic_subclass`` as in PTB-XL's table, plus ``IMI`` and ``LVH``,
    which no record carries;
  - the MIMIC-IV-ECG tree: subject and study ids, times and
    ``machine_measurements.csv`` are made up; the signals are the same ten
    records at 500 Hz with MIMIC's lead names and order (``aVF`` before
    ``aVL``).
"""

import numpy as np
import pandas as pd
import pytest

PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
MIMIC_LEADS = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]
LEADS_12 = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

# SNOMED CT (CinC 2021 Dx) -> SCP-ECG statement of PTB-XL, for the codes of the ten HR records
_SNOMED_TO_SCP = {
    "426783006": "SR",     # sinus rhythm
    "426177001": "SBRAD",  # sinus bradycardia
    "427084000": "STACH",  # sinus tachycardia
    "164934002": "NDT",    # T-wave abnormality -> non-diagnostic T abnormalities
    "55930002": "NST_",    # ST changes -> non-specific ST changes
    "713426002": "IRBBB",  # incomplete right bundle branch block
}
# code: (description, diagnostic, form, rhythm, diagnostic_class, diagnostic_subclass), as in PTB-XL's table
_STATEMENTS = {
    "NORM": ("normal ECG", 1.0, np.nan, np.nan, "NORM", "NORM"),
    "NDT": ("non-diagnostic T abnormalities", 1.0, 1.0, np.nan, "STTC", "STTC"),
    "NST_": ("non-specific ST changes", 1.0, 1.0, np.nan, "STTC", "NST_"),
    "IRBBB": ("incomplete right bundle branch block", 1.0, np.nan, np.nan, "CD", "IRBBB"),
    "IMI": ("inferior myocardial infarction", 1.0, np.nan, np.nan, "MI", "IMI"),
    "LVH": ("left ventricular hypertrophy", 1.0, np.nan, np.nan, "HYP", "LVH"),
    "SR": ("sinus rhythm", np.nan, np.nan, 1.0, np.nan, np.nan),
    "SBRAD": ("sinus bradycardia", np.nan, np.nan, 1.0, np.nan, np.nan),
    "STACH": ("sinus tachycardia", np.nan, np.nan, 1.0, np.nan, np.nan),
}
_RHYTHM = {"SR", "SBRAD", "STACH"}


def _read_cinc_hr(data_dir):
    """The ten HR records: int16 values (12, 5000), gain 1000, and their header's age, sex and Dx."""
    import wfdb
    from scipy.io import loadmat

    records = []
    for hea in sorted((data_dir / "cinc2021").glob("HR*.hea")):
        header = wfdb.rdheader(str(hea.with_suffix("")))
        assert header.sig_name == LEADS_12 and set(header.adc_gain) == {1000.0} and header.fs == 500
        fields = dict(c.split(":", 1) for c in header.comments if ":" in c)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        val = loadmat(str(hea.with_suffix(".mat")))["val"].astype(np.int16)
        records.append({"name": hea.stem, "val": val, "age": float(fields["Age"]),
                        "sex": {"Male": 0, "Female": 1}[fields["Sex"]], "dx": fields["Dx"].split(",")})
    assert len(records) == 10
    return records


def _wrsamp(directory, name, digital, leads, fs):
    import wfdb

    directory.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * 12, sig_name=list(leads), d_signal=np.ascontiguousarray(digital.T),
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(directory))


@pytest.fixture(scope="session")
def cinc_hr(data_dir):
    return _read_cinc_hr(data_dir)


@pytest.fixture(scope="session")
def ptbxl_tree(cinc_hr, tmp_path_factory):
    """A PTB-XL folder (tables + records500 + records100) from the ten real HR records."""
    from scipy.signal import resample_poly

    root = tmp_path_factory.mktemp("ptbxl")
    rows = []
    for i, rec in enumerate(cinc_hr):
        ecg_id = int(rec["name"][2:])
        folder = f"{ecg_id // 1000 * 1000:05d}"
        _wrsamp(root / "records500" / folder, f"{ecg_id:05d}_hr", rec["val"], PTBXL_LEADS, 500)
        low = np.round(resample_poly(rec["val"].astype(np.float64), 1, 5, axis=1)).astype(np.int16)
        _wrsamp(root / "records100" / folder, f"{ecg_id:05d}_lr", low, PTBXL_LEADS, 100)
        scp = {}
        for code in rec["dx"]:
            statement = _SNOMED_TO_SCP[code]
            scp[statement] = 0.0 if statement in _RHYTHM else 100.0
        if set(scp) <= _RHYTHM:
            scp = {"NORM": 100.0, **scp}
        rows.append({"ecg_id": ecg_id, "patient_id": 15000.0 + i, "age": rec["age"], "sex": rec["sex"],
                     "height": np.nan, "weight": np.nan, "scp_codes": repr(scp), "strat_fold": 1 + i % 10,
                     "filename_lr": f"records100/{folder}/{ecg_id:05d}_lr",
                     "filename_hr": f"records500/{folder}/{ecg_id:05d}_hr"})
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    statements = pd.DataFrame.from_dict(
        _STATEMENTS, orient="index",
        columns=["description", "diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"])
    statements.to_csv(root / "scp_statements.csv")
    return root


@pytest.fixture(scope="session")
def mimic_tree(cinc_hr, tmp_path_factory):
    """A MIMIC-IV-ECG folder (record_list.csv, machine_measurements.csv, files/...) from the ten HR records."""
    root = tmp_path_factory.mktemp("mimic-iv-ecg")
    order = [LEADS_12.index(lead) for lead in MIMIC_LEADS]
    rows, measurements = [], []
    for i, rec in enumerate(cinc_hr):
        subject, study = 10000000 + 7 * i, 40000000 + 11 * i
        rel = f"files/p{str(subject)[:4]}/p{subject}/s{study}/{study}"
        _wrsamp(root / rel.rsplit("/", 1)[0], str(study), rec["val"][order], MIMIC_LEADS, 500)
        rows.append({"subject_id": subject, "study_id": study, "file_name": study,
                     "ecg_time": f"2180-07-{1 + i:02d} 10:00:00", "path": rel})
        measurements.append({"subject_id": subject, "study_id": study, "report_0": f"constructed report {i}",
                             "rr_interval": 800 + i})
    pd.DataFrame(rows).to_csv(root / "record_list.csv", index=False)
    pd.DataFrame(measurements).to_csv(root / "machine_measurements.csv", index=False)
    return root
