"""``ecgsk.training`` and ``ecgsk train``: train on a folder of records, save, load, generate, stop with Ctrl-C."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ecgsk
from ecgsk.cli import main
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.io import write_npy
from ecgsk.training import read_training_folder, train

CINC = Path(__file__).resolve().parents[2] / "shared" / "data" / "cinc2021"
TINY_P2P = ["--param", "model_size=5", "--param", "length=2500", "--param", "n_critic=1",
            "--param", "batch_size=4", "--device", "cpu", "--param", "random_state=0"]


@pytest.fixture(scope="module")
def npy_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    for i, x in enumerate(make_synthetic_ecgs(4, n_leads=12, n_samples=5000, random_state=0)):
        write_npy(x[None], folder / f"{i}.npy")
    return folder


def test_read_training_folder_reads_real_challenge_records():
    X, leads, fs = read_training_folder(CINC)
    assert X.shape[:2] == (len(list(CINC.glob("*.hea"))), 12) and X.dtype == np.float32
    assert leads[:3] == ("I", "II", "III") and fs == 500.0
    assert np.isfinite(X).all()


def test_read_training_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_training_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="holds no ECG records"):
        read_training_folder(tmp_path)


def test_train_a_numpy_model_on_real_records_and_load_it(tmp_path):
    out = tmp_path / "linear.ecgsk"
    est = train("linear_reconstructor", CINC, out)
    loaded = ecgsk.load(out)
    X, _, _ = read_training_folder(CINC)
    np.testing.assert_array_equal(loaded.transform(X[:3, :1]), est.transform(X[:3, :1]))


def test_cli_train_then_generate_with_the_weights(npy_folder, tmp_path, capsys):
    out = tmp_path / "p2p.ecgsk"
    assert main(["train", "pulse2pulse", str(npy_folder), "-o", str(out), "--epochs", "1", "-q", *TINY_P2P]) == 0
    assert "trained pulse2pulse after 1 epoch(s)" in capsys.readouterr().out
    loaded = ecgsk.load(out)
    # 4 records of 12 leads x 5000 samples become 8 windows of the 8 model leads x 2500 samples
    assert loaded.n_features_in_ == 8 and loaded.n_timepoints_in_ == 2500
    assert np.isfinite([h["critic_loss"] for h in loaded.history_]).all()
    gen_dir = tmp_path / "gen"
    assert main(["generate", "--model", "pulse2pulse", "--weights", str(out), "-n", "3", "-o", str(gen_dir),
                 "--seed", "0", "-q"]) == 0
    assert sorted(p.name for p in gen_dir.iterdir()) == ["0.asc", "1.asc", "2.asc"]


@pytest.mark.parametrize("argv, message", [
    (["--param", "nonsense=1"], "no parameter"),
    (["--param", "lr"], "NAME=VALUE"),
    (["--epochs", "0"], "--epochs"),
])
def test_cli_train_bad_arguments_are_one_line_errors(npy_folder, tmp_path, capsys, argv, message):
    code = main(["train", "pulse2pulse", str(npy_folder), "-o", str(tmp_path / "m.ecgsk"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_train_missing_folder(tmp_path, capsys):
    assert main(["train", "pulse2pulse", str(tmp_path / "nope"), "-o", str(tmp_path / "m.ecgsk")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_cli_train_stops_cleanly_on_ctrl_c_and_keeps_a_loadable_model(npy_folder, tmp_path):
    out = tmp_path / "p2p.ecgsk"
    cmd = [sys.executable, "-m", "ecgsk.cli", "train", "pulse2pulse", str(npy_folder), "-o", str(out),
           "--epochs", "100000", "--checkpoint-every", "1", "-q", *TINY_P2P]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not out.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert out.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint within 120 s"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "interrupted" in stdout and "interrupted" in stderr  # the summary line and the warning
    loaded = ecgsk.load(out)
    assert loaded.interrupted_ is True and loaded.n_iter_ >= 1
    assert np.isfinite(loaded.sample(2, random_state=0)).all()
