"""ecgsk.io.npy (with ecgsk.io.csv): the .npy/.npz/CSV round trip.

The old test_io.py tested the three formats together; this test is moved
unchanged, its corrupt-file sibling lives in test_csv.py.
"""

import numpy as np

from ecgsk.io import read_csv, read_npy, read_npz, write_csv, write_npy, write_npz
from ecgsk.leads import LEADS_12


def test_npy_npz_csv_roundtrip(tmp_path, ecg12):
    p = write_npy(ecg12, tmp_path / "x.npy")
    np.testing.assert_array_equal(read_npy(p), ecg12)
    p = write_npz(tmp_path / "x.npz", ecg12, fs=500, leads=np.array(LEADS_12))
    data = read_npz(p)
    np.testing.assert_array_equal(data["X"], ecg12)
    assert int(data["fs"]) == 500 and tuple(data["leads"]) == LEADS_12
    paths = write_csv(ecg12[:2], tmp_path / "csv")
    assert paths[0].read_text().splitlines()[0] == ",".join(LEADS_12)
    Y, leads = read_csv(paths[1])
    assert leads == list(LEADS_12)
    np.testing.assert_allclose(Y, ecg12[1], atol=1e-5)
