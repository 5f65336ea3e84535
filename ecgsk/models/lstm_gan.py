"""LSTM-GAN: a BiLSTM + convolution generator for short ECG segments.

The architecture follows the LSTM-GAN of the ``ecgGAN`` project (reference
code MikhailMurashov/ecgGAN, TensorFlow), re-implemented here in PyTorch:

- **Generator.**  Gaussian noise of shape ``(segment_length / 4, latent_dim)``
  (``100 x 12`` by default) runs through a bidirectional LSTM (64 units per
  direction), then through 1-D convolutions (kernel 16, "same" padding):
  128 and 64 channels with LeakyReLU, x2 upsampling, 32 and 16 channels with
  LeakyReLU, x2 upsampling, and one output channel per lead with ``tanh``.
- **Discriminator.**  1-D convolutions (kernel 16): 32 and 64 channels with
  LeakyReLU, max-pool 2, 128 and 256 channels with LeakyReLU, max-pool 2, and
  a linear layer to one logit.
- **Training.**  The standard (non-saturating) GAN loss with
  binary-cross-entropy on logits, Adam (lr 2e-4) for both networks, one
  discriminator step per generator step, run by the training engine of
  :mod:`ecgsk.nn.engine` (batching, seeding, warm start, callbacks, faults).

Two optional stabilisers, off by default (the reference has neither):
``minibatch_std`` appends a minibatch-standard-deviation channel to the
discriminator's last feature map (it lets the discriminator see a lack of
diversity), and ``feature_matching`` adds to the generator's loss the squared
distance between the mean discriminator features of real and generated batches.
Also optional: ``ema_decay`` keeps an exponential moving average of the
generator's weights for :meth:`LSTMGAN.sample` (the engine's
:class:`~ecgsk.nn.callbacks.EMA` callback), and ``d_lr`` gives the
discriminator its own learning rate (two time-scale update rule), and
``noise_injection`` adds per-sample Gaussian noise, with learned per-channel
strengths (zero at initialisation), to the generator's last feature map at full
resolution (the "noise inputs" of StyleGAN), so that it can produce
sample-specific fine detail that a 100-step latent sequence cannot.
``spectral_matching`` adds to the generator's loss the distance between the
per-band mean and standard deviation of the log power in half-octave frequency
bands of generated batches and of the training set: upsampling generators are
known to miss the high-frequency part of the spectrum (Durall, Keuper and
Keuper, CVPR 2020), which a discriminator alone corrects only slowly.

Signals are scaled internally by one learned constant (the maximum absolute
value of the training set), so the generator's ``tanh`` range covers them;
:meth:`LSTMGAN.sample` returns millivolts.
"""

from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn
from sklearn.base import BaseEstimator

from ..base import GeneratorMixin, Interval, _in_memory
from ..datasets.dataset import is_lazy_ecg, lead_statistics, map_rows
from ..utils.constraints import TORCH_PARAMETER_CONSTRAINTS
from ..nn.base import to_tensor
from ..nn.callbacks import EMA
from ..nn.engine import TorchEstimatorMixin

__all__ = ["LSTMGAN", "LSTMGenerator", "ConvDiscriminator", "half_octave_bands", "log_band_power", "spectral_moments"]


def _ch(base, width):
    return max(1, int(round(base * width)))


def half_octave_bands(n_samples):
    """Half-octave bands of one-sided FFT bins, as ``(start, stop)`` bin ranges.

    The bands tile bins ``1 ... n_samples // 2`` (the DC bin is left out);
    their edges are ``round(2 ** (k / 2))`` bins, so each band is about 41 %
    wider than the one below and the low bands are single bins.

    Parameters
    ----------
    n_samples : int
        Signal length.

    Returns
    -------
    list of tuple of int

    Examples
    --------
    >>> half_octave_bands(16)
    [(1, 2), (2, 3), (3, 4), (4, 6), (6, 8), (8, 9)]
    """
    top = n_samples // 2
    edges = sorted({int(round(2 ** (k / 2))) for k in range(int(2 * np.log2(max(top, 1))) + 1)} - {0})
    edges = [e for e in edges if e <= top] + [top + 1]
    return list(zip(edges[:-1], edges[1:]))


def log_band_power(x, eps=1e-8):
    """Log of the mean power in half-octave frequency bands, per lead of each signal.

    Averaging the periodogram over a band before the log removes most of its
    sampling noise, so that differences between signals (a noisy record
    against a clean one) stand out.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n_leads, n_samples)
    eps : float, default=1e-8
        Added to the power before the log (flat signals stay finite).

    Returns
    -------
    torch.Tensor of shape (B, n_leads, n_bands)
        ``log(mean(|rfft(x - mean)|^2 over the band) + eps)`` (orthonormal
        FFT) for the bands of :func:`half_octave_bands`.
    """
    n_samples = x.shape[-1]
    bands = half_octave_bands(n_samples)
    spectrum = torch.fft.rfft(x - x.mean(dim=-1, keepdim=True), norm="ortho")
    power = spectrum.real.square() + spectrum.imag.square()
    averaging = torch.zeros(power.shape[-1], len(bands), dtype=power.dtype, device=power.device)
    for j, (lo, hi) in enumerate(bands):
        averaging[lo:hi, j] = 1.0 / (hi - lo)
    return torch.log(power @ averaging + eps)


def _divide_rows(X, scale):
    """``X / scale`` as float32 (the training data of a fit, applied per batch to lazily read input)."""
    return np.asarray(X / scale, dtype=np.float32)


def _lazy_spectral_moments(X, device, batch=1024):
    """:func:`spectral_moments` of a lazily read batch, read ``batch`` signals at a time (the same numbers)."""
    powers = torch.cat([log_band_power(torch.as_tensor(np.ascontiguousarray(X[start:start + batch])).to(device))
                        for start in range(0, len(X), batch)])
    return powers.mean(0), powers.std(0, unbiased=False)


def spectral_moments(x, batch=1024):
    """Per-band mean and standard deviation over signals of :func:`log_band_power`.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n_leads, n_samples)
    batch : int, default=1024
        Signals per chunk (bounds memory; the result does not depend on it).

    Returns
    -------
    mean, std : torch.Tensor of shape (n_leads, n_bands)
    """
    # only the FFT needs chunking: the band powers themselves are small
    powers = torch.cat([log_band_power(x[start:start + batch]) for start in range(0, x.shape[0], batch)])
    return powers.mean(0), powers.std(0, unbiased=False)


class _SameConv1d(nn.Conv1d):
    """Conv1d with "same" padding done explicitly (faster on CPU than ``padding="same"`` for even kernels)."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__(in_channels, out_channels, kernel_size)
        total = kernel_size - 1
        self._pad = (total // 2, total - total // 2)

    def forward(self, x):
        return super().forward(nn.functional.pad(x, self._pad))


class LSTMGenerator(nn.Module):
    """BiLSTM + upsampling convolution generator.

    Parameters
    ----------
    n_leads : int
        Output channels.
    segment_length : int
        Output length; must be divisible by 4.  The noise sequence has
        ``segment_length // 4`` steps.
    latent_dim : int
        Features per noise step.
    lstm_units : int
        Hidden units per LSTM direction.
    width : float
        Multiplier of the convolution channels (128, 64, 32, 16).
    kernel_size : int
        Convolution kernel size.
    noise_injection : bool
        Add ``noise_weight * noise`` to the input of the output convolution
        (full resolution), where ``noise`` has shape ``(B, 1, segment_length)``
        and ``noise_weight`` is a learned per-channel strength, zero at
        initialisation (so the initial output does not depend on the noise).
    """

    def __init__(self, n_leads=1, segment_length=400, latent_dim=12, lstm_units=64, width=1.0, kernel_size=16,
                 noise_injection=False):
        super().__init__()
        self.seq_len = segment_length // 4
        self.latent_dim = latent_dim
        self.lstm = nn.LSTM(latent_dim, lstm_units, batch_first=True, bidirectional=True)
        c1, c2, c3, c4 = (_ch(c, width) for c in (128, 64, 32, 16))

        def conv(cin, cout):
            return _SameConv1d(cin, cout, kernel_size)

        self.convs = nn.Sequential(
            conv(2 * lstm_units, c1), nn.LeakyReLU(0.2),
            conv(c1, c2), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv(c2, c3), nn.LeakyReLU(0.2),
            conv(c3, c4), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv(c4, n_leads), nn.Tanh(),
        )
        self.noise_injection = bool(noise_injection)
        if self.noise_injection:
            self.noise_weight = nn.Parameter(torch.zeros(1, c4, 1))

    def forward(self, z, noise=None):
        """Map noise ``(B, segment_length // 4, latent_dim)`` to ``(B, n_leads, segment_length)`` in [-1, 1].

        ``noise`` ``(B, 1, segment_length)`` is the injected noise when
        ``noise_injection`` is on (drawn with ``torch.randn`` if omitted); it is
        ignored otherwise.
        """
        h, _ = self.lstm(z)
        h = h.transpose(1, 2)
        if not getattr(self, "noise_injection", False):  # modules pickled before the option lack it
            return self.convs(h)
        h = self.convs[:-2](h)
        if noise is None:
            noise = torch.randn(h.shape[0], 1, h.shape[2], device=h.device, dtype=h.dtype)
        return self.convs[-2:](h + self.noise_weight * noise)


class ConvDiscriminator(nn.Module):
    """Four-convolution discriminator with a linear logit output.

    Parameters
    ----------
    n_leads : int
        Input channels.
    segment_length : int
        Input length; must be divisible by 4.
    width : float
        Multiplier of the convolution channels (32, 64, 128, 256).
    kernel_size : int
        Convolution kernel size.
    minibatch_std : bool
        Append one channel holding the batch's mean standard deviation of the
        last feature map (computed over the batch, so a logit depends on the
        other signals in the batch; a batch of one gets 0).
    """

    def __init__(self, n_leads=1, segment_length=400, width=1.0, kernel_size=16, minibatch_std=False):
        super().__init__()
        c1, c2, c3, c4 = (_ch(c, width) for c in (32, 64, 128, 256))
        self.minibatch_std = bool(minibatch_std)

        def conv(cin, cout):
            return _SameConv1d(cin, cout, kernel_size)

        self.features = nn.Sequential(
            conv(n_leads, c1), nn.LeakyReLU(0.2),
            conv(c1, c2), nn.LeakyReLU(0.2),
            nn.MaxPool1d(2),
            conv(c2, c3), nn.LeakyReLU(0.2),
            conv(c3, c4), nn.LeakyReLU(0.2),
            nn.MaxPool1d(2),
        )
        self.out = nn.Linear((c4 + self.minibatch_std) * (segment_length // 4), 1)

    def feature_map(self, x):
        """The flattened input of the output layer, ``(B, n_features)``."""
        h = self.features(x)
        if self.minibatch_std:
            std = h.std(dim=0, unbiased=False).mean() if h.shape[0] > 1 else h.new_zeros(())
            h = torch.cat([h, std.expand(h.shape[0], 1, h.shape[2])], dim=1)
        return h.flatten(1)

    def forward(self, x):
        """Logits of shape ``(B,)`` for signals ``(B, n_leads, segment_length)``."""
        return self.out(self.feature_map(x)).squeeze(1)


class LSTMGAN(TorchEstimatorMixin, GeneratorMixin, BaseEstimator):
    """LSTM-GAN generator of short ECG segments (one heartbeat, 0.8 s at 500 Hz by default).

    Trained by the engine of :mod:`ecgsk.nn.engine`: each training step is one
    discriminator step then one generator step on a batch of segments.

    The defaults are the reference architecture, which needs hours per fit on
    a CPU; ``LSTMGAN(**LSTMGAN.cpu_params())`` is the measured CPU setting
    (about 14 minutes on 2 cores, see :meth:`cpu_params`).

    Parameters
    ----------
    n_leads : int, default=1
        Leads per segment.  Several leads are generated jointly, as extra
        output channels.
    segment_length : int, default=400
        Samples per segment; must be a multiple of 4.  ``fit`` requires
        exactly this length.
    fs : float, default=500
        Sampling rate in Hz (used by :meth:`score`'s features).
    latent_dim : int, default=12
        Features per noise step.  The noise is a sequence of
        ``segment_length // 4`` steps.
    lstm_units : int, default=64
        Hidden units per direction of the generator's bidirectional LSTM.
    width : float, default=1.0
        Multiplier of every convolution's channel count (generator 128, 64,
        32, 16; discriminator 32, 64, 128, 256).  Small values make tiny test
        models.
    d_width : float or None, default=None
        Separate multiplier of the discriminator's channels; ``None`` uses
        ``width``.  The discriminator dominates the cost of a training step,
        so ``d_width < width`` is the cheap way to shrink a model on a CPU.
    kernel_size : int, default=16
        Convolution kernel size of both networks.
    minibatch_std : bool, default=False
        Give the discriminator a minibatch-standard-deviation channel (see
        :class:`ConvDiscriminator`), against mode collapse.  Not in the
        reference.  With it, :meth:`discriminate`'s logits depend on the batch.
    feature_matching : float, default=0.0
        Weight of a feature-matching term added to the generator's loss: the
        mean squared difference between the mean discriminator features
        (:meth:`ConvDiscriminator.feature_map`) of the real batch and of the
        generated batch.  0 (the reference) disables it.
    ema_decay : float or None, default=None
        Keep an exponential moving average (EMA) of the generator's weights,
        updated after every generator step, and generate from it in
        :meth:`sample`.  The decay at update ``t`` (counted from 0 since the
        networks were built) is ``min(ema_decay, (1 + t) / (10 + t))``, so
        the first updates do not average in the random initial weights for
        long.  Must be in ``[0, 1)``; ``None`` (the reference) keeps no
        average and samples from the trained generator.  Training itself is
        unchanged (the average never feeds back), so losses and the trained
        networks are the same as without it.  It adds the engine's
        :class:`~ecgsk.nn.callbacks.EMA` callback (``EMA("generator_",
        decay=ema_decay)``); an ``EMA`` of ``"generator_"`` given in
        ``callbacks`` takes its place.
    d_lr : float or None, default=None
        Adam learning rate of the discriminator; ``None`` uses ``lr`` (the
        reference: one rate for both networks).
    noise_injection : bool, default=False
        Add per-sample Gaussian noise ``(segment_length,)`` with learned
        per-channel strengths (zero at initialisation) to the generator's last
        feature map, before the output convolution (see
        :class:`LSTMGenerator`), for fine, sample-specific detail.  The noise is
        drawn from the same random stream as the latent noise, so ``fit`` and
        ``sample`` stay reproducible.  Not in the reference.
    spectral_matching : float, default=0.0
        Weight of a spectral moment-matching term added to the generator's
        loss: the mean squared difference between the per-band mean and
        standard deviation of the log power in half-octave frequency bands
        (:func:`spectral_moments`) of each generated batch and of the whole
        training set.  It pulls the generator towards the data's
        high-frequency content and its variation between signals, which
        upsampling generators miss (Durall et al., 2020).  Measured on LUDB
        lead II (``benchmarks/bench_lstm_gan.py``), a weight of 2 lowered the
        gradient-boosting two-sample-test accuracy from 0.86-0.91 to
        0.78-0.84; 5 made training unstable.  0 (the reference) disables it.
        It is computed in float32 also under ``precision="bf16"``.
    max_epochs : int, default=80
        Training epochs (passes over the training segments).
    batch_size : int, default=64
        Mini-batch size (the global batch under torch.distributed).  Batches
        follow the engine's rule: a last batch of one segment joins the one
        before it.
    lr : float, default=2e-4
        Adam learning rate of the generator, and of the discriminator unless
        ``d_lr`` is given.
    betas : tuple of float, default=(0.5, 0.999)
        Adam betas of both networks.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Torch device.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, batch order, noise in ``fit`` and the
        stream of :meth:`sample`.
    verbose : int, default=0
        Show a progress bar over epochs with the latest losses.
    warm_start : bool, default=False
        Continue training the fitted networks (and the same amplitude scale)
        on a new call to ``fit`` instead of starting afresh.  A change of
        ``noise_injection`` or of the input shape starts afresh.
    callbacks : list of ecgsk.nn.callbacks.Callback or None, default=None
        Training callbacks (early stopping, checkpoints, LR schedules, ...).
        The logged keys are ``"d_loss"`` and ``"g_loss"``.
    precision : {"32", "bf16"}, default="32"
        Training precision; ``"bf16"`` trains under bfloat16 autocast.
    gradient_clip : float or None, default=None
        Clip each optimizer step's gradients to this total norm.
    num_workers : int, default=0
        DataLoader worker processes that read the training batches when
        ``fit`` gets a memory-mapped array or an
        :class:`~ecgsk.datasets.ECGDataset` (0 reads them in the main
        process; in-memory input never uses workers).  The fit is the same
        for every value.

    Attributes
    ----------
    generator_ : LSTMGenerator
        The trained generator (output in the scaled units, ``[-1, 1]``).
    discriminator_ : ConvDiscriminator
        The trained discriminator.
    generator_ema_ : LSTMGenerator
        The moving average of the generator's weights that :meth:`sample`
        uses; present only when ``ema_decay`` (or an ``EMA`` callback) is set.
    ema_updates_ : int
        Updates of ``generator_ema_`` since it was started (with it only).
    scale_ : float
        The learned amplitude scale in mV: the training set's maximum absolute
        value.  ``sample`` multiplies the generator's output by it.
    history_ : list of dict
        One dict per epoch: ``"epoch"``, ``"dur"`` (seconds) and the epoch's
        mean losses ``"d_loss"`` and ``"g_loss"`` (the latter including the
        feature- and spectral-matching terms), plus whatever callbacks log.
    n_iter_ : int
        Epochs trained in total (grows with warm starts).
    interrupted_ : bool
        True when the last ``fit`` was stopped by Ctrl-C.
    n_features_in_ : int
        Number of leads.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.models.lstm_gan import LSTMGAN
    >>> X = np.random.RandomState(0).randn(16, 1, 64).astype("float32") * 0.2
    >>> gan = LSTMGAN(segment_length=64, width=0.125, lstm_units=4, max_epochs=1,
    ...               batch_size=8, device="cpu", random_state=0).fit(X)
    >>> gan.sample(3).shape
    (3, 1, 64)
    >>> sorted(gan.history_[-1])
    ['d_loss', 'dur', 'epoch', 'g_loss']
    >>> gan.n_iter_
    1
    """

    tags = {"fixed_length_param": "segment_length", "python_dependencies": ("torch",), "lazy_input": True}
    parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "n_leads": [Interval(Integral, 1, None)],
        "segment_length": [Interval(Integral, 4, None, multiple_of=4)],
        "fs": [Interval(Real, 0, None, closed="neither")],
        "latent_dim": [Interval(Integral, 1, None)],
        "lstm_units": [Interval(Integral, 1, None)],
        "kernel_size": [Interval(Integral, 1, None)],
        "width": [Interval(Real, 0, None, closed="neither")],
        "d_width": [None, Interval(Real, 0, None, closed="neither")],
        "minibatch_std": [bool],
        "feature_matching": [Interval(Real, 0, None)],
        "spectral_matching": [Interval(Real, 0, None)],
        "ema_decay": [None, Interval(Real, 0, 1, closed="left")],
        "noise_injection": [bool],
        "d_lr": [None, Interval(Real, 0, None, closed="neither")],
        "num_workers": [Interval(Integral, 0, None)],
    }

    def __init__(
        self,
        n_leads=1,
        segment_length=400,
        fs=500,
        latent_dim=12,
        lstm_units=64,
        width=1.0,
        d_width=None,
        kernel_size=16,
        minibatch_std=False,
        feature_matching=0.0,
        ema_decay=None,
        noise_injection=False,
        spectral_matching=0.0,
        max_epochs=80,
        batch_size=64,
        lr=2e-4,
        d_lr=None,
        betas=(0.5, 0.999),
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
        precision="32",
        gradient_clip=None,
        num_workers=0,
    ):
        self.n_leads = n_leads
        self.segment_length = segment_length
        self.fs = fs
        self.latent_dim = latent_dim
        self.lstm_units = lstm_units
        self.width = width
        self.d_width = d_width
        self.kernel_size = kernel_size
        self.minibatch_std = minibatch_std
        self.feature_matching = feature_matching
        self.ema_decay = ema_decay
        self.noise_injection = noise_injection
        self.spectral_matching = spectral_matching
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.d_lr = d_lr
        self.betas = betas
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip
        self.num_workers = num_workers

    @classmethod
    def cpu_params(cls):
        """The measured CPU setting: a scaled-down model that trains in about 14 minutes on 2 cores.

        The defaults are the reference size, which needs 1.7-4.7 hours on a
        2-core CPU.  This preset shrinks the networks (generator width 0.5,
        discriminator width 0.25, 32 LSTM units) and adds the stabilisers
        that ``benchmarks/bench_lstm_gan.py`` measured to help at that size:
        minibatch-std, feature matching (100), an EMA of the generator
        (0.999), a faster discriminator (``d_lr=4e-4``) and spectral matching
        (2).  64 epochs of the 2,455 LUDB lead-II windows of 400 samples took
        13-14 minutes with 2 torch threads.  Its figures over four seeds are
        in ``docs/benchmarks.md`` (section LSTM-GAN).

        Returns
        -------
        dict
            Constructor parameters; override any of them as usual.

        Examples
        --------
        >>> from ecgsk.models.lstm_gan import LSTMGAN
        >>> gan = LSTMGAN(**LSTMGAN.cpu_params())
        >>> gan.width, gan.lstm_units, gan.max_epochs
        (0.5, 32, 64)
        >>> LSTMGAN(**{**LSTMGAN.cpu_params(), "max_epochs": 10}).max_epochs
        10
        """
        return {"width": 0.5, "d_width": 0.25, "lstm_units": 32, "minibatch_std": True, "feature_matching": 100.0,
                "ema_decay": 0.999, "d_lr": 4e-4, "spectral_matching": 2.0, "max_epochs": 64, "batch_size": 64,
                "lr": 2e-4}

    @classmethod
    def get_test_params(cls):
        """Tiny settings that fit in about a second on a CPU."""
        return [
            {"segment_length": 64, "width": 0.125, "lstm_units": 4, "latent_dim": 4, "kernel_size": 5,
             "max_epochs": 1, "batch_size": 4, "device": "cpu"},
            {"n_leads": 2, "segment_length": 32, "width": 0.0625, "lstm_units": 2, "latent_dim": 3,
             "kernel_size": 3, "max_epochs": 1, "batch_size": 8, "device": "cpu"},
        ]

    # -- noise and generation ------------------------------------------------------
    def _noise(self, n, rng, inject=False):
        """Noise inputs of ``n`` signals from ``rng``: ``(z,)``, or ``(z, eta)`` with ``inject``.

        ``z`` has shape ``(n, segment_length // 4, latent_dim)``, ``eta`` (the
        injected noise) ``(n, 1, segment_length)``; float32 NumPy arrays.
        """
        z = rng.standard_normal((n, self.segment_length // 4, self.latent_dim)).astype(np.float32)
        if not inject:
            return (z,)
        return z, rng.standard_normal((n, 1, self.segment_length)).astype(np.float32)

    @staticmethod
    def _injects(G):
        # generators pickled before the option lack the attribute; DDP wraps the module
        return bool(getattr(getattr(G, "module", G), "noise_injection", False))

    def _generate(self, G, n, rng):
        """Run generator ``G`` on ``n`` fresh draws of its noise inputs from ``rng`` (a training batch)."""
        device = self._torch_device()
        return G(*(to_tensor(a, device) for a in self._noise(n, rng, self._injects(G))))

    def _generate_scaled(self, n_samples, rng, batch=1024, ema=True):
        """Generator output in the scaled units, ``(n, n_leads, segment_length)`` in [-1, 1].

        Uses the weight average ``generator_ema_`` when there is one and
        ``ema`` is true.  The noise is drawn ``batch`` signals at a time.
        """
        G = self.__dict__.get("generator_ema_") if ema else None
        G = self.generator_ if G is None else G
        G.eval()
        inject = self._injects(G)
        out = []
        for start in range(0, n_samples, batch):
            m = min(batch, n_samples - start)
            out.append(self._predict_batches(G, *self._noise(m, rng, inject), batch_size=m, name="samples"))
        return np.concatenate(out, axis=0)

    def _sample(self, n_samples, conditions, rng):
        return self._generate_scaled(n_samples, rng) * np.float32(self.scale_)

    # -- engine hooks --------------------------------------------------------------
    def _training_data(self, X, y=None, *, conditions=None, reset=True):
        lazy = is_lazy_ecg(X)
        if reset:
            # a memmap or ECGDataset: the largest magnitude over chunks (the same number), rows scaled as read
            scale = float(lead_statistics(X)["abs_max"].max()) if lazy else float(np.abs(X).max())
            self.scale_ = scale if scale > 0 else 1.0
        if lazy:
            return {"X": map_rows(X, partial(_divide_rows, scale=self.scale_))}
        return {"X": np.asarray(X / self.scale_, dtype=np.float32)}

    def _can_warm_start(self, X):
        generator = self.__dict__.get("generator_")
        return super()._can_warm_start(X) and generator is not None \
            and self._injects(generator) == bool(self.noise_injection)

    def _build_modules(self):
        return {
            "generator_": LSTMGenerator(
                self.n_leads, self.segment_length, self.latent_dim, self.lstm_units, self.width, self.kernel_size,
                bool(self.noise_injection),
            ),
            "discriminator_": ConvDiscriminator(
                self.n_leads, self.segment_length, self.width if self.d_width is None else self.d_width,
                self.kernel_size, bool(self.minibatch_std),
            ),
        }

    def _configure_optimizers(self):
        betas = tuple(self.betas)
        d_lr = self.lr if self.d_lr is None else self.d_lr
        return {
            "generator": torch.optim.Adam(self.generator_.parameters(), lr=self.lr, betas=betas),
            "discriminator": torch.optim.Adam(self.discriminator_.parameters(), lr=d_lr, betas=betas),
        }

    def _user_ema(self):
        return any(isinstance(cb, EMA) and cb.module == "generator_" for cb in (self.callbacks or []))

    def _default_callbacks(self):
        if self.ema_decay is None or self._user_ema():
            return []
        return [EMA(module="generator_", decay=self.ema_decay)]

    def _on_train_begin(self, data, ctx):
        if self.ema_decay is None and not self._user_ema():
            # no average this fit: drop one left by an earlier fit, so that sample() uses the trained weights
            self.__dict__.pop("generator_ema_", None)
            self.__dict__.pop("ema_updates_", None)
        # the spectral-matching target: moments of the whole training set (the same on every process)
        if not self.spectral_matching:
            ctx.spectral_target = None
        elif isinstance(data["X"], torch.Tensor):
            ctx.spectral_target = spectral_moments(data["X"].to(ctx.device))
        else:  # lazily read: the band powers chunk by chunk
            ctx.spectral_target = _lazy_spectral_moments(data["X"], ctx.device)

    def _training_step(self, batch, ctx):
        """One discriminator step then one generator step; logs ``d_loss`` and ``g_loss``.

        ``g_loss`` includes the feature- and spectral-matching terms.  The
        spectral target is the training set's ``(mean, std)`` from
        :func:`spectral_moments` (``ctx.spectral_target``); when
        ``spectral_matching`` is on and the context has none, the real
        batch's moments are used.
        """
        bce = nn.functional.binary_cross_entropy_with_logits
        real = batch["X"]
        n = real.shape[0]
        ones = torch.ones(n, device=real.device)
        zeros = torch.zeros(n, device=real.device)

        # Discriminator: real -> 1, generated -> 0.
        D = ctx.modules["discriminator_"]
        with torch.no_grad():
            fake = self._generate(self.generator_, n, ctx.rng)
        d_loss = bce(D(real), ones) + bce(D(fake), zeros)
        ctx.optimizer_step("discriminator", d_loss)

        # Generator: non-saturating loss, fresh noise; the discriminator is frozen.
        D = self.discriminator_
        with ctx.frozen("discriminator_"):
            fake = self._generate(ctx.modules["generator_"], n, ctx.rng)
            if self.feature_matching:
                f_fake = D.feature_map(fake)
                g_loss = bce(D.out(f_fake).squeeze(1), ones)
                with torch.no_grad():
                    f_real = D.feature_map(real).mean(0)
                g_loss = g_loss + self.feature_matching * ((f_fake.mean(0) - f_real) ** 2).mean()
            else:
                g_loss = bce(D(fake), ones)
            if self.spectral_matching:
                g_loss = g_loss + self.spectral_matching * self._spectral_mismatch(
                    fake, real, getattr(ctx, "spectral_target", None))
            ctx.optimizer_step("generator", g_loss)
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    @staticmethod
    def _spectral_mismatch(fake, real, target):
        """Squared distance of the band-power moments of ``fake`` from ``target`` (float32, no autocast)."""
        with torch.autocast(device_type=fake.device.type, enabled=False):
            fake = fake.float()
            target_mean, target_std = spectral_moments(real.float()) if target is None else target
            spec = log_band_power(fake)
            mismatch = ((spec.mean(0) - target_mean) ** 2).mean()
            if fake.shape[0] > 1:  # a spread needs two signals
                mismatch = mismatch + ((spec.std(0) - target_std) ** 2).mean()
        return mismatch

    # -- public extras -------------------------------------------------------------
    def discriminate(self, X):
        """Discriminator logits for ECG segments in mV (higher = judged real).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, segment_length)

        Returns
        -------
        ndarray of float32, shape (n_ecgs,)
            With ``minibatch_std`` the logits depend on the batch, and ``X``
            is scored as one batch.

        Examples
        --------
        >>> import numpy as np
        >>> from ecgsk.models.lstm_gan import LSTMGAN
        >>> X = np.random.RandomState(0).randn(8, 1, 32).astype("float32") * 0.2
        >>> gan = LSTMGAN(segment_length=32, width=0.125, lstm_units=2, max_epochs=1,
        ...               device="cpu", random_state=0).fit(X)
        >>> gan.discriminate(X).shape
        (8,)
        """
        self._check_fitted()
        X = _in_memory(self._validate_ecg(X, reset=False))
        scaled = np.asarray(X / self.scale_, dtype=np.float32)
        return self._predict_batches(self.discriminator_, scaled, name="logits",
                                     batch_size=len(scaled) if self.minibatch_std else None)
