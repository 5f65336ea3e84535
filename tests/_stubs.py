"""Tiny honest estimators used by the core tests.

The NumPy ones need no torch; :class:`PairGenerator` (for the save/load tests)
is defined only when torch is installed.
"""

import copy

import numpy as np
from sklearn.base import BaseEstimator

from ecgsk.base import BaseECGTransformer, GeneratorMixin, InvertibleTransformerMixin, ReconstructorMixin, RiskMixin


class GainScaler(InvertibleTransformerMixin, BaseECGTransformer):
    """Divides every lead by its fitted max-abs amplitude."""

    def _fit(self, X):
        self.scale_ = np.abs(X).max(axis=(0, 2)) + 1e-6

    def _transform(self, X):
        return X / self.scale_[None, :, None]

    def _inverse_transform(self, X):
        return X * self.scale_[None, :, None]


class LeastSquaresReconstructor(ReconstructorMixin, BaseEstimator):
    """Each lead as a least-squares multiple of lead I."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit(self, X, y=None, *, rng):
        lead_i = X[:, :1]
        self.coef_ = (X * lead_i).sum(axis=(0, 2)) / max(float((lead_i**2).sum()), 1e-12)

    def _transform(self, X):
        return X * self.coef_[None, :, None]


class AmplitudeRisk(RiskMixin, BaseEstimator):
    """Risk = a fitted sign times the mean absolute amplitude of the first lead."""

    tags = {"conditional": True}

    def __init__(self, lead=0):
        self.lead = lead

    def _fit(self, X, y, *, rng, conditions=None):
        event, time = y
        amp = np.abs(X[:, self.lead]).mean(axis=1)
        self.sign_ = -1.0 if np.corrcoef(amp, time)[0, 1] > 0 else 1.0

    def _predict_risk(self, X, conditions):
        risk = self.sign_ * np.abs(X[:, self.lead]).mean(axis=1)
        if conditions is not None:
            risk = risk + 0.0 * conditions.to_numpy(dtype=float).sum(axis=1)
        return risk


try:
    import torch
    from torch import nn

    from ecgsk.nn.base import TorchModelMixin, seeded, to_numpy, to_tensor
except ImportError:  # pragma: no cover - torch is a dependency; the NumPy stubs above work without it
    torch = None

if torch is not None:

    class _Decoder(nn.Module):
        """hidden -> signal, plus a buffer ``offset`` (the training mean) added to the output."""

        def __init__(self, hidden, length):
            super().__init__()
            self.linear = nn.Linear(hidden, length)
            self.register_buffer("offset", torch.zeros(length))

        def forward(self, h):
            return self.linear(h) + self.offset

    class PairGenerator(TorchModelMixin, GeneratorMixin, BaseEstimator):
        """A tiny torch generator: ``mapper_`` (Linear + BatchNorm) then ``decoder_`` (Linear + a buffer).

        Not on the training engine: ``_fit`` builds the modules with
        ``_build_modules`` and takes ``n_steps`` SGD steps matching the mean
        and spread of the training ECGs.  It keeps an average copy of the
        decoder as ``decoder_ema_``, a fitted tensor ``center_``, an optimizer
        in ``_optimizers_`` (never saved) and, with ``bf16=True``, a bfloat16
        decoder.  ``sample`` uses ``decoder_ema_``.
        """

        tags = {"n_leads": 1, "fixed_length_param": "length", "python_dependencies": ("torch",)}

        def __init__(self, length=16, latent_dim=4, hidden=8, n_steps=5, lr=0.1, bf16=False, device="cpu",
                     random_state=None):
            self.length = length
            self.latent_dim = latent_dim
            self.hidden = hidden
            self.n_steps = n_steps
            self.lr = lr
            self.bf16 = bf16
            self.device = device
            self.random_state = random_state

        def _build_modules(self):
            mapper = nn.Sequential(nn.Linear(self.latent_dim, self.hidden), nn.BatchNorm1d(self.hidden), nn.Tanh())
            return {"mapper_": mapper, "decoder_": _Decoder(self.hidden, self.length)}

        def _fit(self, X, y=None, *, rng):
            device = self._reset_device()
            self.scale_ = np.float32(np.abs(X).max() or 1.0)
            data = to_tensor(X[:, 0] / self.scale_, device)
            with seeded(rng):
                for name, module in self._build_modules().items():
                    setattr(self, name, module.to(device))
                self.initial_weight_ = to_numpy(self.decoder_.linear.weight).copy()
                params = list(self.mapper_.parameters()) + list(self.decoder_.parameters())
                self._optimizers_ = {"sgd": torch.optim.SGD(params, lr=self.lr)}
                self.loss_curve_ = []
                for _ in range(int(self.n_steps)):
                    fake = self.decoder_(self.mapper_(torch.randn(len(data), self.latent_dim, device=device)))
                    loss = ((fake.mean(0) - data.mean(0)) ** 2).mean() + ((fake.std(0) - data.std(0)) ** 2).mean()
                    self._optimizers_["sgd"].zero_grad()
                    loss.backward()
                    self._optimizers_["sgd"].step()
                    self.loss_curve_.append(float(loss.item()))
            with torch.no_grad():
                self.decoder_.offset.copy_(data.mean(0) * 0.5)
            self.center_ = data.mean(0).detach()
            self.mapper_.eval()
            self.decoder_ema_ = copy.deepcopy(self.decoder_).requires_grad_(False)
            with torch.no_grad():
                for p in self.decoder_ema_.parameters():
                    p.mul_(0.9)
            if self.bf16:
                self.decoder_ema_.to(torch.bfloat16)
            return self

        def _sample(self, n_samples, conditions, rng):
            z = to_tensor(rng.standard_normal((n_samples, int(self.latent_dim))).astype(np.float32), self.device_)
            with torch.no_grad():
                h = self.mapper_(z)
                dtype = next(self.decoder_ema_.parameters()).dtype
                out = self.decoder_ema_(h.to(dtype)).float() + 0.0 * self.center_
            return to_numpy(out)[:, None, :] * self.scale_
