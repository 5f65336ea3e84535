"""EKGAN: the paper's architecture, windows of any length, blending, normalisation, parameters, divergence."""

import pickle

import numpy as np
import pytest
import torch

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.models.ekgan import EKGAN, EKGANDiscriminator
from ecgsk.models.pix2pix import UNet2d

from _image_gans import TINY


def test_paper_architecture_shapes():
    """Width 64 gives the paper's filters 64 -> 1024 and a (1024, 1, 16) latent per 512-sample window."""
    g = UNet2d(64)
    assert [layer.conv.out_channels for layer in g.down] == [64, 128, 256, 512, 1024]
    assert all(layer.conv.kernel_size == (2, 4) for layer in g.down)
    with torch.no_grad():
        g.eval()
        img, latent = g(torch.zeros(1, 1, 16, 512))
    assert img.shape == (1, 1, 16, 512) and latent.shape == (1, 1024, 1, 16)
    d = EKGANDiscriminator(64, 512)
    assert [layer.conv.out_channels for layer in d.down] == [32, 64, 128, 256, 512]
    with torch.no_grad():
        d.eval()
        assert d(torch.zeros(1, 1, 16, 512), torch.zeros(1, 1, 16, 512)).shape == (1, 1, 16, 512)

@pytest.mark.parametrize("T", [64, 65, 100, 237, 40])
def test_any_length(fitted, X12, T):
    model = fitted[EKGAN]
    out = model.transform(X12[:2, :1, :T])
    assert out.shape == (2, 12, T) and np.isfinite(out).all()

def test_overlap_blend_is_seamless(fitted, X12):
    """Windows whose outputs disagree (a different constant per window) blend without steps."""
    model = pickle.loads(pickle.dumps(fitted[EKGAN]))
    rng = np.random.RandomState(0)

    class Steps(torch.nn.Module):
        def forward(self, x):
            level = torch.as_tensor(rng.uniform(-3, 3, (len(x), 1, 1, 1)), dtype=x.dtype)
            return torch.zeros_like(x) + level, None

    model.generator_ = Steps()
    model.set_params(batch_size=1)  # one window per call: a different level per window
    T = 5000
    out = model.transform(np.zeros((1, 1, T), np.float32))
    v1 = out[0, 6].astype(np.float64)  # a predicted lead
    # Naively concatenated windows would step by up to 6 (x lead scale); blended ones glide.
    jump = np.abs(np.diff(v1)).max()
    spread = v1.max() - v1.min()
    assert spread > 1.0 * model.lead_scale_[6]
    assert jump < 0.1 * spread
    # The real model: no larger steps at window borders than inside windows.
    real = fitted[EKGAN].transform(make_synthetic_ecgs(1, n_samples=640, random_state=3)[:, :1])
    d2 = np.abs(np.diff(real[0, 6], 2))
    assert d2.max() < 50 * np.median(d2) + 1e-6

def test_normalisation_learned_and_inverted(X12):
    """Scaling the training data scales the output: normalisation is learned in fit, inverted in transform."""
    a = EKGAN(**TINY).fit(X12).transform(X12)
    b = EKGAN(**TINY).fit(10 * X12).transform(10 * X12)
    np.testing.assert_allclose(b, 10 * a, rtol=1e-3, atol=1e-3)

def test_fit_records_history_and_verbose(X12, capsys):
    model = EKGAN(**{**TINY, "max_epochs": 2, "verbose": 1, "amplitude_jitter": 0.1}).fit(X12)
    assert len(model.history_) == 2 and all(np.isfinite(v) for h in model.history_ for v in h.values())
    assert "EKGAN" in capsys.readouterr().err

@pytest.mark.parametrize("params", [{"window": 100}, {"window": 16}, {"stride": 65}, {"train_stride": 0},
                                    {"width": 0}, {"lr": 0.0}, {"amplitude_jitter": 1.0},
                                    {"lambda_l1": -1.0}])
def test_bad_params(X12, params):
    with pytest.raises(ValueError):
        EKGAN(**{**TINY, **params}).fit(X12)

def test_cuda_without_gpu_is_a_clear_error(X12, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # runs the same on a GPU machine
    with pytest.raises(ValueError, match="CUDA"):
        EKGAN(**{**TINY, "device": "cuda"}).fit(X12)

def test_divergence_is_an_error_and_leaves_the_model_unfitted(X12):
    from sklearn.exceptions import NotFittedError

    from ecgsk.exceptions import TrainingDivergedError

    model = EKGAN(**{**TINY, "lr": 1e6, "max_epochs": 5})
    with pytest.raises(TrainingDivergedError, match="diverged"):
        model.fit(X12)
    with pytest.raises(NotFittedError):
        model.transform(X12)
