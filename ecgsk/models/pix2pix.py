"""Pix2Pix for lead I -> 12-lead reconstruction, and the windowed image-GAN machinery it shares with EKGAN.

A window of ``window`` samples of lead I, standardised, is repeated into 12
rows and zero-padded with 2 rows above and below into a 16 x ``window``
one-channel image; a 2-D U-Net with (2, 4) kernels maps it to the image of the
12 leads.  :class:`Pix2PixReconstructor` is the classical conditional GAN on
these images (Isola et al., CVPR 2017): that U-Net generator, a PatchGAN
discriminator, L1 + adversarial loss.  :class:`ecgsk.models.ekgan.EKGAN` is
the same model plus a label generator and a latent-matching term.

Records of any length are reconstructed by cutting lead I into overlapping
windows and blending the windowed outputs with a Hann-weighted overlap-add
(:mod:`ecgsk.utils.windows`).  The models predict the independent leads II,
V1-V6 and derive III, aVR, aVL and aVF from lead I and II
(Einthoven/Goldberger).
"""

import numbers
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

from ..base import Interval, ReconstructorMixin
from ..datasets.dataset import is_lazy_ecg, lead_statistics
from ..leads import derive_12_from_8
from ..nn.engine import TorchEstimatorMixin
from ..utils.constraints import TORCH_PARAMETER_CONSTRAINTS
from ..utils.windows import extract_windows, overlap_add, window_starts

__all__ = ["Pix2PixReconstructor", "WindowImageGANReconstructor"]

_N_ROWS = 16  # 12 leads + 2 zero rows above and below
_PAD_ROWS = 2
_INDEPENDENT = [1, 6, 7, 8, 9, 10, 11]  # II, V1..V6 within LEADS_12
_KERNEL = (2, 4)


# -- layers -------------------------------------------------------------------
def init_weights(module):
    """Normal(0, 0.02) weights, as in pix2pix and the EKGAN reference code."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class Down(nn.Module):
    """Conv2d with TensorFlow-style 'same' padding, optional BatchNorm, LeakyReLU."""

    def __init__(self, c_in, c_out, kernel, stride, norm=True, act=True):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, bias=False)
        self.norm = nn.BatchNorm2d(c_out) if norm else nn.Identity()
        self.act = nn.LeakyReLU(0.2) if act else nn.Identity()

    def forward(self, x):
        pads = []
        for size, k, s in zip(reversed(x.shape[2:]), reversed(self.kernel), reversed(self.stride)):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return self.act(self.norm(self.conv(F.pad(x, pads))))


class Up(nn.Module):
    """ConvTranspose2d whose output is exactly ``stride`` times its input ('same'), BatchNorm, ReLU."""

    def __init__(self, c_in, c_out, kernel, stride, norm=True, act=True):
        super().__init__()
        self.stride = stride
        padding = tuple(max(k - s, 0) // 2 for k, s in zip(kernel, stride))
        self.conv = nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding=padding, bias=False)
        self.norm = nn.BatchNorm2d(c_out) if norm else nn.Identity()
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        h, w = x.shape[2] * self.stride[0], x.shape[3] * self.stride[1]
        y = self.conv(x)
        y = y[:, :, :h, :w]
        if y.shape[2] < h or y.shape[3] < w:  # pragma: no cover - not reached with the kernels used
            y = F.pad(y, (0, w - y.shape[3], 0, h - y.shape[2]))
        return self.act(self.norm(y))


class UNet2d(nn.Module):
    """EKGAN's generator: 5 encoder and 5 decoder layers, kernel (2, 4).

    Encoder filters ``width * (1, 2, 4, 8, 16)`` (64 -> 1024 in the paper),
    strides 2, 2, 2, 2, (1, 2): a (1, 16, W) image becomes a
    ``(16 * width, 1, W / 32)`` bottleneck, the latent vector.  With
    ``skips=True`` the decoder concatenates the matching encoder outputs
    (the inference generator); without, it is a plain encoder-decoder (the
    label generator).  ``forward`` returns ``(image, latent)``.
    """

    def __init__(self, width, skips=True):
        super().__init__()
        enc = [width, 2 * width, 4 * width, 8 * width, 16 * width]
        strides = [(2, 2), (2, 2), (2, 2), (2, 2), (1, 2)]
        self.skips = skips
        self.down = nn.ModuleList()
        c_in = 1
        for i, c in enumerate(enc):
            self.down.append(Down(c_in, c, _KERNEL, strides[i], norm=i > 0))
            c_in = c
        dec = [8 * width, 4 * width, 2 * width, width, 1]
        self.up = nn.ModuleList()
        for i, c in enumerate(dec):
            stride = strides[-1 - i]
            if i > 0 and skips:
                c_in = c_in + enc[-1 - i]
            last = i == len(dec) - 1
            self.up.append(Up(c_in, c, _KERNEL, stride, norm=not last, act=not last))
            c_in = c

    def forward(self, x):
        hidden = []
        for layer in self.down:
            x = layer(x)
            hidden.append(x)
        latent = x
        for i, layer in enumerate(self.up):
            if i > 0 and self.skips:
                x = torch.cat([x, hidden[-1 - i]], dim=1)
            x = layer(x)
        return x, latent


class PatchGAN(nn.Module):
    """pix2pix's PatchGAN discriminator with (2, 4) kernels: a logit per patch."""

    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(
            Down(2, width, _KERNEL, (2, 2), norm=False),
            Down(width, 2 * width, _KERNEL, (2, 2)),
            Down(2 * width, 4 * width, _KERNEL, (2, 2)),
            Down(4 * width, 8 * width, _KERNEL, (1, 1)),
            Down(8 * width, 1, _KERNEL, (1, 1), norm=False, act=False),
        )

    def forward(self, condition, image):
        return self.net(torch.cat([condition, image], dim=1))


# -- the shared estimator ------------------------------------------------------------
def discriminator_loss(discriminator, inp, real_target, generated):
    """The conditional discriminator's loss: real (input, target) pairs labelled 1, generated ones 0.

    ``generated`` is detached, so this loss trains the discriminator only.
    """
    real = discriminator(inp, real_target)
    fake = discriminator(inp, generated.detach())
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def generator_adversarial_loss(discriminator, inp, generated):
    """The generator's adversarial loss: how far the discriminator is from calling its output real."""
    fake = discriminator(inp, generated)
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _pad_edges(X, window):
    """Edge-pad records shorter than ``window`` samples to ``window`` (centred), row by row."""
    if X.shape[2] >= window:
        return X
    extra = window - X.shape[2]
    return np.pad(X, ((0, 0), (0, 0), (extra // 2, extra - extra // 2)), mode="edge")


def _standardise_rows(X, mean, scale):
    """Per-lead ``(X - mean) / scale`` as float32, row by row."""
    return ((X - mean[None, :, None]) / scale[None, :, None]).astype(np.float32)


class _LazyWindows:
    """The training windows of one epoch, cut from lazily read records when a batch reads them.

    Row ``r * len(starts) + j`` is the window at ``starts[j]`` of record ``r``
    (the order of ``extract_windows(records, ...).reshape(-1, C, window)``),
    times ``factor[row]`` when amplitude jitter is on, so a batch holds the
    values the in-memory windows hold.  Only the records of a batch are read.
    """

    __ecg_lazy__ = True

    def __init__(self, records, window, starts, factor=None):
        self.records = records
        self.window = int(window)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.factor = None if factor is None else np.asarray(factor, dtype=np.float32)
        self.shape = (len(records) * len(self.starts), records.shape[1], self.window)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        k = len(self.starts)
        record_rows, inverse = np.unique(rows // k, return_inverse=True)
        records = np.asarray(self.records[record_rows], dtype=np.float32)
        offsets = self.starts[rows % k]
        out = np.empty((len(rows),) + self.shape[1:], dtype=np.float32)
        for i, (r, start) in enumerate(zip(inverse, offsets)):
            out[i] = records[r, :, start:start + self.window]
        if self.factor is not None:
            out = out * self.factor[rows][:, None, None]
        return out.astype(np.float32, copy=False)


class WindowImageGANReconstructor(TorchEstimatorMixin, ReconstructorMixin, BaseEstimator):
    """Base of the windowed image GANs (Pix2Pix, EKGAN): scaling, image layout, windows, blending.

    Subclasses supply the engine hooks ``_build_modules``,
    ``_configure_optimizers`` and ``_image_step(inp, tgt, ctx)`` (one training
    step on a batch of lead-I images ``inp`` and 12-lead images ``tgt``).
    Each epoch cuts the training records into windows on a grid shifted by a
    random offset (new crops every epoch), optionally jitters their amplitude,
    and the engine batches the windows.  A memory-mapped array or an
    :class:`~ecgsk.datasets.ECGDataset` is never read whole: the per-lead
    statistics are accumulated in chunks (float64) and each batch's windows
    are cut from the records it reads.
    """

    tags = {"lazy_input": True}

    @classmethod
    def get_test_params(cls):
        return [
            {"window": 64, "width": 2, "max_epochs": 1, "batch_size": 8, "device": "cpu", "random_state": 0},
            {"window": 96, "stride": 40, "width": 4, "max_epochs": 1, "batch_size": 4, "device": "cpu",
             "amplitude_jitter": 0.2, "random_state": 1},
        ]

    def get_test_data(self, n_ecgs=8, random_state=0):
        """Synthetic 12-lead ECGs a little longer than two windows, so blending is exercised.

        Parameters
        ----------
        n_ecgs : int, default=8
            Number of ECGs.
        random_state : int, default=0
            Seed of the synthetic ECGs.

        Returns
        -------
        X : ndarray of shape (n_ecgs, 12, n_samples)
            ECGs in mV, ``n_samples = 2.5 * window``.
        fit_params : dict
            Empty.
        """
        from ..datasets import make_synthetic_ecgs

        window = self.window if isinstance(self.window, numbers.Integral) else 512
        n_samples = int(2.5 * window)
        return make_synthetic_ecgs(n_ecgs, n_leads=12, fs=self.fs, n_samples=n_samples,
                                   random_state=random_state), {}

    parameter_constraints = {
        **{k: v for k, v in TORCH_PARAMETER_CONSTRAINTS.items() if k != "betas"},
        "window": [Interval(Integral, 32, None, multiple_of=32)],  # five stride-2 layers along time
        "stride": [None, Interval(Integral, 1, "window")],
        "train_stride": [None, Interval(Integral, 1, "window")],
        "width": [Interval(Integral, 1, None)],
        "lambda_l1": [Interval(Real, 0, None)],
        "amplitude_jitter": [Interval(Real, 0, 1, closed="left")],
        "fs": [Interval(Real, 0, None, closed="neither")],
        "num_workers": [Interval(Integral, 0, None)],
    }

    def _strides(self):
        """(window, inference stride, training stride), with the defaults window/4 and window/2."""
        window = int(self.window)
        stride = window // 4 if self.stride is None else int(self.stride)
        train_stride = window // 2 if self.train_stride is None else int(self.train_stride)
        return window, stride, train_stride

    # -- data layout ----------------------------------------------------------------
    def _pad(self, X, window):
        """Edge-pad records shorter than one window (cropped again after transform)."""
        if X.shape[2] >= window:
            return X
        extra = window - X.shape[2]
        return np.pad(X, ((0, 0), (0, 0), (extra // 2, extra - extra // 2)), mode="edge")

    @staticmethod
    def _input_image(lead_i):
        """(b, W) normalised lead I -> (b, 1, 16, W): 12 copies with 2 zero rows above and below."""
        img = lead_i[:, None, None, :].expand(-1, 1, 12, -1)
        return F.pad(img, (0, 0, _PAD_ROWS, _PAD_ROWS))

    @staticmethod
    def _target_image(leads):
        """(b, 12, W) normalised leads -> (b, 1, 16, W)."""
        return F.pad(leads[:, None], (0, 0, _PAD_ROWS, _PAD_ROWS))

    def _normalise(self, X):
        return (X - self.lead_mean_[None, :, None]) / self.lead_scale_[None, :, None]

    # -- engine hooks -------------------------------------------------------------------
    def _training_data(self, X, y=None, *, reset=True):
        if is_lazy_ecg(X):
            return self._lazy_training_data(X, reset)
        X = self._pad(X, int(self.window))
        if reset:
            self.lead_mean_ = X.mean(axis=(0, 2)).astype(np.float32)
            scale = X.std(axis=(0, 2))
            self.lead_scale_ = np.where(scale > 1e-6, scale, 1.0).astype(np.float32)
        return {"X": self._normalise(X).astype(np.float32)}

    def _lazy_training_data(self, X, reset):
        """A memmap or ECGDataset: statistics over chunks, records padded and standardised as they are read."""
        window = int(self.window)
        if X.shape[2] < window:
            X = X.map(partial(_pad_edges, window=window), n_leads=X.shape[1], n_samples=window)
        if reset:
            stats = lead_statistics(X)
            self.lead_mean_ = stats["mean"].astype(np.float32)
            scale = stats["std"]
            self.lead_scale_ = np.where(scale > 1e-6, scale, 1.0).astype(np.float32)
        return {"X": X.map(partial(_standardise_rows, mean=self.lead_mean_, scale=self.lead_scale_),
                           n_leads=X.shape[1], n_samples=X.shape[2])}

    def _epoch_data(self, data, ctx):
        """This epoch's training windows: a grid shifted by a random offset, amplitude-jittered."""
        window, _, train_stride = self._strides()
        records = data["X"]
        offset = int(ctx.shared_rng.randint(0, train_stride))
        starts = window_starts(records.shape[2], window, train_stride, offset)
        if is_lazy_ecg(records):  # cut when a batch reads them, from the same draws
            factor = None
            if self.amplitude_jitter:
                factor = 1.0 + ctx.shared_rng.uniform(-self.amplitude_jitter, self.amplitude_jitter,
                                                      len(records) * len(starts))
            return {"windows": _LazyWindows(records, window, starts, factor)}
        windows = extract_windows(records, window, starts).reshape(-1, 12, window)
        if self.amplitude_jitter:
            factor = 1.0 + ctx.shared_rng.uniform(-self.amplitude_jitter, self.amplitude_jitter, len(windows))
            windows = windows * factor[:, None, None].astype(np.float32)
        return {"windows": windows.astype(np.float32)}

    def _training_step(self, batch, ctx):
        windows = batch["windows"]
        return self._image_step(self._input_image(windows[:, 0]), self._target_image(windows), ctx)

    def _image_step(self, inp, tgt, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _adam(module, lr):
        return torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.999))

    # -- transform --------------------------------------------------------------------
    def _transform(self, X):
        window, stride, _ = self._strides()
        n, _, T = X.shape
        Xp = self._pad(X, window)
        lead_i = (Xp[:, 0] - self.lead_mean_[0]) / self.lead_scale_[0]
        starts = window_starts(Xp.shape[2], window, stride)
        windows = extract_windows(lead_i[:, None], window, starts).reshape(-1, window).astype(np.float32)
        pred = self._predict_batches(
            lambda w: self.generator_(self._input_image(w))[0][:, 0, _PAD_ROWS:_PAD_ROWS + 12], windows,
            name="reconstruction",
        ).reshape(n, len(starts), 12, window)
        blended = overlap_add(pred, starts, Xp.shape[2])
        blended = blended * self.lead_scale_[None, :, None] + self.lead_mean_[None, :, None]
        if Xp.shape[2] != T:
            left = (Xp.shape[2] - T) // 2
            blended = blended[:, :, left:left + T]
        out8 = np.concatenate([X[:, :1], blended[:, _INDEPENDENT]], axis=1)
        return derive_12_from_8(out8.astype(np.float32))


COMMON_PARAMS_DOC = """
    window : int, default=512
        Window length in samples (a multiple of 32); the paper's 512 samples
        are about 1 s at 500 Hz.
    stride : int, optional
        Hop between windows in ``transform``; default ``window // 4``.  The
        windowed outputs are blended by Hann-weighted overlap-add, so records
        of any length come back without steps at window borders.
    train_stride : int, optional
        Hop between training windows; default ``window // 2``.  Each epoch
        shifts the grid by a random offset, so that the model sees new crops.
    width : int, default=64
        Filters of the generator's first layer; the encoder has
        ``width * (1, 2, 4, 8, 16)`` filters.  The paper's size is 64
        (64 -> 1024); smaller widths keep the architecture and train on a CPU.
    max_epochs : int, default=10
    batch_size : int, default=32
        Windows per training step.
    lr : float, default=1e-4
        Adam learning rate (beta1 = 0.5, beta2 = 0.999) for every network.
    amplitude_jitter : float, default=0.0
        Scale each training window (lead I and targets together) by a random
        factor in ``[1 - amplitude_jitter, 1 + amplitude_jitter]``.
    fs : float, default=500
        Sampling rate in Hz (recorded; windows are in samples).
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState or None
        Seeds weight initialisation, window offsets, shuffling and jitter.
    verbose : int, default=0
        Show a progress bar over epochs with the mean losses.
    warm_start : bool, default=False
        Continue training the fitted networks on the next ``fit``.
    callbacks : list of ecgsk.nn.callbacks.Callback, optional
    precision : {"32", "bf16"}, default="32"
    gradient_clip : float, optional
        Clip each optimizer step's gradients to this total norm.
    num_workers : int, default=0
        DataLoader worker processes that read the training batches when
        ``fit`` gets a memory-mapped array or an
        :class:`~ecgsk.datasets.ECGDataset` (0 reads them in the main
        process; in-memory input never uses workers).  The fit is the same
        for every value."""




class Pix2PixReconstructor(WindowImageGANReconstructor):
    __doc__ = f"""Pix2Pix conditional GAN for lead I -> 12-lead reconstruction.

    The same images as :class:`EKGAN` (lead I repeated into 12 rows, zero
    padded to 16) and the same 2-D U-Net generator with (2, 4) kernels; a
    PatchGAN discriminator (three stride-2 and two stride-1 (2, 4)
    convolutions on the (lead-I image, 12-lead image) pair) scores patches.
    Losses: generator ``BCE(D(x, G(x)), 1) + lambda_l1 * L1(y, G(x))``,
    discriminator real/fake BCE on logits; Adam, beta1 = 0.5.  EKGAN is this
    model plus a label generator and a latent-matching term.

    Parameters
    ----------{COMMON_PARAMS_DOC}
    lambda_l1 : float, default=100
        Weight of the L1 term (pix2pix's lambda).

    Attributes
    ----------
    generator_, discriminator_ : torch.nn.Module
    lead_mean_, lead_scale_ : ndarray of shape (12,)
    history_ : list of dict
        One record per epoch: ``epoch``, ``dur`` and the mean losses ``d``,
        ``g_adv``, ``g_l1``.
    n_iter_ : int
        Epochs trained.
    n_features_in_ : int

    References
    ----------
    .. [1] P. Isola et al., "Image-to-Image Translation with Conditional
       Adversarial Networks", CVPR 2017.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, n_samples=1000, random_state=0)
    >>> model = Pix2PixReconstructor(window=128, width=4, max_epochs=1, device="cpu", random_state=0).fit(X)
    >>> model.transform(X).shape
    (8, 12, 1000)
    """

    def __init__(self, window=512, stride=None, train_stride=None, width=64, max_epochs=10, batch_size=32,
                 lr=1e-4, lambda_l1=100.0, amplitude_jitter=0.0, fs=500, device="auto", random_state=None,
                 verbose=0, warm_start=False, callbacks=None, precision="32", gradient_clip=None, num_workers=0):
        self.window = window
        self.stride = stride
        self.train_stride = train_stride
        self.width = width
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lambda_l1 = lambda_l1
        self.amplitude_jitter = amplitude_jitter
        self.fs = fs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip
        self.num_workers = num_workers

    def _build_modules(self):
        modules = {"generator_": UNet2d(self.width, skips=True), "discriminator_": PatchGAN(self.width)}
        for module in modules.values():
            module.apply(init_weights)
        return modules

    def _configure_optimizers(self):
        return {"generator": self._adam(self.generator_, self.lr),
                "discriminator": self._adam(self.discriminator_, self.lr)}

    def _image_step(self, inp, tgt, ctx):
        """One update of D then G on a batch of images; returns the losses."""
        generator, discriminator = ctx.modules["generator_"], ctx.modules["discriminator_"]
        out, _ = generator(inp)
        d_loss = discriminator_loss(discriminator, inp, tgt, out)
        ctx.optimizer_step("discriminator", d_loss)

        with ctx.frozen("discriminator_"):
            adv = generator_adversarial_loss(self.discriminator_, inp, out)
            l1 = F.l1_loss(out, tgt)
            ctx.optimizer_step("generator", adv + self.lambda_l1 * l1)
        return {"d": d_loss.item(), "g_adv": adv.item(), "g_l1": l1.item()}
