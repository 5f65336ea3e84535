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
