"""Fuzz the readers (issue 15 item 6): random bytes and mutated real files.

Every reader either returns finite float32 data or raises the project's
ECGFileError (or ValueError/TypeError); never another exception.  Bounded by
``max_examples`` to a few seconds each.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgsk.io import ECGFileError, read, read_asc, read_challenge_record, read_csv, read_npy, read_npz, read_wfdb

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(call):
    """Run a reader: ``(raised, out)``; ``raised`` when it raised an allowed error (anything else propagates)."""
    try:
        return False, call()
    except (ECGFileError, ValueError, TypeError):
        return True, None


def _finite(out):
    """Whether every float array a reader returned is finite."""
    parts = out if isinstance(out, tuple) else (out,)
    arrays = [a for a in parts if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    return all(np.isfinite(a).all() for a in arrays)


READERS = {
    ".hea": lambda p: read_wfdb(p),
    ".asc": lambda p: read_asc(p),
    ".csv": lambda p: read_csv(p),
    ".npy": lambda p: read_npy(p),
    ".npz": lambda p: read_npz(p),
    ".mat": lambda p: read_challenge_record(p),
}


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from(sorted(READERS)))
def test_random_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"r{suffix}"
        p.write_bytes(data)
        if suffix == ".mat":
            (Path(d) / "r.hea").write_bytes(data[:200])
        raised, out = _outcome(lambda: READERS[suffix](p))
        assert raised or _finite(out), "a reader returned non-finite data"
        raised, out = _outcome(lambda: read(p))
        assert raised or _finite(out), "a reader returned non-finite data"


def _mutate(data, flips, cut):
    buf = bytearray(data)
    for pos, val in flips:
        if buf:
            buf[pos % len(buf)] = val
    return bytes(buf[: max(0, len(buf) - cut)])


MUTATION = dict(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    cut=st.sampled_from([0, 0, 0, 1, 7, 100]),
)


@FUZZ
@given(**MUTATION, target=st.sampled_from(["hea", "dat"]))
def test_mutated_ludb_record(data_dir, flips, cut, target):
    src = data_dir / "ludb" / "data"
    with tempfile.TemporaryDirectory() as d:
        for ext in ("hea", "dat"):
            shutil.copy(src / f"1.{ext}", Path(d) / f"1.{ext}")
        p = Path(d) / f"1.{target}"
        original = p.read_bytes()
        mutated = _mutate(original, flips, cut)
        p.write_bytes(mutated)
        raised, out = _outcome(lambda: read_wfdb(Path(d) / "1"))
        assert raised or _finite(out), "a reader returned non-finite data"
        if target == "dat":
            changed = sum(a != b for a, b in zip(original, mutated))
            if cut > 0 or changed == 1:
                # LUDB's .dat is exactly sig_len long, and one changed byte always changes a checksum.
                assert raised, f"a .dat cut by {cut} bytes with {changed} changed bytes read without error"


@FUZZ
@given(**MUTATION, target=st.sampled_from(["hea", "mat"]))
def test_mutated_challenge_record(data_dir, flips, cut, target):
    src = data_dir / "cinc2021"
    with tempfile.TemporaryDirectory() as d:
        for ext in ("hea", "mat"):
            shutil.copy(src / f"HR06000.{ext}", Path(d) / f"HR06000.{ext}")
        p = Path(d) / f"HR06000.{target}"
        p.write_bytes(_mutate(p.read_bytes(), flips, cut))
        raised, out = _outcome(lambda: read_challenge_record(Path(d) / "HR06000"))
        assert raised or _finite(out), "a reader returned non-finite data"
        raised, out = _outcome(lambda: read(Path(d)))
        assert raised or _finite(out), "a reader returned non-finite data"


@FUZZ
@given(**MUTATION, suffix=st.sampled_from([".asc", ".csv", ".npy", ".npz"]))
def test_mutated_written_files(flips, cut, suffix):
    from ecgsk.io import write_npz, write

    rng = np.random.default_rng(0)
    X = (rng.standard_normal((1, 8, 60)) * 0.5).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        if suffix == ".npz":
            p = write_npz(Path(d) / "0.npz", X, fs=500)
        else:
            p = write(X, d, format=suffix[1:])[0]
        p.write_bytes(_mutate(p.read_bytes(), flips, cut))
        raised, out = _outcome(lambda: READERS[suffix](p))
        assert raised or _finite(out), "a reader returned non-finite data"
        raised, out = _outcome(lambda: read(p))
        assert raised or _finite(out), "a reader returned non-finite data"


def test_regression_examples(tmp_path):
    # Failing examples kept from the fuzz runs above.
    cases = {
        "nul.hea": b"\x00",  # a NUL header
        "one.hea": b"0 1\n",  # a record line and no signal line
        "neg.asc": b"-\n",  # a lone minus sign
        "wide.csv": b"0\n0,0\n",  # a row longer than the first
        "cplx.npy": None,
    }
    np.save(tmp_path / "cplx.npy", np.ones((1, 2, 3), dtype=complex))
    for name, data in cases.items():
        p = tmp_path / name
        if data is not None:
            p.write_bytes(data)
        with pytest.raises(ECGFileError, match=name.replace(".", r"\.")):
            READERS[p.suffix](p)
