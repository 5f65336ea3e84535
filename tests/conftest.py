"""Shared fixtures: the real data directory and small synthetic batches."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"
from _ci import IN_CI, skip_outside_ci
# The loaders' default data home is ECGSK_DATA, else ~/ecgsk_data; tests, doctests and README blocks
# that call load_ludb() without a path read the real data beside the checkout.
os.environ.setdefault("ECGSK_DATA", str(DATA_DIR))
# The pretrained-weights cache (ecgsk.models.pulse2pulse.pretrained) goes to a folder of this session, not
# the user's ~/.cache: tests neither read a cache an older checkout wrote nor leave one behind.
if "ECGSK_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["ECGSK_CACHE"] = tempfile.mkdtemp(prefix="ecgsk-test-cache-")
    atexit.register(shutil.rmtree, os.environ["ECGSK_CACHE"], ignore_errors=True)


def pytest_sessionstart(session):
    # In CI the real data must be there; a missing copy is an error, not a skip.
    if IN_CI and not DATA_DIR.is_dir():
        raise RuntimeError(f"CI=true but the real data directory {DATA_DIR} is missing")
    # The skips for optional packages exist for users' partial installs; in CI
    # the README's set-up installs them all, so a missing one is an error.
    if IN_CI:
        import importlib.util

        missing = [m for m in ("torch", "deepfakeecg", "hypothesis", "matplotlib", "selenium", "sksurv", "numpydoc")
                   if importlib.util.find_spec(m) is None]
        if missing:
            raise RuntimeError(f"CI=true but {missing} are not installed; run the README's set-up command")


@pytest.fixture(scope="session", autouse=True)
def _single_threaded_blas():
    # Tests use small matrices; OpenBLAS threads only contend with torch's on 2 cores.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Tiny networks run faster on one intra-op thread than on two contending ones.
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def data_dir():
    if not DATA_DIR.is_dir():
        skip_outside_ci(f"real data not found at {DATA_DIR} (../shared/data beside the checkout)")
    return DATA_DIR


@pytest.fixture
def ecg12():
    from ecgsk.datasets import make_synthetic_ecgs

    return make_synthetic_ecgs(6, n_leads=12, n_samples=1000, random_state=0)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture(scope="session")
def tiny_p2p_file(tmp_path_factory):
    """A tiny trained Pulse2Pulse (8 leads, 5000 samples) saved with est.save, for `generate --weights`."""
    import torch

    from ecgsk.datasets import make_synthetic_ecgs
    from ecgsk.models.pulse2pulse import Pulse2PulseGAN

    torch.set_num_threads(1)
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=5000, random_state=0)
    gan = Pulse2PulseGAN(model_size=5, length=5000, max_epochs=1, n_critic=1, batch_size=4, device="cpu",
                         random_state=0).fit(X)
    path = tmp_path_factory.mktemp("weights") / "tiny.ecgsk"
    gan.save(path)
    return path


def _mount_tmpfs(path, options):
    """Mount a tmpfs with ``options`` on ``path`` (root only); True when it worked."""
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _cannot(why):
    # CI runs as root with mount rights, so there a missing tmpfs is a broken set-up, not a reason to skip
    skip_outside_ci(why)


@pytest.fixture
def readonly_dir(tmp_path):
    """A real read-only folder: chmod 555 for a normal user, a read-only tmpfs for root."""
    import subprocess

    where = tmp_path / "ro"
    if os.geteuid() != 0:
        where.mkdir()
        where.chmod(0o555)
        yield where
        where.chmod(0o755)
        return
    if not _mount_tmpfs(where, "ro,size=64k"):
        _cannot("root without mount rights: no way to make a read-only folder here")
    yield where
    subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    """A real 512 KiB filesystem (a tmpfs; needs root)."""
    import subprocess

    where = tmp_path / "disk"
    if not _mount_tmpfs(where, "size=512k"):
        _cannot("mounting a tmpfs needs root; the patched-write test covers a full disk without it")
    yield where
    subprocess.run(["umount", str(where)], check=True)
