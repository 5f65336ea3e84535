"""Readers and writers for ECG files (no torch).

:func:`read` reads a file or a folder in any format (detected when not
given) and returns ``(X, meta)``: ``X`` of shape ``(n_ecgs, n_leads,
n_samples)``, float32, in **millivolts**, and a DataFrame with one row per
ECG (``record``, ``fs``, ``leads`` and what the format carries); see
:mod:`ecgsk.io.reader`.  Every per-format reader (:func:`read_wfdb`,
:func:`read_challenge_record`, :func:`read_challenge_dir`, :func:`read_asc`,
:func:`read_asc_dir`, :func:`read_csv`, :func:`read_npy`, :func:`read_npz`)
returns the same pair, with ``X`` of shape ``(n, leads, T)`` even for one
record, and :func:`write` is their inverse.  The 12 standard leads come in
:data:`~ecgsk.leads.LEADS_12` order.  Readers verify before they return: a
file that is corrupt, truncated or inconsistent with its header (sampling
rate or gain not positive and finite, checksum mismatch, NaN/inf/complex
samples, ragged rows) raises :class:`ECGFileError` (a :class:`ValueError`)
whose message names the file and the field; readers never return partial
data.

Formats
-------
- WFDB (``.hea`` + ``.dat``/``.mat``) through the ``wfdb`` package:
  :func:`read_wfdb`, :func:`write_wfdb`.
- PhysioNet/CinC challenge directories (``.hea`` + ``.mat`` holding ``val``):
  :func:`read_challenge_dir`.
- deepfake-ecg ``.asc`` text files (5000 rows of 8 integers in microvolts,
  leads I, II, V1-V6, or 12 in :data:`~ecgsk.leads.LEADS_12` order, as
  ``ecgsk generate --leads 12`` writes): :func:`read_asc`, :func:`read_asc_dir`,
  :func:`write_asc`, :func:`write_asc_microvolts`.  The writers produce files
  byte-identical to ``deepfakeecg.generate`` (which calls
  ``np.savetxt(path, ints, fmt='%i')``) at a fraction of the cost.
- NumPy ``.npy``/``.npz`` and CSV: :func:`write_npy`, :func:`read_npy`,
  :func:`write_npz`, :func:`read_npz`, :func:`write_csv`, :func:`read_csv`.
- One call for every format: :func:`read` and :func:`write` (``asc``,
  ``csv``, ``npy``, ``npz``, ``wfdb``; WFDB headers carry the ``meta``
  columns as comments, ``.npz`` archives as entries).  Every
  writer is atomic: each file goes to a temporary name in its folder and is
  renamed when complete (a WFDB ``.dat`` before its ``.hea``), so after an
  error or Ctrl-C every output file is complete or absent.
- Saved estimators (one safetensors file of arrays plus JSON, never a
  pickle): :func:`write_estimator_file`, :func:`read_estimator_file`; a
  damaged or foreign file raises :class:`ModelFileError`.  Estimators use
  them through ``est.save(path)`` and :func:`ecgsk.load`.

Modules
-------
One module per format, all re-exported here: :mod:`ecgsk.io.wfdb`,
:mod:`ecgsk.io.challenge`, :mod:`ecgsk.io.asc`, :mod:`ecgsk.io.npy`,
:mod:`ecgsk.io.csv`, :mod:`ecgsk.io.estimator_file`; shared private helpers
live in ``ecgsk.io._common``.
"""

from ecgsk.exceptions import ECGFileError, ModelFileError
from ecgsk.io.asc import (
    format_asc,
    mv_to_asc_microvolts,
    net_output_to_microvolts,
    read_asc,
    read_asc_dir,
    write_asc,
    write_asc_microvolts,
)
from ecgsk.io.challenge import read_challenge_dir, read_challenge_record
from ecgsk.io.csv import read_csv, write_csv
from ecgsk.io.estimator_file import read_estimator_file, write_estimator_file
from ecgsk.io.npy import read_npy, read_npz, write_npy, write_npz
from ecgsk.io.wfdb import read_wfdb, write_wfdb
from ecgsk.io.reader import READ_FORMATS, read
from ecgsk.io.writer import WRITE_FORMATS, write
from ecgsk.io.pack import open_packed, pack

__all__ = [
    "ECGFileError",
    "ModelFileError",
    "read_wfdb",
    "read_challenge_dir",
    "read_challenge_record",
    "read_asc",
    "read_asc_dir",
    "format_asc",
    "mv_to_asc_microvolts",
    "net_output_to_microvolts",
    "write_asc",
    "write_asc_microvolts",
    "write_npy",
    "read_npy",
    "write_npz",
    "read_npz",
    "write_csv",
    "read_csv",
    "write_wfdb",
    "write_estimator_file",
    "read_estimator_file",
    "read",
    "READ_FORMATS",
    "write",
    "WRITE_FORMATS",
    "pack",
    "open_packed",
]
