"""ecgsk.io.asc: deepfake-ecg .asc readers and the byte-identical writers."""

import io as _io
import re
import shutil
import time

import numpy as np
import pytest

from ecgsk.io import (
    ECGFileError,
    format_asc,
    mv_to_asc_microvolts,
    net_output_to_microvolts,
    read_asc,
    read_asc_dir,
    write_asc,
    write_asc_microvolts,
)
from ecgsk.leads import LEADS_8, LEADS_12


def _savetxt_bytes(ints_leads_first):
    """What deepfake-ecg writes: np.savetxt(f, out.T, fmt='%i') on int32."""
    buf = _io.BytesIO()
    np.savetxt(buf, np.asarray(ints_leads_first, dtype=np.int32).T, fmt="%i")
    return buf.getvalue()


def test_asc_roundtrip_and_format(tmp_path):
    rng = np.random.RandomState(0)
    U = rng.randint(-6000, 6001, size=(3, 8, 5000))
    paths = write_asc_microvolts(U, tmp_path, start_id=7)
    assert [p.name for p in paths] == ["7.asc", "8.asc", "9.asc"]
    lines = paths[0].read_text().split("\n")
    assert lines[-1] == "" and len(lines) == 5001
    assert all(re.fullmatch(r"-?\d+( -?\d+){7}", ln) for ln in lines[:-1])
    back = np.array([[int(v) for v in ln.split()] for ln in lines[:-1]]).T
    np.testing.assert_array_equal(back, U[0])
    X, meta = read_asc(paths[1], n_samples=5000)
    assert X.shape == (1, 8, 5000) and X.dtype == np.float32
    assert meta.to_dict("records") == [{"record": "8", "fs": 500.0, "leads": LEADS_8}]
    np.testing.assert_array_equal(np.round(X[0] * 1000).astype(int), U[1])
    Xd, meta = read_asc_dir(tmp_path, fs=250)
    assert meta["record"].tolist() == ["7", "8", "9"] and (meta["fs"] == 250.0).all()
    assert list(meta.columns) == ["record", "fs", "leads"] and meta.loc[2, "leads"] == LEADS_8
    np.testing.assert_array_equal(np.round(Xd * 1000).astype(int), U)
    with pytest.raises(ValueError, match="fs must be a positive finite number"):
        read_asc(paths[1], fs=0)


@pytest.mark.parametrize(
    "values",
    [
        np.array([[0, -1, 1, 9, -9, 10, -10, 99, -100, 6000, -6000, 65535, -65536, 65536, -65537]]),
        np.array([[2147483647, -2147483648, 123456789, -5, 0]]),
    ],
)
def test_format_asc_matches_savetxt_on_edge_values(values):
    U = np.repeat(values, 8, axis=0)  # (8, n)
    assert format_asc(U) == _savetxt_bytes(U)


def test_write_asc_byte_identical_to_savetxt_on_random_ints(tmp_path):
    rng = np.random.RandomState(1)
    U = (np.tanh(rng.randn(4, 8, 5000)) * 6000).astype(np.int32)
    for p, u in zip(write_asc_microvolts(U, tmp_path), U):
        assert p.read_bytes() == _savetxt_bytes(u)


def test_write_asc_byte_identical_to_deepfakeecg_generate(tmp_path, monkeypatch):
    import torch
    import deepfakeecg.deepfakeecg as dfk

    captured = []

    class RecordingGenerator(dfk.Generator):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            captured.append(out.detach().cpu().numpy().copy())
            return out

    monkeypatch.setattr(dfk, "Generator", RecordingGenerator)
    ref_dir, ours_dir = tmp_path / "deepfakeecg", tmp_path / "ecgsk"
    ref_dir.mkdir()
    torch.manual_seed(0)
    dfk.generate(2, str(ref_dir), start_id=10)
    net = np.concatenate(captured)  # (2, 8, 5000) network output in [-1, 1]
    assert net.shape == (2, 8, 5000)
    paths = write_asc_microvolts(net_output_to_microvolts(net), ours_dir, start_id=10)
    for p in paths:
        assert p.read_bytes() == (ref_dir / p.name).read_bytes()
    # From mV (= net * 6 in float32) the integers agree except where two float32
    # outputs share one mV value (about 4e-5 of values); check agreement rate.
    mv = (torch.from_numpy(net) * 6).numpy()
    ref_ints = (torch.from_numpy(net) * 6000).int().numpy()
    assert np.mean(mv_to_asc_microvolts(mv) != ref_ints) < 1e-3
    # read_asc returns deepfake-ecg's integers in mV.
    np.testing.assert_allclose(read_asc(ref_dir / "10.asc")[0][0] * 1000, ref_ints[0], atol=1e-3)


def test_mv_to_asc_microvolts_recovers_net_integers_nearly_always():
    import torch
    rng = np.random.RandomState(0)
    net = torch.from_numpy(np.tanh(rng.randn(1_000_000)).astype(np.float32))
    ref = (net * 6000).int().numpy()
    got = mv_to_asc_microvolts((net * 6).numpy())
    assert np.mean(got != ref) < 2e-4
    assert np.abs(got.astype(np.int64) - ref).max() <= 1
    np.testing.assert_array_equal(net_output_to_microvolts(net.numpy()), ref)


def test_read_then_write_asc_reproduces_the_file(tmp_path):
    ints = np.arange(-70000, 70008)  # every µV value in [-70000, 70007], 8 per row
    U = ints.reshape(1, -1, 8).transpose(0, 2, 1)
    src = write_asc_microvolts(U, tmp_path / "a")[0]
    X, _ = read_asc(src)
    np.testing.assert_array_equal(mv_to_asc_microvolts(X), U)
    out = write_asc(X, tmp_path / "b")[0]
    assert out.read_bytes() == src.read_bytes()


def test_write_asc_from_mv(tmp_path):
    X = np.zeros((1, 8, 5000), dtype=np.float32)
    X[0, 0, 0], X[0, 1, 0], X[0, 2, 0] = 1.2345, -0.0019, 5.999
    p = write_asc(X, tmp_path)[0]
    first = p.read_text().splitlines()[0].split()
    assert first[:3] == ["1234", "-1", "5999"]
    with pytest.raises(ValueError):
        write_asc(np.full((1, 8, 10), np.nan), tmp_path)
    with pytest.raises(ValueError):
        write_asc_microvolts(np.zeros((1, 8, 10)), tmp_path)  # floats are not µV integers


def test_write_asc_is_fast(tmp_path):
    rng = np.random.RandomState(0)
    U = (np.tanh(rng.randn(32, 8, 5000)) * 6000).astype(np.int32)
    write_asc_microvolts(U[:1], tmp_path / "warm")
    t0 = time.perf_counter()
    write_asc_microvolts(U, tmp_path / "fast")
    ours = (time.perf_counter() - t0) / len(U)
    t0 = time.perf_counter()
    for i in range(4):
        np.savetxt(tmp_path / f"s{i}.asc", U[i].T, fmt="%i")
    ref = (time.perf_counter() - t0) / 4
    assert ours < ref / 3, f"write_asc_microvolts {ours * 1e3:.2f} ms/ECG vs np.savetxt {ref * 1e3:.2f} ms/ECG"


def test_read_asc_corrupt_files_name_the_file(tmp_path):
    rng = np.random.RandomState(0)
    p = write_asc_microvolts(rng.randint(-999, 999, size=(1, 8, 5000)), tmp_path)[0]
    data = p.read_bytes()
    cases = {
        "midline.asc": data[: len(data) // 2 - 3],  # cut inside a line
        "empty.asc": b"",
        "garbage.asc": data.replace(b"\n", b"\nx 1 2 3 4 5 6 7\n", 1),
        "wide.asc": b"1 2 3 4 5 6 7 8 9\n" * 10,
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ECGFileError, match=re.escape(name)):
            read_asc(tmp_path / name)
    # Cut exactly at a line end: only a row-count check can tell.
    lines = data.split(b"\n")
    (tmp_path / "short.asc").write_bytes(b"\n".join(lines[:4000]) + b"\n")
    assert read_asc(tmp_path / "short.asc")[0].shape == (1, 8, 4000)
    with pytest.raises(ECGFileError, match="short.asc"):
        read_asc(tmp_path / "short.asc", n_samples=5000)
    only = tmp_path / "dir"
    only.mkdir()
    shutil.copy(p, only / "0.asc")
    shutil.copy(tmp_path / "short.asc", only / "1.asc")
    with pytest.raises(ECGFileError, match=r"1\.asc"):
        read_asc_dir(only)  # all files must match the first one's length


# Issue 15, "Readers / read_asc", and issue 16's 12-lead .asc.


def test_read_asc_integer_beyond_int64_names_the_file(tmp_path):
    p = tmp_path / "big.asc"
    rows = ["1 2 3 4 5 6 7 8"] * 3 + [f"1 2 3 {2**70} 5 6 7 8"]
    p.write_text("\n".join(rows) + "\n")  # was a bare OverflowError
    with pytest.raises(ECGFileError, match=rf"big\.asc: integer {2**70} .*beyond int64"):
        read_asc(p)


def test_read_asc_reads_12_columns_as_leads_12(tmp_path):
    rng = np.random.RandomState(1)
    U = rng.randint(-3000, 3000, size=(2, 12, 700))
    paths = write_asc_microvolts(U, tmp_path)
    X, meta = read_asc(paths[0])  # was "line 1 holds 12 values, expected 8"
    assert X.shape == (1, 12, 700) and meta.loc[0, "leads"] == LEADS_12
    np.testing.assert_array_equal(np.round(X[0] * 1000).astype(int), U[0])
    Xd, meta = read_asc_dir(tmp_path)
    assert Xd.shape == (2, 12, 700) and meta["record"].tolist() == ["0", "1"]
    assert all(leads == LEADS_12 for leads in meta["leads"])
    write_asc_microvolts(U[:1, :8], tmp_path, start_id=2)  # an 8-column file among 12-column ones
    with pytest.raises(ECGFileError, match=r"2\.asc: 8 columns, the first file 0\.asc holds 12"):
        read_asc_dir(tmp_path)
    (tmp_path / "bad.asc").write_text("1 2 3 4 5 6 7 8 9 10\n")
    with pytest.raises(ECGFileError, match=r"bad\.asc: line 1 holds 10 values, expected 8 or 12"):
        read_asc(tmp_path / "bad.asc")


def test_read_asc_streams_across_blocks(tmp_path, monkeypatch):
    # Blocks of 100 bytes cut most rows in two: the parser must carry the rest over.
    import ecgsk.io.asc as asc

    rng = np.random.RandomState(2)
    U = rng.randint(-99999, 99999, size=(1, 8, 300))
    p = write_asc_microvolts(U, tmp_path)[0]
    monkeypatch.setattr(asc, "_ASC_BLOCK", 100)
    np.testing.assert_array_equal(np.round(read_asc(p, n_samples=300)[0][0] * 1000).astype(int), U[0])
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 5])  # cut inside the last row
    with pytest.raises(ECGFileError, match=r"0\.asc: the last line .* has no newline: the file is truncated"):
        read_asc(p)


def test_read_asc_memory_is_a_few_times_the_file(tmp_path):
    """Issue 15: a 30 MB .asc took about 760 MB (25x the file); the reader now streams in blocks."""
    import tracemalloc

    from ecgsk.io import read_asc, write_asc_microvolts

    rows = 300_000  # about 13 MB: several of the reader's 4 MB blocks, so the block working set is amortised
    U = (np.tanh(np.random.default_rng(0).standard_normal((1, 8, rows))) * 6000).astype(np.int32)
    path = write_asc_microvolts(U, tmp_path)[0]
    size = path.stat().st_size
    tracemalloc.start()
    try:
        X, _ = read_asc(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(np.round(np.asarray(X) * 1000).astype(np.int32).reshape(U[0].shape), U[0])
    assert peak < 5 * size, f"peak traced memory {peak / 1e6:.1f} MB is {peak / size:.1f}x the {size / 1e6:.1f} MB file"
