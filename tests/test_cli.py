import subprocess
import sys

import pytest

from ecgsk import __version__
from ecgsk.cli import main


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_models_lists_builtins(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("pulse2pulse", "linear_reconstructor", "cvae"):
        assert name in out
    assert "ecgsk" in out  # the distribution column


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "ecgsk.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "ecgsk" in out.stdout


def test_generate_errors_are_one_line(tmp_path, capsys):
    status = main(["generate", "-n", "0", "-o", str(tmp_path / "out"), "-q"])
    assert status == 2
    assert "error" in capsys.readouterr().err


def _files(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_generate_shards_make_one_run(tmp_path, tiny_p2p_file, capsys):
    common = ["-n", "9", "--weights", str(tiny_p2p_file), "--seed", "5", "--start-id", "3", "-q"]
    assert main(["generate", *common, "-o", str(tmp_path / "one"), "--batch-size", "4"]) == 0
    assert "seed 5" in capsys.readouterr().out
    for i in range(2):
        assert main(["generate", *common, "-o", str(tmp_path / "two"), "--shard", f"{i}/2"]) == 0
    out = capsys.readouterr().out
    assert "shard 0/2 of 9): ECG(s) 3-6" in out and "shard 1/2 of 9): ECG(s) 7-11" in out
    assert _files(tmp_path / "two") == _files(tmp_path / "one")
    assert sorted(_files(tmp_path / "one")) == sorted(f"{i}.asc" for i in range(3, 12))


def test_generate_without_seed_prints_the_seed_that_reproduces_it(tmp_path, tiny_p2p_file, capsys):
    assert main(["generate", "-n", "2", "--weights", str(tiny_p2p_file), "-o", str(tmp_path / "a"), "-q"]) == 0
    seed = capsys.readouterr().out.strip().rsplit("seed ", 1)[1]
    assert main(["generate", "-n", "2", "--weights", str(tiny_p2p_file), "-o", str(tmp_path / "b"), "-q",
                 "--seed", seed]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


@pytest.mark.parametrize("argv, message", [
    (["--shard", "2/2"], "--shard must be I/N"),
    (["--shard", "x"], "--shard must be I/N"),
    (["--batch-size", "0"], "--batch-size must be a positive integer"),
    (["--start-id", "-1"], "--start-id must be"),
    (["--seed", "-3"], "--seed must be a non-negative integer"),
])
def test_generate_errors_speak_cli(tmp_path, tiny_p2p_file, capsys, argv, message):
    status = main(["generate", "-n", "2", "--weights", str(tiny_p2p_file), "-o", str(tmp_path / "o"), "-q", *argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_generate_overwrite_and_conditions_errors_speak_cli(tmp_path, tiny_p2p_file, capsys):
    out = tmp_path / "o"
    base = ["generate", "-n", "1", "--weights", str(tiny_p2p_file), "-o", str(out), "-q"]
    assert main(base) == 0
    capsys.readouterr()
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "overwrite=" not in err
    csv = tmp_path / "c.csv"
    csv.write_text("age,sex\n50,M\n")
    assert main([*base, "--overwrite", "--conditions", str(csv)]) == 2
    assert "unconditional; --conditions does not apply" in capsys.readouterr().err
    assert main(["generate", "-o", str(out), "-q"]) == 2
    assert "-n/--num is required" in capsys.readouterr().err
    assert main([*base, "--conditions", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def _generators():
    from ecgsk.registry import list_models

    return sorted(r["name"] for r in list_models() if "generator" in r["kind"].split("+"))


@pytest.mark.parametrize("name", _generators())
def test_generate_weights_for_every_generator(tmp_path, capsys, name):
    """`ecgsk generate --weights FILE` for each registered generator; conditional ones take --conditions."""
    from ecgsk import get_model
    from ecgsk.base import get_tags

    cls = get_model(name)
    est = cls(**cls.get_test_params()[0])
    X, fit_params = est.get_test_data()
    est.fit(X, **fit_params)
    path = tmp_path / f"{name}.ecgsk"
    est.save(path)  # every built-in generator saves
    base = ["generate", "-n", "5", "--weights", str(path), "--seed", "1", "--format", "npy", "-q"]
    if get_tags(est)["conditional"]:
        assert main([*base, "-o", str(tmp_path / "none")]) == 2
        err = capsys.readouterr().err
        assert "is conditional: pass --conditions FILE.csv" in err and len(err.strip().splitlines()) == 1
        conditions = fit_params["conditions"].iloc[:5]
        csv = tmp_path / "conditions.csv"
        conditions.to_csv(csv, index=False)
        base = [a for a in base if a not in ("-n", "5")] + ["--conditions", str(csv)]  # -n: one ECG per row
    assert main([*base, "-o", str(tmp_path / "one"), "--batch-size", "2"]) == 0, capsys.readouterr().err
    for i in range(2):
        assert main([*base, "-o", str(tmp_path / "two"), "--shard", f"{i}/2"]) == 0
    files = _files(tmp_path / "one")
    assert sorted(files) == [f"{i}.npy" for i in range(5)] and _files(tmp_path / "two") == files
    # the model in the file is the one used: --model may name it, and must not name another
    assert main([*base, "-o", str(tmp_path / "named"), "--model", name]) == 0
    assert _files(tmp_path / "named") == files
    other = "lstm_gan" if name != "lstm_gan" else "pulse2pulse"
    assert main([*base, "-o", str(tmp_path / "other"), "--model", other]) == 2
    assert "leave out --model" in capsys.readouterr().err


def test_generate_weights_errors(tmp_path, capsys):
    from ecgsk.models.linear import LinearLeadReconstructor

    bad = tmp_path / "bad.ecgsk"
    bad.write_bytes(b"not a model file")
    assert main(["generate", "-n", "1", "--weights", str(bad), "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and len(err.strip().splitlines()) == 1
    est = LinearLeadReconstructor()
    X, fit_params = est.get_test_data()
    est.fit(X, **fit_params).save(tmp_path / "rec.ecgsk")
    assert main(["generate", "-n", "1", "--weights", str(tmp_path / "rec.ecgsk"), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "not a generator" in capsys.readouterr().err
    assert main(["generate", "-n", "1", "--model", "lstm_gan", "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "ships no pretrained weights; pass --weights FILE" in err and "weights=" not in err
    assert not (tmp_path / "o").exists()


def test_generate_weights_reads_deepfake_ecg_checkpoints(tmp_path):
    from ecgsk.models.pulse2pulse import pretrained_checkpoint_path

    common = ["generate", "-n", "2", "--seed", "0", "-q"]
    assert main([*common, "-o", str(tmp_path / "default")]) == 0
    assert main([*common, "-o", str(tmp_path / "file"), "--weights", str(pretrained_checkpoint_path())]) == 0
    assert _files(tmp_path / "file") == _files(tmp_path / "default")


@pytest.mark.distributed
def test_generate_under_torchrun_splits_the_ids_across_ranks(tmp_path, tiny_p2p_file):
    """`torchrun --standalone --nproc_per_node=2 -m ecgsk.cli generate` writes the files of one 1-process run."""
    common = ["generate", "-n", "20", "--weights", str(tiny_p2p_file), "--seed", "7", "-q"]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "ecgsk.cli", *common, "-o", str(tmp_path / "ranks")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "shard 0/2 of 20): ECG(s) 0-9" in proc.stdout and "shard 1/2 of 20): ECG(s) 10-19" in proc.stdout
    assert main([*common, "-o", str(tmp_path / "one"), "--batch-size", "7"]) == 0
    assert _files(tmp_path / "ranks") == _files(tmp_path / "one")
    assert len(_files(tmp_path / "one")) == 20


# -- issue 15: the CLI speaks CLI; output files are complete or absent ----------------------------------------------

def _one_error_line(err, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _asc_complete(path, rows=5000):
    lines = path.read_bytes().split(b"\n")
    return lines[-1] == b"" and len(lines) == rows + 1 and all(len(r.split()) == 8 for r in lines[:-1])


def test_generate_disk_full_is_one_line_and_leaves_complete_files(tmp_path, tiny_p2p_file, capsys, monkeypatch):
    # Why: `-n 20` into a 1 MB filesystem exited 1 with a traceback and left 6.asc with 3047 of 5000 rows.
    import errno
    import os

    real, budget = os.write, {"left": 6 * 220_000}

    def write(fd, data):  # a disk that fills up part-way through a file
        if budget["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, bytes(memoryview(data)[: budget["left"]]))
        budget["left"] -= n
        return n

    monkeypatch.setattr(os, "write", write)
    out = tmp_path / "o"
    status = main(["generate", "-n", "20", "--weights", str(tiny_p2p_file), "-o", str(out), "-q", "--batch-size", "4"])
    monkeypatch.undo()
    assert status == 2
    _one_error_line(capsys.readouterr().err, "--out-dir", "No space left on device", "every file there is complete")
    files = sorted(out.iterdir(), key=lambda p: int(p.stem))
    assert 0 < len(files) < 20 and [p.name for p in files] == [f"{i}.asc" for i in range(len(files))]
    assert all(_asc_complete(p) for p in files)


@pytest.mark.parametrize("sub", ["", "new"])
def test_generate_read_only_folder_is_one_line(readonly_dir, tiny_p2p_file, capsys, sub):
    # Why: a read-only output folder gave an OSError traceback.
    out = readonly_dir / sub if sub else readonly_dir
    status = main(["generate", "-n", "2", "--weights", str(tiny_p2p_file), "-o", str(out), "-q"])
    assert status == 2
    line = _one_error_line(capsys.readouterr().err, "--out-dir", str(out))
    assert "Read-only file system" in line or "Permission denied" in line
    assert list(readonly_dir.iterdir()) == []


def _deepfake_checkpoint(tmp_path, name, edit):
    import torch

    from ecgsk.models.pulse2pulse import pretrained_checkpoint_path

    state = torch.load(pretrained_checkpoint_path(), map_location="cpu", weights_only=True)
    edit(state["stat_dict"])
    path = tmp_path / name
    torch.save(state, path)
    return path


def test_generate_weights_missing_corrupt_or_wrong_shaped_is_one_line(tmp_path, tiny_p2p_file, capsys):
    # Why: --weights missing, corrupt or wrong-shaped gave a torch traceback with exit 1.
    import torch

    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("these are not weights\n")
    truncated = tmp_path / "truncated.ecgsk"
    truncated.write_bytes(tiny_p2p_file.read_bytes()[:5000])

    def wrong_shape(sd):
        sd["conv_1.weight"] = torch.zeros(3, 3, 3)

    def missing_key(sd):
        del sd["conv_6.weight"]

    shaped = _deepfake_checkpoint(tmp_path, "shape.pt", wrong_shape)
    missing = _deepfake_checkpoint(tmp_path, "missing.pt", missing_key)
    for path, what in [(tmp_path / "absent.pt", "no such file"), (empty, "empty"), (text, "not a readable torch"),
                       (truncated, "truncated"), (shaped, "do not fit a Pulse2Pulse generator"),
                       (missing, "conv_6")]:
        status = main(["generate", "-n", "1", "--weights", str(path), "-o", str(tmp_path / "o"), "-q"])
        assert status == 2, path
        _one_error_line(capsys.readouterr().err, "--weights", str(path), what)
    assert not (tmp_path / "o").exists()


def test_generate_bad_format_and_count_name_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["generate", "-n", "1", "-o", str(tmp_path / "o"), "--format", "mat"])
    assert info.value.code == 2 and "--format" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["generate", "-n", "many", "-o", str(tmp_path / "o")])
    assert info.value.code == 2 and "-n/--num" in capsys.readouterr().err
    assert main(["generate", "-n", "-3", "-o", str(tmp_path / "o"), "-q"]) == 2
    _one_error_line(capsys.readouterr().err, "-n/--num must be a positive integer")


def test_unexpected_errors_keep_their_traceback(tmp_path, monkeypatch):
    # main() re-raises them, so `ecgsk` (sys.exit(main())) prints the traceback and exits 1
    import ecgsk.generation

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ecgsk.generation, "_generate_files", boom)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["generate", "-n", "1", "-o", str(tmp_path / "o"), "-q"])

    def os_bug(*args, **kwargs):
        raise PermissionError(13, "not about the output folder")

    monkeypatch.setattr(ecgsk.generation, "_generate_files", os_bug)
    with pytest.raises(PermissionError):
        main(["generate", "-n", "1", "-o", str(tmp_path / "o"), "-q"])


def _wait_for(predicate, timeout=60):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


_SIGINT_CHILD = """
import sys
from ecgsk.cli import main
weights, root = sys.argv[1], sys.argv[2]
for fmt in ("asc", "npy", "csv", "wfdb"):
    print("start", fmt, flush=True)
    try:
        main(["generate", "-n", "100000", "--batch-size", "1", "--weights", weights, "-o", f"{root}/{fmt}",
              "--format", fmt, "--seed", "0", "-q"])
        print("finished", fmt, flush=True)  # not expected: the parent interrupts every run
    except KeyboardInterrupt:
        print("interrupted", fmt, flush=True)
"""


def test_sigint_during_generate_leaves_only_complete_files(tmp_path, tiny_p2p_file):
    # Why: SIGINT during --format wfdb left 48.hea with no 48.dat.  One child process (one start-up) runs
    # `ecgsk generate` for every format in turn; this process sends it a real SIGINT during each run.
    import os
    import signal

    import numpy as np

    from ecgsk import io

    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", _SIGINT_CHILD, str(tiny_p2p_file), str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for fmt in ("asc", "npy", "csv", "wfdb"):
            assert proc.stdout.readline().split() == ["start", fmt]
            out = tmp_path / fmt
            assert _wait_for(lambda: out.is_dir() and len(os.listdir(out)) >= 6), f"generate wrote no {fmt}"
            proc.send_signal(signal.SIGINT)
            assert proc.stdout.readline().split() == ["interrupted", fmt]
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0
    for fmt in ("asc", "npy", "csv", "wfdb"):
        out = tmp_path / fmt
        names = sorted(os.listdir(out))
        assert not [n for n in names if n.startswith(".")], names  # no temporaries left
        stems = sorted({n.split(".")[0] for n in names}, key=int)
        assert len(stems) >= 3 and stems == [str(i) for i in range(len(stems))]
        suffixes = {"asc": [".asc"], "npy": [".npy"], "csv": [".csv"], "wfdb": [".dat", ".hea"]}[fmt]
        for stem in stems:
            assert sorted(n for n in names if n.split(".")[0] == stem) == [stem + s for s in suffixes]
            if fmt == "asc":
                assert _asc_complete(out / f"{stem}.asc")
                continue
            got = {"npy": lambda: io.read_npy(out / f"{stem}.npy"), "csv": lambda: io.read_csv(out / f"{stem}.csv"),
                   "wfdb": lambda: io.read_wfdb(out / stem)}[fmt]()
            X, meta = got
            assert X.shape == (1, 8, 5000) and np.isfinite(X).all() and meta.loc[0, "record"] == stem
