"""ecgsk.generate: deepfake-ecg-compatible files, formats, errors, bounded memory, per-id seeds and shards."""

import importlib.util
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import pandas as pd

import ecgsk
from ecgsk import io
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.generation import generate, shard_ids
from ecgsk.models.cvae import ConditionalVAE
from ecgsk.models.pulse2pulse import Pulse2PulseGAN
from ecgsk.testing import GaussianECGGenerator



def test_top_level_forwarding(tmp_path, tiny_p2p_file):
    out = ecgsk.generate(2, tmp_path / "o", weights=tiny_p2p_file, random_state=0)
    assert sorted(p.name for p in out.iterdir()) == ["0.asc", "1.asc"]


def test_asc_layout_start_id_and_reproducibility(tmp_path, tiny_p2p_file):
    generate(3, tmp_path / "a", start_id=7, weights=tiny_p2p_file, random_state=1, batch_size=2)
    generate(3, tmp_path / "b", start_id=7, weights=tiny_p2p_file, random_state=1, batch_size=3)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["7.asc", "8.asc", "9.asc"]
    for name in names:  # same seed, any batch size: the same bytes
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = (tmp_path / "a" / "7.asc").read_text().splitlines()
    assert len(rows) == 5000 and all(len(r.split(" ")) == 8 for r in rows[:50])
    # the files hold the model's native integers for ids 7-9 (sample_ids(integers=True): for Pulse2Pulse
    # int(network_output * 6000), as deepfake-ecg computes them; the byte-for-byte comparison with
    # deepfake-ecg itself is the next test) ...
    est = ecgsk.load(tiny_p2p_file)
    ints = next(est.sample_ids(range(7, 10), random_state=1, integers=True))
    written = np.loadtxt(tmp_path / "a" / "7.asc", dtype=np.int64).T
    np.testing.assert_array_equal(written, ints[0])
    # ... which are the same ECGs as in millivolts, truncated toward zero (within 1 µV)
    mv = next(est.sample_ids([7], random_state=1))
    assert np.abs(written - 1000.0 * mv[0]).max() <= 1.0
    assert np.all(np.abs(written) <= np.abs(1000.0 * mv[0]) + 1e-3)  # truncation shrinks towards 0


def test_asc_bytes_identical_to_deepfakeecg_generate(tmp_path, monkeypatch):
    """Run deepfakeecg.generate itself with its network replaced by ecgsk's outputs for the same noise."""
    import deepfakeecg.deepfakeecg as dfe

    est = Pulse2PulseGAN.from_pretrained()
    n = 2
    # the network's float output for ids 3 and 4 under seed 5 (what deepfake-ecg multiplies by 6000)
    raw = torch.from_numpy(next(est._seeded_raw_batches(est._ecg_seeds([3, 4], 5), n)))
    outputs = iter(raw.split(1))

    class Replay(torch.nn.Module):
        def load_state_dict(self, *a, **k):
            return None

        def forward(self, noise):
            return next(outputs)

    monkeypatch.setattr(dfe, "Generator", Replay)
    (tmp_path / "ref").mkdir()
    dfe.generate(n, str(tmp_path / "ref"), start_id=3, run_device="cpu")
    generate(n, tmp_path / "ours", start_id=3, random_state=5, batch_size=n)
    for i in (3, 4):
        ref = (tmp_path / "ref" / f"{i}.asc").read_bytes()
        assert (tmp_path / "ours" / f"{i}.asc").read_bytes() == ref


@pytest.mark.parametrize("fmt", ["npy", "csv", "wfdb"])
def test_other_formats_12_leads(tmp_path, tiny_p2p_file, fmt):
    generate(2, tmp_path / fmt, format=fmt, leads=12, weights=tiny_p2p_file, random_state=0)
    est = ecgsk.load(tiny_p2p_file)
    expected = ecgsk.derive_12_from_8(next(est.sample_ids(range(2), random_state=0)))
    if fmt == "npy":
        got = np.concatenate([io.read_npy(tmp_path / fmt / f"{i}.npy")[0] for i in range(2)])
        np.testing.assert_allclose(got, expected, atol=1e-6)
    elif fmt == "csv":
        x, meta = io.read_csv(tmp_path / fmt / "1.csv")
        assert meta.loc[0, "leads"] == ecgsk.LEADS_12
        np.testing.assert_allclose(x[0], expected[1], atol=1e-5)
    else:
        x, meta = io.read_wfdb(tmp_path / fmt / "0")
        assert meta.loc[0, "leads"] == ecgsk.LEADS_12
        np.testing.assert_allclose(x[0], expected[0], atol=2e-3)


def test_errors(tmp_path, tiny_p2p_file):
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="num_ecg"):
            generate(bad, tmp_path / "x", weights=tiny_p2p_file)
    with pytest.raises(ValueError, match="format"):
        generate(1, tmp_path / "x", format="mat", weights=tiny_p2p_file)
    with pytest.raises(ValueError, match="leads"):
        generate(1, tmp_path / "x", leads=6, weights=tiny_p2p_file)
    with pytest.raises(ValueError, match="start_id"):
        generate(1, tmp_path / "x", start_id=-1, weights=tiny_p2p_file)
    with pytest.raises(ValueError, match="batch_size"):
        generate(1, tmp_path / "x", batch_size=0, weights=tiny_p2p_file)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda|CUDA"):
            generate(1, tmp_path / "x", device="cuda", weights=tiny_p2p_file)
    with pytest.raises(ValueError, match="device"):
        generate(1, tmp_path / "x", device="tpu", weights=tiny_p2p_file)
    for bad in ((2, 2), (-1, 2), (0, 0), "1/0", "a/b", "1", (0.5, 2), 3):
        with pytest.raises(ValueError, match="shard"):
            generate(1, tmp_path / "x", shard=bad, weights=tiny_p2p_file)
    with pytest.raises(ValueError, match="random_state"):
        generate(1, tmp_path / "x", random_state=-1, weights=tiny_p2p_file)
    assert not (tmp_path / "x").exists()  # nothing is created before the arguments are valid


def test_existing_directory_is_not_overwritten(tmp_path, tiny_p2p_file):
    out = tmp_path / "o"
    generate(1, out, weights=tiny_p2p_file, random_state=0)
    before = (out / "0.asc").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(1, out, weights=tiny_p2p_file, random_state=1)
    assert (out / "0.asc").read_bytes() == before
    generate(1, out, weights=tiny_p2p_file, random_state=1, overwrite=True)
    assert (out / "0.asc").read_bytes() != before
    (tmp_path / "empty").mkdir()
    generate(1, tmp_path / "empty", weights=tiny_p2p_file)  # an empty directory is fine


def test_missing_pretrained_package(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepfakeecg" else real(name, *a))
    with pytest.raises(ImportError, match=r"ecgsk\[pretrained\]"):
        generate(1, tmp_path / "o")


def test_fitted_estimator_as_model(tmp_path):
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=0)
    gan = Pulse2PulseGAN(model_size=5, length=2500, max_epochs=1, batch_size=4, device="cpu", random_state=0).fit(X)
    generate(2, tmp_path / "o", model=gan, format="npy", random_state=0)
    assert io.read_npy(tmp_path / "o" / "1.npy")[0].shape == (1, 8, 2500)
    with pytest.raises(ValueError, match="weights"):
        generate(1, tmp_path / "p", model=gan, weights="x.pt")


def test_diverged_model_writes_no_file(tmp_path):
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=0)
    gan = Pulse2PulseGAN(model_size=5, length=2500, max_epochs=1, batch_size=4, device="cpu", random_state=0).fit(X)
    with torch.no_grad():
        for param in gan.generator_.parameters():
            param.fill_(float("nan"))
    for fmt in ("asc", "npy"):  # the native-integer path and the millivolt path
        with pytest.raises(ValueError, match="non-finite"):
            generate(2, tmp_path / fmt, model=gan, format=fmt, random_state=0)
        assert not list((tmp_path / fmt).iterdir())


def test_shard_ids_partition_the_ids():
    for n in (1, 2, 7, 40):
        for n_shards in (1, 2, 3, 5):
            blocks = [list(shard_ids(n, 10, (i, n_shards))) for i in range(n_shards)]
            assert sum(blocks, []) == list(range(10, 10 + n))  # contiguous, in order, all ids once
            assert max(map(len, blocks)) - min(map(len, blocks)) <= 1
            # a shard split again across W ranks is shards i * W + r of N * W
            for i in range(n_shards):
                nested = sum((list(shard_ids(n, 10, (i * 2 + r, n_shards * 2))) for r in range(2)), [])
                assert nested == blocks[i]
    assert list(shard_ids(4, 0, "1/2")) == [2, 3]


def _files(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_one_process_two_shards_and_batch_sizes_give_the_same_bytes(tmp_path, tiny_p2p_file):
    """Each id's file is the same whatever the batch size or shard (40 ECGs span several forward blocks)."""
    n, kw = 40, dict(weights=tiny_p2p_file, random_state=11, start_id=5)
    generate(n, tmp_path / "b64", batch_size=64, **kw)
    generate(n, tmp_path / "b7", batch_size=7, **kw)
    for i in range(2):  # two shards into one directory, each writing only its own ids
        generate(n, tmp_path / "shards", shard=(i, 2), batch_size=7, **kw)
        assert len(list((tmp_path / "shards").iterdir())) == (i + 1) * n // 2
    for i in range(3):
        generate(n, tmp_path / "three", shard=f"{i}/3", **kw)
    reference = _files(tmp_path / "b64")
    assert sorted(reference) == sorted(f"{i}.asc" for i in range(5, 45))
    for other in ("b7", "shards", "three"):
        assert _files(tmp_path / other) == reference, other
    # a shard refuses to overwrite its own files, not the other shards'
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(n, tmp_path / "shards", shard=(1, 2), **kw)


def test_random_state_none_gives_fresh_ecgs(tmp_path, tiny_p2p_file):
    generate(2, tmp_path / "a", weights=tiny_p2p_file)
    generate(2, tmp_path / "b", weights=tiny_p2p_file)
    assert _files(tmp_path / "a") != _files(tmp_path / "b")


def test_any_generator_gets_per_id_seeds(tmp_path):
    """A generator without a batched path (the mixin's per-id default) is also batch- and shard-invariant."""
    X = make_synthetic_ecgs(6, n_leads=2, n_samples=50, random_state=0)
    gen = GaussianECGGenerator(random_state=0).fit(X)
    generate(9, tmp_path / "one", model=gen, format="npy", random_state=4, batch_size=4)
    for i in range(2):
        generate(9, tmp_path / "two", model=gen, format="npy", random_state=4, batch_size=64, shard=(i, 2))
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    ecgs = np.concatenate([io.read_npy(tmp_path / "one" / f"{i}.npy")[0] for i in range(9)])
    assert len(np.unique(ecgs.reshape(9, -1), axis=0)) == 9  # distinct ECGs
    np.testing.assert_array_equal(ecgs[3:5], np.concatenate(list(gen.sample_ids([3, 4], random_state=4))))
    with pytest.raises(ValueError, match="ids"):
        next(gen.sample_ids([1, -2]))
    assert list(gen.sample_ids([])) == []


@pytest.fixture(scope="module")
def tiny_cvae():
    X = make_synthetic_ecgs(8, n_leads=12, n_samples=80, random_state=0)
    C = pd.DataFrame({"age": np.arange(40, 48), "sex": ["M", "F"] * 4})
    return ConditionalVAE(**ConditionalVAE.get_test_params()[0]).fit(X, conditions=C)


def test_conditional_model_takes_one_row_per_ecg(tmp_path, tiny_cvae, tiny_p2p_file):
    C = pd.DataFrame({"age": [30, 50, 70, 90, 60], "sex": ["F", "M", "F", "M", "F"]})
    generate(5, tmp_path / "one", model=tiny_cvae, conditions=C, format="npy", random_state=2, batch_size=2)
    for i in range(2):  # each shard takes its own rows of the whole run's conditions
        generate(5, tmp_path / "two", model=tiny_cvae, conditions=C, format="npy", random_state=2, shard=(i, 2))
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    expected = np.concatenate(list(tiny_cvae.sample_ids(range(5), conditions=C, random_state=2)))
    got = np.concatenate([io.read_npy(tmp_path / "one" / f"{i}.npy")[0] for i in range(5)])
    np.testing.assert_array_equal(got, expected)
    generate(3, tmp_path / "broadcast", model=tiny_cvae, conditions=C.iloc[:1], format="npy", random_state=0)
    with pytest.raises(ValueError, match="conditional.*conditions=.*age, sex"):
        generate(2, tmp_path / "x", model=tiny_cvae, format="npy")
    with pytest.raises(ValueError, match="rows"):
        generate(4, tmp_path / "x", model=tiny_cvae, conditions=C, format="npy")
    with pytest.raises(ValueError, match="unconditional"):
        generate(2, tmp_path / "x", weights=tiny_p2p_file, conditions=C)
    assert not (tmp_path / "x").exists()


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, torch
    torch.set_num_threads(1)
    from ecgsk.generation import generate, shard_ids
    n, out, weights = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    generate(n, out, format="npy", weights=weights, random_state=0, batch_size=64)
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


@pytest.mark.slow
def test_streaming_memory_does_not_grow_with_n(tmp_path, tiny_p2p_file):
    """Peak RSS for N=5000 stays within 15% of N=500 (a tiny network keeps it fast; same code path)."""
    rss = {}
    for n in (500, 5000):
        proc = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(tmp_path / f"o{n}"), str(tiny_p2p_file)],
            capture_output=True, text=True, timeout=170, check=True,
        )
        rss[n] = json.loads(proc.stdout.strip().splitlines()[-1])["maxrss_kb"]
        assert len(list((tmp_path / f"o{n}").iterdir())) == n
    assert rss[5000] <= 1.15 * rss[500], rss


# -- issue 15: from_pretrained's errors, OSErrors on the output folder, temporaries of a killed run ----------------

def test_from_pretrained_bad_files_raise_model_file_error(tmp_path):
    # Why: bare EOFError, KeyError: 101 or KeyError: 'encoder.5.weight' for an empty file, a text file, missing keys.
    from ecgsk.exceptions import ModelFileError
    from ecgsk.models.pulse2pulse import pretrained_checkpoint_path

    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    text = tmp_path / "text.pt"
    text.write_text("hello, these are not weights\n")
    state = torch.load(pretrained_checkpoint_path(), map_location="cpu", weights_only=True)
    del state["stat_dict"]["conv_6.weight"]
    missing = tmp_path / "missing.pt"
    torch.save(state, missing)
    state["stat_dict"]["conv_6.weight"] = torch.zeros(2, 2, 2)
    shaped = tmp_path / "shaped.pt"
    torch.save(state, shaped)
    not_dict = tmp_path / "list.pt"
    torch.save([1, 2], not_dict)
    for path, what in [(empty, "empty"), (text, "not a readable torch checkpoint"), (missing, "conv_6.weight"),
                       (shaped, "do not fit a Pulse2Pulse generator"), (not_dict, "stat_dict"),
                       (tmp_path / "absent.pt", "no such file")]:
        with pytest.raises(ModelFileError, match=what) as info:
            Pulse2PulseGAN.from_pretrained(path)
        assert str(path) in str(info.value)


def test_write_oserror_names_out_dir(tmp_path, tiny_p2p_file, monkeypatch):
    import errno
    import os

    from ecgsk.generation import OutputDirError

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OutputDirError, match="out_dir .*cannot write .*0.asc: No space left") as info:
        generate(2, tmp_path / "o", weights=tiny_p2p_file, random_state=0)
    assert info.value.errno == errno.ENOSPC and list((tmp_path / "o").iterdir()) == []


def test_generate_removes_temporaries_a_killed_run_left(tmp_path, tiny_p2p_file):
    from ecgsk.io._atomic import TMP_TAG

    out = tmp_path / "o"
    out.mkdir()
    (out / f".3.asc{TMP_TAG}deadbeef").write_text("1 2 3\n")  # as SIGKILL mid-file leaves it
    generate(2, out, start_id=2, weights=tiny_p2p_file, random_state=0)  # the folder held only a temporary
    assert sorted(p.name for p in out.iterdir()) == ["2.asc", "3.asc"]
    # a shard removes only the temporaries of its own ids (the other shard may be writing)
    (out / f".9.asc{TMP_TAG}deadbeef").write_text("1")
    (out / f".4.asc{TMP_TAG}deadbeef").write_text("1")
    generate(4, out, start_id=2, shard=(1, 2), weights=tiny_p2p_file, random_state=0, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [f".9.asc{TMP_TAG}deadbeef", "2.asc", "3.asc", "4.asc", "5.asc"]


# -- issue 17 item 5: the files are written on a thread of their own, behind a bounded queue ----------------------

def test_files_are_written_on_the_writer_thread_with_bounded_look_ahead(tmp_path, tiny_p2p_file, monkeypatch):
    import threading
    import time

    from ecgsk import generation

    events = []
    real_write = generation._write

    def slow_write(fmt, batch_mv, out_dir, start_id, fs, microvolts=None, meta=None):
        events.append(("write", start_id, threading.current_thread().name))
        time.sleep(0.05)  # a slow disk: the model must not run ahead by more than the queue allows
        return real_write(fmt, batch_mv, out_dir, start_id, fs, microvolts=microvolts, meta=meta)

    real_sample_ids = Pulse2PulseGAN.sample_ids

    def counted(self, *args, **kwargs):
        for batch in real_sample_ids(self, *args, **kwargs):
            events.append(("made", len(batch)))
            yield batch

    monkeypatch.setattr(generation, "_write", slow_write)
    monkeypatch.setattr(Pulse2PulseGAN, "sample_ids", counted)
    generate(8, tmp_path / "o", weights=tiny_p2p_file, random_state=0, batch_size=1)
    writes = [e for e in events if e[0] == "write"]
    assert [e[1] for e in writes] == list(range(8))  # in order
    assert {e[2] for e in writes} == {"ecgsk-generate-writer"} != {threading.current_thread().name}
    made_before = [sum(1 for e in events[:events.index(w)] if e[0] == "made") for w in writes]
    # batch k is written while at most the queue (2) and the one being generated are ahead of it
    assert all(m - k <= 4 for k, m in enumerate(made_before)), made_before
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(f"{i}.asc" for i in range(8))
    serial = tmp_path / "serial"
    monkeypatch.undo()
    generate(8, serial, weights=tiny_p2p_file, random_state=0, batch_size=8)
    for i in range(8):
        assert (tmp_path / "o" / f"{i}.asc").read_bytes() == (serial / f"{i}.asc").read_bytes()


def test_writer_error_mid_run_names_what_was_written(tmp_path, tiny_p2p_file, monkeypatch):
    import errno

    from ecgsk import generation
    from ecgsk.generation import OutputDirError

    real_write = generation._write

    def fail_third(fmt, batch_mv, out_dir, start_id, fs, microvolts=None, meta=None):
        if start_id >= 4:
            raise OSError(errno.EDQUOT, "Disk quota exceeded", str(out_dir / f"{start_id}.asc"))
        return real_write(fmt, batch_mv, out_dir, start_id, fs, microvolts=microvolts, meta=meta)

    monkeypatch.setattr(generation, "_write", fail_third)
    with pytest.raises(OutputDirError, match=r"4.asc: Disk quota exceeded; 4 ECG\(s\) written before \(ids 0-3\)") as info:
        generate(12, tmp_path / "o", weights=tiny_p2p_file, random_state=0, batch_size=2)
    assert info.value.errno == errno.EDQUOT
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["0.asc", "1.asc", "2.asc", "3.asc"]
