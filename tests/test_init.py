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


def test_import_stays_light():
    # scikit-learn, scipy and pandas cost seconds to import; `import ecgsk` (names, registry, leads) needs none
    code = ("import ecgsk, sys; heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'sklearn', 'scipy', 'pandas', 'matplotlib'}); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_not_fitted_error_is_scikit_learns():
    from sklearn.exceptions import NotFittedError as sklearn_error

    from ecgsk.exceptions import NotFittedError

    assert NotFittedError is sklearn_error
