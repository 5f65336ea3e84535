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

Both train on the engine of :mod:`ecgsk.nn.engine` (batching, seeding, warm
start, callbacks, faults, torch.distributed); this module holds the network,
the loss and the engine's hooks.
"""

import math
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

from ..base import GeneratorMixin, Interval, Options, RiskMixin, Satisfies, _in_memory, _map_chunks, reject_sample_weight
from ..datasets.dataset import is_lazy_ecg, lead_statistics
from ..preprocessing.conditions import ConditionEncoder
from ..utils.constraints import TORCH_PARAMETER_CONSTRAINTS
from ..utils.validation import check_latent_array
from ..nn.callbacks import EarlyStopping
from ..nn.engine import TorchEstimatorMixin
from ..nn.survival import cox_ph_loss, fit_linear_cox, select_cox_penalty

__all__ = ["ConditionalVAE", "CoxConditionalVAE"]

def _standardise_rows(X, mean, scale):
    """Per-lead ``(X - mean) / scale`` as float32, row by row (lazily read training data)."""
    return ((X - mean[None, :, None]) / scale[None, :, None]).astype(np.float32)


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

    def forward(self, x, c, sample=True):
        """``(reconstruction, mu, logvar, risk)`` of beats ``x`` given conditions ``c``.

        ``z`` is drawn from ``q(z | x, c)`` (torch's generator) when ``sample``,
        else it is the mean; ``risk`` (at the mean) is None without a risk head.
        """
        mu, logvar = self.encode(x, c)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        risk = None if self.risk is None else self.risk_score(mu, c)
        return self.decode(z, c), mu, logvar, risk

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


class ConditionalVAE(TorchEstimatorMixin, GeneratorMixin, BaseEstimator):
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
    the batch and minimised by Adam.  Training runs on the engine of
    :mod:`ecgsk.nn.engine`: one Adam step per batch.

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
    latent_sampling : {"prior", "mixture"}, default="prior"
        Where ``sample`` draws its latent vectors.  ``"prior"`` is the VAE's
        ``N(0, I)``.  ``"mixture"`` is a Gaussian mixture of
        ``latent_components`` full-covariance components fitted, once training
        has ended, to the latent means of the training beats (ex-post density
        estimation, Ghosh et al., ICLR 2020): it follows the aggregate
        posterior where ``N(0, I)`` would decode from regions no training beat
        occupies.  ``transform``, ``inverse_transform`` and ``score`` are the
        same for both.  With ``kl_weight=1e-4`` it is the measured setting for
        sharp beats: on the CinC 2021 records (``benchmarks/bench_cvae_beats.py``,
        seeds 0/1/2) the samples' R-amplitude distribution was within the
        real-vs-real floor in 12 / 10 / 12 of 12 leads, against 7 / 9 / 7 for
        the defaults, whose QRS complexes come out at 0.5-0.85 of the real
        amplitude (``docs/benchmarks.md``).  The defaults are unchanged so far.
    latent_components : int, default=10
        Components of the ``"mixture"`` (at most the number of training
        beats); unused with ``"prior"``.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=32
        Beats per step (the global batch under torch.distributed).  A last
        batch of one beat joins the one before it (batch norm needs two).
    max_epochs : int, default=100
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training beats and stop when the
        validation loss has not improved (by more than 1e-6) for
        ``n_iter_no_change`` epochs; the best epoch's weights are restored.
        It adds the engine's callback ``EarlyStopping(monitor="valid_loss",
        patience=n_iter_no_change, min_delta=1e-6)``; an ``EarlyStopping``
        given in ``callbacks`` takes its place.  When fewer than two beats
        would be left to train on, nothing is held out and training runs
        ``max_epochs`` epochs.
    validation_fraction : float, default=0.1
        Share of the beats held out for validation (the ``valid_*`` keys of
        ``history_``), drawn from the estimator's RNG.  Used with
        ``early_stopping``, or when ``callbacks`` holds an ``EarlyStopping``
        that monitors a ``valid_*`` key; otherwise every beat is trained on.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    n_filters : int, default=5
        Filters of each convolution.
    kernel_size : int, default=40
        Width of the temporal convolutions, in samples (80 ms at 500 Hz).
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState or None, default=None
        Makes ``fit`` and ``sample`` reproducible.
    verbose : int, default=0
        Show a progress bar over epochs with the latest losses.
    warm_start : bool, default=False
        Continue training the fitted network (with the same condition encoding
        and amplitude scaling, so the conditions need the same columns) on the
        next ``fit``.  A change of the beat shape or of a parameter that shapes
        the network starts afresh.
    callbacks : list of ecgsk.nn.callbacks.Callback or None, default=None
        Training callbacks (checkpoints, LR schedules, early stopping, ...).
        The logged keys are ``"loss"``, ``"recon"`` and ``"kl"``, and
        ``"valid_loss"``, ``"valid_recon"`` and ``"valid_kl"`` on held-out
        beats.
    precision : {"32", "bf16"}, default="32"
        Training precision; ``"bf16"`` trains under bfloat16 autocast.
    gradient_clip : float or None, default=None
        Clip each Adam step's gradients to this total norm.
    num_workers : int, default=0
        DataLoader worker processes that read the training batches when
        ``fit`` gets a memory-mapped array or an
        :class:`~ecgsk.datasets.ECGDataset` of beats (0 reads them in the
        main process; in-memory input never uses workers).  The fit is the
        same for every value.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads.
    n_timepoints_in_ : int
        Beat length in samples.
    condition_columns_ : list of str
        Names of the condition columns seen in ``fit``.
    conditions_encoder_ : ConditionEncoder
        The encoding of the conditions learned in ``fit`` (numeric and binary
        columns standardised, categorical ones one-hot, multi-label ones such
        as diagnoses multi-hot; ``conditions_encoder_.feature_names_out_``
        names the network's condition inputs).
    ecg_mean_, ecg_scale_ : ndarray of shape (n_leads,)
        Per-lead amplitude centring and scaling learned in ``fit`` (mV).
    network_ : torch.nn.Module
        The fitted encoder/decoder.
    latent_mixture_weights_ : ndarray of shape (n_components,)
        With ``latent_sampling="mixture"``: the mixture's weights; its means
        are ``latent_mixture_means_`` (n_components, latent_dim) and the
        Cholesky factors of its covariances ``latent_mixture_cholesky_``
        (n_components, latent_dim, latent_dim).
    history_ : list of dict
        One dict per epoch: ``"epoch"``, ``"dur"`` (seconds), the epoch's mean
        training ``"loss"`` (``recon + kl_weight * kl``), ``"recon"`` and
        ``"kl"``; with a validation split also ``"valid_loss"``,
        ``"valid_recon"`` and ``"valid_kl"`` (at the latent mean).  It replaces
        the former ``loss_curve_`` (``[h["loss"] for h in history_]``) and
        ``validation_scores_`` (``[h["valid_loss"] for h in history_]``).
    n_iter_ : int
        Epochs run in total (grows with warm starts).
    best_epoch_ : int
        Epoch whose weights were kept by early stopping (the best
        ``valid_loss``); set only when an ``EarlyStopping`` ran in the last
        ``fit``.
    interrupted_ : bool
        True when the last ``fit`` was stopped by Ctrl-C.

    Notes
    -----
    Conditions are a DataFrame or 2-D array with one row per beat, encoded by
    :class:`~ecgsk.preprocessing.ConditionEncoder`: numeric columns (age,
    BMI, ...) standardised with statistics learned in ``fit``; binary
    columns (sex as ``M``/``F``, ``male``/``female`` -- male = 1, female =
    0 -- or 0/1); categorical text columns one-hot; multi-label columns whose
    cells are lists (diagnoses such as PTB-XL superclasses, ``["MI"]``)
    multi-hot.  ``sample(n, conditions={"age": 60, "sex": "M", "dx": ["MI"]})``
    draws ``n`` beats of one such subject.  Later calls need exactly the
    fitted columns (an unknown or missing column is a ``ValueError``), and a
    numeric value far outside the training range (``age=300``) warns.  Pass them to ``fit``,
    ``sample``, ``transform``, ``inverse_transform`` and ``score``; in
    :func:`~sklearn.model_selection.cross_validate` or ``GridSearchCV`` route
    them with ``set_fit_request(conditions=True)`` and
    ``set_score_request(conditions=True)`` under
    ``sklearn.config_context(enable_metadata_routing=True)`` (these requests
    are also the defaults, since the model cannot work without conditions).
    A dict of columns (``{"age": [70], "sex": ["M"]}``) is accepted too.

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
    >>> sorted(cvae.history_[-1])
    ['dur', 'epoch', 'kl', 'loss', 'recon']
    """

    tags = {"conditional": True, "requires_conditions": True, "n_leads": 12, "fixed_length_param": "beat_length",
            "training_unit": "median_beat", "min_fit_ecgs": 2, "python_dependencies": ("torch",),
            "lazy_input": True}  # two ECGs at least: batch norm
    parameter_constraints = {
        **{k: v for k, v in TORCH_PARAMETER_CONSTRAINTS.items() if k != "betas"},
        "latent_dim": [Interval(Integral, 1, None)],
        "beat_length": [None, Interval(Integral, 2, None)],
        "n_leads": [Interval(Integral, 1, None)],
        "kl_weight": [Interval(Real, 0, None)],
        "latent_sampling": [Options("prior", "mixture")],
        "latent_components": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 2, None)],
        "max_epochs": [Interval(Integral, 1, None)],
        "early_stopping": [bool],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None)],
        "n_filters": [Interval(Integral, 1, None)],
        "kernel_size": [Interval(Integral, 1, None)],
        "num_workers": [Interval(Integral, 0, None)],
    }
    # ``conditions`` is mandatory, so under metadata routing it is requested by
    # default (``set_*_request(conditions=False)`` still opts out).  Without the
    # transform default, a Pipeline ending in this model refuses routed
    # conditions in ``fit`` unless set_transform_request is called too.
    __metadata_request__fit = {"conditions": True}
    __metadata_request__score = {"conditions": True}
    __metadata_request__transform = {"conditions": True}
    __metadata_request__inverse_transform = {"conditions": True}

    _risk_head = False

    def __init__(
        self,
        latent_dim=10,
        beat_length=400,
        n_leads=12,
        kl_weight=0.01,
        latent_sampling="prior",
        latent_components=10,
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
        warm_start=False,
        callbacks=None,
        precision="32",
        gradient_clip=None,
        num_workers=0,
    ):
        self.latent_dim = latent_dim
        self.beat_length = beat_length
        self.n_leads = n_leads
        self.kl_weight = kl_weight
        self.latent_sampling = latent_sampling
        self.latent_components = latent_components
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
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip
        self.num_workers = num_workers

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

    # -- engine hooks ----------------------------------------------------------------
    def _training_data(self, X, y=None, *, conditions=None, reset=True):
        lazy = is_lazy_ecg(X)
        if reset:
            self.conditions_encoder_ = ConditionEncoder().fit(conditions)
            self.condition_columns_ = list(self.conditions_encoder_.columns_)
            if lazy:  # a memmap or ECGDataset of beats: the per-lead moments over chunks, in float64
                stats = lead_statistics(X)
                self.ecg_mean_, scale = stats["mean"].astype(np.float32), stats["std"]
            else:
                self.ecg_mean_ = X.mean(axis=(0, 2)).astype(np.float32)
                scale = X.std(axis=(0, 2))
            self.ecg_scale_ = np.where(scale > 1e-6, scale, 1.0).astype(np.float32)
        if lazy:  # scaled as each batch is read
            beats = X.map(partial(_standardise_rows, mean=self.ecg_mean_, scale=self.ecg_scale_),
                          n_leads=X.shape[1], n_samples=X.shape[2])
            return {"X": beats, "C": self._encode_conditions(conditions)}
        return {"X": self._scaled(X).astype(np.float32), "C": self._encode_conditions(conditions)}

    def _build_modules(self):
        return {"network_": _CVAENet(
            self.n_features_in_, self.n_timepoints_in_, len(self.conditions_encoder_.feature_names_out_),
            self.latent_dim,
            self.n_filters, self.kernel_size, risk_head=self._risk_head,
            risk_conditions=bool(getattr(self, "risk_conditions", False)),
        )}

    def _can_warm_start(self, X):
        network = self.__dict__.get("network_")
        if network is None or not super()._can_warm_start(X):
            return False
        # the parameters must still build this network (latent_dim, n_filters, kernel_size, the risk head ...):
        # compare the shapes of one built on the meta device, which allocates nothing and draws no random numbers
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            wanted = self._build_modules()["network_"].state_dict()
        have = network.state_dict()
        return {k: v.shape for k, v in wanted.items()} == {k: v.shape for k, v in have.items()}

    def _configure_optimizers(self):
        return {"vae": torch.optim.Adam(self.network_.parameters(), lr=self.lr)}

    def _holds_out(self):
        """Whether this fit holds out ``validation_fraction`` of the rows (see ``validation_fraction``)."""
        return bool(self.early_stopping) or any(
            isinstance(cb, EarlyStopping) and str(cb.monitor).startswith("valid_") for cb in self.callbacks or [])

    def _split_validation(self, data, n_rows, seed):
        # the engine holds out rows whenever validation_fraction is set; these models only with early stopping
        if self._holds_out():
            train, valid = super()._split_validation(data, n_rows, seed)
        else:
            train, valid = np.arange(n_rows), np.arange(0)
        self._split_rows = (train, valid)  # read by _default_callbacks and _on_train_begin, which drops it
        return train, valid

    def _default_callbacks(self):
        _, valid = self.__dict__.get("_split_rows", (None, ()))
        user_stop = any(isinstance(cb, EarlyStopping) for cb in self.callbacks or [])
        if not self.early_stopping or not len(valid) or user_stop:
            return []
        return [EarlyStopping(monitor="valid_loss", patience=self.n_iter_no_change, min_delta=1e-6)]

    def _on_train_begin(self, data, ctx):
        self.__dict__.pop("_split_rows", None)
        self.__dict__.pop("best_epoch_", None)  # an EarlyStopping of this fit sets it again

    _MIXTURE_ATTRIBUTES = ("latent_mixture_weights_", "latent_mixture_means_", "latent_mixture_cholesky_")

    def _on_train_end(self, data, ctx):
        for name in self._MIXTURE_ATTRIBUTES:
            self.__dict__.pop(name, None)
        if self.latent_sampling != "mixture":
            return
        from sklearn.mixture import GaussianMixture

        # every process holds the same rows and seed, so every process fits the same mixture
        mu = self._predict_batches(lambda x, c: self.network_.encode(x, c)[0], data["X"], data["C"],
                                   name="latent means").astype(np.float64)
        mixture = GaussianMixture(min(self.latent_components, len(mu)), covariance_type="full", reg_covar=1e-4,
                                  random_state=int(ctx.shared_rng.randint(2**31 - 1))).fit(mu)
        self.latent_mixture_weights_ = mixture.weights_
        self.latent_mixture_means_ = mixture.means_
        self.latent_mixture_cholesky_ = np.linalg.cholesky(mixture.covariances_)

    def _loss_terms(self, network, batch, *, sample, gather=None):
        """The loss terms of a batch as tensors, with the latent mean and the risk score (or None)."""
        x = batch["X"]
        recon, mu, logvar, risk = network(x, batch["C"], sample=sample)
        recon_loss = ((recon.float() - x) ** 2).flatten(1).mean(1).mean()
        mu, logvar = mu.float(), logvar.float()
        kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
        return {"loss": recon_loss + self.kl_weight * kl, "recon": recon_loss, "kl": kl}, risk

    def _training_step(self, batch, ctx):
        terms, _ = self._loss_terms(ctx.modules["network_"], batch, sample=True, gather=ctx.gather)
        ctx.optimizer_step("vae", terms["loss"])
        return {k: v.item() for k, v in terms.items()}

    def _validation_step(self, batch, ctx):
        # every process holds all the validation rows: no gathering
        terms, _ = self._loss_terms(self.network_, batch, sample=False)
        return {k: v.item() for k, v in terms.items()}

    # -- inference helpers --------------------------------------------------------
    def _scaled(self, X):
        return (X - self.ecg_mean_[None, :, None]) / self.ecg_scale_[None, :, None]

    def _unscaled(self, X):
        return X * self.ecg_scale_[None, :, None] + self.ecg_mean_[None, :, None]

    def _encode(self, X, C):
        """Latent means and log-variances, ``(n, latent_dim)`` each, of beats in mV."""
        out = self._predict_batches(lambda x, c: torch.cat(self.network_.encode(x, c), dim=1),
                                    self._scaled(X).astype(np.float32), C, name="latent codes")
        return out[:, :self.latent_dim], out[:, self.latent_dim:]

    def _decode(self, Z, C):
        out = self._predict_batches(self.network_.decode, np.asarray(Z, dtype=np.float32), C, name="beats")
        return self._unscaled(out).astype(np.float32)

    # -- public API beyond the mixin ------------------------------------------------
    def _sample(self, n_samples, conditions, rng):
        C = self._encode_conditions(conditions)
        Z = rng.standard_normal((n_samples, self.latent_dim))
        if self.latent_sampling == "mixture":
            weights = self.latent_mixture_weights_
            component = rng.choice(len(weights), size=n_samples, p=weights / weights.sum())
            Z = self.latent_mixture_means_[component] + np.einsum(
                "nij,nj->ni", self.latent_mixture_cholesky_[component], Z)
        return self._decode(Z.astype(np.float32), C)

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
        # a memmap or ECGDataset is encoded a chunk at a time
        return _map_chunks(X, lambda beats, c: self._encode(beats, self._encode_conditions(c))[0], conditions)

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
        conditions = self._check_conditions_arg(conditions, len(Z), allow_broadcast=True)
        return self._decode(Z, self._encode_conditions(conditions))

    def score_samples(self, X, conditions=None):
        """Evidence lower bound of each beat, in nats, for beats in mV.

        The likelihood is a unit-variance Gaussian on the internally scaled
        amplitudes, mapped back to mV with the scaling's Jacobian; the
        expectation over ``q(z | x)`` is evaluated at its mean (deterministic).

        Parameters
        ----------
        X : array-like of shape (n_beats, n_leads, beat_length)
            Beats in mV.
        conditions : DataFrame, dict or array-like of shape (n_beats, n_covariates)
            The beats' covariates, with the columns seen in ``fit``.

        Returns
        -------
        ndarray of float64, shape (n_beats,)
        """
        self._check_fitted()
        X = _in_memory(self._validate_ecg(X, reset=False))
        conditions = self._check_conditions_arg(conditions, len(X))
        C = self._encode_conditions(conditions)
        mu, logvar = self._encode(X, C)
        recon = self._scaled(self._decode(mu, C))
        sse = ((recon - self._scaled(X)).astype(np.float64) ** 2).reshape(len(X), -1).sum(1)
        mu, logvar = mu.astype(np.float64), logvar.astype(np.float64)
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
    by its number of events (:func:`ecgsk.nn.survival.cox_ph_loss`).  Under
    torch.distributed the risk sets are those of the global batch (the risk
    scores, times and events of every process are gathered, with their
    gradient).  It is a risk model (``fit(X, y)``, ``predict_risk``,
    ``score`` = Harrell's C-index) that still samples beats.

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
        training rows (not the held-out ones), with zero weights on the latent
        mean, so that training starts from the conditions-only model.
        ``"random"`` is PyTorch's default initialisation.  ``"auto"`` is
        ``"conditions"`` when ``risk_conditions=True``, else ``"random"``.
        A warm start keeps the trained head.
    head_l2 : float, default=0.0
        L2 penalty on the latent part of the risk head, added to the training
        loss.
    head_refit : {"none", "cv_ridge"}, default="none"
        ``"cv_ridge"`` refits the risk head once training has ended (after
        early stopping restored the best epoch): a ridge-penalised linear Cox
        model on the latent means (and the conditions, with
        ``risk_conditions``) of every training row, whose penalty on the
        latent weights is chosen from ``1e-3 ... 10`` by 5-fold
        cross-validated partial likelihood
        (:func:`ecgsk.nn.survival.select_cox_penalty`); the chosen one is
        ``head_penalty_``.  The encoder is the jointly trained one.  Off by
        default: on the tuning half of ``benchmarks/bench_risk.py`` it scored
        a mean C of 0.662 against 0.667 without it (``docs/benchmarks.md``).
    max_epochs : int, default=150
        Upper bound on training epochs; early stopping usually ends sooner.
    early_stopping : bool, default=True
        As :class:`ConditionalVAE`, except that the monitored ``valid_loss``
        is the Cox term alone (negative partial log-likelihood per event of the
        held-out rows, at the latent mean; the full loss when they hold no
        event), and the held-out rows are drawn stratified by event.  The
        weights of the best epoch are restored; ``best_epoch_`` says which.
    validation_fraction : float, default=0.2
        Share of the rows held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without improvement of the validation Cox loss before stopping.
    latent_dim, beat_length, n_leads, kl_weight, latent_sampling, latent_components, lr, batch_size, n_filters, kernel_size : see ConditionalVAE
        The network and its training, as :class:`ConditionalVAE` (same
        defaults).
    device, random_state, verbose, warm_start, callbacks, precision, gradient_clip, num_workers : see ConditionalVAE
        The engine's parameters, as :class:`ConditionalVAE` (same defaults).

    Attributes
    ----------
    network_ : torch.nn.Module
        Encoder, decoder and the risk head ``network_.risk``.
    history_ : list of dict
        As :class:`ConditionalVAE`, plus ``"cox"`` (the training Cox term) and
        ``"valid_cox"``; ``"loss"`` includes ``cox_weight * cox`` and the
        ``head_l2`` penalty, while ``"valid_loss"`` is the monitored Cox term.

    Notes
    -----
    The defaults are the configuration that measured best in the LUDB
    simulated-survival benchmark (``benchmarks/bench_cvae.py``, 5-fold C-index,
    ``docs/benchmarks.md``): 0.673 +/- 0.016 over six seeds (0.656-0.694)
    with age and sex as conditions, against 0.668 for a Cox model on age and
    sex alone, so barely above it; 0.703 / 0.699 / 0.716 over three seeds
    with heart rate as a third condition, against 0.694
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
    >>> "valid_cox" in cox.history_[-1]
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
        "head_refit": [Options("none", "cv_ridge")],
    }
    # RiskMixin comes first (its fit, score and predict_risk), so name the engine's fit loop explicitly
    _fit = TorchEstimatorMixin._fit

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
        head_refit="none",
        latent_sampling="prior",
        latent_components=10,
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
        warm_start=False,
        callbacks=None,
        precision="32",
        gradient_clip=None,
        num_workers=0,
    ):
        super().__init__(
            latent_dim=latent_dim, beat_length=beat_length, n_leads=n_leads, kl_weight=kl_weight,
            latent_sampling=latent_sampling, latent_components=latent_components, lr=lr,
            batch_size=batch_size, max_epochs=max_epochs, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, n_filters=n_filters,
            kernel_size=kernel_size, device=device, random_state=random_state, verbose=verbose,
            warm_start=warm_start, callbacks=callbacks, precision=precision, gradient_clip=gradient_clip,
            num_workers=num_workers,
        )
        self.cox_weight = cox_weight
        self.ties = ties
        self.risk_conditions = risk_conditions
        self.head_init = head_init
        self.head_l2 = head_l2
        self.head_refit = head_refit

    # -- engine hooks ----------------------------------------------------------------
    def _training_data(self, X, y=None, *, conditions=None, reset=True):
        data = super()._training_data(X, y, conditions=conditions, reset=reset)
        event, time = y
        data["event"] = np.asarray(event, dtype=np.float32)
        data["time"] = np.asarray(time, dtype=np.float64)
        return data

    def _validation_labels(self, data):
        # stratified by event, so that the validation partial likelihood has events to rank
        return data["event"]

    def _on_train_begin(self, data, ctx):
        train, _ = self.__dict__.get("_split_rows", (None, None))
        super()._on_train_begin(data, ctx)
        head_init = ("conditions" if self.risk_conditions else "random") if self.head_init == "auto" else self.head_init
        if head_init != "conditions" or ctx.history:  # a warm start keeps the trained head
            return
        # Start the head from a Cox model on the (standardised) conditions alone, latent weights 0:
        # full-batch L-BFGS fit of the partial likelihood of the training rows (not the validation
        # rows of early stopping), tiny ridge for separable data.  Every process computes the same.
        rows = slice(None) if train is None else torch.as_tensor(train)
        c = data["C"][rows].to(ctx.device).double()
        time, event = data["time"][rows].to(ctx.device), data["event"][rows].to(ctx.device)
        w = torch.zeros(c.shape[1], dtype=torch.float64, device=ctx.device, requires_grad=True)
        opt = torch.optim.LBFGS([w], lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = cox_ph_loss(c @ w, time, event, ties=self.ties) + 1e-4 * (w**2).sum()
            loss.backward()
            return loss

        if float(event.sum()) > 0:
            opt.step(closure)
        with torch.no_grad():
            weight = self.network_.risk.weight
            weight.zero_()
            weight[0, self.latent_dim:] = w.detach().to(weight.dtype)

    def _on_train_end(self, data, ctx):
        super()._on_train_end(data, ctx)
        self.__dict__.pop("head_penalty_", None)
        if self.head_refit == "none":
            return
        # the head's coefficients from every training row at once (a mini-batch Cox term is noisy), with the
        # penalty on the latent weights chosen by inner cross-validation; every process computes the same
        C = data["C"]
        mu = self._predict_batches(lambda x, c: self.network_.encode(x, c)[0], data["X"], C, name="latent means")
        features = torch.as_tensor(mu, dtype=torch.float64)
        if self.risk_conditions:
            features = torch.cat([features, torch.as_tensor(np.asarray(C), dtype=torch.float64)], dim=1)
        time, event = torch.as_tensor(data["time"]), torch.as_tensor(data["event"])
        latent = torch.arange(features.shape[1]) < self.latent_dim
        best, _ = select_cox_penalty(features, time, event, self._HEAD_PENALTIES, penalised=latent,
                                     seed=int(ctx.shared_rng.randint(2**31 - 1)), ties=self.ties)
        penalty = torch.where(latent, torch.tensor(best, dtype=torch.float64), torch.tensor(1e-4, dtype=torch.float64))
        w = fit_linear_cox(features, time, event, penalty, ties=self.ties)
        with torch.no_grad():
            weight = self.network_.risk.weight
            weight[0] = w.to(device=weight.device, dtype=weight.dtype)
        self.head_penalty_ = best

    _HEAD_PENALTIES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)

    def _loss_terms(self, network, batch, *, sample, gather=None):
        terms, risk = super()._loss_terms(network, batch, sample=sample)
        gather = gather or (lambda tensor: tensor)
        # the risk sets of the global batch under torch.distributed (identity on one process)
        cox = cox_ph_loss(gather(risk.float()), gather(batch["time"]), gather(batch["event"]), ties=self.ties)
        terms["cox"] = cox
        terms["loss"] = terms["loss"] + self.cox_weight * cox
        if sample and self.head_l2:
            terms["loss"] = terms["loss"] + self.head_l2 * (self.network_.risk.weight[0, :self.latent_dim] ** 2).sum()
        return terms, risk

    def _validation_step(self, batch, ctx):
        logs = super()._validation_step(batch, ctx)
        # early stopping monitors the Cox term alone: the negative partial log-likelihood of the
        # held-out rows per event, at the latent mean (the full loss when they hold no event)
        if float(batch["event"].sum()) > 0:
            logs["loss"] = logs["cox"]
        return logs

    def _validate_chunks(self, chunks, ctx):
        """Held-out rows in several batches (lazily read beats): the Cox term ranks all of them together.

        The reconstruction and KL terms are row-weighted means over the
        batches; the risk scores, times and events are gathered so that the
        partial likelihood is that of all held-out rows, as
        :meth:`_validation_step` computes it on one batch.
        """
        sums, count, risks, times, events = {}, 0, [], [], []
        for batch in chunks:
            terms, risk = ConditionalVAE._loss_terms(self, self.network_, batch, sample=False)
            n = len(batch["X"])
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            count += n
            risks.append(risk.float())
            times.append(batch["time"])
            events.append(batch["event"])
        logs = {k: v / max(count, 1) for k, v in sums.items()}
        event = torch.cat(events)
        cox = float(cox_ph_loss(torch.cat(risks), torch.cat(times), event, ties=self.ties))
        logs["cox"] = cox
        logs["loss"] = logs["loss"] + self.cox_weight * cox
        if float(event.sum()) > 0:
            logs["loss"] = cox
        return logs

    # -- inference ----------------------------------------------------------------
    def _predict_risk(self, X, conditions):
        C = self._encode_conditions(conditions)
        network = self.network_
        return self._predict_batches(lambda x, c: network.risk_score(network.encode(x, c)[0], c),
                                     self._scaled(X).astype(np.float32), C, dtype=np.float64, name="risk scores")

    def score_samples(self, X, conditions=None):
        """Evidence lower bound of each beat (see :meth:`ConditionalVAE.score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_beats, n_leads, beat_length)
            Beats in mV.
        conditions : DataFrame, dict or array-like of shape (n_beats, n_covariates)
            The beats' covariates, with the columns seen in ``fit``.

        Returns
        -------
        ndarray of float64, shape (n_beats,)
        """
        return super().score_samples(X, conditions=conditions)
