import subprocess
import sys


def test_import_does_not_load_torch():
    code = "import ecgsk, sys; assert 'torch' not in sys.modules, 'torch was imported'; print(ecgsk.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_light_modules_do_not_load_torch():
    code = (
        "import sys, ecgsk.metrics, ecgsk.io, ecgsk.datasets, ecgsk.preprocessing, ecgsk.pipeline, ecgsk.testing, "
        "ecgsk.registry, ecgsk.cli; bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
