"""Tests for ecgsk.models.lstm_gan.LSTMGAN (tiny CPU sizes; the whole module runs in well under 3 minutes)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.exceptions import TrainingDivergedError
from ecgsk.models.lstm_gan import ConvDiscriminator, LSTMGAN, LSTMGenerator, half_octave_bands, log_band_power, spectral_moments
from ecgsk.nn.callbacks import EMA, Callback, EarlyStopping
from ecgsk.nn.engine import TrainingContext
from ecgsk.pipeline import make_pipeline

TINY = dict(width=0.125, lstm_units=4, latent_dim=4, kernel_size=5, batch_size=8, device="cpu")


def _segments(n=24, length=64, n_leads=1, seed=0):
    return make_synthetic_ecgs(n, n_leads=n_leads, n_samples=length, random_state=seed)


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _losses(history):
    """The history without the timings (which differ between identical fits)."""
    return [{k: v for k, v in record.items() if k != "dur"} for record in history]


def _finite(history, key):
    return bool(np.isfinite([record[key] for record in history]).all())


def _step(gan, real, rng, target=None):
    """One training step of a fitted ``gan`` on the scaled batch ``real``: ``(d_loss, g_loss)``."""
    modules = {name: getattr(gan, name) for name in ("generator_", "discriminator_")}
    ctx = TrainingContext(gan, modules, gan._optimizers_, gan._torch_device(), rng, "32", None)
    ctx.spectral_target = target
    logs = gan._training_step({"X": real}, ctx)
    return logs["d_loss"], logs["g_loss"]


def test_default_architecture_matches_reference():
    gan = LSTMGAN()
    assert (gan.segment_length, gan.latent_dim, gan.lstm_units, gan.kernel_size) == (400, 12, 64, 16)
    assert (gan.max_epochs, gan.batch_size, gan.lr, gan.n_leads, gan.fs) == (80, 64, 2e-4, 1, 500)
    G = LSTMGenerator()
    assert G.lstm.bidirectional and G.lstm.hidden_size == 64 and G.lstm.input_size == 12
    convs = [m for m in G.convs if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [128, 64, 32, 16, 1]
    assert all(c.kernel_size == (16,) for c in convs)
    assert isinstance(G.convs[-1], torch.nn.Tanh)
    assert sum(isinstance(m, torch.nn.Upsample) for m in G.convs) == 2
    with torch.no_grad():
        out = G(torch.randn(2, 100, 12))  # noise: sequence 100 x 12 features
    assert out.shape == (2, 1, 400)
    D = ConvDiscriminator()
    dconvs = [m for m in D.features if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in dconvs] == [32, 64, 128, 256]
    assert sum(isinstance(m, torch.nn.MaxPool1d) for m in D.features) == 2
    assert D.out.in_features == 256 * 100 and D.out.out_features == 1
    with torch.no_grad():
        assert D(out).shape == (2,)


def test_noise_length_is_quarter_segment():
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=0, random_state=0).fit(_segments())
    (z,) = gan._noise(3, np.random.RandomState(0))
    assert z.shape == (3, 16, 4) and z.dtype == np.float32
    z, eta = gan._noise(3, np.random.RandomState(0), inject=True)
    assert z.shape == (3, 16, 4) and eta.shape == (3, 1, 64)


def test_output_shape_and_range():
    X = _segments(n=24, length=64) * 3.0
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=0).fit(X)
    assert gan.scale_ == pytest.approx(float(np.abs(X).max()))
    scaled = gan._generate_scaled(50, np.random.RandomState(1))
    assert scaled.shape == (50, 1, 64)
    assert np.abs(scaled).max() <= 1.0  # tanh range
    mv = gan.sample(50, random_state=1)
    assert mv.shape == (50, 1, 64) and mv.dtype == np.float32
    assert np.abs(mv).max() <= gan.scale_ * (1 + 1e-6)
    np.testing.assert_allclose(mv, scaled * gan.scale_, rtol=1e-6)


def test_multilead_output():
    X = _segments(n=16, length=32, n_leads=3)
    gan = LSTMGAN(n_leads=3, segment_length=32, **TINY, max_epochs=1, random_state=0).fit(X)
    assert gan.n_features_in_ == 3
    assert gan.sample(4).shape == (4, 3, 32)
    with pytest.raises(ValueError, match="lead"):
        gan.fit(X[:, :2])


def test_one_training_step_changes_both_networks():
    X = _segments(n=8, length=64)
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=0, random_state=0).fit(X)
    g0, d0 = _params(gan.generator_), _params(gan.discriminator_)
    real = torch.as_tensor(X / gan.scale_)
    d_loss, g_loss = _step(gan, real, np.random.RandomState(0))
    assert np.isfinite(d_loss) and np.isfinite(g_loss)
    assert any(not torch.equal(a, b) for a, b in zip(g0, gan.generator_.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, gan.discriminator_.parameters()))
    # every generator and discriminator tensor received a gradient step
    assert all(not torch.equal(a, b) for a, b in zip(d0, gan.discriminator_.parameters()))


def test_history_and_finite_losses():
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=3, random_state=0).fit(_segments())
    assert len(gan.history_) == 3 == gan.n_iter_
    assert [r["epoch"] for r in gan.history_] == [1, 2, 3]
    assert all(set(r) == {"epoch", "dur", "d_loss", "g_loss"} and r["dur"] >= 0 for r in gan.history_)
    assert _finite(gan.history_, "d_loss") and _finite(gan.history_, "g_loss")
    assert not gan.interrupted_


@pytest.mark.parametrize("which", [0, 1])
def test_training_at_test_sizes_gives_finite_losses_and_changes_parameters(which):
    params = LSTMGAN.get_test_params()[which]
    X, _ = LSTMGAN(**params).get_test_data(n_ecgs=12)
    init = LSTMGAN(**{**params, "max_epochs": 0}, random_state=0).fit(X)
    assert init.history_ == [] and init.n_iter_ == 0
    gan = LSTMGAN(**{**params, "max_epochs": 2}, random_state=0).fit(X)
    # the same seed builds the same initial networks whatever max_epochs is
    for name in ("generator_", "discriminator_"):
        for p, q in zip(getattr(init, name).parameters(), getattr(gan, name).parameters()):
            assert p.shape == q.shape
        assert any(not torch.equal(p, q) for p, q in zip(getattr(init, name).parameters(),
                                                         getattr(gan, name).parameters())), name
    assert len(gan.history_) == 2 and _finite(gan.history_, "d_loss") and _finite(gan.history_, "g_loss")
    assert all(torch.isfinite(p).all() for p in gan.generator_.parameters())
    assert np.isfinite(gan.sample(3, random_state=0)).all()


def test_a_huge_learning_rate_raises_training_diverged():
    X = _segments()
    with pytest.raises(TrainingDivergedError, match="diverged") as info:
        LSTMGAN(segment_length=64, **TINY, max_epochs=3, lr=1e10, random_state=0).fit(X)
    assert info.value.key in ("d_loss", "g_loss")
    # a fit that diverges in its first epoch leaves a fitted estimator as it was
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0).fit(X)
    before = gan.sample(3, random_state=0)
    with pytest.raises(TrainingDivergedError):
        gan.set_params(lr=1e10, max_epochs=3).fit(X)
    assert gan.n_iter_ == 1 and len(gan.history_) == 1
    np.testing.assert_array_equal(gan.sample(3, random_state=0), before)


def test_reproducible_under_random_state():
    X = _segments()
    a = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3).fit(X)
    b = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3).fit(X)
    c = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=4).fit(X)
    np.testing.assert_array_equal(a.sample(5), b.sample(5))
    assert _losses(a.history_) == _losses(b.history_)
    np.testing.assert_array_equal(a.discriminate(X), b.discriminate(X))
    assert not np.allclose(a.sample(5, random_state=0), c.sample(5, random_state=0))
    np.testing.assert_array_equal(a.sample(2, random_state=7), a.sample(2, random_state=7))


def test_pickle_round_trip_and_warm_start():
    X = _segments()
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(gan))
    np.testing.assert_array_equal(gan.sample(4, random_state=0), restored.sample(4, random_state=0))
    np.testing.assert_array_equal(gan.discriminate(X), restored.discriminate(X))
    # the restored model keeps training (optimisers are rebuilt)
    restored.set_params(warm_start=True).fit(X)
    assert restored.n_iter_ == 2 and [r["epoch"] for r in restored.history_] == [1, 2]
    assert restored.scale_ == gan.scale_


def test_warm_start_continues_epochs_and_weights():
    X = _segments()
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=0, warm_start=True).fit(X)
    g0 = _params(gan.generator_)
    generator = gan.generator_
    gan.fit(X * 2.0)  # same shape: keeps the networks and the amplitude scale
    assert gan.n_iter_ == 4 and [r["epoch"] for r in gan.history_] == [1, 2, 3, 4]
    assert gan.generator_ is generator and gan.scale_ == pytest.approx(float(np.abs(X).max()))
    assert any(not torch.equal(p, q) for p, q in zip(g0, gan.generator_.parameters()))
    # a new segment length starts afresh
    gan.set_params(segment_length=32).fit(_segments(length=32))
    assert gan.n_iter_ == 2 and gan.generator_ is not generator


def test_warm_start_false_restarts():
    X = _segments()
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0).fit(X)
    gan.fit(X)
    assert gan.n_iter_ == 1 and len(gan.history_) == 1


def test_verbose_progress(capsys):
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=0, verbose=1).fit(_segments(n=8))
    assert len(gan.history_) == 2
    assert capsys.readouterr().err.strip(), "verbose=1 should draw a progress bar on stderr"


def test_d_width_scales_discriminator_only():
    gan = LSTMGAN(segment_length=64, **dict(TINY, width=0.25), d_width=0.125, max_epochs=0).fit(_segments())
    assert gan.discriminator_.features[0].out_channels == 4
    assert gan.generator_.convs[0].out_channels == 32


def test_minibatch_std_adds_one_discriminator_channel():
    plain, mbstd = ConvDiscriminator(), ConvDiscriminator(minibatch_std=True)
    assert plain.out.in_features == 256 * 100 and mbstd.out.in_features == 257 * 100
    x = torch.randn(5, 1, 400)
    feats = mbstd.feature_map(x)
    assert feats.shape == (5, 257 * 100)
    feats = feats.detach()
    assert torch.all(feats[:, -100:] == feats[0, -1]) and float(feats[0, -1]) > 0  # one constant channel
    assert mbstd(x[:1]).shape == (1,) and torch.isfinite(mbstd(x[:1])).all()  # batch of one: std 0
    assert not LSTMGAN().minibatch_std and LSTMGAN().feature_matching == 0  # reference by default


@pytest.mark.parametrize("extra", [{"minibatch_std": True}, {"feature_matching": 10.0},
                                   {"minibatch_std": True, "feature_matching": 10.0}])
def test_stabilisers_change_training_and_stay_reproducible(extra):
    X = _segments()
    ref = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3).fit(X)
    a = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, **extra).fit(X)
    b = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, **extra).fit(X)
    np.testing.assert_array_equal(a.sample(5, random_state=0), b.sample(5, random_state=0))
    assert _losses(a.history_) == _losses(b.history_)
    assert _finite(a.history_, "g_loss")
    assert not np.array_equal(a.sample(5, random_state=0), ref.sample(5, random_state=0))
    if "minibatch_std" in extra:
        assert a.discriminator_.out.in_features == (a.discriminator_.features[-3].out_channels + 1) * 16
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.discriminate(X), restored.discriminate(X))


def test_feature_matching_zero_is_the_reference_loss():
    X = _segments()
    a = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3).fit(X)
    b = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3, feature_matching=0.0).fit(X)
    assert _losses(a.history_) == _losses(b.history_)


def test_ema_samples_from_the_average_and_leaves_training_unchanged():
    X = _segments()
    ref = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3).fit(X)
    assert not hasattr(ref, "generator_ema_") and LSTMGAN().ema_decay is None  # reference by default
    assert ref._default_callbacks() == []
    a = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, ema_decay=0.9).fit(X)
    b = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, ema_decay=0.9).fit(X)
    (callback,) = a._default_callbacks()  # ema_decay maps onto the engine's EMA callback
    assert isinstance(callback, EMA) and callback.module == "generator_" and callback.decay == 0.9
    assert a.callbacks is None  # the parameter is left as given
    # the average never feeds back: same losses and the same trained generator as without it
    assert _losses(a.history_) == _losses(ref.history_)
    for p, q in zip(a.generator_.parameters(), ref.generator_.parameters()):
        assert torch.equal(p, q)
    raw = a._generate_scaled(5, np.random.RandomState(0), ema=False) * np.float32(a.scale_)
    np.testing.assert_array_equal(raw, ref.sample(5, random_state=0))
    # sample() uses the average, which differs from the trained weights
    assert a.ema_updates_ == 2 * 3  # 24 segments / batch 8 = 3 generator steps per epoch
    assert any(not torch.equal(p, q) for p, q in zip(a.generator_ema_.parameters(), a.generator_.parameters()))
    assert not np.array_equal(a.sample(5, random_state=0), ref.sample(5, random_state=0))
    assert all(not p.requires_grad for p in a.generator_ema_.parameters())
    # reproducible and picklable
    np.testing.assert_array_equal(a.sample(5, random_state=0), b.sample(5, random_state=0))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.sample(5, random_state=0), restored.sample(5, random_state=0))
    restored.set_params(warm_start=True).fit(X)
    assert restored.ema_updates_ == 4 * 3 and _finite(restored.history_, "g_loss")


def test_ema_update_is_the_warmed_up_moving_average():
    X = _segments(n=8)  # one batch of 8: one step per epoch
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=0, random_state=0, ema_decay=0.99).fit(X)
    g0 = _params(gan.generator_)
    for p, q in zip(g0, gan.generator_ema_.parameters()):
        assert torch.equal(p, q)  # the average starts at the initial weights
    assert gan.ema_updates_ == 0
    gan.set_params(warm_start=True, max_epochs=1).fit(X)
    assert _finite(gan.history_, "d_loss") and _finite(gan.history_, "g_loss")
    g1 = _params(gan.generator_)
    assert any(not torch.equal(a, b) for a, b in zip(g0, g1))
    decay = min(0.99, 1 / 10)  # warm-up ramp (1 + t) / (10 + t) at t = 0
    for p0, p1, avg in zip(g0, g1, gan.generator_ema_.parameters()):
        torch.testing.assert_close(avg, decay * p0 + (1 - decay) * p1)
    assert gan.ema_updates_ == 1


def test_ema_switched_on_in_a_warm_start():
    X = _segments()
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0, warm_start=True).fit(X)
    assert not hasattr(gan, "generator_ema_")
    gan.set_params(ema_decay=0.5).fit(X)
    assert gan.generator_ema_ is not None and gan.ema_updates_ == 3 and gan.n_iter_ == 2
    gan.set_params(ema_decay=None).fit(X)
    assert not hasattr(gan, "generator_ema_") and not hasattr(gan, "ema_updates_") and gan.n_iter_ == 3
    np.testing.assert_array_equal(gan.sample(3, random_state=0),
                                  gan._generate_scaled(3, np.random.RandomState(0), ema=False) * np.float32(gan.scale_))


def test_a_refit_without_ema_drops_the_old_average():
    X = _segments()
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0, ema_decay=0.9).fit(X)
    assert gan.ema_updates_ == 3
    gan.set_params(ema_decay=None).fit(X)  # not a warm start: new networks, no stale average
    assert not hasattr(gan, "generator_ema_")
    ref = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0).fit(X)
    np.testing.assert_array_equal(gan.sample(3, random_state=0), ref.sample(3, random_state=0))
    # a refit with EMA starts a fresh average from the new networks
    gan.set_params(ema_decay=0.9).fit(X)
    assert gan.ema_updates_ == 3


def test_a_user_ema_callback_replaces_the_one_from_ema_decay():
    X = _segments()
    own = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, ema_decay=0.9).fit(X)
    user = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, callbacks=[EMA(decay=0.9)]).fit(X)
    both = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, ema_decay=0.5,
                   callbacks=[EMA(decay=0.9)]).fit(X)
    assert own.ema_updates_ == user.ema_updates_ == both.ema_updates_ == 6  # one average, updated once a step
    np.testing.assert_array_equal(own.sample(4, random_state=0), user.sample(4, random_state=0))
    np.testing.assert_array_equal(own.sample(4, random_state=0), both.sample(4, random_state=0))
    # the user's average survives warm starts even without ema_decay
    user.set_params(warm_start=True).fit(X)
    assert user.ema_updates_ == 12


def test_engine_callbacks_see_the_logged_losses():
    seen = []  # the engine fits with copies of the callbacks, so they report through a closure

    class Record(Callback):
        def on_epoch_end(self, estimator, ctx, record):
            seen.append(sorted(record))

    X = _segments()
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=0, callbacks=[Record()]).fit(X)
    assert seen == [["d_loss", "dur", "epoch", "g_loss"]] * 2
    stopped = LSTMGAN(segment_length=64, **TINY, max_epochs=20, random_state=0,
                      callbacks=[EarlyStopping(monitor="d_loss", patience=1, mode="max")]).fit(X)
    assert stopped.n_iter_ < 20 and stopped.best_epoch_ >= 1
    assert len(gan.history_) == 2


def test_bf16_precision_and_gradient_clip_train():
    X = _segments()
    for params in ({"precision": "bf16", "spectral_matching": 1.0}, {"gradient_clip": 0.1}):
        gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0, **params).fit(X)
        assert _finite(gan.history_, "d_loss") and _finite(gan.history_, "g_loss")
        assert np.isfinite(gan.sample(3)).all()


def test_d_lr_sets_the_discriminator_rate_only():
    X = _segments()
    ref = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3).fit(X)
    opts = ref._optimizers_
    assert opts["discriminator"].param_groups[0]["lr"] == opts["generator"].param_groups[0]["lr"] == 2e-4
    assert LSTMGAN().d_lr is None  # reference by default
    a = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3, d_lr=1e-3).fit(X)
    b = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3, d_lr=1e-3).fit(X)
    opts = a._optimizers_
    assert opts["discriminator"].param_groups[0]["lr"] == 1e-3 and opts["generator"].param_groups[0]["lr"] == 2e-4
    assert _finite(a.history_, "d_loss") and _finite(a.history_, "g_loss")
    assert _losses(a.history_) == _losses(b.history_) and _losses(a.history_) != _losses(ref.history_)
    np.testing.assert_array_equal(a.discriminate(X), b.discriminate(X))
    assert not np.array_equal(a.discriminate(X), ref.discriminate(X))
    same = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3, d_lr=2e-4).fit(X)
    assert _losses(same.history_) == _losses(ref.history_)


def test_noise_injection_module_starts_neutral():
    plain = LSTMGenerator(segment_length=64, latent_dim=4, lstm_units=4, width=0.125, kernel_size=5)
    assert not hasattr(plain, "noise_weight")
    torch.manual_seed(0)
    G = LSTMGenerator(segment_length=64, latent_dim=4, lstm_units=4, width=0.125, kernel_size=5, noise_injection=True)
    assert G.noise_weight.shape == (1, 2, 1) and torch.all(G.noise_weight == 0)  # c4 = 16 * 0.125 channels
    z, eta = torch.randn(3, 16, 4), torch.randn(3, 1, 64)
    with torch.no_grad():
        base = G(z, torch.zeros_like(eta))
        assert torch.equal(G(z, eta), base)  # zero strength: the noise has no effect yet
        G.noise_weight.fill_(0.5)
        out = G(z, eta)
    assert out.shape == (3, 1, 64) and not torch.equal(out, base) and out.abs().max() <= 1


def test_noise_injection_trains_and_stays_reproducible():
    X = _segments()
    ref = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3).fit(X)
    assert not LSTMGAN().noise_injection and not hasattr(ref.generator_, "noise_weight")  # reference by default
    a = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, noise_injection=True).fit(X)
    b = LSTMGAN(segment_length=64, **TINY, max_epochs=2, random_state=3, noise_injection=True).fit(X)
    assert _finite(a.history_, "d_loss") and _finite(a.history_, "g_loss")
    assert torch.any(a.generator_.noise_weight != 0)  # the strengths were trained
    assert _losses(a.history_) == _losses(b.history_) and _losses(a.history_) != _losses(ref.history_)
    np.testing.assert_array_equal(a.sample(5, random_state=0), b.sample(5, random_state=0))
    assert not np.array_equal(a.sample(5, random_state=0), a.sample(5, random_state=1))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.sample(5, random_state=0), restored.sample(5, random_state=0))
    # switching it in a warm start rebuilds the networks (the architecture changed)
    restored.set_params(warm_start=True, noise_injection=False).fit(X)
    assert not hasattr(restored.generator_, "noise_weight") and restored.n_iter_ == 2


def test_half_octave_bands_tile_the_one_sided_spectrum():
    for n in (4, 16, 64, 400, 1000):
        bands = half_octave_bands(n)
        assert bands[0][0] == 1 and bands[-1][1] == n // 2 + 1  # DC left out, Nyquist in
        assert all(b0[1] == b1[0] for b0, b1 in zip(bands, bands[1:]))  # contiguous
        assert all(hi > lo for lo, hi in bands)
    widths = [hi - lo for lo, hi in half_octave_bands(4000)]
    assert widths[-2] / widths[-4] == pytest.approx(2, rel=0.1)  # two bands span an octave


def test_log_band_power_finds_a_sine_and_ignores_the_mean():
    fs, n = 500, 400
    t = torch.arange(n) / fs
    x = torch.stack([3.0 + torch.sin(2 * np.pi * 50 * t), torch.zeros(n)])[:, None]  # 50 Hz = bin 40
    bands = half_octave_bands(n)
    power = log_band_power(x)
    assert power.shape == (2, 1, len(bands)) and torch.isfinite(power).all()  # a flat signal stays finite
    j = next(j for j, (lo, hi) in enumerate(bands) if lo <= 40 < hi)
    assert int(power[0, 0].argmax()) == j
    # Parseval with the orthonormal FFT: the sine's power n/4 sits in one bin, averaged over the band
    lo, hi = bands[j]
    assert float(power[0, 0, j].exp()) == pytest.approx(n / 4 / (hi - lo), rel=1e-3)
    assert float(power[0, 0, 0]) < np.log(1e-6)  # the constant 3 mV offset adds nothing
    assert float(power[1, 0].max()) == pytest.approx(np.log(1e-8), abs=1e-6)


def test_spectral_moments_match_direct_computation_and_chunking():
    x = torch.as_tensor(_segments(n=30, n_leads=2), dtype=torch.float32)
    mean, std = spectral_moments(x, batch=7)
    spec = log_band_power(x)
    torch.testing.assert_close(mean, spec.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(std, spec.std(0, unbiased=False), rtol=1e-4, atol=1e-4)
    assert mean.shape == (2, len(half_octave_bands(64)))


def test_spectral_matching_adds_the_moment_mismatch_to_the_generator_loss():
    X = _segments()
    ref = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3).fit(X)
    assert LSTMGAN().spectral_matching == 0  # reference by default
    zero = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=3, spectral_matching=0.0).fit(X)
    assert _losses(zero.history_) == _losses(ref.history_)
    # one step from identical states: g_loss grows by exactly weight * mismatch of the same generated batch
    losses, grads = {}, {}
    for weight in (0.0, 2.0):
        gan = LSTMGAN(segment_length=64, **TINY, max_epochs=0, random_state=0, spectral_matching=weight).fit(X)
        real = torch.as_tensor(X[:8] / gan.scale_)
        target = spectral_moments(torch.as_tensor(X / gan.scale_))
        g0 = _params(gan.generator_)
        losses[weight] = _step(gan, real, np.random.RandomState(1), target)
        grads[weight] = [a - b for a, b in zip(_params(gan.generator_), g0)]
    assert np.isfinite(losses[2.0]).all() and losses[2.0][0] == losses[0.0][0]  # D step unchanged
    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=0, random_state=0).fit(X)
    rng = np.random.RandomState(1)
    with torch.no_grad():
        gan._generate(gan.generator_, 8, rng)  # the discriminator step's batch
        fake = gan._generate(gan.generator_, 8, rng)  # the generator step's batch (D's step leaves G alone)
        spec = log_band_power(fake)
        mismatch = float(((spec.mean(0) - target[0]) ** 2).mean() + ((spec.std(0) - target[1]) ** 2).mean())
    assert mismatch > 0
    assert losses[2.0][1] == pytest.approx(losses[0.0][1] + 2.0 * mismatch, rel=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(grads[2.0], grads[0.0]))  # the term reaches the generator


def test_spectral_matching_trains_reproducibly_and_pickles():
    X = _segments(n_leads=2)
    params = dict(n_leads=2, segment_length=64, **TINY, max_epochs=2, random_state=3, spectral_matching=1.0)
    ref = LSTMGAN(**{**params, "spectral_matching": 0.0}).fit(X)
    a, b = LSTMGAN(**params).fit(X), LSTMGAN(**params).fit(X)
    assert _finite(a.history_, "g_loss") and _losses(a.history_) == _losses(b.history_)
    assert _losses(a.history_) != _losses(ref.history_)
    np.testing.assert_array_equal(a.sample(5, random_state=0), b.sample(5, random_state=0))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.sample(5, random_state=0), restored.sample(5, random_state=0))
    restored.set_params(warm_start=True).fit(X)
    assert restored.n_iter_ == 4 and _finite(restored.history_, "g_loss")
    # a single training segment (batches of one): only the mean term applies, and it stays finite
    one = LSTMGAN(**{**params, "max_epochs": 1}).fit(X[:1])
    assert _finite(one.history_, "g_loss") and np.isfinite(one.sample(2)).all()
    # without a precomputed target a direct step uses the real batch's moments
    d_loss, g_loss = _step(a, torch.as_tensor(X[:8] / a.scale_), np.random.RandomState(0))
    assert np.isfinite(d_loss) and np.isfinite(g_loss)


def test_spectral_target_of_a_fit_is_the_whole_training_set():
    X = _segments()
    seen = []

    class Spy(Callback):
        def on_train_begin(self, estimator, ctx):
            seen.append(ctx.spectral_target)

    gan = LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0, spectral_matching=1.0,
                  callbacks=[Spy()]).fit(X)
    mean, std = spectral_moments(torch.as_tensor(X / gan.scale_))
    torch.testing.assert_close(seen[0][0], mean)
    torch.testing.assert_close(seen[0][1], std)
    assert not any(isinstance(v, torch.Tensor) for v in vars(gan).values())  # not kept after fit


@pytest.mark.parametrize("bad", [{"segment_length": 62}, {"width": 0}, {"d_width": -1.0}, {"batch_size": 0}, {"lstm_units": 1.5},
                                 {"feature_matching": -1.0}, {"feature_matching": True},
                                 {"ema_decay": 1.0}, {"ema_decay": -0.1}, {"ema_decay": True}, {"ema_decay": "0.9"},
                                 {"d_lr": 0.0}, {"d_lr": -1e-4}, {"d_lr": True},
                                 {"noise_injection": 1}, {"noise_injection": "yes"},
                                 {"spectral_matching": -1.0}, {"spectral_matching": float("nan")},
                                 {"spectral_matching": "1"}])
def test_bad_params(bad):
    params = dict(segment_length=64, **TINY, max_epochs=1)
    params.update(bad)
    X = _segments(length=params["segment_length"])
    with pytest.raises(ValueError):
        LSTMGAN(**params).fit(X)


def test_wrong_segment_length_is_explained():
    with pytest.raises(ValueError, match="segment_length"):
        LSTMGAN(segment_length=64, **TINY, max_epochs=1).fit(_segments(length=80))


def test_pipeline_after_window_segmenter():
    from ecgsk.preprocessing import WindowSegmenter

    records = make_synthetic_ecgs(3, n_leads=1, n_samples=640, random_state=0)
    pipe = make_pipeline(WindowSegmenter(length=64, stride=32),
                         LSTMGAN(segment_length=64, **TINY, max_epochs=1, random_state=0))
    pipe.fit(records)
    assert pipe[-1].n_features_in_ == 1
    out = pipe.sample(3, random_state=0)
    assert out.shape == (3, 1, 64) and np.isfinite(out).all()


def test_pipeline_after_beat_segmenter():
    from ecgsk.preprocessing import BeatSegmenter

    records = make_synthetic_ecgs(2, n_leads=1, fs=500, n_samples=2500, random_state=0)
    pipe = make_pipeline(BeatSegmenter(length=400, fs=500),
                         LSTMGAN(segment_length=400, **TINY, max_epochs=1, random_state=0))
    pipe.fit(records)
    out = pipe.sample(2, random_state=0)
    assert out.shape == (2, 1, 400) and np.isfinite(out).all()


def test_registry_finds_model():
    import ecgsk

    assert ecgsk.get_model("lstm_gan") is LSTMGAN
    assert isinstance(ecgsk.make_model("lstm_gan", max_epochs=1), LSTMGAN)


def test_fits_real_ludb_heartbeat_windows(data_dir):
    """Tiny fit on real LUDB lead-II windows of the reference protocol."""
    path = data_dir / "ludb"
    from ecgsk.datasets import load_ludb
    from ecgsk.preprocessing import WindowSegmenter

    X, _ = load_ludb(path)
    lead_ii = X[:6, 1:2, 100:]
    W = WindowSegmenter(length=400, stride=100).fit_transform(lead_ii)
    am = W[:, 0].argmax(axis=1)
    W = W[(am >= 125) & (am <= 250)]
    assert len(W) > 20
    gan = LSTMGAN(**TINY, max_epochs=1, random_state=0).fit(W)
    out = gan.sample(5)
    assert out.shape == (5, 1, 400)
    assert np.abs(out).max() <= np.abs(W).max() + 1e-6
    assert _finite(gan.history_, "d_loss")
    assert isinstance(clone(gan), LSTMGAN)


def test_cpu_params_is_a_valid_scaled_down_setting_that_trains():
    preset = LSTMGAN.cpu_params()
    assert set(preset) <= set(LSTMGAN().get_params())
    gan = LSTMGAN(**preset)
    reference = LSTMGAN()
    # smaller networks than the reference, with the stabilisers switched on
    assert gan.width < reference.width and gan.d_width < (reference.d_width or reference.width)  # None: = width
    assert gan.lstm_units < reference.lstm_units
    assert gan.minibatch_std and gan.feature_matching > 0 and gan.ema_decay and gan.spectral_matching > 0
    assert LSTMGAN.cpu_params() is not preset  # a fresh dict each call: editing one leaves the preset alone
    # the preset's stabilisers train at test sizes (networks shrunk further, two epochs)
    X = _segments(n=16, length=64)
    small = {**preset, "width": 0.125, "d_width": 0.125, "lstm_units": 4, "latent_dim": 4, "kernel_size": 5,
             "batch_size": 8, "max_epochs": 0, "segment_length": 64, "device": "cpu", "random_state": 0}
    init = LSTMGAN(**small).fit(X)
    fitted = LSTMGAN(**{**small, "max_epochs": 2}).fit(X)
    assert _finite(fitted.history_, "d_loss") and _finite(fitted.history_, "g_loss")
    assert any(not torch.equal(p, q) for p, q in zip(init.generator_.parameters(), fitted.generator_.parameters()))
    assert np.isfinite(fitted.sample(2, random_state=0)).all()
