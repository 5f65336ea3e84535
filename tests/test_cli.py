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
