"""Extension template: copy this file to start a new ecgsk model.

It is the sktime-style "fill in the hooks" template for ecgsk (see
``docs/plugins.md`` for the whole walk-through and
``plugins/ecgsk-example-plugin`` for a complete package built from it).

How to use it
-------------
1. Copy this file into your package, e.g. ``my_ecg_models/my_generator.py``.
2. Rename ``MyGenerator`` and replace every ``TODO`` with your model.
3. Register it in your ``pyproject.toml``::

       [project.entry-points."ecgsk.models"]
       my_generator = "my_ecg_models.my_generator:MyGenerator"

4. Check it with the same checks the built-in models pass: one pytest test
   per check, in your test suite (e.g. ``tests/test_my_generator.py``)::

       from ecgsk.testing import parametrize_with_checks
       from my_ecg_models.my_generator import MyGenerator

       @parametrize_with_checks([MyGenerator])   # every parameter set of get_test_params()
       def test_ecgsk_compatible(estimator, check):
           check(estimator)

   or all at once, as a table: ``print(check_estimator(MyGenerator,
   raise_exceptions=False))`` (with the default ``raise_exceptions=True`` an
   ``AssertionError`` names every failed check); or run this file:
   ``python plugins/extension_template.py``.

The division of labour
----------------------
The public methods (``fit``, ``sample``, ``transform``, ``predict_risk``,
``score``) live in ecgsk's mixins (:mod:`ecgsk.base`).  They validate the
input against the data contract -- float32 ``(n_ecgs, n_leads, n_samples)`` in
mV, no NaN, the right number of leads, ``NotFittedError`` before ``fit`` --
check the constructor parameters against the ``parameter_constraints`` you
declare, set ``n_features_in_`` (the number of leads), seed the random streams
from ``random_state``, and then call the hooks you write.  The hooks
(``_fit``, ``_sample``, ``_transform``, ``_predict_risk``, and
``_inverse_transform`` for invertible transformers) carry an underscore
because they are the template methods behind the public API, not methods a
user calls; they are the part of ecgsk's protocol that you implement.
Everything else is declared with two public class attributes:

- ``tags``: a dict over the vocabulary :data:`ecgsk.base.ESTIMATOR_TAGS`
  (``kind``, ``conditional``, ``requires_conditions``, ``n_leads``,
  ``min_samples``, ``min_fit_ecgs``, ``fixed_length_param``,
  ``training_unit``, ``non_deterministic``, ``python_dependencies``, ``requires_fit``).  An
  unknown name is a ``TypeError`` when the class is defined.  Read the merged
  tags back with ``MyGenerator.get_tags()`` or :func:`ecgsk.base.get_tags`.
- ``parameter_constraints``: parameter name -> list of accepted forms
  (:class:`~ecgsk.base.Interval`, :class:`~ecgsk.base.Options`,
  :class:`~ecgsk.base.Satisfies`, ``None``, a type such as ``bool``, or
  ``"random_state"``), checked at the start of every ``fit``; a bad value is
  a ``ValueError`` naming the parameter.

Your file holds your model, its hooks and these declarations, and **no
validation code**.  (For arguments of methods of your own, not constructor
parameters, use :func:`ecgsk.base.check_int_param` and
:func:`ecgsk.base.check_float_param`.)

=================  ======================  =====================================================
kind               mixin                   hooks you implement
=================  ======================  =====================================================
generator          ``GeneratorMixin``      ``_fit(X, y=None, *, rng)``,
                                           ``_sample(n_samples, conditions, rng)``
reconstructor      ``ReconstructorMixin``  ``_fit(X, y=None, *, rng)`` (X is 12-lead),
                                           ``_transform(X)`` (X is lead I, ``(n, 1, T)``;
                                           return ``(n, 12, T)`` in mV)
risk model         ``RiskMixin``           ``_fit(X, y, *, rng)`` (``y`` is ``(event, time)``),
                                           ``_predict_risk(X, conditions)`` -> ``(n,)``,
                                           higher = earlier event
=================  ======================  =====================================================

Base-class order: for a NumPy model the ecgsk kind mixin first, then
scikit-learn's ``BaseEstimator`` last.  A torch model puts the training
engine, :class:`ecgsk.nn.engine.TorchEstimatorMixin`, *before* the kind
mixin (its ``_fit`` is the engine's fit loop)::

    class MyGenerator(GeneratorMixin, BaseEstimator): ...
    class MyTorchGenerator(TorchEstimatorMixin, GeneratorMixin, BaseEstimator): ...

Torch models on the engine
--------------------------
A torch model writes no ``_fit``: the engine owns seeding, device
placement, shuffling and batching, epochs and warm start, precision,
gradient clipping, callbacks, ``history_``, faults (a NaN loss, Ctrl-C, an
exception in a step) and torch.distributed.  The model supplies hooks:

=========================================  ======================================================
hook                                       what it does
=========================================  ======================================================
``_training_data(X, y=None, *, reset)``    per-ECG arrays to train on (``{"X": ...}``, NumPy,
                                           one row per ECG); on ``reset`` (not a warm start) it
                                           sets fitted non-module attributes such as scales
``_build_modules()``                       ``{"encoder_": nn.Module, ...}``, from constructor
                                           parameters and fitted non-module attributes *only*
                                           (``save`` files rebuild the modules with it)
``_configure_optimizers()``                ``{"vae": torch.optim.Adam(...), ...}``
``_training_step(batch, ctx)``             one step on a dict of tensors on the device; takes its
                                           optimizer steps with ``ctx.optimizer_step(name, loss)``
                                           and returns a dict of float losses (-> ``history_``)
``_validation_step(batch, ctx)``           optional: float scores on held-out rows (needs a
                                           ``validation_fraction`` parameter), logged as
                                           ``valid_<key>``
``_sample`` / ``_transform`` / ...         inference, through ``self._predict_batches(fn, ...)``
                                           (no grad, batched, on the device, NaN-checked)
=========================================  ======================================================

``MyTorchGenerator`` below is a complete, annotated example (a small VAE);
``docs/plugins.md`` explains the hooks, the ``TrainingContext``, callbacks,
the history, faults, ``batch_size`` under torch.distributed and saving.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA

from ecgsk.base import GeneratorMixin, Interval

# Only MyTorchGenerator needs these (a NumPy model imports no torch).
import torch
from torch import nn
from torch.nn import functional as F

from ecgsk.nn.engine import TorchEstimatorMixin
from ecgsk.utils.constraints import TORCH_PARAMETER_CONSTRAINTS

# More constraint forms, when you need them:
# from numbers import Real
# from ecgsk.base import Options, Satisfies

# For the other kinds, import the matching mixin instead:
# from ecgsk.base import ReconstructorMixin, RiskMixin


class MyGenerator(GeneratorMixin, BaseEstimator):
    """TODO one line: what the model is.

    This template's model is deliberately tiny so that the file runs as is:
    a PCA of whole ECGs with Gaussian coefficients (a probabilistic-PCA-like
    generator).  Replace it with yours.

    Parameters
    ----------
    n_components : int, default=4
        TODO: document every parameter.  Number of principal components
        (capped at ``n_ecgs - 1``).
    n_leads : int or None, default=None
        Lead count ``fit`` accepts.  A parameter named ``n_leads`` is read by
        the mixin automatically; ``None`` accepts any number of leads.  A model
        that always needs, say, 8 leads declares the tag ``"n_leads": 8``
        instead.
    random_state : int, RandomState or None, default=None
        Makes ``fit`` and ``sample`` reproducible.  Every model has it.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads seen in ``fit`` (set by the mixin).
    n_timepoints_in_ : int
        Samples per lead seen in ``fit`` (set by the mixin).
    pca_ : sklearn.decomposition.PCA
        TODO: document every fitted attribute.  Fitted state ends in ``_``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(10, n_leads=2, n_samples=500, random_state=0)
    >>> MyGenerator(random_state=0).fit(X).sample(3).shape
    (3, 2, 500)
    """

    # -- declarations read by the mixins (public; see ecgsk.base.ESTIMATOR_TAGS) ----
    # Tags: only those that differ from the defaults.  "kind": ("generator",)
    # comes from GeneratorMixin.
    tags = {
        "min_samples": 2,               # shortest accepted signal in samples (a constant)
        # "n_leads": 8,                 # lead count(s) fit accepts when there is no n_leads parameter
        # "min_fit_ecgs": 2,            # the fewest ECGs fit accepts (batch norm needs 2)
        # "fixed_length_param": "length",  # the parameter that fixes the input length
        # "training_unit": "median_beat",  # `ecgsk train` feeds one median beat per record, not windows
        # "conditional": True,          # fit/sample take conditions= (a DataFrame); route them with
        # "requires_conditions": True,  # set_fit_request(conditions=True) in cross_validate/GridSearchCV
        # "non_deterministic": True,    # e.g. cuDNN kernels: the determinism check is skipped
        # "python_dependencies": ("torch",),
    }

    # Constraints on the constructor parameters, checked at the start of every
    # fit; a value passes if it satisfies any form in its list.  Other forms:
    #   "method": [Options("a", "b")],
    #   "lr": [Interval(Real, 0, None, closed="neither")],
    #   "window": [Interval(Integral, 32, None, multiple_of=32)],
    #   "stride": [Interval(Integral, 1, "window")],      # a bound naming another parameter
    #   "flag": [bool],
    #   "y": [Satisfies(lambda value, params: ..., "words completing 'must be ...'")],
    parameter_constraints = {
        "n_components": [Interval(Integral, 1, None)],
        "n_leads": [None, Interval(Integral, 1, None)],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=4, *, n_leads=None, random_state=None):
        # scikit-learn rule: __init__ stores its parameters unchanged and does
        # nothing else -- no validation, no derived attributes.  The mixin checks
        # them against parameter_constraints when fit is called.
        self.n_components = n_components
        self.n_leads = n_leads
        self.random_state = random_state

    # -- hooks -------------------------------------------------------------------------
    def _fit(self, X, y=None, *, rng):
        """Learn from ``X``.

        ``X`` is already validated: float32 ``(n_ecgs, n_leads, n_samples)`` in mV,
        and so are the parameters (``parameter_constraints``).
        ``rng`` is a :class:`numpy.random.RandomState` derived from
        ``random_state``; draw every random number of the fit from it (for
        torch, wrap the fit in ``with ecgsk.nn.base.seeded(rng):``).
        Conditional models also receive ``conditions=`` (a DataFrame).
        The mixin returns ``self``; the return value here is ignored.
        """
        # TODO: your model.
        n = len(X)
        k = int(min(self.n_components, max(n - 1, 1)))
        self.pca_ = PCA(n_components=k, svd_solver="full").fit(X.reshape(n, -1).astype(np.float64))
        return self

    def _sample(self, n_samples, conditions, rng):
        """Return ``n_samples`` ECGs, shape ``(n_samples, n_leads, n_timepoints)`` in mV.

        ``n_samples`` is a validated positive int.  ``rng`` is either the
        model's own stream (``sample(random_state=None)``) or one made from the
        caller's ``random_state``: draw from it only, never from ``np.random``.
        ``conditions`` is ``None`` or a DataFrame with one row per sample.
        The mixin converts the result to float32.
        """
        # TODO: your sampler.
        std = np.sqrt(self.pca_.explained_variance_)
        coefs = rng.standard_normal((n_samples, len(std))) * std
        flat = self.pca_.inverse_transform(coefs)
        return flat.reshape(n_samples, self.n_features_in_, self.n_timepoints_in_)

    # -- what ecgsk.testing.check_estimator uses ---------------------------------------------
    @classmethod
    def get_test_params(cls):
        """One or more tiny parameter sets that fit in seconds on a CPU.

        ``check_estimator(MyGenerator)`` runs every check once per dict.  Cover
        the main branches of your code (e.g. a fixed lead count).  Torch
        models pass ``"device": "cpu"`` and tiny widths/epochs here.
        """
        return [{"n_components": 2}, {"n_components": 3, "n_leads": 12, "random_state": 0}]

    def get_test_data(self, n_ecgs=8, random_state=0):
        """Optional: the data ``check_estimator`` fits on, as ``(X, fit_params)``.

        The default (in :class:`ecgsk.base.ECGEstimatorMixin`) makes synthetic
        ECGs from :func:`ecgsk.datasets.make_synthetic_ecgs` with the lead count
        of ``n_leads`` / the ``n_leads`` tag (1 when any) and the length of a
        ``length``, ``segment_length``, ``beat_length`` or ``window`` parameter
        (else 1 s); it adds ``conditions`` for conditional models and a
        survival ``y`` for risk models.  Override it when your model needs
        something else -- e.g. signals long enough for several beats, as the
        example plugin does.  This override only shortens the signals.
        """
        from ecgsk.datasets import make_synthetic_ecgs

        n_leads = 1 if self.n_leads is None else self.n_leads
        return make_synthetic_ecgs(n_ecgs, n_leads=n_leads, n_samples=250, random_state=random_state), {}

    # scikit-learn's own estimator tags (3-D input, non-determinism, requires_fit)
    # are derived from the ecgsk tags above: declare ecgsk tags only.


# ---------------------------------------------------------------------------------------
# Notes for the other kinds (sketches; copy the MyGenerator structure around them)
# ---------------------------------------------------------------------------------------
#
# Reconstructor (lead I -> 12 leads):
#
#     class MyReconstructor(ReconstructorMixin, BaseEstimator):
#         # the tag n_leads=12 is inherited: fit takes 12-lead ECGs.
#         def _fit(self, X, y=None, *, rng):      # X: (n, 12, T), lead I is X[:, 0]
#             ...
#         def _transform(self, X):                # X: (n, 1, T), lead I only
#             return Y                            # (n, 12, T) in mV; the mixin writes lead I back exactly
#
#     ``score`` is the mean Pearson r over the 11 reconstructed leads.
#
# Risk model (survival):
#
#     class MyRisk(RiskMixin, BaseEstimator):
#         tags = {"conditional": True}            # if it uses age/sex/... covariates
#         def _fit(self, X, y, *, rng, conditions=None):
#             event, time = y                     # bool (n,), float (n,); validated by the mixin
#             ...
#         def _predict_risk(self, X, conditions):
#             return risk                         # (n,), higher = earlier event
#
#     ``predict`` is ``predict_risk``; ``score`` is Harrell's C-index.  The
#     default get_test_data already supplies a survival y (and conditions when
#     the tag "requires_conditions" is True).
#
# Torch models: see MyTorchGenerator below (a complete model on the training engine).


# ---------------------------------------------------------------------------------------
# A torch model on the training engine
# ---------------------------------------------------------------------------------------
class MyTorchGenerator(TorchEstimatorMixin, GeneratorMixin, BaseEstimator):
    """TODO one line: what the model is.

    This template's model is a small variational autoencoder of whole ECGs
    (an MLP encoder and decoder); ``sample`` decodes Gaussian latent codes.
    It trains on ecgsk's engine: the class holds its networks, its loss and
    its hooks, and no training loop.  Replace the networks and the step.

    Parameters
    ----------
    latent_dim : int, default=8
        Size of the latent code.
    hidden : int, default=64
        Width of the encoder's and decoder's hidden layer.
    beta : float, default=1.0
        Weight of the KL term of the loss (1 is the ELBO).
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=32
        Rows per training step.  Under torch.distributed it is the *global*
        batch: each of W processes takes ``batch_size // W`` rows of it.
    max_epochs : int, default=50
        Passes over the training rows (a warm start adds that many more).
    validation_fraction : float or None, default=None
        Hold out this fraction of the training ECGs (chosen from
        ``random_state``); ``_validation_step`` scores them after every
        epoch as ``valid_loss``, which ``EarlyStopping`` can monitor.
    n_leads : int or None, default=None
        Lead count ``fit`` accepts; ``None`` accepts any.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState or None, default=None
        Seeds the weights, the shuffling, the noise and ``sample``.
    verbose : int, default=0
        A progress bar over the epochs.
    warm_start : bool, default=False
        Continue training the fitted networks on the next ``fit``.
    callbacks : list of ecgsk.nn.callbacks.Callback, optional
        E.g. ``[EarlyStopping("valid_loss", patience=5), Checkpoint("m.ecgsk")]``.
    precision : {"32", "bf16"}, default="32"
        ``"bf16"`` runs the steps under bfloat16 autocast.
    gradient_clip : float or None, default=None
        Clip every optimizer step's gradients to this total norm.

    The engine's parameters (``max_epochs`` to ``gradient_clip``) keep these
    names: the engine reads them from the estimator.

    Attributes
    ----------
    encoder_, decoder_ : torch.nn.Module
        The networks (modules live in attributes ending in ``_``).
    scale_ : float
        The training data's largest absolute value; the networks see ``X / scale_``.
    history_ : list of dict
        One record per epoch: ``epoch``, ``dur`` (seconds), the mean losses
        ``loss``, ``reconstruction``, ``kl`` and, with a validation split,
        ``valid_loss``.
    n_iter_ : int
        Epochs trained in all.
    interrupted_ : bool
        True when the last ``fit`` was stopped by Ctrl-C.
    n_features_in_, n_timepoints_in_ : int
        Leads and samples per lead seen in ``fit``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(16, n_leads=2, n_samples=250, random_state=0)
    >>> model = MyTorchGenerator(max_epochs=5, device="cpu", random_state=0).fit(X)
    >>> model.sample(3).shape
    (3, 2, 250)
    >>> sorted(model.history_[-1])
    ['dur', 'epoch', 'kl', 'loss', 'reconstruction']
    """

    # "python_dependencies" lets ecgsk tell users what to install; the engine's batching
    # rule needs two rows per batch, so fit needs at least two ECGs.
    tags = {"python_dependencies": ("torch",), "min_fit_ecgs": 2}

    # The engine declares its own parameters' constraints (callbacks, precision,
    # gradient_clip); TORCH_PARAMETER_CONSTRAINTS has device, random_state, verbose,
    # warm_start, max_epochs, batch_size, lr (and betas, which this model does not have).
    parameter_constraints = {
        **{k: v for k, v in TORCH_PARAMETER_CONSTRAINTS.items() if k != "betas"},
        "latent_dim": [Interval(Integral, 1, None)],
        "hidden": [Interval(Integral, 1, None)],
        "beta": [Interval(Real, 0, None)],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "n_leads": [None, Interval(Integral, 1, None)],
    }

    def __init__(self, latent_dim=8, hidden=64, beta=1.0, lr=1e-3, batch_size=32, max_epochs=50, *,
                 validation_fraction=None, n_leads=None, device="auto", random_state=None, verbose=0,
                 warm_start=False, callbacks=None, precision="32", gradient_clip=None):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.beta = beta
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.n_leads = n_leads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip

    # -- engine hooks ------------------------------------------------------------------
    def _training_data(self, X, y=None, *, reset=True):
        """The rows to train on: a dict of NumPy arrays with one row per ECG.

        ``X`` is validated (float32 ``(n, leads, T)`` in mV).  ``reset`` is
        False on a warm start: keep the fitted scale then, so that the
        networks keep seeing the units they were trained in.  Conditional
        models also receive ``conditions=`` (encode them here into another
        array of the dict).
        """
        if reset:
            self.scale_ = float(np.abs(X).max()) or 1.0
        return {"X": (X / self.scale_).astype(np.float32)}

    def _build_modules(self):
        """The networks, by the attribute names they are stored under.

        Use only constructor parameters and fitted non-module attributes
        (here ``n_features_in_`` and ``n_timepoints_in_``, set by the mixin
        before training): ``ecgsk.load`` calls this to rebuild the modules
        before it fills in their weights.  The engine calls it under a seed
        drawn from ``random_state``, so the initial weights are reproducible.
        """
        size = int(self.n_features_in_) * int(self.n_timepoints_in_)
        encoder = nn.Sequential(nn.Flatten(), nn.Linear(size, self.hidden), nn.ReLU(),
                                nn.Linear(self.hidden, 2 * self.latent_dim))
        decoder = nn.Sequential(nn.Linear(self.latent_dim, self.hidden), nn.ReLU(), nn.Linear(self.hidden, size))
        return {"encoder_": encoder, "decoder_": decoder}

    def _configure_optimizers(self):
        """The optimizers by name; the modules already exist (and are on the device)."""
        params = list(self.encoder_.parameters()) + list(self.decoder_.parameters())
        return {"vae": torch.optim.Adam(params, lr=self.lr)}

    def _losses(self, X, encoder, decoder):
        """(loss, reconstruction, kl) of a batch, each averaged per signal value."""
        mu, logvar = encoder(X).chunk(2, dim=1)
        # torch's RNG is seeded by the engine from random_state (differently on each process);
        # ctx.rng is a NumPy RandomState for noise drawn on the host.
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = decoder(z).view_as(X)
        reconstruction = F.mse_loss(recon, X)
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)) / X[0].numel()
        return reconstruction + self.beta * kl, reconstruction, kl

    def _training_step(self, batch, ctx):
        """One optimizer step on a batch; returns the losses to log.

        ``batch`` is a dict of the ``_training_data`` arrays' rows, as tensors
        on the device.  Call the modules through ``ctx.modules`` (wrapped in
        DistributedDataParallel under torch.distributed, so that gradients
        are averaged across processes); ``ctx.optimizer_step(name, loss)``
        zeroes the gradients, back-propagates, clips (``gradient_clip``) and
        steps.  The step runs under the precision's autocast.  Return Python
        floats (``.item()``): the engine averages them over the epoch into
        ``history_`` and raises ``TrainingDivergedError`` on a NaN.

        A GAN takes several optimizer steps here, e.g.::

            critic_loss = ...                                   # ctx.modules["critic_"]
            ctx.optimizer_step("critic", critic_loss)
            with ctx.frozen("critic_"):                         # no gradients for the critic
                g_loss = -self.critic_(ctx.modules["generator_"](noise)).mean()  # bare critic
                ctx.optimizer_step("generator", g_loss)
        """
        loss, reconstruction, kl = self._losses(batch["X"], ctx.modules["encoder_"], ctx.modules["decoder_"])
        ctx.optimizer_step("vae", loss)
        return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}

    def _validation_step(self, batch, ctx):
        """Scores on the held-out rows (all of them in one batch), under ``torch.no_grad`` in eval mode.

        Logged with the prefix ``valid_``.  Only runs when
        ``validation_fraction`` holds rows out.
        """
        loss, _, _ = self._losses(batch["X"], self.encoder_, self.decoder_)
        return {"loss": loss.item()}

    # Optional hooks, when you need them (see ecgsk.nn.engine):
    #   _epoch_data(data, ctx)     new rows every epoch (random crops), drawn from ctx.shared_rng
    #   _default_callbacks()       callbacks made from your parameters (an EMA from ema_decay)
    #   _on_train_begin(data, ctx) once the modules and optimizers exist (dataset statistics)
    #   _validation_labels(data)   labels to stratify the validation split on
    #   _can_warm_start(X)         whether a warm start may keep the modules for this X

    # -- inference ----------------------------------------------------------------------
    def _sample(self, n_samples, conditions, rng):
        """Decode ``n_samples`` Gaussian codes drawn from ``rng``; ``(n, leads, T)`` in mV.

        ``_predict_batches`` runs the function on row batches on the device,
        in eval mode and without gradients, returns float32 NumPy, and raises
        instead of returning NaN or infinity.
        """
        z = rng.standard_normal((n_samples, self.latent_dim)).astype(np.float32)
        shape = (-1, int(self.n_features_in_), int(self.n_timepoints_in_))
        return self._predict_batches(lambda codes: self.decoder_(codes).view(shape), z, name="samples") \
            * np.float32(self.scale_)

    @classmethod
    def get_test_params(cls):
        """Tiny settings that fit in well under a second on a CPU (``"device": "cpu"``)."""
        return [
            {"latent_dim": 2, "hidden": 8, "max_epochs": 2, "batch_size": 4, "device": "cpu", "random_state": 0},
            {"latent_dim": 3, "hidden": 4, "max_epochs": 2, "batch_size": 3, "n_leads": 12,
             "validation_fraction": 0.25, "device": "cpu", "random_state": 1},
        ]


if __name__ == "__main__":  # python plugins/extension_template.py
    from ecgsk.testing import check_estimator

    # raise_exceptions=True (the default) raises an AssertionError naming every failed check.
    print(check_estimator(MyGenerator, raise_exceptions=False))
    print(check_estimator(MyTorchGenerator, raise_exceptions=False))
