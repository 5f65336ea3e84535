"""Pulse2PulseGAN: conformance, training, WGAN-GP, pretrained weights, polyphase inference."""

import copy
import importlib.util

import numpy as np
import pytest
import torch

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.leads import derive_12_from_8
from ecgsk.models.pulse2pulse import (
    PRETRAINED_UNUSED_PREFIXES,
    PolyphaseGenerator,
    Pulse2PulseCritic,
    Pulse2PulseGAN,
    Pulse2PulseGenerator,
    polyphase_weights,
)
from ecgsk.nn.gan import critic_loss, generator_loss, gradient_penalty, wgan_gp_critic_loss



@pytest.fixture(scope="module")
def pretrained():
    return Pulse2PulseGAN.from_pretrained()


@pytest.fixture(scope="module")
def reference_generator():
    import warnings

    from ecgsk.models.pulse2pulse import pretrained_checkpoint_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deepfake-ecg calls the deprecated nn.init.kaiming_normal
        from deepfakeecg import Generator

        ref = Generator()
    state = torch.load(pretrained_checkpoint_path(), map_location="cpu", weights_only=True)["stat_dict"]
    ref.load_state_dict(state)
    return ref.eval()


def tiny(**kw):
    params = dict(Pulse2PulseGAN.get_test_params()[0])
    params.update(kw)
    return Pulse2PulseGAN(**params)


# -- conformance ------------------------------------------------------------------
def test_get_test_params_are_tiny():
    for params in Pulse2PulseGAN.get_test_params():
        assert params["model_size"] <= 10 and params["length"] <= 5000


# -- training -----------------------------------------------------------------------
def test_training_updates_both_networks_with_finite_losses():
    X = make_synthetic_ecgs(8, n_leads=8, n_samples=2500, random_state=0)
    init = tiny(max_epochs=0).fit(X)  # built with the same seed, not trained
    gan = tiny(max_epochs=2, n_critic=2).fit(X)
    assert gan.n_iter_ == 2 and [h["epoch"] for h in gan.history_] == [1, 2]
    for key in ("critic_loss", "wasserstein", "generator_loss"):
        # 2 critic steps per epoch (8 ECGs, batches of 4), a generator step after every second one
        assert np.isfinite([h[key] for h in gan.history_]).all(), key
    steps = {name: int(next(iter(opt.state_dict()["state"].values()))["step"])
             for name, opt in gan._optimizers_.items()}
    assert steps == {"critic": 4, "generator": 2}
    for before, after in ((init.generator_, gan.generator_), (init.critic_, gan.critic_)):
        a, b = before.state_dict(), after.state_dict()
        # The critic's output bias cancels in mean(D(fake)) - mean(D(real)) and the
        # penalty does not see it: its gradient is exactly zero.
        unchanged = [k for k in a if torch.equal(a[k], b[k])]
        assert unchanged == ([] if after is gan.generator_ else ["fc.bias"])
    assert np.isfinite(gan.sample(2)).all()


def test_warm_start_continues_training():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=1)
    gan = tiny(max_epochs=1).fit(X)
    gan.sample(2, random_state=0)  # caches the polyphase weights
    w = copy.deepcopy(gan.generator_.state_dict())
    gan.set_params(warm_start=True).fit(X)
    assert gan.n_iter_ == 2 and [h["epoch"] for h in gan.history_] == [1, 2]
    assert any(not torch.equal(w[k], v) for k, v in gan.generator_.state_dict().items())
    # the cached fast path follows the updated weights
    fast = next(gan._raw_batches(2, np.random.RandomState(0)))
    plain = next(gan._raw_batches(2, np.random.RandomState(0), fast=False))
    np.testing.assert_allclose(fast.numpy(), plain.numpy(), atol=1e-5, rtol=0)


def test_fit_rejects_wrong_length():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=3000, random_state=0)
    with pytest.raises(ValueError, match="length"):
        tiny().fit(X)


def test_length_not_a_multiple_of_the_total_stride_is_cropped():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=3000, random_state=0)
    gan = tiny(length=3000).fit(X)
    assert gan.sample(2).shape == (2, 8, 3000)


# -- WGAN-GP ------------------------------------------------------------------------
def test_gradient_penalty_matches_direct_autograd():
    torch.manual_seed(0)
    critic = Pulse2PulseCritic(model_size=2, n_channels=3, length=2500, shift=0)
    real, fake = torch.randn(4, 3, 2500), torch.randn(4, 3, 2500)
    alpha = torch.rand(4)
    gp = gradient_penalty(critic, real, fake, weight=10.0, alpha=alpha)
    # direct computation, one example at a time
    terms = []
    for i in range(4):
        x = (alpha[i] * real[i] + (1 - alpha[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x)
        terms.append((g.norm() - 1) ** 2)
    expected = 10.0 * torch.stack(terms).mean()
    assert torch.allclose(gp, expected, rtol=1e-5, atol=1e-6)
    # the penalty is differentiable with respect to the critic's weights
    gp.backward()
    # In a piecewise-linear critic the input gradient depends on the weights only
    # (biases merely select the linear piece), so only weights receive a gradient.
    grads = {k: p.grad for k, p in critic.named_parameters() if k.endswith("weight")}
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values())


def test_wasserstein_losses():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0])
    assert float(critic_loss(real, fake)) == -2.0
    assert float(generator_loss(fake)) == -1.0
    critic = torch.nn.Linear(5, 1)
    loss, w = wgan_gp_critic_loss(critic, torch.randn(3, 5), torch.randn(3, 5), gp_weight=0.0)
    assert torch.isfinite(loss) and not w.requires_grad


def test_phase_shuffle_is_a_reflected_shift():
    from ecgsk.models.pulse2pulse import PhaseShuffle

    torch.manual_seed(0)
    ps = PhaseShuffle(2).train()
    x = torch.arange(10.0).repeat(6, 2, 1)
    y = ps(x)
    for row in y[:, 0]:
        k = int(row[5] - x[0, 0, 5]) * -1  # out[i] = x[i - k]
        assert -2 <= k <= 2
        expected = torch.nn.functional.pad(x[:1, :1], (2, 2), mode="reflect")[0, 0, 2 - k: 12 - k]
        assert torch.equal(row, expected)
    assert torch.equal(ps.eval()(x), x)


# -- polyphase inference ------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 5])
def test_polyphase_weights_equal_upsample_then_convolve(scale):
    torch.manual_seed(scale)
    conv = torch.nn.Conv1d(3, 4, 25)
    x = torch.randn(2, 3, 7)
    plain = conv(torch.nn.functional.pad(torch.nn.functional.interpolate(x, scale_factor=scale), (12, 12)))
    w, left, right = polyphase_weights(conv.weight, scale)
    y = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (left, right)), w, conv.bias.repeat_interleave(scale))
    y = y.view(2, 4, scale, 7).transpose(2, 3).reshape(2, 4, 7 * scale)
    assert torch.allclose(y, plain, atol=1e-5)


def test_polyphase_generator_equals_plain_generator():
    torch.manual_seed(0)
    g = Pulse2PulseGenerator(model_size=10).eval()
    x = torch.rand(3, 8, 5000) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(PolyphaseGenerator(g)(x), g(x), atol=1e-5, rtol=0)


def test_polyphase_state_rebuilds_an_identical_module():
    # what the pretrained-weights cache stores: every derived tensor, so nothing is recomputed on load
    torch.manual_seed(1)
    g = Pulse2PulseGenerator(model_size=10).eval()
    fast = PolyphaseGenerator(g)
    state = fast.export_state(5000)
    # dense_layers lists exactly the layers that a forward pass runs as matrix products
    probe = PolyphaseGenerator(g)
    with torch.inference_mode():
        probe(torch.zeros(1, 8, 5000))
    assert sorted(k[:4] for k in probe._dense) == sorted(fast.dense_layers(5000)) and probe._dense
    assert {k for k in state if k.startswith("dense.")} == {
        f"dense.{w}.{i}.{c}.{n}.{part}" for w, i, c, n in fast.dense_layers(5000) for part in ("matrix", "bias")}
    again = PolyphaseGenerator(g, state)
    for i in range(6):
        assert torch.equal(again.weights[i], fast.weights[i]) and torch.equal(again.biases[i], fast.biases[i])
    x = torch.rand(3, 8, 5000) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(again(x), fast(x))
    assert len(again._dense) == len(fast.dense_layers(5000))  # the stored matrices were used, none was built
    bad = dict(state)
    bad["weights.2"] = bad["weights.2"][:, :, :-1]
    with pytest.raises(ValueError, match="'weights.2' has shape"):
        PolyphaseGenerator(g, bad)
    with pytest.raises(ValueError, match="lacks 'biases.0'"):
        PolyphaseGenerator(g, {k: v for k, v in state.items() if k != "biases.0"})


def test_sample_uses_the_fast_path_and_matches_the_plain_path():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=0)
    gan = tiny().fit(X)
    rng = lambda: np.random.RandomState(3)  # noqa: E731
    fast = np.concatenate([b.numpy() for b in gan._raw_batches(5, rng(), 2)])
    plain = np.concatenate([b.numpy() for b in gan._raw_batches(5, rng(), 5, fast=False)])
    np.testing.assert_allclose(fast, plain, atol=1e-5, rtol=0)
    # per-ECG seeds and fixed-shape forward passes: batch size does not change a single bit
    fast5 = np.concatenate([b.numpy() for b in gan._raw_batches(5, rng(), 5)])
    np.testing.assert_array_equal(fast, fast5)


def test_sample_ids_are_bit_identical_whatever_the_batch_threads_or_neighbours():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=0)
    gan = tiny().fit(X)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ref = np.concatenate(list(gan.sample_ids(range(40), random_state=3, batch_size=64)))
        assert torch.get_num_threads() == 2  # the caller's thread setting is left as it was
        torch.set_num_threads(1)  # as under torchrun (OMP_NUM_THREADS=1)
        b7 = np.concatenate(list(gan.sample_ids(range(40), random_state=3, batch_size=7)))
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(b7, ref)
    odd = np.concatenate(list(gan.sample_ids(range(1, 40, 2), random_state=3)))
    np.testing.assert_array_equal(odd, ref[1::2])
    one = next(gan.sample_ids([37], random_state=3))
    np.testing.assert_array_equal(one, ref[37:38])
    ints = np.concatenate(list(gan.sample_ids(range(40), random_state=3, integers=True)))
    assert ints.dtype == np.int32
    assert np.abs(ints - 1000.0 * ref).max() <= 1.0  # int(network output * 6000): microvolts, truncated
    assert not np.array_equal(ref, np.concatenate(list(gan.sample_ids(range(40), random_state=4))))
    # sample() and iter_samples() run on the same per-ECG seeds: equal for any batch size
    s = gan.sample(20, random_state=9)
    np.testing.assert_array_equal(np.concatenate(list(gan.iter_samples(20, batch_size=3, random_state=9))), s)


def test_sample_leads_12_and_errors():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=0)
    gan = tiny().fit(X)
    X8 = gan.sample(2, random_state=0)
    X12 = gan.sample(2, random_state=0, leads=12)
    assert X12.shape == (2, 12, 2500) and X12.dtype == np.float32
    np.testing.assert_array_equal(X12, derive_12_from_8(X8))
    with pytest.raises(ValueError, match="leads"):
        gan.sample(2, leads=10)
    with pytest.raises(ValueError, match="n_samples"):
        gan.sample(0)


# -- pretrained weights ---------------------------------------------------------------
def test_from_pretrained_is_fitted_and_skips_only_unused_tensors(pretrained):
    assert pretrained.n_features_in_ == 8 and pretrained.n_timepoints_in_ == 5000
    assert pretrained.get_params()["model_size"] == 50
    skipped = set(pretrained.skipped_keys_)
    expected = {"fc1.weight", "fc1.bias", "ppfilter1.weight", "ppfilter1.bias"}
    expected |= {f"deconv_{j}.Conv1dTrans.{p}" for j in (1, 2, 3, 5, 6, 7) for p in ("weight", "bias")}
    assert skipped == expected
    assert all(k.startswith(PRETRAINED_UNUSED_PREFIXES) for k in skipped)


def test_pretrained_equals_deepfakeecg_generator(pretrained, reference_generator):
    torch.manual_seed(0)
    noise = torch.rand(4, 8, 5000) * 2 - 1
    with torch.no_grad():
        ref = reference_generator(noise)
        plain = pretrained.generator_(noise)
        fast = PolyphaseGenerator(pretrained.generator_)(noise)
        exact = copy.deepcopy(pretrained.generator_).double()(noise.double())
    assert (plain - ref).abs().max() <= 1e-5
    # The polyphase path sums in another order.  The float32 reference itself is
    # ~2e-5 from the float64 result, and the polyphase path is no further from it.
    err_ref = float((ref.double() - exact).abs().max())
    err_fast = float((fast.double() - exact).abs().max())
    assert err_fast <= 1.1 * err_ref + 1e-6
    assert (fast - ref).abs().max() <= 2e-5
    assert (fast - ref).abs().mean() <= 1e-6


def test_pretrained_sample_in_mv(pretrained):
    X = pretrained.sample(2, random_state=0)
    assert X.shape == (2, 8, 5000) and X.dtype == np.float32
    assert np.abs(X).max() <= 6.0 and X.std() > 0.01


def test_from_pretrained_without_deepfakeecg(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepfakeecg" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install ecgsk\[pretrained\]"):
        Pulse2PulseGAN.from_pretrained()


def test_warm_start_from_a_generator_without_critic_builds_the_critic():
    """As after from_pretrained: the generator is kept and trained further, a fresh critic is built."""
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=2500, random_state=1)
    gan = tiny(max_epochs=1).fit(X)
    gan.critic_ = None
    w = copy.deepcopy(gan.generator_.state_dict())
    gan.set_params(warm_start=True, n_critic=1).fit(X)
    assert isinstance(gan.critic_, torch.nn.Module)
    assert gan.n_iter_ == 2
    moved = [k for k, v in gan.generator_.state_dict().items() if not torch.equal(w[k], v)]
    assert moved  # trained on
    # kept, not rebuilt: one small step stays close to the previous weights
    assert max(float((w[k] - v).abs().max()) for k, v in gan.generator_.state_dict().items()) < 0.05


def test_divergence_raises_instead_of_leaving_nan_weights():
    from sklearn.exceptions import NotFittedError

    from ecgsk.exceptions import TrainingDivergedError

    X = make_synthetic_ecgs(8, n_leads=8, n_samples=2500, random_state=0)
    gan = tiny(max_epochs=3, n_critic=1, lr=1e3)  # measured: the critic loss is NaN in the first epoch
    with pytest.raises(TrainingDivergedError, match="critic_loss"):
        gan.fit(X)
    with pytest.raises(NotFittedError):
        gan.sample(2)
