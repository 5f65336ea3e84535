"""``ecgsk evaluate`` on small real-data folders written at test time (CinC 2021 records)."""

import json
import shutil

import numpy as np
import pytest

from ecgsk.cli import main
from ecgsk.datasets import load_cinc2021
from ecgsk.io import write_npy


@pytest.fixture(scope="module")
def folders(data_dir, tmp_path_factory):
    """CinC records as challenge files (.hea + .mat), and as .npy folders: truth, perfect and 0.5x predictions."""
    root = tmp_path_factory.mktemp("evaluate")
    src = data_dir / "cinc2021"
    real = sorted(p.stem for p in src.glob("JS*.hea"))[:12]  # evaluate_generator needs at least 12 real ECGs
    for name, records in (("real", real), ("train", [f"HR0600{i}" for i in range(10)])):
        (root / name).mkdir()
        for rec in records:
            for ext in (".hea", ".mat"):
                shutil.copy(src / f"{rec}{ext}", root / name / f"{rec}{ext}")
    X, _ = load_cinc2021(src)
    for name, batch in (("true", X[10:]), ("perfect", X[10:]), ("half", 0.5 * X[10:]), ("zeros", 0 * X[:12])):
        (root / name).mkdir()
        write_npy(batch, root / name / "ecgs.npy")
    return root


def test_reconstruction_perfect_passes_and_writes_html_and_json(folders, tmp_path, capsys):
    out, js = tmp_path / "report.html", tmp_path / "report.json"
    status = main(["evaluate", "--reconstruction", "--true", str(folders / "true"), "--predicted",
                   str(folders / "perfect"), "-o", str(out), "--json", str(js), "--fail-on-reject"])
    assert status == 0
    assert "verdict: PASS" in capsys.readouterr().out
    assert out.read_text().lstrip().lower().startswith("<!doctype html")
    data = json.loads(js.read_text())
    assert data["kind"] == "reconstruction"
    assert any(m["name"] == "amp_slope[R,V3]" and m["verdict"] == "pass" for m in data["metrics"])


def test_reconstruction_shrunk_is_rejected_exit_code_only_with_fail_on_reject(folders, tmp_path, capsys):
    argv = ["evaluate", "--reconstruction", "--true", str(folders / "true"), "--predicted", str(folders / "half"),
            "-o", str(tmp_path / "r.html")]
    assert main(argv) == 0  # the verdict does not change the exit status by default
    out = capsys.readouterr().out
    assert "verdict: REJECT" in out and "amp_slope[R," in out
    assert main(argv + ["--fail-on-reject"]) == 1


def test_reconstruction_with_train_uses_the_ridge_floor(folders, tmp_path):
    js = tmp_path / "r.json"
    assert main(["evaluate", "--reconstruction", "--true", str(folders / "true"), "--predicted",
                 str(folders / "perfect"), "--train", str(folders / "train"), "-o", str(tmp_path / "r.html"),
                 "--json", str(js)]) == 0
    metrics = {m["name"]: m for m in json.loads(js.read_text())["metrics"]}
    assert "ridge" in metrics["pearson_r[V1]"]["baselines"]


def test_generator_zeros_are_rejected(folders, tmp_path, capsys):
    argv = ["evaluate", "--real", str(folders / "real"), "--synthetic", str(folders / "zeros"),
            "-o", str(tmp_path / "g.html"), "--json", str(tmp_path / "g.json")]
    assert main(argv + ["--fail-on-reject"]) == 1
    assert "verdict: REJECT" in capsys.readouterr().out
    assert json.loads((tmp_path / "g.json").read_text())["kind"] == "generator"
    assert (tmp_path / "g.html").stat().st_size > 0


@pytest.mark.parametrize("extra, message", [
    (["--synthetic", "SYN"], "--real DIR is required"),
    (["--real", "MISSING", "--synthetic", "SYN"], "--real: MISSING is not a folder"),
    (["--true", "TRUE"], "--true/--predicted need --reconstruction"),
    (["--reconstruction", "--true", "TRUE"], "--predicted DIR is required"),
    (["--real", "REAL", "--synthetic", "SYN", "--fs", "250"], "--fs is 250"),
])
def test_user_errors_are_one_line_with_exit_2(folders, tmp_path, capsys, extra, message):
    subst = {"SYN": str(folders / "zeros"), "TRUE": str(folders / "true"), "REAL": str(folders / "real"),
             "MISSING": str(tmp_path / "missing")}
    extra = [subst.get(a, a) for a in extra]
    message = message.replace("MISSING", str(tmp_path / "missing"))
    assert main(["evaluate", *extra, "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()
