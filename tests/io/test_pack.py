"""ecgsk.io.pack / open_packed: a collection of records as one memory-mapped array."""

import json

import numpy as np
import pytest

from ecgsk.datasets import ECGDataset, make_synthetic_ecgs
from ecgsk.io import read, write
from ecgsk.io.pack import open_packed, pack


def test_pack_real_cinc_records_int16(data_dir, tmp_path):
    X, meta = read(data_dir / "cinc2021")
    path = pack(data_dir / "cinc2021", tmp_path / "cinc.npy", fs=500, length=5000)
    ds = open_packed(path)
    assert isinstance(ds, ECGDataset) and ds.shape == (len(X), 12, 5000) and ds.data.dtype == np.int16
    assert ds.meta["record"].tolist() == meta["record"].tolist()
    # int16 at 1000 units/mV: within half a microvolt of the source
    np.testing.assert_allclose(ds[0:len(X)], X[:, :, :5000], atol=5.01e-4)
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["gain"] == 1000.0 and info["leads"] == list(ds.leads)


def test_pack_resamples_crops_and_pads(tmp_path):
    X = make_synthetic_ecgs(2, n_leads=8, n_samples=1000, random_state=0)  # 2 s at 500 Hz
    write(X, tmp_path / "in", format="asc")
    ds = open_packed(pack(tmp_path / "in", tmp_path / "a.npy", fs=250, length=600, dtype="float32"))
    assert ds.shape == (2, 8, 600) and ds.data.dtype == np.float32
    assert ds.meta["n_valid"].tolist() == [500, 500]  # 2 s at 250 Hz, then zeros
    np.testing.assert_array_equal(ds[0][:, 500:], 0)
    from scipy.signal import resample_poly

    src, _ = read(tmp_path / "in")
    np.testing.assert_allclose(ds[1][:, :500], resample_poly(src[1], 1, 2, axis=-1), atol=1e-5)
    short = open_packed(pack(tmp_path / "in", tmp_path / "b.npy", fs=500, length=300))
    np.testing.assert_allclose(short[0], src[0][:, :300], atol=5.01e-4)  # cropped: the first 300


def test_pack_refuses_overflow_and_bad_args(tmp_path):
    X = make_synthetic_ecgs(1, n_leads=8, n_samples=500, random_state=0) * 10  # peaks of several mV
    write(X, tmp_path / "in", format="asc")
    with pytest.raises(ValueError, match="beyond int16"):
        pack(tmp_path / "in", tmp_path / "x.npy", length=500, gain=10000.0)
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "x.npy.part").exists()
    with pytest.raises(ValueError, match="dtype"):
        pack(tmp_path / "in", tmp_path / "x.npy", dtype="int8")
    with pytest.raises(FileNotFoundError):
        pack(tmp_path / "nothing", tmp_path / "x.npy")


def test_pack_counts_the_ecgs_of_npy_and_npz_batches(tmp_path):
    # A 3-ECG .npz was counted as one record: "holds more ECGs than its header said".
    from ecgsk.io import write_npy, write_npz

    X = make_synthetic_ecgs(5, n_leads=8, n_samples=500, random_state=0)
    (tmp_path / "in").mkdir()
    write_npz(tmp_path / "in" / "a.npz", X[:3], fs=500)
    write_npy(X[3:], tmp_path / "in" / "b.npy")
    ds = open_packed(pack(tmp_path / "in", tmp_path / "p.npy", fs=500, length=500, dtype="float32", source_fs=500))
    assert ds.shape == (5, 8, 500)
    assert ds.meta["record"].tolist() == ["a[0]", "a[1]", "a[2]", "b[0]", "b[1]"]
    np.testing.assert_array_equal(ds[0:5], X)
