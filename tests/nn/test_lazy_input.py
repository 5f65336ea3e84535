"""Fitting on data larger than memory: memmaps and ECGDatasets read per batch by the engine."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from numpy.lib.format import open_memmap

from ecgsk.datasets import ECGDataset
from ecgsk.datasets.dataset import lead_statistics, map_rows
from ecgsk.models import Pulse2PulseGAN

from .._torch_stubs import TinyReconstructor


class LazyTiny(TinyReconstructor):
    """The engine's test stub, declared lazy: scale from chunked statistics, rows scaled as read."""

    tags = {"lazy_input": True}

    def __init__(self, lr=0.05, max_epochs=1, batch_size=4, device="cpu", random_state=None, verbose=0,
                 warm_start=False, callbacks=None, precision="32", gradient_clip=None, validation_fraction=None,
                 nan_at=None, interrupt_at=None, raise_at=None, num_workers=0):
        super().__init__(lr=lr, max_epochs=max_epochs, batch_size=batch_size, device=device,
                         random_state=random_state, verbose=verbose, warm_start=warm_start, callbacks=callbacks,
                         precision=precision, gradient_clip=gradient_clip, validation_fraction=validation_fraction,
                         nan_at=nan_at, interrupt_at=interrupt_at, raise_at=raise_at)
        self.num_workers = num_workers

    def _training_data(self, X, y=None, *, reset=True):
        if reset:
            self.scale_ = float(lead_statistics(X)["abs_max"].max()) or 1.0
        return {"X": map_rows(X, self._divide)}

    def _divide(self, batch):
        return (batch / self.scale_).astype(np.float32)


def _weights(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_pulse2pulse_fits_a_memmap_as_it_fits_the_array(tmp_path):
    params = Pulse2PulseGAN.get_test_params()[0]
    X = np.random.default_rng(0).normal(0, 0.3, size=(6, 8, params["length"])).astype(np.float32)
    mm = open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    lazy = Pulse2PulseGAN(**params).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    eager = Pulse2PulseGAN(**params).fit(X)
    assert np.isfinite(lazy.history_[-1]["critic_loss"])
    torch.testing.assert_close(_weights(lazy.generator_), _weights(eager.generator_))
    torch.testing.assert_close(_weights(lazy.critic_), _weights(eager.critic_))
    untrained = Pulse2PulseGAN(**{**params, "lr": 1e-30}).fit(X)  # same seed, steps too small to move a weight
    assert not torch.equal(_weights(lazy.generator_), _weights(untrained.generator_))
    assert lazy.sample(1, random_state=0).shape == (1, 8, params["length"])


def test_workers_read_batches_and_match_the_main_process(tmp_path):
    raw = open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.int16, shape=(10, 12, 64))
    raw[:] = np.random.default_rng(1).integers(-2000, 2000, size=raw.shape)
    raw.flush()
    ds = ECGDataset(np.load(tmp_path / "x.npy", mmap_mode="r"), gain=1000.0)
    a = LazyTiny(random_state=0, num_workers=2).fit(ds)
    b = LazyTiny(random_state=0, num_workers=0).fit(ds)
    c = TinyReconstructor(random_state=0, max_epochs=1).fit(np.asarray(ds))  # in memory
    assert np.isfinite(a.history_[-1]["loss"])
    torch.testing.assert_close(_weights(a.net_), _weights(b.net_))
    torch.testing.assert_close(_weights(a.net_), _weights(c.net_))
    untrained = LazyTiny(random_state=0, lr=0.0).fit(ds)  # same seed, zero learning rate
    assert not torch.equal(_weights(a.net_), _weights(untrained.net_))


def test_non_finite_memmap_is_refused_naming_the_ecg(tmp_path):
    mm = open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(5, 12, 32))
    mm[:] = 0.1
    mm[3, 0, 0] = np.nan
    mm.flush()
    with pytest.raises(ValueError, match=r"ECG\(s\) 3"):
        LazyTiny().fit(np.load(tmp_path / "x.npy", mmap_mode="r"))


RSS_SCRIPT = textwrap.dedent('''
    import resource, sys, numpy as np
    sys.path.insert(0, {root!r})
    from tests.nn.test_lazy_input import LazyTiny
    X = np.load({path!r}, mmap_mode="r")
    est = LazyTiny(random_state=0, batch_size=256, max_epochs=1).fit(X)
    loss = est.history_[-1]["loss"]
    assert np.isfinite(loss), loss
    try:  # this process's own high-water mark (ru_maxrss would include the parent's, from before exec)
        peak_kb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
    except OSError:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("PEAK_KB", peak_kb, "LOSS", loss, "STEPS", len(X) // 256)
''')

WRITE_SCRIPT = textwrap.dedent('''
    import numpy as np
    from numpy.lib.format import open_memmap
    n = 8740  # 8740 x 12 x 5000 float32 = 2.10 GB
    mm = open_memmap({path!r}, mode="w+", dtype=np.float32, shape=(n, 12, 5000))
    t = np.linspace(0, 10, 5000, dtype=np.float32)
    wave = np.sin(t * (1 + np.arange(12, dtype=np.float32))[:, None])[None] * 0.5
    for start in range(0, n, 256):
        mm[start:start + 256] = wave
    mm.flush()
''')


@pytest.mark.slow
def test_fit_on_a_2gb_memmap_stays_under_1gb_rss(tmp_path):
    """About 80 s on a shared 2-core machine (writing the file, then one epoch of 34 steps)."""
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    path = tmp_path / "big.npy"
    # written by another process, so that neither this one nor the fitting one ever maps it whole
    subprocess.run([sys.executable, "-c", WRITE_SCRIPT.format(path=str(path))], check=True, timeout=300)
    assert path.stat().st_size > 2.0e9
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT.format(root=root, path=str(path))],
                         capture_output=True, text=True, timeout=600, cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    peak_kb = int(out.stdout.split("PEAK_KB")[1].split()[0])
    assert peak_kb < 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB reading a 2.1 GB memmap"
