"""Writers are atomic: after a full disk, a read-only folder or Ctrl-C every output file is complete or absent.

Regression tests for issue 15, "Writers and generation" (the CLI side and the
SIGINT-in-a-subprocess tests are in tests/test_cli.py).
"""

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import ecgsk.io as eio
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.io._atomic import TMP_TAG, remove_stale_temporaries, temporary_target

FORMATS = ("asc", "csv", "npy", "npz", "wfdb")
SUFFIXES = {"asc": (".asc",), "csv": (".csv",), "npy": (".npy",), "npz": (".npz",), "wfdb": (".dat", ".hea")}


@pytest.fixture(scope="module")
def X8():
    return make_synthetic_ecgs(3, n_leads=8, n_samples=2000, random_state=0)


def _names(d):
    return sorted(p.name for p in Path(d).iterdir())


def _enospc_after(limit):
    """An ``os.write`` that writes ``limit`` bytes in all, then fails as a full disk does."""
    real = os.write
    state = {"left": limit}

    def write(fd, data):
        if state["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, bytes(memoryview(data)[: state["left"]]))
        state["left"] -= n
        return n

    return write


def test_asc_disk_full_mid_file_leaves_only_complete_files(tmp_path, X8, monkeypatch):
    # Why: `-n 20` into a 1 MB filesystem left 6.asc with 3047 of its 5000 rows.
    one_file = len(eio.format_asc(eio.mv_to_asc_microvolts(X8[0])))
    monkeypatch.setattr(os, "write", _enospc_after(one_file + one_file // 2))  # dies half-way through file 1
    with pytest.raises(OSError) as info:
        eio.write_asc(X8, tmp_path)
    assert info.value.errno == errno.ENOSPC and info.value.filename.endswith("1.asc")
    monkeypatch.undo()
    assert _names(tmp_path) == ["0.asc"]  # 1.asc absent, not truncated; no temporary left
    assert len((tmp_path / "0.asc").read_text().splitlines()) == 2000


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_full_disk_leaves_only_complete_files(small_disk, fmt):
    X = make_synthetic_ecgs(24, n_leads=8, n_samples=2000, random_state=1)
    with pytest.raises(OSError) as info:
        eio.write(X, small_disk, format=fmt)
    # numpy's tofile (under wfdb) reports a short write without an errno
    assert info.value.errno == errno.ENOSPC or "requested and" in str(info.value)
    names = _names(small_disk)
    assert not [n for n in names if temporary_target(n) is not None]
    stems = sorted({n.split(".")[0] for n in names}, key=int)
    assert stems == [str(i) for i in range(len(stems))] and 0 < len(stems) < 24
    for stem in stems:
        assert sorted(n for n in names if n.split(".")[0] == stem) == [stem + s for s in SUFFIXES[fmt]]
        Y = _read_one(small_disk / stem, fmt)
        np.testing.assert_allclose(Y, X[int(stem)], atol=1.1e-3)


def _read_one(base, fmt):
    """One record through the format's own reader, as (leads, T) mV."""
    path = base if fmt == "wfdb" else base.with_suffix(f".{fmt}")
    reader = {"wfdb": eio.read_wfdb, "asc": eio.read_asc, "csv": eio.read_csv, "npy": eio.read_npy,
              "npz": eio.read_npz}[fmt]
    X, meta = reader(path)
    assert X.shape[0] == 1 and meta.loc[0, "record"] == base.name
    return X[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_only_folder_raises_oserror_and_writes_nothing(readonly_dir, X8, fmt):
    with pytest.raises(OSError) as info:
        eio.write(X8, readonly_dir, format=fmt)
    assert info.value.errno in (errno.EACCES, errno.EROFS, errno.EPERM)
    assert _names(readonly_dir) == []


def test_wfdb_interrupted_while_writing_the_signal_leaves_no_header(tmp_path, X8, monkeypatch):
    # Why: SIGINT during --format wfdb left 48.hea with no 48.dat (wfdb.wrsamp writes the header first).
    import wfdb.io._signal as signal_module

    calls = {"n": 0}
    real = signal_module.wr_dat_file

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(signal_module, "wr_dat_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        eio.write_wfdb(X8, tmp_path)
    assert _names(tmp_path) == ["0.dat", "0.hea"]  # record 1: neither file; no temporary folder left


def test_wfdb_dat_is_renamed_before_its_header(tmp_path, X8, monkeypatch):
    order = []
    real = os.replace

    def replace(src, dst):
        order.append(Path(dst).name)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    eio.write_wfdb(X8[:2], tmp_path)
    assert order == ["0.dat", "0.hea", "1.dat", "1.hea"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_error_inside_any_writer_leaves_no_temporary(tmp_path, X8, fmt, monkeypatch):
    # the rename itself fails on the second file: the first stays, nothing else, no temporaries
    real = os.replace
    calls = {"n": 0}
    per_record = len(SUFFIXES[fmt])

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == per_record + 1:
            raise OSError(errno.EIO, "injected I/O error")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="injected"):
        eio.write(X8, tmp_path, format=fmt)
    assert _names(tmp_path) == sorted("0" + s for s in SUFFIXES[fmt])


def test_npy_and_npz_writers_are_atomic(tmp_path, X8, monkeypatch):
    monkeypatch.setattr(np, "save", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        eio.write_npy(X8, tmp_path / "x.npy")
    assert _names(tmp_path) == []
    monkeypatch.undo()
    assert eio.write_npy(X8, tmp_path / "x") == tmp_path / "x.npy"
    assert eio.write_npz(tmp_path / "y", X8, fs=500) == tmp_path / "y.npz"
    assert _names(tmp_path) == ["x.npy", "y.npz"]


def test_stale_temporaries_are_named_and_removed(tmp_path):
    (tmp_path / "3.asc").write_text("1 2\n")
    stale = tmp_path / f".4.asc{TMP_TAG}0011aabb"
    other = tmp_path / f".9.asc{TMP_TAG}0011aabb"
    stale.write_text("1")
    other.write_text("1")
    removed = remove_stale_temporaries(tmp_path, targets={"4.asc"})
    assert removed == [stale] and _names(tmp_path) == sorted(["3.asc", other.name])
    remove_stale_temporaries(tmp_path)
    assert _names(tmp_path) == ["3.asc"]
