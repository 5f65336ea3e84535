"""ecgsk.datasets.ECGDataset: an ECG batch read on access, from a memmap or a reader."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.lib.format import open_memmap

from ecgsk.datasets import ECGDataset, is_lazy_ecg


@pytest.fixture
def int16_memmap(tmp_path):
    rng = np.random.default_rng(0)
    raw = open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.int16, shape=(7, 3, 50))
    raw[:] = rng.integers(-3000, 3000, size=raw.shape)
    raw.flush()
    return np.load(tmp_path / "x.npy", mmap_mode="r")


def test_int16_scaled_to_mv_on_access(int16_memmap):
    ds = ECGDataset(int16_memmap, gain=1000.0, fs=500, leads=("I", "II", "V1"))
    assert len(ds) == 7 and ds.shape == (7, 3, 50) and ds.n_leads == 3 and ds.n_samples == 50
    expected = np.asarray(int16_memmap, dtype=np.float32) / 1000.0
    assert ds[2].dtype == np.float32 and ds[2].shape == (3, 50)
    np.testing.assert_allclose(ds[2], expected[2], rtol=1e-6)
    np.testing.assert_allclose(ds[-1], expected[-1], rtol=1e-6)
    np.testing.assert_allclose(ds[1:4], expected[1:4], rtol=1e-6)
    np.testing.assert_allclose(ds[[5, 0, 5]], expected[[5, 0, 5]], rtol=1e-6)
    mask = np.zeros(7, bool)
    mask[[1, 6]] = True
    np.testing.assert_allclose(ds[mask], expected[mask], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ds), expected, rtol=1e-6)
    assert is_lazy_ecg(ds) and is_lazy_ecg(int16_memmap) and not is_lazy_ecg(expected)


def test_per_lead_gain_and_baseline():
    raw = np.array([[[10, 20], [100, 300]]], dtype=np.int32)
    ds = ECGDataset(raw, gain=[10.0, 100.0], baseline=[0, 100])
    np.testing.assert_allclose(ds[0], [[1.0, 2.0], [0.0, 2.0]])


def test_float_memmap_is_read_not_copied_whole(tmp_path):
    arr = open_memmap(tmp_path / "f.npy", mode="w+", dtype=np.float32, shape=(4, 2, 10))
    arr[:] = np.arange(80, dtype=np.float32).reshape(4, 2, 10)
    arr.flush()
    ds = ECGDataset(np.load(tmp_path / "f.npy", mmap_mode="r"))
    out = ds[1]
    out[:] = -1  # the returned record is a copy: the file is untouched
    assert ds[1][0, 0] == 20.0


def test_two_d_is_single_lead():
    ds = ECGDataset(np.ones((3, 8)))
    assert ds.shape == (3, 1, 8) and ds[0].shape == (1, 8)


def test_from_reader_checks_records():
    calls = []

    def reader(i):
        calls.append(i)
        return np.full((2, 5), float(i)) if i != 3 else np.zeros((2, 4))

    ds = ECGDataset.from_reader(reader, 4, n_leads=2, n_samples=5, meta={"record": list("abcd")})
    assert ds[[2, 0]][:, 0, 0].tolist() == [2.0, 0.0]
    assert calls == [2, 0]  # only the indexed records were read
    with pytest.raises(ValueError, match=r"record 3 \(d\) has shape \(2, 4\)"):
        ds[3]


def test_non_finite_records_raise_naming_them():
    X = np.zeros((3, 1, 4), np.float32)
    X[1, 0, 2] = np.nan
    ds = ECGDataset(X, meta=pd.DataFrame({"record": ["r0", "r1", "r2"]}))
    assert ds[0].sum() == 0
    with pytest.raises(ValueError, match=r"1 \(r1\) hold NaN"):
        ds[0:3]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"data": np.zeros((2, 3, 4), np.int16)}, ValueError, "pass gain="),
    ({"data": np.zeros(5)}, ValueError, r"got shape \(5,\)"),
    ({"data": np.zeros((2, 3, 4)), "gain": 0.0}, ValueError, "positive"),
    ({"data": np.zeros((2, 3, 4)), "gain": [1.0, 2.0]}, ValueError, "one value per lead"),
    ({"data": np.zeros((2, 3, 4)), "meta": {"a": [1, 2, 3]}}, ValueError, "meta has 3 rows"),
    ({"data": np.zeros((2, 3, 4)), "leads": ("I",)}, ValueError, "leads names 1"),
    ({"data": np.array([["a"]])}, TypeError, "real numbers"),
])
def test_bad_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        ECGDataset(**kwargs)


def test_bad_indices():
    ds = ECGDataset(np.zeros((3, 1, 4)))
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(IndexError):
        ds[[0, 5]]
    with pytest.raises(IndexError):
        ds[np.zeros(2, bool)]
    with pytest.raises(IndexError):
        ds[0.5]


def test_subset_is_lazy_and_keeps_meta(int16_memmap):
    ds = ECGDataset(int16_memmap, gain=1000.0, meta={"record": [f"r{i}" for i in range(7)]})
    sub = ds.subset([6, 2, 4])
    assert sub.shape == (3, 3, 50) and sub.meta["record"].tolist() == ["r6", "r2", "r4"]
    np.testing.assert_allclose(sub[1:], ds[[2, 4]])
    assert sub.subset(slice(0, 1))[0].tolist() == ds[6].tolist()


def test_iter_chunks_and_iteration(int16_memmap):
    ds = ECGDataset(int16_memmap, gain=1000.0)
    chunks = list(ds.iter_chunks(3))
    assert [s for s, _ in chunks] == [0, 3, 6] and [len(c) for _, c in chunks] == [3, 3, 1]
    assert len(list(ds)) == 7
    with pytest.raises(ValueError, match="chunk_size"):
        next(ds.iter_chunks(0))


def test_pickle_sends_the_file_name_not_the_data(int16_memmap):
    ds = ECGDataset(int16_memmap, gain=1000.0)
    blob = pickle.dumps(ds)
    assert len(blob) < int16_memmap.nbytes  # 2,100 bytes of data: the pickle holds the path instead
    back = pickle.loads(blob)
    assert isinstance(back.data, np.memmap)
    np.testing.assert_array_equal(back[[0, 6]], ds[[0, 6]])
    # a view into the memmap keeps its offset
    view = ECGDataset(int16_memmap[2:5], gain=1000.0)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(view))[0], ds[2])


def test_torch_dataloader_accepts_it(int16_memmap):
    import torch
    ds = ECGDataset(int16_memmap, gain=1000.0)
    batches = list(torch.utils.data.DataLoader(ds, batch_size=4))
    assert [tuple(b.shape) for b in batches] == [(4, 3, 50), (3, 3, 50)]
    assert batches[0].dtype == torch.float32


def test_map_is_lazy_and_checks_shape():
    calls = []

    def double(batch):
        calls.append(len(batch))
        return batch * 2

    ds = ECGDataset(np.ones((5, 2, 3), np.float32)).map(double)
    calls.clear()
    assert ds.shape == (5, 2, 3) and ds[[0, 4]].sum() == 24.0 and calls == [2]
    bad = ECGDataset(np.ones((2, 1, 3))).map(lambda b: b[:, :, :2], n_leads=1, n_samples=3)
    with pytest.raises(ValueError, match="expected"):
        bad[0]


def test_validate_scans_float_data_in_chunks():
    X = np.zeros((6, 1, 4))
    X[4, 0, 1] = np.inf
    with pytest.raises(ValueError, match=r"ECG\(s\) 4"):
        ECGDataset(X).validate(chunk_size=2)
    assert ECGDataset(X).subset([0, 1]).validate() is not None


def test_lead_statistics_match_numpy():
    from ecgsk.datasets.dataset import lead_statistics

    X = np.random.default_rng(1).normal(size=(9, 3, 20))
    lazy = lead_statistics(ECGDataset(X), chunk_size=4)
    eager = lead_statistics(X)
    for key in ("mean", "std", "abs_max"):
        np.testing.assert_allclose(lazy[key], eager[key], rtol=1e-5)
    np.testing.assert_allclose(eager["std"], X.std(axis=(0, 2)))


def test_check_ecg_array_lazy_keeps_memmap_and_checks_in_chunks(tmp_path):
    from ecgsk.utils.validation import check_ecg_array

    arr = open_memmap(tmp_path / "f.npy", mode="w+", dtype=np.float32, shape=(5, 2, 10))
    arr[:] = 0.5
    arr[3, 1, 2] = np.nan
    arr.flush()
    mm = np.load(tmp_path / "f.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"ECG\(s\) \[3\]"):
        check_ecg_array(mm, lazy=True, chunk_size=2)
    good = np.load(tmp_path / "f.npy", mmap_mode="r")[:3]
    assert check_ecg_array(good, lazy=True) is good
    with pytest.raises(ValueError, match="3 lead"):
        check_ecg_array(good, lazy=True, n_leads=3)
    assert type(check_ecg_array(good)) is np.ndarray  # not lazy: converted in memory as before
    ds = ECGDataset(good)
    assert check_ecg_array(ds, lazy=True) is ds
