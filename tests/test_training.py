"""``ecgsk.training`` and ``ecgsk train``: train on a folder of records, save, load, generate, stop with Ctrl-C."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

import numpy as np
import pytest

import ecgsk
from ecgsk.cli import main
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.io import write_npy
from ecgsk.registry import get_model
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


@pytest.mark.parametrize("n_leads", [8, 12])
def test_read_training_folder_reads_asc_and_npy_through_the_readers(tmp_path, n_leads):
    from ecgsk.io import write
    from ecgsk.leads import LEADS_8, LEADS_12

    X = make_synthetic_ecgs(3, n_leads=n_leads, n_samples=600, random_state=1)
    write(X, tmp_path / "asc", format="asc")
    Y, leads, fs, meta = read_training_folder(tmp_path / "asc", return_meta=True)
    assert leads == (LEADS_12 if n_leads == 12 else LEADS_8) and fs == 500.0  # 12 columns were named LEADS_8
    np.testing.assert_allclose(Y, X, atol=1.001e-3, rtol=0)
    assert meta["record"].tolist() == ["0", "1", "2"]
    (tmp_path / "npy").mkdir()
    write_npy(X, tmp_path / "npy" / "batch.npy")
    Y, leads, fs, meta = read_training_folder(tmp_path / "npy", return_meta=True)
    np.testing.assert_array_equal(Y, X)
    assert meta["record"].tolist() == ["batch[0]", "batch[1]", "batch[2]"] and len(leads) == n_leads


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


def interrupt_at_first_checkpoint(cmd, out, wait=180):
    """Run ``ecgsk train`` in a subprocess, send SIGINT once ``out`` exists; ``(returncode, stdout, stderr)``."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + wait
        while not out.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        if not out.exists():
            proc.kill()
            _, stderr = proc.communicate()
            pytest.fail(f"no checkpoint within {wait} s: {stderr[-2000:]}")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stdout, stderr


def test_cli_train_stops_cleanly_on_ctrl_c_and_keeps_a_loadable_model(npy_folder, tmp_path):
    out = tmp_path / "p2p.ecgsk"
    cmd = [sys.executable, "-m", "ecgsk.cli", "train", "pulse2pulse", str(npy_folder), "-o", str(out),
           "--epochs", "100000", "--checkpoint-every", "1", "-q", *TINY_P2P]
    returncode, stdout, stderr = interrupt_at_first_checkpoint(cmd, out)
    assert returncode == 0, stderr
    assert "interrupted" in stdout and "interrupted" in stderr  # the summary line and the warning
    loaded = ecgsk.load(out)
    assert loaded.interrupted_ is True and loaded.n_iter_ >= 1
    assert np.isfinite(loaded.sample(2, random_state=0)).all()


# ---- every built-in model, as a new user would: train from the CLI, load in a fresh process, generate --------

TORCH_MODELS = ["pulse2pulse", "lstm_gan", "ekgan", "pix2pix", "cvae", "cox_cvae"]
ALL_MODELS = TORCH_MODELS + ["linear_reconstructor"]
N_CINC = 6


@pytest.fixture(scope="module")
def cinc_folder(tmp_path_factory):
    """Six real CinC 2021 (PTB-XL) records, 12 leads at 500 Hz, whose headers carry age and sex."""
    folder = tmp_path_factory.mktemp("cinc")
    for hea in sorted(CINC.glob("HR*.hea"))[:N_CINC]:
        for suffix in (".hea", ".mat"):
            (folder / (hea.stem + suffix)).symlink_to(hea.with_suffix(suffix))
    return folder


@pytest.fixture(scope="module")
def outcomes_csv(cinc_folder, tmp_path_factory):
    """A survival target per record: record, time, event (invented outcomes for real ECGs)."""
    path = tmp_path_factory.mktemp("target") / "outcomes.csv"
    records = sorted(p.stem for p in cinc_folder.glob("*.hea"))
    rng = np.random.default_rng(0)
    pd.DataFrame({"record": records, "time": rng.uniform(1, 10, len(records)).round(2),
                  "event": [1, 0] * (len(records) // 2)}).to_csv(path, index=False)
    return path


def history_losses(est):
    """Every per-epoch loss in ``history_`` (the numeric entries other than epoch, duration and learning rate)."""
    return [v for h in est.history_ for k, v in h.items()
            if k not in ("epoch", "dur", "lr") and isinstance(v, (int, float)) and not isinstance(v, bool)]


def tiny_params(name):
    """``--param`` arguments for the model's tiny test configuration, on the CPU, seeded."""
    params = dict(get_model(name).get_test_params()[0])
    params.pop("max_epochs", None)  # the commands give --epochs
    if name in TORCH_MODELS:
        params.update(device="cpu", random_state=0)
    return [arg for key, value in params.items() for arg in ("--param", f"{key}={json.dumps(value)}")]


def train_args(name, folder, out, outcomes):
    epochs = ["--epochs", "1"] if name in TORCH_MODELS else []
    target = ["--target", str(outcomes)] if name == "cox_cvae" else []
    return ["train", name, str(folder), "-o", str(out), "-q", *epochs, *target, *tiny_params(name)]


LOAD_AND_USE = """
import json, sys
import numpy as np
import ecgsk
from ecgsk.base import get_tags
from ecgsk.training import read_training_folder
est = ecgsk.load(sys.argv[1])
kind = get_tags(est)["kind"]
out = {"class": type(est).__name__, "device": str(getattr(est, "device_", "cpu"))}
X, _, _ = read_training_folder(sys.argv[2])
if "generator" in kind:
    cond = {"age": [60.0, 70.0], "sex": ["M", "F"]} if get_tags(est)["conditional"] else None
    out["finite"] = bool(np.isfinite(est.sample(2, conditions=cond, random_state=0)).all())
elif "reconstructor" in kind:
    out["finite"] = bool(np.isfinite(est.transform(X[:2, :1])).all())
if "risk" in kind:
    from ecgsk.preprocessing import MedianBeat
    beats = MedianBeat(length=est.beat_length, fs=500).fit(X[:2]).transform(X[:2])
    out["finite_risk"] = bool(np.isfinite(est.predict_risk(beats, conditions={"age": [60.0, 70.0], "sex": ["M", "F"]})).all())
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_MODELS)
def test_cli_train_every_model_then_load_in_a_fresh_process_and_generate(name, cinc_folder, outcomes_csv, tmp_path,
                                                                          capsys):
    out = tmp_path / f"{name}.ecgsk"
    assert main(train_args(name, cinc_folder, out, outcomes_csv)) == 0, capsys.readouterr().err
    assert f"trained {name}" in capsys.readouterr().out
    est = ecgsk.load(out)
    if name in TORCH_MODELS:
        losses = history_losses(est)
        assert losses and np.isfinite(losses).all()
    if name in ("cvae", "cox_cvae"):
        # one R-aligned median beat per record, conditioned on the headers' age and sex
        assert est.n_features_in_ == 12 and list(est.condition_columns_) == ["age", "sex"]
    done = subprocess.run([sys.executable, "-c", LOAD_AND_USE, str(out), str(cinc_folder)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    used = json.loads(done.stdout.strip().splitlines()[-1])
    assert used["class"] == type(est).__name__ and used["device"] == "cpu"
    assert all(v for k, v in used.items() if k.startswith("finite")) and any(k.startswith("finite") for k in used)
    if "generator" in get_model(name).get_tags()["kind"]:
        gen_dir = tmp_path / "gen"
        extra = []
        if get_model(name).get_tags()["conditional"]:
            conditions = tmp_path / "conditions.csv"
            pd.DataFrame({"age": [50, 80], "sex": ["F", "M"]}).to_csv(conditions, index=False)
            extra = ["--conditions", str(conditions)]
        code = main(["generate", "--weights", str(out), "-n", "2", "-o", str(gen_dir), "--seed", "0", "-q",
                     "--format", "npy", *extra])
        assert code == 0, capsys.readouterr().err
        written = sorted(gen_dir.iterdir())
        assert len(written) == 2 and all(np.isfinite(np.load(f)).all() for f in written)


@pytest.mark.slow
@pytest.mark.parametrize("name", [m for m in TORCH_MODELS if m != "pulse2pulse"])  # pulse2pulse: test above
def test_cli_train_every_torch_model_stops_cleanly_on_ctrl_c(name, cinc_folder, outcomes_csv, tmp_path):
    out = tmp_path / f"{name}.ecgsk"
    argv = train_args(name, cinc_folder, out, outcomes_csv)
    argv[argv.index("--epochs") + 1] = "100000"
    cmd = [sys.executable, "-m", "ecgsk.cli", *argv, "--checkpoint-every", "1"]
    returncode, stdout, stderr = interrupt_at_first_checkpoint(cmd, out)
    assert returncode == 0, stderr
    assert "interrupted" in stdout
    loaded = ecgsk.load(out)
    assert loaded.interrupted_ is True and loaded.n_iter_ >= 1
    losses = history_losses(loaded)
    assert losses and np.isfinite(losses).all()


def test_read_training_folder_meta_has_records_age_and_sex(cinc_folder):
    X, _, _, meta = read_training_folder(cinc_folder, return_meta=True)
    assert list(meta["record"]) == sorted(p.stem for p in cinc_folder.glob("*.hea")) and len(meta) == len(X)
    first = (CINC / (meta["record"][0] + ".hea")).read_text()
    assert f"Age: {int(meta['age'][0])}" in first and meta["sex"][0] in ("M", "F")


def test_train_cvae_conditions_from_a_csv_override_the_headers(cinc_folder, tmp_path):
    records = sorted(p.stem for p in cinc_folder.glob("*.hea"))
    conditions = tmp_path / "c.csv"
    pd.DataFrame({"record": records[::-1], "age": range(30, 30 + len(records)), "bmi": 25.0}).to_csv(
        conditions, index=False)
    params = {k: v for k, v in get_model("cvae").get_test_params()[0].items()}
    est = train("cvae", cinc_folder, tmp_path / "c.ecgsk", params=params, conditions=conditions, verbose=0)
    assert list(est.condition_columns_) == ["age", "bmi"]


def test_train_cvae_leaves_out_records_without_a_beat_with_a_warning(cinc_folder, tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    X, _, _ = read_training_folder(cinc_folder)
    for i, x in enumerate(X[:3]):
        write_npy(x[None], folder / f"r{i}.npy")
    write_npy(np.zeros((1, 12, 5000), np.float32), folder / "flat.npy")
    conditions = tmp_path / "c.csv"
    pd.DataFrame({"record": ["r0", "r1", "r2", "flat"], "age": [40, 50, 60, 70], "sex": ["M", "F", "M", "F"]}).to_csv(
        conditions, index=False)
    params = dict(get_model("cvae").get_test_params()[0])
    with pytest.warns(UserWarning, match=r"1 of 4 record\(s\) hold no usable beat.*flat"):
        est = train("cvae", folder, tmp_path / "c.ecgsk", params=params, conditions=conditions, verbose=0)
    assert est.n_features_in_ == 12


@pytest.mark.parametrize("model, extra, message", [
    ("cox_cvae", [], "--target FILE.csv"),
    ("cox_cvae", ["--target", "{missing}"], "--target: no such file"),
    ("cox_cvae", ["--target", "{partial}"], "--target has no row for record"),
    ("cvae", ["--conditions", "{norecord}"], "needs a 'record' column"),
    ("linear_reconstructor", ["--conditions", "{partial}"], "is not conditional"),
    ("cvae", ["--target", "{partial}"], "is not a risk model"),
])
def test_cli_train_condition_and_target_errors_are_one_line(model, extra, message, cinc_folder, tmp_path, capsys):
    records = sorted(p.stem for p in cinc_folder.glob("*.hea"))
    files = {"missing": tmp_path / "missing.csv", "partial": tmp_path / "partial.csv",
             "norecord": tmp_path / "norecord.csv"}
    pd.DataFrame({"record": records[:2], "time": [1.0, 2.0], "event": [1, 0]}).to_csv(files["partial"], index=False)
    pd.DataFrame({"age": [1, 2]}).to_csv(files["norecord"], index=False)
    extra = [a.format(**files) for a in extra]
    code = main(["train", model, str(cinc_folder), "-o", str(tmp_path / "m.ecgsk"), "-q", *extra, *tiny_params(model)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err


def test_cli_train_cvae_without_age_or_sex_in_the_headers_asks_for_conditions(npy_folder, tmp_path, capsys):
    code = main(["train", "cvae", str(npy_folder), "-o", str(tmp_path / "m.ecgsk"), "-q", *tiny_params("cvae")])
    err = capsys.readouterr().err
    assert code == 2 and "--conditions FILE.csv" in err
