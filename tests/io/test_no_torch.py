"""ecgsk.io and ecgsk.datasets read real files without importing torch."""

def test_io_and_datasets_do_not_import_torch(data_dir):
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from ecgsk.io import read_wfdb, read_challenge_record, write_asc, read_asc\n"
        "from ecgsk.datasets import load_cpsc2019, simulate_survival\n"
        f"read_wfdb({str(data_dir / 'ludb' / 'data' / '1')!r})\n"
        f"read_challenge_record({str(data_dir / 'cinc2021' / 'HR06000')!r})\n"
        f"load_cpsc2019({str(data_dir / 'cpsc2019')!r})\n"
        "simulate_survival(np.zeros((5, 1)), [1.0])\n"
        "import tempfile\n"
        "d = tempfile.mkdtemp(); read_asc(write_asc(np.zeros((1, 8, 10)), d)[0])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
