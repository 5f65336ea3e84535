"""ecgsk.models.pulse2pulse.pretrained: the converted-weights cache (hits, damage, invalidation, concurrency)."""

import threading
import warnings

import numpy as np
import pytest
import torch

from ecgsk.models.pulse2pulse import Pulse2PulseGAN, Pulse2PulseGenerator, pretrained
from ecgsk.models.pulse2pulse.polyphase import PolyphaseGenerator, polyphase_generator


def _deepfake_checkpoint(path, seed):
    """A tiny generator saved in deepfake-ecg's layout ({"stat_dict": ...} with its key names)."""
    torch.manual_seed(seed)
    state = Pulse2PulseGenerator(model_size=5).state_dict()
    inverse = {new: old for old, new in pretrained._PRETRAINED_KEYS.items()}
    theirs = {}
    for key, value in state.items():
        prefix = next(p for p in inverse if key.startswith(p))
        theirs[inverse[prefix] + key[len(prefix):]] = value
    theirs["fc1.weight"] = torch.zeros(2, 2)  # an unused tensor, skipped
    torch.save({"stat_dict": theirs}, path)
    return state


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ECGSK_CACHE", str(folder))
    return folder


def _cache_file(folder):
    files = sorted(folder.glob("pulse2pulse-*.safetensors"))
    assert len(files) == 1, files
    return files[0]


def _samples(gen):
    est = Pulse2PulseGAN(model_size=5, length=5000, device="cpu")
    est.generator_, est.critic_, est.n_features_in_, est.n_timepoints_in_ = gen, None, 8, 5000
    est._reset_device()
    est._start_rngs()
    return np.concatenate(list(est.sample_ids(range(3), random_state=0, integers=True)))


def test_cache_hit_reads_no_checkpoint_and_gives_identical_tensors(tmp_path, cache, monkeypatch):
    ckpt = tmp_path / "g.pt"
    state = _deepfake_checkpoint(ckpt, 0)
    gen, skipped = pretrained.load_pretrained_generator(ckpt)  # miss: converted and written
    assert skipped == ["fc1.weight"]
    assert len(list(cache.glob("pulse2pulse-stat-*.txt"))) == 1 and _cache_file(cache).stat().st_size > 0
    fresh = PolyphaseGenerator(gen).export_state(5000)

    def no_load(*a, **k):
        raise AssertionError("a cache hit must not read the checkpoint")

    monkeypatch.setattr(torch, "load", no_load)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hit, skipped_hit = pretrained.load_pretrained_generator(ckpt)
    assert skipped_hit == ["fc1.weight"]
    for key, value in state.items():
        assert torch.equal(hit.state_dict()[key], value), key
    fast = polyphase_generator(hit)  # registered from the cache, not recomputed
    cached = fast.export_state(5000)
    assert cached.keys() == fresh.keys() and all(torch.equal(cached[k], fresh[k]) for k in fresh)
    # the ECGs are the same bits with and without the cache
    with_cache = _samples(hit)
    monkeypatch.undo()
    monkeypatch.setenv("ECGSK_CACHE", "off")
    plain, _ = pretrained.load_pretrained_generator(ckpt)
    np.testing.assert_array_equal(_samples(plain), with_cache)


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    for value in ("off", "0", ""):
        monkeypatch.setenv("ECGSK_CACHE", value)
        assert pretrained.pretrained_cache_dir() is None
    ckpt = tmp_path / "g.pt"
    _deepfake_checkpoint(ckpt, 0)
    pretrained.load_pretrained_generator(ckpt)
    pretrained.load_pretrained_generator(ckpt, cache=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pt"]
    monkeypatch.delenv("ECGSK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pretrained.pretrained_cache_dir() == tmp_path / "xdg" / "ecgsk"


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty", "other_version", "missing"])
def test_damaged_cache_warns_converts_again_and_is_rewritten(tmp_path, cache, damage):
    ckpt = tmp_path / "g.pt"
    state = _deepfake_checkpoint(ckpt, 0)
    pretrained.load_pretrained_generator(ckpt)
    target = _cache_file(cache)
    data = bytearray(target.read_bytes())
    if damage == "flip":
        data[-1000] ^= 0x10  # one bit of one weight
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "garbage":
        target.write_bytes(b"\x07" * 64)
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "other_version":
        target.write_bytes(bytes(data).replace(b'"version":"1"', b'"version":"9"', 1))
    else:
        target.unlink()
    match = "is missing" if damage == "missing" else "damaged Pulse2Pulse weights cache"
    with pytest.warns(RuntimeWarning, match=match):
        gen, _ = pretrained.load_pretrained_generator(ckpt)
    for key, value in state.items():
        assert torch.equal(gen.state_dict()[key], value), key
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rewritten: the next load is a clean hit
        again, _ = pretrained.load_pretrained_generator(ckpt)
    assert all(torch.equal(again.state_dict()[k], v) for k, v in state.items())


def test_rewritten_checkpoint_is_not_served_from_the_cache(tmp_path, cache):
    ckpt = tmp_path / "g.pt"
    _deepfake_checkpoint(ckpt, 0)
    pretrained.load_pretrained_generator(ckpt)
    new_state = _deepfake_checkpoint(ckpt, 1)  # same path, other weights
    gen, _ = pretrained.load_pretrained_generator(ckpt)
    assert all(torch.equal(gen.state_dict()[k], v) for k, v in new_state.items())
    assert len(list(cache.glob("pulse2pulse-*.safetensors"))) == 2  # one per checkpoint content
    # a copy of a checkpoint elsewhere (another stat, the same SHA-256) reuses its cache file
    copy = tmp_path / "copy.pt"
    copy.write_bytes(ckpt.read_bytes())
    pretrained.load_pretrained_generator(copy)
    assert len(list(cache.glob("pulse2pulse-*.safetensors"))) == 2


def test_unwritable_cache_warns_and_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ECGSK_CACHE", str(blocker / "cache"))
    ckpt = tmp_path / "g.pt"
    state = _deepfake_checkpoint(ckpt, 0)
    with pytest.warns(RuntimeWarning, match="cannot write the Pulse2Pulse weights cache"):
        gen, _ = pretrained.load_pretrained_generator(ckpt)
    assert all(torch.equal(gen.state_dict()[k], v) for k, v in state.items())


def test_concurrent_writers_leave_one_valid_cache_file(tmp_path, cache):
    ckpt = tmp_path / "g.pt"
    state = _deepfake_checkpoint(ckpt, 0)
    results, errors = [], []

    def load():
        try:
            results.append(pretrained.load_pretrained_generator(ckpt)[0])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4
    assert all(torch.equal(g.state_dict()[k], v) for g in results for k, v in state.items())
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporaries left
    _cache_file(cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pretrained.load_pretrained_generator(ckpt)


def test_from_pretrained_cached_equals_converted(tmp_path, monkeypatch):
    """The shipped checkpoint: cold cache, warm cache and no cache give the same tensors."""
    monkeypatch.setenv("ECGSK_CACHE", str(tmp_path))
    cold = Pulse2PulseGAN.from_pretrained()
    warm = Pulse2PulseGAN.from_pretrained()
    monkeypatch.setenv("ECGSK_CACHE", "off")
    plain = Pulse2PulseGAN.from_pretrained()
    for est in (cold, warm):
        assert est.skipped_keys_ == plain.skipped_keys_
        assert all(torch.equal(v, plain.generator_.state_dict()[k]) for k, v in est.generator_.state_dict().items())
    derived = polyphase_generator(warm.generator_).export_state(5000)
    converted = PolyphaseGenerator(plain.generator_).export_state(5000)
    assert all(torch.equal(derived[k], converted[k]) for k in converted)


def test_a_float64_checkpoint_gives_a_float32_network(tmp_path, cache):
    ckpt = tmp_path / "g64.pt"
    _deepfake_checkpoint(ckpt, 0)
    state = torch.load(ckpt, weights_only=True)
    torch.save({"stat_dict": {k: v.double() for k, v in state["stat_dict"].items()}}, ckpt)
    for _ in range(2):  # converted, then from the cache
        gen, _ = pretrained.load_pretrained_generator(ckpt)
        assert {p.dtype for p in gen.parameters()} == {torch.float32}
        assert _samples(gen).dtype == np.int32
