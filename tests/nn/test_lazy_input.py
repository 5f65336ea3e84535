"""Fitting on data larger than memory: memmaps and ECGDatasets read per batch by the engine."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.lib.format import open_memmap

import ecgsk
from ecgsk.base import ReconstructorMixin, RiskMixin, get_tags
from ecgsk.datasets import ECGDataset
from ecgsk.datasets.dataset import lead_statistics, map_rows
from ecgsk.models import Pulse2PulseGAN
from ecgsk.nn import engine
from ecgsk.nn.engine import TorchEstimatorMixin
from ecgsk.registry import get_model, list_models

from .._torch_stubs import TinyReconstructor

MODELS = [m["name"] for m in list_models() if m["distribution"] == "ecgsk"]
TORCH_MODELS = [name for name in MODELS if issubclass(get_model(name), TorchEstimatorMixin)]
#: Models whose fit on lazy input computes its scaling statistics in float64 over chunks, where the in-memory
#: fit reduces the float32 array at once (numpy's pairwise float32 sums): the two differ by float32 rounding
#: (about 1e-7 relative) in ecg_mean_/ecg_scale_ or lead_mean_/lead_scale_, and so, after training, slightly.
CHUNKED_STATISTICS = {"cvae", "cox_cvae", "ekgan", "pix2pix"}


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


LINEAR_RSS_SCRIPT = textwrap.dedent('''
    import sys, numpy as np
    from ecgsk.models import LinearLeadReconstructor
    X = np.load({path!r}, mmap_mode="r")
    est = LinearLeadReconstructor(n_lags=5, max_lag=8).fit(X)  # two chunked passes over all 2.1 GB
    assert np.isfinite(est.coef_).all() and est.x_scale_ > 0, (est.coef_, est.x_scale_)
    peak_kb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
    print("PEAK_KB", peak_kb)
''')


@pytest.fixture(scope="module")
def big_memmap(tmp_path_factory):
    """A 2.1 GB float32 memmap (8740 x 12 x 5000), written once by another process for the RSS tests."""
    path = tmp_path_factory.mktemp("big") / "big.npy"
    # written by another process, so that neither this one nor the fitting ones ever map it whole
    subprocess.run([sys.executable, "-c", WRITE_SCRIPT.format(path=str(path))], check=True, timeout=300)
    assert path.stat().st_size > 2.0e9
    yield path
    path.unlink()


def _peak_kb_of(script, path):
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", script.format(root=root, path=str(path))],
                         capture_output=True, text=True, timeout=600, cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    return int(out.stdout.split("PEAK_KB")[1].split()[0])


@pytest.mark.slow
def test_fit_on_a_2gb_memmap_stays_under_1gb_rss(big_memmap):
    """About 80 s on a shared 2-core machine (writing the file, then one epoch of 34 steps)."""
    peak_kb = _peak_kb_of(RSS_SCRIPT, big_memmap)
    assert peak_kb < 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB reading a 2.1 GB memmap"


@pytest.mark.slow
def test_linear_reconstructor_fits_the_2gb_memmap_under_1gb_rss(big_memmap):
    """The ridge normal equations accumulated chunk by chunk: the file is never read whole (the same file)."""
    peak_kb = _peak_kb_of(LINEAR_RSS_SCRIPT, big_memmap)
    assert peak_kb < 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB reading a 2.1 GB memmap"


# -- every model, from a memmap ---------------------------------------------------------------------------------
def _write_memmap(path, X):
    mm = open_memmap(path, mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    return np.load(path, mmap_mode="r")


def _make(name, **overrides):
    cls = get_model(name)
    params = {**cls.get_test_params()[0], **overrides}
    if issubclass(cls, TorchEstimatorMixin):
        params = {**params, "device": "cpu", "random_state": 0}
    est = cls(**params)
    X, fit_params = est.get_test_data(n_ecgs=8, random_state=0)
    return est, X, fit_params


def _fit(est, X, fit_params):
    params = dict(fit_params)
    y = params.pop("y", None)
    return est.fit(X, y, **params) if y is not None else est.fit(X, **params)


def _output(est, X, fit_params):
    """What the fitted model gives for ``X``: risk, reconstruction, latent codes (cVAE) or samples."""
    conditions = fit_params.get("conditions")
    if isinstance(est, RiskMixin):
        return est.predict_risk(X, conditions)
    if isinstance(est, ReconstructorMixin):
        return est.transform(X)
    if conditions is not None:  # the cVAE: encode X
        return est.transform(X, conditions)
    return est.sample(3, random_state=0)


def _state(est):
    """Every fitted module weight, as NumPy."""
    return {f"{attr}/{key}": value.detach().cpu().numpy()
            for attr, module in vars(est).items() if isinstance(module, torch.nn.Module) and attr.endswith("_")
            for key, value in module.state_dict().items()}


def test_every_model_declares_lazy_input():
    assert MODELS and all(get_tags(get_model(name))["lazy_input"] for name in MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_fit_and_output_from_a_memmap_equal_the_in_memory_ones(tmp_path, name, monkeypatch):
    """Fit on a memmap, then transform / predict_risk / sample: the in-memory fit's numbers, never X read whole."""
    est, X, fit_params = _make(name)
    lazy_X = _write_memmap(tmp_path / "x.npy", X)
    read_whole = []
    original = ECGDataset.__array__

    def spy(self, *args, **kwargs):  # np.asarray(dataset): what "read whole" means
        read_whole.append(len(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ECGDataset, "__array__", spy)
    eager = _fit(est, X, fit_params)
    lazy = _fit(_make(name)[0], lazy_X, fit_params)
    out_eager, out_lazy = _output(eager, X, fit_params), _output(lazy, lazy_X, fit_params)
    assert read_whole == [], f"{name} read the lazy input whole ({read_whole})"
    assert out_eager.shape == out_lazy.shape and np.isfinite(out_lazy).all()
    # the fitted model gives the same output for the memmap as for the array, also in several chunks
    np.testing.assert_array_equal(_output(eager, lazy_X, fit_params), out_eager)
    from ecgsk import base

    monkeypatch.setattr(base, "LAZY_CHUNK_SIZE", 3)  # 8 ECGs: chunks of 3, 3 and 2
    np.testing.assert_allclose(_output(eager, lazy_X, fit_params), out_eager, rtol=1e-5, atol=1e-6)
    if name in CHUNKED_STATISTICS:
        # float64 chunked statistics against float32 in-memory ones: equal to float32 rounding, then trained
        for attr in ("ecg_mean_", "ecg_scale_", "lead_mean_", "lead_scale_"):
            if hasattr(eager, attr):
                np.testing.assert_allclose(getattr(lazy, attr), getattr(eager, attr), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out_lazy, out_eager, rtol=1e-3, atol=1e-3)
    else:
        np.testing.assert_array_equal(out_lazy, out_eager)
        for key, value in _state(eager).items():
            np.testing.assert_array_equal(_state(lazy)[key], value, err_msg=key)
    if isinstance(eager, TorchEstimatorMixin):
        assert len(lazy.history_) == len(eager.history_) == est.max_epochs
        assert lazy.history_[-1].keys() == eager.history_[-1].keys()


@pytest.mark.parametrize("name", ["ekgan", "cox_cvae", "lstm_gan"])
def test_num_workers_2_gives_the_fit_of_0(tmp_path, name):
    """Batches read by two DataLoader workers: the same weights as read in the main process."""
    est, X, fit_params = _make(name, num_workers=2)
    lazy_X = _write_memmap(tmp_path / "x.npy", X)
    with_workers = _fit(est, lazy_X, fit_params)
    without = _fit(_make(name, num_workers=0)[0], lazy_X, fit_params)
    state = _state(with_workers)
    assert state
    for key, value in _state(without).items():
        np.testing.assert_array_equal(state[key], value, err_msg=key)
    assert [h.get("epoch") for h in with_workers.history_] == list(range(1, est.max_epochs + 1))
    np.testing.assert_array_equal(_output(with_workers, lazy_X, fit_params), _output(without, lazy_X, fit_params))


def test_windowed_gans_read_only_each_batchs_records(tmp_path):
    """EKGAN's training windows are cut from the records a batch reads, never from all of them."""
    est, X, _ = _make("ekgan", batch_size=4)
    ds = ECGDataset(_write_memmap(tmp_path / "x.npy", X))
    reads = []
    original = ECGDataset._read

    def spy(self, rows):
        if self._parent is None:
            reads.append(len(rows))
        return original(self, rows)

    ECGDataset._read = spy
    try:
        est.fit(ds)
    finally:
        ECGDataset._read = original
    # one chunk of statistics (256 ECGs a chunk: all 8 here), then each batch of 4 windows reads at most 4 records
    assert reads[0] == len(X) == 8
    assert len(reads) > 2 and max(reads[1:]) <= 4


@pytest.mark.parametrize("name", ["cox_cvae", "cvae"])
def test_validation_in_chunks_matches_validation_at_once(tmp_path, name, monkeypatch):
    """Held-out rows of a lazy fit are validated in chunks: the scores of all rows at once (Cox ranks them all)."""
    est, X, fit_params = _make(name, early_stopping=True, validation_fraction=0.5, max_epochs=2)
    lazy_X = _write_memmap(tmp_path / "x.npy", X)
    whole = _fit(est, lazy_X, fit_params)
    monkeypatch.setattr(engine, "VALIDATION_CHUNK_SIZE", 1)  # one held-out row per step
    chunked = _fit(_make(name, early_stopping=True, validation_fraction=0.5, max_epochs=2)[0], lazy_X, fit_params)
    keys = [k for k in whole.history_[0] if k.startswith("valid_")]
    assert {"valid_loss", "valid_recon", "valid_kl"} <= set(keys)
    for a, b in zip(whole.history_, chunked.history_):
        for k in keys:
            np.testing.assert_allclose(b[k], a[k], rtol=1e-5, err_msg=k)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_num_workers_is_a_parameter_that_round_trips(tmp_path, name):
    est = _make(name)[0]
    assert est.get_params()["num_workers"] == 0
    assert est.set_params(num_workers=3).num_workers == 3
    path = tmp_path / f"{name}.safetensors"
    est.save(path)
    assert ecgsk.load(path).get_params()["num_workers"] == 3


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_a_bad_num_workers_is_refused_at_fit(value):
    est, X, fit_params = _make("pulse2pulse", num_workers=value)
    with pytest.raises(ValueError, match="num_workers"):
        _fit(est, X, fit_params)


def test_transformers_tagged_lazy_transform_chunk_by_chunk(tmp_path, monkeypatch):
    """Row-wise transformers (filters, Crop, MedianBeat, LeadSelector) take a memmap: the in-memory output."""
    from ecgsk.base import LAZY_CHUNK_SIZE
    from ecgsk import base
    from ecgsk.datasets import make_synthetic_ecgs
    from ecgsk.preprocessing import BandpassFilter, Crop, LeadSelector, MedianBeat

    X = make_synthetic_ecgs(5, n_leads=12, n_samples=2500, random_state=0)
    lazy_X = _write_memmap(tmp_path / "x.npy", X)
    monkeypatch.setattr(base, "LAZY_CHUNK_SIZE", 2)  # three chunks
    assert LAZY_CHUNK_SIZE >= 2
    for transformer in (BandpassFilter(), Crop(length=1000), MedianBeat(length=300), LeadSelector(leads=("II",))):
        assert get_tags(transformer)["lazy_input"]
        expected = transformer.fit(X).transform(X)
        np.testing.assert_allclose(transformer.fit(lazy_X).transform(lazy_X), expected, rtol=1e-6, atol=1e-6)


#: Models fitted from a memmap under torchrun: a scaled-rows model (exact) and a windowed one (lazy windows).
DDP_MODELS = ["lstm_gan", "ekgan"]


def test_torchrun_fits_a_memmap_to_identical_ranks(tmp_path):
    """``torchrun --standalone --nproc_per_node=2`` (gloo, CPU) fits from a memmap, one DataLoader worker a rank."""
    torchrun = shutil.which("torchrun")
    assert torchrun, "torchrun comes with torch; it must be on PATH"
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env["CUDA_VISIBLE_DEVICES"] = ""
    worker = Path(__file__).with_name("ddp_worker.py")
    result = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", str(worker), str(tmp_path), "--memmap",
                             *DDP_MODELS], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    for name in DDP_MODELS:
        lazy = [np.load(tmp_path / f"{name}.memmap.rank{r}.npz") for r in (0, 1)]
        eager = np.load(tmp_path / f"{name}.rank0.npz")
        logs = [json.loads((tmp_path / f"{name}.memmap.rank{r}.json").read_text()) for r in (0, 1)]
        assert logs[0]["world_size"] == 2 and logs[0]["n_iter"] == 2
        assert logs[0]["history"] == logs[1]["history"]
        assert lazy[0].files and lazy[0].files == eager.files
        for key in lazy[0].files:
            np.testing.assert_array_equal(lazy[0][key], lazy[1][key], err_msg=f"{name}: {key} differs between ranks")
            if name in CHUNKED_STATISTICS:
                np.testing.assert_allclose(lazy[0][key], eager[key], rtol=1e-3, atol=1e-4, err_msg=f"{name}: {key}")
            else:  # the in-memory DDP fit's weights exactly
                np.testing.assert_array_equal(lazy[0][key], eager[key], err_msg=f"{name}: {key}")
