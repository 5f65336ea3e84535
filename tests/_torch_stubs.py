"""Tiny torch estimators on the training engine, for the engine and callback tests."""

import os
import signal

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ecgsk.base import GeneratorMixin, ReconstructorMixin
from ecgsk.nn.engine import TorchEstimatorMixin


class TinyReconstructor(TorchEstimatorMixin, ReconstructorMixin, BaseEstimator):
    """Each lead as a learned 1x1 convolution of lead I, trained by MSE.

    ``nan_at`` (epoch, step) makes that step's loss NaN; ``interrupt_at``
    (epoch, step) sends this process a SIGINT in that step, as Ctrl-C would;
    ``raise_at`` raises a RuntimeError there.
    """

    def __init__(self, lr=0.05, max_epochs=3, batch_size=4, device="cpu", random_state=None, verbose=0,
                 warm_start=False, callbacks=None, precision="32", gradient_clip=None, validation_fraction=None,
                 nan_at=None, interrupt_at=None, raise_at=None):
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.nan_at = nan_at
        self.interrupt_at = interrupt_at
        self.raise_at = raise_at

    def _training_data(self, X, y=None, *, reset=True):
        if reset:
            self.scale_ = float(np.abs(X).max()) or 1.0
        return {"X": (X / self.scale_).astype(np.float32)}

    def _build_modules(self):
        return {"net_": nn.Conv1d(1, 12, 1)}

    def _configure_optimizers(self):
        return {"net": torch.optim.SGD(self.net_.parameters(), lr=self.lr)}

    def _training_step(self, batch, ctx):
        X = batch["X"]
        where = (ctx.epoch, ctx.step)
        if self.interrupt_at is not None and where == tuple(self.interrupt_at):
            os.kill(os.getpid(), signal.SIGINT)
        if self.raise_at is not None and where == tuple(self.raise_at):
            raise RuntimeError("boom")
        loss = nn.functional.mse_loss(ctx.modules["net_"](X[:, :1]), X)
        if self.nan_at is not None and where == tuple(self.nan_at):
            loss = loss * float("nan")
        ctx.optimizer_step("net", loss)
        return {"loss": loss.item(), "batch_rows": float(len(X))}

    def _validation_step(self, batch, ctx):
        X = batch["X"]
        return {"loss": nn.functional.mse_loss(self.net_(X[:, :1]), X).item()}

    def _transform(self, X):
        out = self._predict_batches(lambda x: self.net_(x / self.scale_) * self.scale_, X[:, :1])
        return out


class TinyGenerator(TorchEstimatorMixin, GeneratorMixin, BaseEstimator):
    """A 2-module GAN-shaped generator: a linear generator and a linear critic, trained with a
    WGAN-style step of ``n_critic`` critic steps and one generator step."""

    tags = {"n_leads": 1, "fixed_length_param": "length"}

    def __init__(self, length=32, n_critic=2, lr=1e-3, max_epochs=2, batch_size=4, device="cpu",
                 random_state=None, verbose=0, warm_start=False, callbacks=None, precision="32",
                 gradient_clip=None):
        self.length = length
        self.n_critic = n_critic
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip

    def _build_modules(self):
        return {"generator_": nn.Linear(8, self.length), "critic_": nn.Linear(self.length, 1)}

    def _configure_optimizers(self):
        return {"generator": torch.optim.Adam(self.generator_.parameters(), lr=self.lr),
                "critic": torch.optim.Adam(self.critic_.parameters(), lr=self.lr)}

    def _training_step(self, batch, ctx):
        real = batch["X"][:, 0]
        g, c = ctx.modules["generator_"], ctx.modules["critic_"]
        noise = lambda: torch.as_tensor(ctx.rng.standard_normal((len(real), 8)), dtype=torch.float32)
        for _ in range(self.n_critic):
            critic_loss = c(g(noise()).detach()).mean() - c(real).mean()
            ctx.optimizer_step("critic", critic_loss)
        with ctx.frozen("critic_"):
            generator_loss = -self.critic_(g(noise())).mean()
            ctx.optimizer_step("generator", generator_loss)
        return {"critic": critic_loss.item(), "generator": generator_loss.item()}

    def _sample(self, n_samples, conditions, rng):
        noise = rng.standard_normal((n_samples, 8)).astype(np.float32)
        return self._predict_batches(lambda z: self.generator_(z)[:, None, :], noise)
