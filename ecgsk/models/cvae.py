"""Conditional variational autoencoder for 12-lead median beats, and its Cox variant.

After Sang et al., "Generation of 12-lead electrocardiogram with subject-specific,
image-derived characteristics using a conditional variational autoencoder",
ISBI 2022 (reference code: github.com/YulingSang/CVAE_ECG).  The code here is
written from the paper's description, not copied.

- :class:`ConditionalVAE` learns ``p(beat | age, sex, BMI, ...)``: it samples
  median beats for a subject's covariates, encodes beats to a latent space and
  decodes them back.
- :class:`CoxConditionalVAE` adds a linear Cox risk head on the latent mean,
  trained jointly with the negative Cox partial log-likelihood
  (:func:`ecgsk.nn.survival.cox_ph_loss`).
"""

import copy
import math

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

from ..base import GeneratorMixin, Interval, Options, RiskMixin, Satisfies, reject_sample_weight
from ..preprocessing.conditions import ConditionEncoder
from ..utils.constraints import TORCH_PARAMETER_CONSTRAINTS
from ..utils.validation import check_latent_array
from ..nn.base import TorchModelMixin, progress, seeded, to_numpy, to_tensor
from ..nn.survival import cox_ph_loss

__all__ = ["ConditionalVAE", "CoxConditionalVAE"]

# -- network -----------------------------------------------------------------------
def _same_pad(kernel_size):
    """Zero padding that keeps the length through a width-``kernel_size`` convolution."""
    return nn.ZeroPad2d(((kernel_size - 1) // 2, kernel_size // 2, 0, 0))


class _TemporalMerge(nn.Module):
    """``Conv2d(n_filters, 1, (1, kernel_size), padding="same")`` computed as a depthwise 1-D convolution.

    Same function and parameter count; summing a grouped convolution over the
    filters runs about twice as fast on CPU as the single-output-channel
    convolution, whose backward pass dominates training time.
    """

    def __init__(self, n_filters, kernel_size):
        super().__init__()
        self.kernel_size = kernel_size
        bound = 1.0 / math.sqrt(n_filters * kernel_size)  # Conv2d's default initialisation range
        self.weight = nn.Parameter(torch.empty(n_filters, 1, kernel_size).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(1).uniform_(-bound, bound))

    def forward(self, h):  # (n, F, leads, T) -> (n, leads, T)
        n, f, leads, t = h.shape
        x = h.permute(0, 2, 1, 3).reshape(n * leads, f, t)
        x = F.pad(x, ((self.kernel_size - 1) // 2, self.kernel_size // 2))
        out = F.conv1d(x, self.weight, groups=f).sum(1)
        return out.view(n, leads, t) + self.bias


class _CVAENet(nn.Module):
    """Encoder/decoder of Sang et al. with an optional linear Cox head on the latent mean."""

    def __init__(self, n_leads, length, n_cond, latent_dim, n_filters, kernel_size, risk_head=False,
                 risk_conditions=False):
        super().__init__()
        self.length = length
        self.pooled = length // 2
        hidden = n_filters * self.pooled
        self.temporal = nn.Sequential(
            _same_pad(kernel_size), nn.Conv2d(1, n_filters, (1, kernel_size)), nn.ELU(), nn.BatchNorm2d(n_filters)
        )
        self.spatial = nn.Sequential(
            nn.Conv2d(n_filters, n_filters, (n_leads, 1)), nn.ELU(), nn.BatchNorm2d(n_filters)
        )
        self.pool = nn.AvgPool2d((1, 2))
        self.enc_norm = nn.BatchNorm1d(hidden + n_cond)
        self.mu = nn.Linear(hidden + n_cond, latent_dim)
        self.logvar = nn.Linear(hidden + n_cond, latent_dim)
        self.dec_dense = nn.Sequential(nn.Linear(latent_dim + n_cond, hidden), nn.ELU())
        self.unpool = nn.Upsample(scale_factor=(1, 2), mode="nearest")
        self.dec_spatial = nn.Sequential(
            nn.ConvTranspose2d(n_filters, n_filters, (n_leads, 1)), nn.ELU(), nn.BatchNorm2d(n_filters)
        )
        self.dec_temporal = _TemporalMerge(n_filters, kernel_size)
        self.n_filters = n_filters
        self.risk_conditions = risk_conditions
        self.risk = nn.Linear(latent_dim + (n_cond if risk_conditions else 0), 1, bias=False) if risk_head else None

    def risk_score(self, mu, c):
        return self.risk(torch.cat([mu, c], dim=1) if self.risk_conditions else mu)[:, 0]

    def encode(self, x, c):
        h = self.pool(self.spatial(self.temporal(x[:, None])))  # (n, F, 1, L//2)
        h = self.enc_norm(torch.cat([h.flatten(1), c], dim=1))
        return self.mu(h), self.logvar(h).clamp(-20.0, 20.0)

    def decode(self, z, c):
        h = self.dec_dense(torch.cat([z, c], dim=1)).view(len(z), self.n_filters, 1, self.pooled)
        out = self.dec_temporal(self.dec_spatial(self.unpool(h)))  # (n, leads, 2*(L//2))
        if out.shape[-1] < self.length:  # odd length
            out = F.pad(out, (0, self.length - out.shape[-1]), mode="replicate")
        return out


class ConditionalVAE(GeneratorMixin, TorchModelMixin, BaseEstimator):
    """Conditional VAE of 12-lead median beats given per-subject covariates (Sang et al., ISBI 2022).

    The encoder is a temporal convolution (``n_filters`` filters of width
    ``kernel_size``, ELU, batch norm), a spatial convolution across all leads
    (ELU, batch norm), average pooling by 2, then the flattened features are
    concatenated with the standardised conditions, batch-normalised, and mapped
    by dense layers to the latent mean and log-variance.  The decoder mirrors
    it with the conditions concatenated to ``z``.  The loss per beat is its mean
    squared error over leads and time (on internally scaled amplitudes: each
    lead centred and divided by its standard deviation) plus ``kl_weight``
    times the KL divergence of ``q(z | x, c)`` from ``N(0, I)``, averaged over
    the batch and minimised by Adam.

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the latent space.
    beat_length : int or None, default=400
        Samples per beat (400 = 0.8 s at 500 Hz, what
        :class:`~ecgsk.preprocessing.MedianBeat` returns by default).  ``fit``
        rejects other lengths; ``None`` takes the length of the training beats.
    n_leads : int, default=12
        Number of leads.
    kl_weight : float, default=0.01
        Weight of the KL term against the per-beat mean squared error.  With
        ``L`` leads x ``T`` samples it is the beta of a beta-VAE whose
        reconstruction term is the sum of squared errors, times ``L * T``
        (0.01 x 4800 = beta 48 for 12 x 400 beats); smaller values reconstruct
        better but let the posterior drift from the prior, so samples from
        ``N(0, I)`` lose their QRS complexes.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=32
    max_epochs : int, default=100
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training beats and stop when the
        validation loss has not improved for ``n_iter_no_change`` epochs; the
        best weights are kept.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    n_filters : int, default=5
        Filters of each convolution.
    kernel_size : int, default=40
        Width of the temporal convolutions, in samples (80 ms at 500 Hz).
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState or None, default=None
        Makes ``fit`` and ``sample`` reproducible.
    verbose : int, default=0
        Show a progress bar over epochs.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads.
    n_timepoints_in_ : int
        Beat length in samples.
    condition_columns_ : list of str
        Names of the condition columns seen in ``fit``.
    ecg_mean_, ecg_scale_ : ndarray of shape (n_leads,)
        Per-lead amplitude centring and scaling learned in ``fit`` (mV).
    network_ : torch.nn.Module
        The fitted encoder/decoder.
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_scores_ : list of float
        Validation loss per epoch (with ``early_stopping``).
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        Epoch (1-based) whose weights were kept: the best validation epoch with
        ``early_stopping``, else the last.

    Notes
    -----
    Conditions are a DataFrame or 2-D array with one row per beat: any numeric
    or binary columns (age, sex, BMI, ...).  Sex may be ``M``/``F``,
    ``male``/``female`` (encoded male = 1, female = 0) or numbers.  They are
    standardised with statistics learned in ``fit``.  Pass them to ``fit``,
    ``sample``, ``transform``, ``inverse_transform`` and ``score``; in
    :func:`~sklearn.model_selection.cross_validate` or ``GridSearchCV`` route
    them with ``set_fit_request(conditions=True)`` and
    ``set_score_request(conditions=True)`` under
    ``sklearn.config_context(enable_metadata_routing=True)`` (these requests
    are also the defaults, since the model cannot work without conditions).

    Examples
    --------
    >>> import pandas as pd
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> from ecgsk.models.cvae import ConditionalVAE
    >>> X = make_synthetic_ecgs(16, n_samples=200, random_state=0)
    >>> C = pd.DataFrame({"age": range(30, 46), "sex": ["M", "F"] * 8})
    >>> cvae = ConditionalVAE(latent_dim=3, beat_length=200, max_epochs=2, random_state=0).fit(X, conditions=C)
    >>> cvae.sample(4, conditions={"age": [70], "sex": ["M"]}).shape
    (4, 12, 200)
    >>> cvae.transform(X, conditions=C).shape
    (16, 3)
    """

    tags = {"conditional": True, "requires_conditions": True, "n_leads": 12, "fixed_length_param": "beat_length",
            "min_fit_ecgs": 2, "python_dependencies": ("torch",)}  # two ECGs at least: batch norm
    parameter_constraints = {
        **{k: v for k, v in TORCH_PARAMETER_CONSTRAINTS.items() if k not in ("betas", "warm_start")},
        "latent_dim": [Interval(Integral, 1, None)],
        "beat_length": [None, Interval(Integral, 2, None)],
        "n_leads": [Interval(Integral, 1, None)],
        "kl_weight": [Interval(Real, 0, None)],
        "batch_size": [Interval(Integral, 2, None)],
        "max_epochs": [Interval(Integral, 1, None)],
        "early_stopping": [bool],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None)],
        "n_filters": [Interval(Integral, 1, None)],
        "kernel_size": [Interval(Integral, 1, None)],
    }
    # ``conditions`` is mandatory, so under metadata routing it is requested by
    # default (``set_*_request(conditions=False)`` still opts out).  Without the
    # transform default, a Pipeline ending in this model refuses routed
    # conditions in ``fit`` unless set_transform_request is called too.
    __metadata_request__fit = {"conditions": True}
    __metadata_request__score = {"conditions": True}
    __metadata_request__transform = {"conditions": True}
    __metadata_request__inverse_transform = {"conditions": True}

    def __init__(
        self,
        latent_dim=10,
        beat_length=400,
        n_leads=12,
        kl_weight=0.01,
        lr=1e-3,
        batch_size=32,
        max_epochs=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        n_filters=5,
        kernel_size=40,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.latent_dim = latent_dim
        self.beat_length = beat_length
        self.n_leads = n_leads
        self.kl_weight = kl_weight
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def get_test_params(cls):
        """Tiny configurations that fit in about a second on a CPU."""
        return [
            {"latent_dim": 2, "beat_length": 80, "max_epochs": 2, "batch_size": 4, "kernel_size": 9,
             "device": "cpu", "random_state": 0},
            {"latent_dim": 3, "beat_length": 81, "max_epochs": 2, "n_filters": 3, "kernel_size": 8,
             "early_stopping": True, "validation_fraction": 0.25, "device": "cpu", "random_state": 0},
        ]

    def _encode_conditions(self, conditions):
        return self.conditions_encoder_.transform(conditions)

    # -- training ------------------------------------------------------------------
    def _build_network(self, n_cond):
        return _CVAENet(
            self.n_features_in_, self.n_timepoints_in_, n_cond, self.latent_dim, self.n_filters, self.kernel_size,
            risk_head=self._risk_head, risk_conditions=bool(getattr(self, "risk_conditions", False)),
        )

    _risk_head = False

    def _fit(self, X, y=None, *, rng, conditions):
        self._train(X, conditions, rng, survival=None)

    def _batch_loss(self, net, x, c, survival, train=True):
        """Loss terms of a batch: (total, recon, kl, cox) as tensors."""
        mu, logvar = net.encode(x, c)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if train else mu
        recon = ((net.decode(z, c) - x) ** 2).flatten(1).mean(1).mean()
        kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
        total = recon + self.kl_weight * kl
        cox = torch.zeros((), device=x.device)
        if survival is not None:
            event, time = survival
            cox = cox_ph_loss(net.risk_score(mu, c), time, event, ties=self.ties)
            total = total + self.cox_weight * cox
            if train and getattr(self, "head_l2", 0.0):
                total = total + self.head_l2 * (net.risk.weight[0, :mu.shape[1]] ** 2).sum()
        return total, recon, kl, cox

    def _train(self, X, conditions, rng, survival):
        device = self._reset_device()
        self.conditions_encoder_ = ConditionEncoder().fit(conditions)
        self.condition_columns_ = list(self.conditions_encoder_.columns_)
        C = self.conditions_encoder_.transform(conditions)
        self.ecg_mean_ = X.mean(axis=(0, 2)).astype(np.float32)
        scale = X.std(axis=(0, 2))
        self.ecg_scale_ = np.where(scale > 1e-6, scale, 1.0).astype(np.float32)
        Xs = (X - self.ecg_mean_[None, :, None]) / self.ecg_scale_[None, :, None]

        n = len(X)
        val_idx, train_idx = self._validation_split(n, rng, survival)
        n_val = len(val_idx)

        Xt, Ct = to_tensor(Xs, device), to_tensor(C, device)
        St = None
        if survival is not None:
            St = (to_tensor(survival[0].astype(np.float32), device), to_tensor(survival[1], device, torch.float64))

        def part(index):
            index_t = torch.as_tensor(index, device=device)
            s = None if St is None else (St[0][index_t], St[1][index_t])
            return Xt[index_t], Ct[index_t], s

        self.loss_curve_, self.validation_scores_ = [], []
        best_val, best_state, stall = np.inf, None, 0
        with seeded(rng):
            net = self._build_network(C.shape[1]).to(device)
            self._init_network(net, *part(train_idx))
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            bar = progress(range(self.max_epochs), total=self.max_epochs, desc=type(self).__name__,
                           verbose=self.verbose)
            epoch = 0
            for epoch in bar:
                net.train()
                order = train_idx[rng.permutation(len(train_idx))]
                batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
                if len(batches) > 1 and len(batches[-1]) < 2:  # batch norm needs 2 rows
                    last = batches.pop()  # popped first: with two batches, [-2] would not exist after the pop
                    batches[-1] = np.concatenate([batches[-1], last])
                total, count = 0.0, 0
                for batch in batches:
                    xb, cb, sb = part(batch)
                    loss = self._batch_loss(net, xb, cb, sb)[0]
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(batch)
                    count += len(batch)
                self.loss_curve_.append(total / count)
                if self.verbose:
                    bar.set_postfix(loss=f"{self.loss_curve_[-1]:.3f}")
                if n_val:
                    net.eval()
                    with torch.no_grad():
                        xb, cb, sb = part(val_idx)
                        val = self._validation_loss(net, xb, cb, sb)
                    self.validation_scores_.append(val)
                    if val < best_val - 1e-6:
                        best_val, best_state, stall = val, copy.deepcopy(net.state_dict()), 0
                        self.best_epoch_ = epoch + 1
                    else:
                        stall += 1
                        if stall >= self.n_iter_no_change:
                            break
        if best_state is not None:
            net.load_state_dict(best_state)
        if not np.isfinite(self.loss_curve_).all():
            raise FloatingPointError(
                f"{type(self).__name__} training diverged (non-finite loss); lower lr or kl_weight"
            )
        net.eval()
        self.network_ = net
        self.n_iter_ = epoch + 1
        if best_state is None:
            self.best_epoch_ = self.n_iter_
        return self

    def _init_network(self, net, x, c, survival):
        """Hook run on the new network with the training rows, before the first epoch."""

    def _validation_split(self, n, rng, survival):
        """(validation, training) row indices; no validation rows without ``early_stopping``."""
        idx = rng.permutation(n)
        n_val = int(math.ceil(self.validation_fraction * n)) if self.early_stopping else 0
        if n - n_val < 2:
            n_val = 0
        return np.sort(idx[:n_val]), np.sort(idx[n_val:])

    def _validation_loss(self, net, x, c, survival):
        """Score monitored by early stopping (lower is better): the training loss at the latent mean."""
        return float(self._batch_loss(net, x, c, survival, train=False)[0])

    # -- inference helpers --------------------------------------------------------
    def _scaled(self, X):
        return (X - self.ecg_mean_[None, :, None]) / self.ecg_scale_[None, :, None]

    def _unscaled(self, X):
        return X * self.ecg_scale_[None, :, None] + self.ecg_mean_[None, :, None]

    def _chunks(self, n, size=512):
        return [slice(i, min(i + size, n)) for i in range(0, n, size)]

    def _encode(self, X, C):
        device = self._torch_device()
        self.network_.eval()
        mus, logvars = [], []
        with torch.no_grad():
            for sl in self._chunks(len(X)):
                mu, logvar = self.network_.encode(to_tensor(self._scaled(X[sl]), device), to_tensor(C[sl], device))
                mus.append(mu)
                logvars.append(logvar)
        return torch.cat(mus), torch.cat(logvars)

    def _decode(self, Z, C):
        device = self._torch_device()
        self.network_.eval()
        out = []
        with torch.no_grad():
            for sl in self._chunks(len(Z)):
                out.append(to_numpy(self.network_.decode(to_tensor(Z[sl], device), to_tensor(C[sl], device))))
        return self._unscaled(np.concatenate(out)).astype(np.float32)

    # -- public API beyond the mixin ------------------------------------------------
    def _sample(self, n_samples, conditions, rng):
        C = self._encode_conditions(conditions)
        Z = rng.standard_normal((n_samples, self.latent_dim)).astype(np.float32)
        return self._decode(Z, C)

    def transform(self, X, conditions=None):
        """Encode beats to their latent means.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_leads, beat_length)
            Beats in mV.
        conditions : DataFrame or array-like of shape (n_beats, n_covariates)

        Returns
        -------
        ndarray of float32, shape (n_beats, latent_dim)

        Examples
        --------
        >>> import pandas as pd
        >>> from ecgsk.datasets import make_synthetic_ecgs
        >>> X = make_synthetic_ecgs(8, n_samples=100, random_state=0)
        >>> C = pd.DataFrame({"age": range(40, 48)})
        >>> m = ConditionalVAE(latent_dim=2, beat_length=100, max_epochs=1, random_state=0).fit(X, conditions=C)
        >>> m.transform(X, conditions=C).shape
        (8, 2)
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        conditions = self._check_conditions_arg(conditions, len(X))
        mu, _ = self._encode(X, self._encode_conditions(conditions))
        return to_numpy(mu)

    def inverse_transform(self, X, conditions=None):
        """Decode latent vectors to beats in mV.

        Parameters
        ----------
        X : array-like of shape (n, latent_dim)
            Latent vectors (``transform``'s output, or draws from ``N(0, I)``).
        conditions : DataFrame or array-like of shape (n, n_covariates)
            A single row is used for every latent vector.

        Returns
        -------
        ndarray of float32, shape (n, n_leads, beat_length)

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from ecgsk.datasets import make_synthetic_ecgs
        >>> X = make_synthetic_ecgs(8, n_samples=100, random_state=0)
        >>> C = pd.DataFrame({"age": range(40, 48)})
        >>> m = ConditionalVAE(latent_dim=2, beat_length=100, max_epochs=1, random_state=0).fit(X, conditions=C)
        >>> m.inverse_transform(np.zeros((3, 2)), conditions={"age": [60]}).shape
        (3, 12, 100)
        """
        self._check_fitted()
        Z = check_latent_array(X, self.latent_dim)
        conditions = self._check_conditions_arg(
            pd.DataFrame(conditions) if isinstance(conditions, dict) else conditions, len(Z), allow_broadcast=True
        )
        return self._decode(Z, self._encode_conditions(conditions))

    def _check_conditions_arg(self, conditions, n, *, allow_broadcast=False):
        # a dict of lists (``{"age": [70], "sex": ["M"]}``) is a convenient one-subject spelling
        if isinstance(conditions, dict):
            conditions = pd.DataFrame(conditions)
        return super()._check_conditions_arg(conditions, n, allow_broadcast=allow_broadcast)

    def score_samples(self, X, conditions=None):
        """Evidence lower bound of each beat, in nats, for beats in mV.

        The likelihood is a unit-variance Gaussian on the internally scaled
        amplitudes, mapped back to mV with the scaling's Jacobian; the
        expectation over ``q(z | x)`` is evaluated at its mean (deterministic).

        Returns
        -------
        ndarray of float64, shape (n_beats,)
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        conditions = self._check_conditions_arg(conditions, len(X))
        C = self._encode_conditions(conditions)
        mu, logvar = self._encode(X, C)
        recon = self._scaled(self._decode(to_numpy(mu), C))
        sse = ((recon - self._scaled(X)).astype(np.float64) ** 2).reshape(len(X), -1).sum(1)
        mu, logvar = mu.double().cpu().numpy(), logvar.double().cpu().numpy()
        kl = -0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(1)
        d = X.shape[1] * X.shape[2]
        log_jac = -X.shape[2] * np.log(self.ecg_scale_.astype(np.float64)).sum()
        return -0.5 * sse - 0.5 * d * np.log(2 * np.pi) + log_jac - kl

    def score(self, X, y=None, conditions=None, sample_weight=None):
        """Mean evidence lower bound (ELBO) per beat, in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_beats, n_leads, beat_length)
        y : ignored
        conditions : DataFrame or array-like of shape (n_beats, n_covariates)
        sample_weight : None
            Exists so that scikit-learn's Pipeline can route metadata; must be None.

        Returns
        -------
        float
        """
        reject_sample_weight(sample_weight)
        return float(np.mean(self.score_samples(X, conditions=conditions)))


class CoxConditionalVAE(RiskMixin, ConditionalVAE):
    """Conditional VAE with a linear Cox risk head on the latent mean.

    The network of :class:`ConditionalVAE` plus ``risk = w . mu(x, c)``, trained
    jointly on ``recon + kl_weight * KL + cox_weight * cox``, where ``cox`` is
    the negative Cox partial log-likelihood of each shuffled mini-batch divided
    by its number of events (:func:`ecgsk.nn.survival.cox_ph_loss`).  It is a
    risk model (``fit(X, y)``, ``predict_risk``, ``score`` = Harrell's C-index)
    that still samples beats.

    Parameters
    ----------
    cox_weight : float, default=0.1
        Weight of the Cox term.  The reference uses 50 on its own loss scale;
        see Notes.
    ties : {"breslow", "efron"}, default="breslow"
        Handling of tied event times in the Cox loss.
    risk_conditions : bool, default=True
        Also give the standardised conditions to the linear risk head
        (``risk = w . [mu, c]``), so that age and sex enter the risk directly
        instead of through the encoder.
    head_init : {"auto", "conditions", "random"}, default="auto"
        Initial risk head.  ``"conditions"`` (needs ``risk_conditions=True``)
        starts it from a Cox model fitted on the standardised conditions of the
        training rows, with zero weights on the latent mean, so that training
        starts from the conditions-only model.  ``"random"`` is PyTorch's
        default initialisation.  ``"auto"`` is ``"conditions"`` when
        ``risk_conditions=True``, else ``"random"``.
    head_l2 : float, default=0.0
        L2 penalty on the latent part of the risk head, added to the training
        loss.
    max_epochs : int, default=150
        Upper bound on training epochs; early stopping usually ends sooner.
    early_stopping : bool, default=True
        As :class:`ConditionalVAE`, except that the monitored validation score
        is the Cox term alone (negative partial log-likelihood per event of the
        held-out rows, at the latent mean), and the held-out rows are drawn
        stratified by event.  The weights of the best epoch are restored;
        ``best_epoch_`` says which.
    validation_fraction : float, default=0.2
        Share of the rows held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without improvement of the validation Cox loss before stopping.
    **others
        As :class:`ConditionalVAE`.

    Attributes
    ----------
    network_ : torch.nn.Module
        Encoder, decoder and the risk head ``network_.risk``.

    Notes
    -----
    The defaults are the configuration that measured best in the LUDB
    simulated-survival benchmark (``benchmarks/bench_cvae.py``, 5-fold C-index,
    ``docs/benchmarks.md``): 0.680 / 0.685 / 0.671 over three seeds with age
    and sex as conditions, against 0.668 for a Cox model on age and sex alone;
    0.703 / 0.699 / 0.716 with heart rate as a third condition, against 0.694
    (a median beat does not show the heart rate; measure it on the records with
    :func:`ecgsk.preprocessing.heart_rate` and pass it as a condition).
    The reference's setting, ``cox_weight=50, risk_conditions=False,
    head_init="random", early_stopping=False``, scored 0.586 there (below the
    conditions alone): with about 160 training subjects the Cox term then
    dominates the reconstruction and the head overfits.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(16, n_samples=100, random_state=0)
    >>> C = pd.DataFrame({"age": np.linspace(30, 80, 16), "sex": ["F", "M"] * 8})
    >>> y = np.column_stack([np.ones(16), np.arange(16, 0, -1.0)])  # (event, time)
    >>> cox = CoxConditionalVAE(latent_dim=2, beat_length=100, max_epochs=2, random_state=0)
    >>> cox.fit(X, y, conditions=C).predict_risk(X, conditions=C).shape
    (16,)
    >>> 0.0 <= cox.score(X, y, conditions=C) <= 1.0
    True
    """

    _risk_head = True
    __metadata_request__predict = {"conditions": True}
    parameter_constraints = {
        "cox_weight": [Interval(Real, 0, None)],
        "ties": [Options("breslow", "efron")],
        "risk_conditions": [bool],
        "head_init": [Options("auto", "random"),
                      Satisfies(lambda value, params: value == "conditions" and bool(params.get("risk_conditions")),
                                "'conditions' (with risk_conditions=True)")],
        "head_l2": [Interval(Real, 0, None)],
    }

    def __init__(
        self,
        latent_dim=10,
        beat_length=400,
        n_leads=12,
        kl_weight=0.01,
        cox_weight=0.1,
        ties="breslow",
        risk_conditions=True,
        head_init="auto",
        head_l2=0.0,
        lr=1e-3,
        batch_size=32,
        max_epochs=150,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
        n_filters=5,
        kernel_size=40,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            latent_dim=latent_dim, beat_length=beat_length, n_leads=n_leads, kl_weight=kl_weight, lr=lr,
            batch_size=batch_size, max_epochs=max_epochs, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, n_filters=n_filters,
            kernel_size=kernel_size, device=device, random_state=random_state, verbose=verbose,
        )
        self.cox_weight = cox_weight
        self.ties = ties
        self.risk_conditions = risk_conditions
        self.head_init = head_init
        self.head_l2 = head_l2

    def _init_network(self, net, x, c, survival):
        head_init = ("conditions" if self.risk_conditions else "random") if self.head_init == "auto" else self.head_init
        if head_init != "conditions":
            return
        # Start the head from a Cox model on the (standardised) conditions alone, latent weights 0:
        # full-batch L-BFGS fit of the partial likelihood of the training rows (not the validation
        # rows of early stopping), tiny ridge for separable data.
        event, time = survival
        w = torch.zeros(c.shape[1], dtype=torch.float64, device=c.device, requires_grad=True)
        cd = c.double()
        opt = torch.optim.LBFGS([w], lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = cox_ph_loss(cd @ w, time, event, ties=self.ties) + 1e-4 * (w**2).sum()
            loss.backward()
            return loss

        if float(event.sum()) > 0:
            opt.step(closure)
        with torch.no_grad():
            net.risk.weight.zero_()
            net.risk.weight[0, self.latent_dim:] = w.detach().to(net.risk.weight.dtype)

    def _fit(self, X, y, *, rng, conditions):
        event, time = y
        self._train(X, conditions, rng, survival=(event, time))

    def _validation_split(self, n, rng, survival):
        # stratified by event so that the validation partial likelihood has events to rank
        val, train = super()._validation_split(n, rng, survival)
        if not len(val) or survival is None:
            return val, train
        event = np.asarray(survival[0]).astype(bool)
        events, censored = np.flatnonzero(event), np.flatnonzero(~event)
        k_events = min(len(events), max(1 if len(events) else 0, int(round(len(val) * len(events) / n))))
        k_censored = min(len(censored), len(val) - k_events)
        picked = [events[rng.permutation(len(events))[:k_events]],
                  censored[rng.permutation(len(censored))[:k_censored]]]
        val = np.sort(np.concatenate(picked))
        return val, np.setdiff1d(np.arange(n), val)

    def _validation_loss(self, net, x, c, survival):
        # Early stopping monitors the Cox term alone: the negative partial log-likelihood of the
        # held-out rows per event, at the latent mean (no reconstruction or KL).
        if survival is None or float(survival[0].sum()) == 0:
            return super()._validation_loss(net, x, c, survival)
        return float(self._batch_loss(net, x, c, survival, train=False)[3])

    def _predict_risk(self, X, conditions):
        C = self._encode_conditions(conditions)
        mu, _ = self._encode(X, C)
        with torch.no_grad():
            return self.network_.risk_score(mu, to_tensor(C, mu.device)).double().cpu().numpy()

    def score_samples(self, X, conditions=None):
        """Evidence lower bound of each beat (see :meth:`ConditionalVAE.score_samples`)."""
        return super().score_samples(X, conditions=conditions)
