"""Pulse2Pulse: a 1-D U-Net WGAN-GP that turns uniform noise into 8-lead ECGs.

Thambawita et al. (2021), "DeepFake electrocardiograms using generative
adversarial networks are the beginning of the end for privacy issues in
medicine", Scientific Reports 11, 21896.  The generator maps U(-1, 1) noise of
shape ``(8, 5000)`` to 10-s, 8-lead ECGs (I, II, V1-V6) at 500 Hz, scaled so
that the network output times 6000 is in microvolts.  The trained generator
ships with the ``deepfake-ecg`` package; :meth:`Pulse2PulseGAN.from_pretrained`
loads it.

Inference uses a polyphase form of the decoder: nearest-neighbour upsampling
by ``s`` followed by a 25-tap convolution is the same linear map as ``s``
convolutions with ``~25/s + 1`` taps on the signal before upsampling, whose
outputs are interleaved.  The polyphase weights are sums of the trained
weights, so the output equals the plain network's up to float rounding, at
about a third of the arithmetic.
"""

import math
from numbers import Integral, Real
import os
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch import nn

from ..base import GeneratorMixin, Interval
from ..utils.constraints import TORCH_PARAMETER_CONSTRAINTS
from ..leads import derive_12_from_8
from ..nn.base import TorchModelMixin, progress, seeded
from ..nn.gan import generator_loss, wgan_gp_critic_loss

__all__ = ["Pulse2PulseGAN", "Pulse2PulseGenerator", "Pulse2PulseCritic", "PolyphaseGenerator", "PhaseShuffle",
           "polyphase_generator", "polyphase_weights"]

KERNEL = 25
PAD = KERNEL // 2
ENCODER_STRIDES = (2, 5, 2, 5, 5, 5)
#: decoder blocks: (upsampling factor, index of the encoder output concatenated first, or None)
DECODER_BLOCKS = ((5, None), (5, 4), (5, 3), (2, 2), (5, 1), (2, None))
TOTAL_STRIDE = math.prod(ENCODER_STRIDES)  # 2500
#: network output x SCALE = microvolts (deepfake-ecg's convention); x SCALE / 1000 = millivolts
SCALE_UV = 6000
SCALE_MV = SCALE_UV / 1000.0
PRETRAINED_HINT = "pip install ecgsk[pretrained]"


def _encoder_channels(model_size, n_channels):
    d = int(model_size)
    return [n_channels, d // 5, d // 2, d, 3 * d, 5 * d, 5 * d]


def _decoder_channels(model_size, n_channels):
    """(in, out) channels of the six decoder blocks, skip concatenations included."""
    d = int(model_size)
    return [
        (5 * d, 5 * d),
        (5 * d * 2, 3 * d),
        (3 * d * 2, d),
        (d * 2, d // 2),
        ((d // 2) * 2, d // 5),
        (d // 5, n_channels),
    ]


class Pulse2PulseGenerator(nn.Module):
    """The Pulse2Pulse U-Net generator.

    Encoder: six ``Conv1d(kernel=25, padding=12)`` with strides 2, 5, 2, 5, 5, 5
    and leaky ReLU (slope 0.01); channels ``c -> d/5 -> d/2 -> d -> 3d -> 5d -> 5d``.
    Decoder: six blocks of nearest-neighbour upsampling (x5, x5, x5, x2, x5,
    x2), zero padding 12 and a stride-1 ``Conv1d(kernel=25)``; ReLU after all
    but the last, ``tanh`` after the last.  Blocks 2-5 first concatenate the
    outputs of encoder layers 5, 4, 3 and 2.

    Parameters
    ----------
    model_size : int, default=50
        The width ``d``; at least 5.
    n_channels : int, default=8
        Leads in and out.

    Examples
    --------
    >>> import torch
    >>> g = Pulse2PulseGenerator(model_size=5)
    >>> g(torch.zeros(1, 8, 2500)).shape
    torch.Size([1, 8, 2500])
    """

    def __init__(self, model_size=50, n_channels=8):
        super().__init__()
        if int(model_size) < 5:
            raise ValueError(f"model_size must be at least 5 (channels d/5 and d/2 must be >= 1); got {model_size}")
        self.model_size = int(model_size)
        self.n_channels = int(n_channels)
        enc = _encoder_channels(model_size, n_channels)
        self.encoder = nn.ModuleList(
            nn.Conv1d(enc[i], enc[i + 1], KERNEL, stride=s, padding=PAD) for i, s in enumerate(ENCODER_STRIDES)
        )
        self.decoder = nn.ModuleList(nn.Conv1d(cin, cout, KERNEL) for cin, cout in _decoder_channels(model_size, n_channels))

    def encode(self, x):
        feats = []
        for conv in self.encoder:
            x = F.leaky_relu(conv(x))
            feats.append(x)
        return feats

    def forward(self, x):
        if x.shape[-1] % TOTAL_STRIDE:
            raise ValueError(f"the generator's input length must be a multiple of {TOTAL_STRIDE}; got {x.shape[-1]}")
        feats = self.encode(x)
        x = feats[-1]
        last = len(self.decoder) - 1
        for i, ((scale, skip), conv) in enumerate(zip(DECODER_BLOCKS, self.decoder)):
            if skip is not None:
                x = torch.cat((x, feats[skip]), dim=1)
            x = conv(F.pad(F.interpolate(x, scale_factor=scale, mode="nearest"), (PAD, PAD)))
            x = torch.tanh(x) if i == last else F.relu(x)
        return x


def polyphase_weights(weight, scale, pad=PAD):
    """Polyphase form of "upsample by ``scale`` (nearest), zero-pad, convolve".

    For a stride-1 convolution with kernel ``W`` of length ``K`` applied to the
    zero-padded (``pad`` each side), nearest-upsampled signal ``U[m] = x[m // s]``,
    output sample ``y[s q + r]`` equals ``sum_t P[r, t] x[q + t]`` with
    ``P[r, t] = sum{W[j] : (r + j - pad) // s == t}``.

    Parameters
    ----------
    weight : torch.Tensor of shape (C_out, C_in, K)
    scale : int
        The upsampling factor ``s``.
    pad : int, default=12
        Zero padding on each side of the upsampled signal.

    Returns
    -------
    weight : torch.Tensor of shape (C_out * s, C_in, T)
        Output channel ``c * s + r`` is phase ``r`` of channel ``c``.
    left, right : int
        Zero padding to apply to ``x`` before the convolution.
    """
    c_out, c_in, k = weight.shape
    t_min = (0 - pad) // scale
    t_max = (scale - 1 + k - 1 - pad) // scale
    n_taps = t_max - t_min + 1
    # The taps j with (r + j - pad) // s == t form the range [t s + pad - r, t s + pad - r + s),
    # so each polyphase tap is a difference of float64 cumulative sums (exact to float32 precision).
    r = np.arange(scale)[:, None]
    t = np.arange(t_min, t_max + 1)[None, :]
    lo = np.clip(t * scale + pad - r, 0, k)
    hi = np.clip(t * scale + pad - r + scale, 0, k)
    w64 = weight.detach().to("cpu").numpy().astype(np.float64)
    csum = np.concatenate([np.zeros((c_out, c_in, 1)), np.cumsum(w64, axis=2)], axis=2)
    out = csum[:, :, hi] - csum[:, :, lo]  # (c_out, c_in, s, n_taps)
    out = torch.from_numpy(np.ascontiguousarray(out.transpose(0, 2, 1, 3)).reshape(c_out * scale, c_in, n_taps))
    return out.to(device=weight.device, dtype=weight.dtype).contiguous(), -t_min, t_max


class PolyphaseGenerator(nn.Module):
    """Inference-only copy of a :class:`Pulse2PulseGenerator` with polyphase decoder blocks.

    Equal to the plain generator up to float rounding (about 1e-6), with about a
    third of the decoder's arithmetic and no upsampled intermediate tensors.

    Parameters
    ----------
    generator : Pulse2PulseGenerator
        The trained network; its weights are read once, at construction.

    Examples
    --------
    >>> import torch
    >>> g = Pulse2PulseGenerator(model_size=5).eval()
    >>> fast = PolyphaseGenerator(g)
    >>> x = torch.rand(2, 8, 2500) * 2 - 1
    >>> bool(torch.allclose(fast(x), g(x), atol=1e-5))
    True
    """

    def __init__(self, generator):
        super().__init__()
        self.encoder = generator.encoder
        self.scales = [s for s, _ in DECODER_BLOCKS]
        self.skips = [k for _, k in DECODER_BLOCKS]
        weights, biases, pads = [], [], []
        for (scale, _), conv in zip(DECODER_BLOCKS, generator.decoder):
            w, left, right = polyphase_weights(conv.weight, scale)
            weights.append(nn.Parameter(w.contiguous(), requires_grad=False))
            biases.append(nn.Parameter(conv.bias.detach().repeat_interleave(scale).contiguous(), requires_grad=False))
            pads.append((left, right))
        self.weights = nn.ParameterList(weights)
        self.biases = nn.ParameterList(biases)
        self.pads = pads
        self._decoder = list(generator.decoder)  # plain list: not registered twice
        self._dense = {}

    #: layers with at most this many inputs (channels x samples), and at most its
    #: square of matrix entries, run as one dense matrix product
    dense_limit = 2500

    def _use_dense(self, which, index, x):
        c_in, length = x.shape[1], x.shape[2]
        n_in = c_in * length
        if n_in > self.dense_limit:
            return False
        if which == "enc":
            conv = self.encoder[index]
            n_out = conv.out_channels * ((length + 2 * PAD - KERNEL) // conv.stride[0] + 1)
        else:
            n_out = self._decoder[index].out_channels * length * self.scales[index]
        return n_in * n_out <= self.dense_limit**2

    def _dense_map(self, which, index, c_in, length, device, dtype):
        """A layer applied to a short input as one dense ``(C_in*L_in, C_out*L_out)`` matrix.

        Convolutions over a few samples are mostly zero padding and run
        inefficiently; one matrix product is exact up to summation order.
        """
        key = (which, index, c_in, length, device, dtype)
        if key not in self._dense:
            # Every matrix entry is a weight (or a polyphase weight) or zero: built by copying.
            if which == "enc":
                conv = self.encoder[index]
                w, stride = conv.weight.detach(), conv.stride[0]
                c_out, _, k = w.shape
                l_out = (length + 2 * PAD - k) // stride + 1
                m = w.new_zeros(c_in, length, c_out, l_out)
                for q in range(l_out):
                    for l in range(length):
                        j = l - stride * q + PAD
                        if 0 <= j < k:
                            m[:, l, :, q] = w[:, :, j].t()
            else:
                scale = self.scales[index]
                left = self.pads[index][0]
                w = self.weights[index].detach()
                n_taps = w.shape[2]
                c_out = w.shape[0] // scale
                w = w.view(c_out, scale, c_in, n_taps)
                l_out = length * scale
                m = w.new_zeros(c_in, length, c_out, length, scale)
                for q in range(length):
                    for l in range(length):
                        t = l - q + left
                        if 0 <= t < n_taps:
                            m[:, l, :, q, :] = w[:, :, :, t].permute(2, 0, 1)
                conv = self._decoder[index]
            matrix = m.reshape(c_in * length, -1).to(device=device, dtype=dtype).contiguous()
            bias = conv.bias.detach().to(device=device, dtype=dtype).repeat_interleave(l_out)
            self._dense[key] = (matrix, bias, l_out)
        return self._dense[key]

    def _apply_dense(self, which, index, x):
        matrix, bias, l_out = self._dense_map(which, index, x.shape[1], x.shape[2], x.device, x.dtype)
        return torch.addmm(bias, x.reshape(len(x), -1), matrix).view(len(x), -1, l_out)

    def forward(self, x):
        feats = []
        for j, conv in enumerate(self.encoder):
            if self._use_dense("enc", j, x):
                x = F.leaky_relu(self._apply_dense("enc", j, x), inplace=True)
            else:
                x = F.leaky_relu(conv(x), inplace=True)
            feats.append(x)
        x = feats[-1]
        last = len(self.scales) - 1
        for i in range(len(self.scales)):
            skip, scale = self.skips[i], self.scales[i]
            if skip is not None:
                x = torch.cat((x, feats[skip]), dim=1)
            if self._use_dense("dec", i, x):
                y = self._apply_dense("dec", i, x)
                x = y.tanh_() if i == last else y.relu_()
                continue
            left, right = self.pads[i]
            if left == right:
                y = F.conv1d(x, self.weights[i], self.biases[i], padding=left)
            else:
                y = F.conv1d(F.pad(x, (left, right)), self.weights[i], self.biases[i])
            n, c, m = y.shape
            # The activation commutes with the interleaving; apply it in place first.
            y = y.tanh_() if i == last else y.relu_()
            # (n, C_out * s, m) -> (n, C_out, m * s): interleave the phases.
            x = y.view(n, c // scale, scale, m).transpose(2, 3).reshape(n, c // scale, m * scale)
        return x


_POLYPHASE_CACHE = weakref.WeakKeyDictionary()


def polyphase_generator(generator):
    """A cached :class:`PolyphaseGenerator` for ``generator``, rebuilt when its weights change.

    The cache key includes every parameter's storage and version counter, which
    in-place updates (optimiser steps, ``load_state_dict``) increment.
    """
    params = list(generator.parameters())
    key = tuple((p.data_ptr(), p._version, p.device.type) for p in params)
    hit = _POLYPHASE_CACHE.get(generator)
    if hit is not None and hit[0] == key:
        return hit[1]
    fast = PolyphaseGenerator(generator).eval()
    _POLYPHASE_CACHE[generator] = (key, fast)
    return fast


class PhaseShuffle(nn.Module):
    """WaveGAN phase shuffle: shift each example by a random integer in [-n, n], reflect-padded.

    Parameters
    ----------
    shift : int, default=2
        The largest shift ``n``.  The identity in eval mode or when 0.
    """

    def __init__(self, shift=2):
        super().__init__()
        self.shift = int(shift)

    def forward(self, x):
        n = self.shift
        if n == 0 or not self.training:
            return x
        batch, _, length = x.shape
        k = torch.randint(-n, n + 1, (batch,), device=x.device)
        padded = F.pad(x, (n, n), mode="reflect")
        # out[b, :, i] = padded[b, :, i + n - k[b]]
        idx = (torch.arange(length, device=x.device)[None, :] + (n - k)[:, None]).unsqueeze(1).expand(-1, x.shape[1], -1)
        return torch.gather(padded, 2, idx)


class Pulse2PulseCritic(nn.Module):
    """WaveGAN-style critic: seven ``Conv1d(kernel=25, padding=11)`` with leaky ReLU(0.2),
    phase shuffle after the first six, and a linear output.

    Channels ``c -> d -> 2d -> 5d -> 10d -> 20d -> 25d -> 100d``; strides 2, 2,
    2, 2, 4, 4, 4.

    Parameters
    ----------
    model_size : int, default=50
    n_channels : int, default=8
    length : int, default=5000
        Input length; fixes the size of the linear layer.
    shift : int, default=2
        Phase-shuffle shift.
    alpha : float, default=0.2
        Leaky-ReLU slope.
    """

    strides = (2, 2, 2, 2, 4, 4, 4)

    def __init__(self, model_size=50, n_channels=8, length=5000, shift=2, alpha=0.2):
        super().__init__()
        d = int(model_size)
        chans = [n_channels, d, 2 * d, 5 * d, 10 * d, 20 * d, 25 * d, 100 * d]
        self.alpha = alpha
        self.convs = nn.ModuleList(
            nn.Conv1d(chans[i], chans[i + 1], KERNEL, stride=s, padding=11) for i, s in enumerate(self.strides)
        )
        self.shuffles = nn.ModuleList(PhaseShuffle(shift) for _ in range(len(self.strides) - 1))
        out_len = int(length)
        for s in self.strides:
            out_len = (out_len + 2 * 11 - KERNEL) // s + 1
            if out_len < 1:
                raise ValueError(f"length={length} is too short for the critic's seven strided convolutions")
        self.fc = nn.Linear(chans[-1] * out_len, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.leaky_relu(conv(x), negative_slope=self.alpha)
            if i < len(self.shuffles):
                x = self.shuffles[i](x)
        return self.fc(x.flatten(1)).squeeze(1)


# -- the pretrained checkpoint ------------------------------------------------------

#: deepfake-ecg key prefix -> ecgsk key prefix
_PRETRAINED_KEYS = {f"conv_{i + 1}.": f"encoder.{i}." for i in range(6)}
_PRETRAINED_KEYS.update({f"deconv_{j}.conv1d.": f"decoder.{i}." for i, j in enumerate((1, 2, 3, 5, 6, 7))})
#: tensors in deepfake-ecg's checkpoint that its forward pass never uses
PRETRAINED_UNUSED_PREFIXES = ("fc1.", "ppfilter1.") + tuple(
    f"deconv_{j}.Conv1dTrans." for j in (1, 2, 3, 5, 6, 7)
)


def pretrained_checkpoint_path():
    """Path of the generator checkpoint shipped by the installed ``deepfake-ecg``.

    Found with :func:`importlib.util.find_spec`, so deepfake-ecg itself is not
    imported.

    Raises
    ------
    ImportError
        When deepfake-ecg is not installed (``pip install ecgsk[pretrained]``).
    """
    import importlib.util

    spec = importlib.util.find_spec("deepfakeecg")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the pretrained Pulse2Pulse weights ship with the deepfake-ecg package, which is not installed; "
            f"run `{PRETRAINED_HINT}` (or pass path= to a checkpoint)"
        )
    for location in spec.submodule_search_locations:
        path = os.path.join(location, "checkpoints", "g_stat.pt")
        if os.path.isfile(path):
            return path
    raise ImportError(
        f"deepfake-ecg is installed but its checkpoint checkpoints/g_stat.pt is missing; reinstall it with `{PRETRAINED_HINT}`"
    )


def map_pretrained_state_dict(state_dict):
    """Map deepfake-ecg's generator ``state_dict`` onto :class:`Pulse2PulseGenerator`.

    Returns
    -------
    mapped : dict
        ecgsk key -> tensor.
    skipped : list of str
        deepfake-ecg keys left out: the tensors its forward pass never uses
        (``fc1``, the six ``Conv1dTrans`` layers and the ``ppfilter1``
        post-processing filter).

    Raises
    ------
    ValueError
        For a key that is neither mapped nor known to be unused.
    """
    mapped, skipped, unknown = {}, [], []
    for key, value in state_dict.items():
        for old, new in _PRETRAINED_KEYS.items():
            if key.startswith(old):
                mapped[new + key[len(old):]] = value
                break
        else:
            (skipped if key.startswith(PRETRAINED_UNUSED_PREFIXES) else unknown).append(key)
    if unknown:
        raise ValueError(f"unexpected keys in the Pulse2Pulse checkpoint: {unknown}")
    return mapped, skipped


class Pulse2PulseGAN(GeneratorMixin, TorchModelMixin, BaseEstimator):
    """Pulse2Pulse ECG generator (WGAN-GP, U-Net generator, WaveGAN critic).

    ``fit`` takes ECGs in mV of shape ``(n_ecgs, n_leads, length)``; the
    network sees them divided by 6 (microvolts / 6000, as the original).
    ``sample`` returns mV.

    Parameters
    ----------
    model_size : int, default=50
        Width ``d`` of generator and critic (50 in the paper); at least 5.
    n_leads : int, default=8
        Leads (I, II, V1-V6 for the pretrained model).
    length : int, default=5000
        Samples per ECG.  The generator works on the next multiple of 2500
        (its total stride) and returns the first ``length`` samples.
    fs : float, default=500
        Sampling rate in Hz (metadata; used by ``score``).
    n_critic : int, default=5
        Critic updates per generator update.
    gp_weight : float, default=10.0
        Gradient-penalty coefficient lambda.
    lr : float, default=1e-4
        Adam learning rate (betas 0.5, 0.9) of both networks.
    batch_size : int, default=32
        Training minibatch size.
    max_epochs : int, default=100
        Passes over the training data; each minibatch is one critic update.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState or None
    verbose : int, default=0
        Show a progress bar over epochs.
    warm_start : bool, default=False
        Continue training the fitted networks instead of starting afresh.

    Attributes
    ----------
    generator_ : Pulse2PulseGenerator
    critic_ : Pulse2PulseCritic or None
        ``None`` after :meth:`from_pretrained` (no critic is shipped).
    history_ : dict of lists
        Per epoch: ``"critic_loss"``, ``"wasserstein"`` (mean of
        ``D(real) - D(fake)``) and ``"generator_loss"`` (NaN for an epoch
        without a generator update).
    n_iter_ : int
        Critic updates so far.
    n_features_in_ : int
        Number of leads.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, n_leads=8, n_samples=2500, random_state=0)
    >>> gan = Pulse2PulseGAN(model_size=5, length=2500, max_epochs=2, n_critic=1,
    ...                      device="cpu", random_state=0).fit(X)
    >>> gan.sample(3).shape
    (3, 8, 2500)
    >>> gan.sample(2, leads=12).shape
    (2, 12, 2500)
    """

    tags = {"n_leads": 8, "fixed_length_param": "length", "python_dependencies": ("torch",)}
    parameter_constraints = {
        **{k: v for k, v in TORCH_PARAMETER_CONSTRAINTS.items() if k != "betas"},
        "model_size": [Interval(Integral, 5, None)],  # channels d/5 and d/2 must be >= 1
        "n_leads": [Interval(Integral, 1, None)],
        "length": [Interval(Integral, 1, None)],
        "fs": [Interval(Real, 0, None, closed="neither")],
        "n_critic": [Interval(Integral, 1, None)],
        "gp_weight": [Interval(Real, 0, None)],
    }
    _inference_batch = 128

    def __init__(
        self,
        model_size=50,
        n_leads=8,
        length=5000,
        fs=500,
        n_critic=5,
        gp_weight=10.0,
        lr=1e-4,
        batch_size=32,
        max_epochs=100,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.model_size = model_size
        self.n_leads = n_leads
        self.length = length
        self.fs = fs
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @classmethod
    def get_test_params(cls):
        """Tiny configurations that fit in about a second on a CPU."""
        return [
            {"model_size": 5, "length": 2500, "max_epochs": 1, "n_critic": 1, "batch_size": 4, "device": "cpu",
             "random_state": 0},
        ]

    # -- helpers --------------------------------------------------------------------
    @property
    def _net_length(self):
        return TOTAL_STRIDE * math.ceil(int(self.length) / TOTAL_STRIDE)

    def _build(self, device):
        self.generator_ = Pulse2PulseGenerator(self.model_size, self.n_leads).to(device)
        self.critic_ = Pulse2PulseCritic(self.model_size, self.n_leads, self.length).to(device)
        self._make_optimizers()

    def _make_optimizers(self):
        self.g_optimizer_ = torch.optim.Adam(self.generator_.parameters(), lr=self.lr, betas=(0.5, 0.9))
        self.c_optimizer_ = torch.optim.Adam(self.critic_.parameters(), lr=self.lr, betas=(0.5, 0.9))

    def _noise(self, n, device, generator=None):
        return torch.rand(n, self.n_leads, self._net_length, device=device, generator=generator) * 2 - 1

    # -- training -------------------------------------------------------------------
    def _fit(self, X, y=None, *, rng):
        device = self._reset_device()
        warm = self.warm_start and getattr(self, "generator_", None) is not None
        if warm and getattr(self, "critic_", None) is None:  # e.g. continuing from pretrained weights
            self.critic_ = Pulse2PulseCritic(self.model_size, self.n_leads, self.length).to(device)
            self.g_optimizer_ = None
        with seeded(rng):
            if not warm:
                self._build(device)
                self.history_ = {"critic_loss": [], "wasserstein": [], "generator_loss": []}
                self.n_iter_ = 0
            else:
                self.generator_.to(device)
                self.critic_.to(device)
                if getattr(self, "g_optimizer_", None) is None or getattr(self, "c_optimizer_", None) is None:
                    self._make_optimizers()
                if not hasattr(self, "history_"):
                    self.history_ = {"critic_loss": [], "wasserstein": [], "generator_loss": []}
                    self.n_iter_ = 0
            data = torch.as_tensor(X / np.float32(SCALE_MV), dtype=torch.float32)
            net_len = self._net_length
            n = len(data)
            bs = min(int(self.batch_size), n)
            self.generator_.train()
            self.critic_.train()
            epochs = progress(range(int(self.max_epochs)), total=int(self.max_epochs), desc="Pulse2Pulse", verbose=self.verbose)
            for _ in epochs:
                perm = torch.randperm(n)
                c_losses, w_ests, g_losses = [], [], []
                for start in range(0, n, bs):
                    real = data[perm[start:start + bs]].to(device)
                    with torch.no_grad():
                        fake = self.generator_(self._noise(len(real), device))[..., : self.length]
                    loss, w_est = wgan_gp_critic_loss(self.critic_, real, fake, gp_weight=self.gp_weight)
                    self.c_optimizer_.zero_grad(set_to_none=True)
                    loss.backward()
                    self.c_optimizer_.step()
                    c_losses.append(float(loss.detach()))
                    w_ests.append(float(w_est))
                    self.n_iter_ += 1
                    if self.n_iter_ % int(self.n_critic) == 0:
                        for p in self.critic_.parameters():
                            p.requires_grad_(False)
                        fake = self.generator_(self._noise(len(real), device))[..., : self.length]
                        g_loss = generator_loss(self.critic_(fake))
                        self.g_optimizer_.zero_grad(set_to_none=True)
                        g_loss.backward()
                        self.g_optimizer_.step()
                        for p in self.critic_.parameters():
                            p.requires_grad_(True)
                        g_losses.append(float(g_loss.detach()))
                self.history_["critic_loss"].append(float(np.mean(c_losses)))
                self.history_["wasserstein"].append(float(np.mean(w_ests)))
                self.history_["generator_loss"].append(float(np.mean(g_losses)) if g_losses else float("nan"))
                if self.verbose and hasattr(epochs, "set_postfix"):
                    epochs.set_postfix(critic=self.history_["critic_loss"][-1], w=self.history_["wasserstein"][-1])
            self.generator_.eval()
            self.critic_.eval()
        return self

    # -- sampling -------------------------------------------------------------------
    def _raw_batches(self, n_samples, rng, batch_size=None, *, fast=True):
        """Yield batches of the raw network output (float32 tensors on the CPU, ``(b, leads, length)``).

        The noise is U(-1, 1) float32 drawn from a NumPy ``Generator`` seeded by
        ``rng``, in one stream: the ECGs do not depend on ``batch_size``.
        """
        device = self._torch_device()
        batch_size = int(batch_size or self._inference_batch)
        noise_rng = np.random.default_rng(int(rng.randint(0, 2**31 - 1)))
        net = self.generator_.to(device).eval()
        if fast:
            net = polyphase_generator(net)
        shape = (self.n_features_in_, self._net_length)
        with torch.inference_mode():
            for start in range(0, n_samples, batch_size):
                b = min(batch_size, n_samples - start)
                noise = torch.from_numpy(noise_rng.random((b,) + shape, dtype=np.float32))
                noise = noise.to(device).mul_(2).sub_(1)
                out = net(noise)[..., : self.length]
                yield out.to("cpu", torch.float32)

    def _sample_batches(self, n_samples, conditions, rng, batch_size):
        # one noise stream through all batches: the ECGs do not depend on batch_size
        for raw in self._raw_batches(n_samples, rng, batch_size):
            yield raw.numpy()

    def _raw_to_mv(self, raw):
        return np.asarray(raw, dtype=np.float32) * np.float32(SCALE_MV)

    def _raw_to_microvolts(self, raw):
        # deepfake-ecg writes int(output * 6000), truncated toward zero
        return np.trunc(np.asarray(raw, dtype=np.float32) * np.float32(SCALE_UV)).astype(np.int32)

    def _sample(self, n_samples, conditions, rng):
        out = np.empty((n_samples, self.n_features_in_, int(self.length)), dtype=np.float32)
        start = 0
        with progress(total=n_samples, desc="sample", verbose=self.verbose) as bar:
            for batch in self._raw_batches(n_samples, rng):
                b = len(batch)
                np.multiply(batch.numpy(), np.float32(SCALE_MV), out=out[start:start + b])
                start += b
                bar.update(b)
        return out

    def sample(self, n_samples=1, *, conditions=None, random_state=None, leads=8):
        """Generate ECGs in mV.

        Parameters
        ----------
        n_samples : int, default=1
        conditions : None
            Pulse2Pulse is unconditional.
        random_state : int, RandomState or None
            ``None`` draws from the estimator's own stream.
        leads : {8, 12}, default=8
            8: the generated leads I, II, V1-V6.  12: all twelve, with III,
            aVR, aVL and aVF derived by :func:`ecgsk.leads.derive_12_from_8`.

        Returns
        -------
        ndarray of float32, shape (n_samples, leads, length)

        Examples
        --------
        >>> gan = Pulse2PulseGAN.from_pretrained()  # doctest: +SKIP
        >>> gan.sample(2, leads=12, random_state=0).shape  # doctest: +SKIP
        (2, 12, 5000)
        """
        if leads not in (8, 12) or isinstance(leads, bool):
            raise ValueError(f"leads must be 8 or 12; got {leads!r}")
        X = super().sample(n_samples, conditions=conditions, random_state=random_state)
        if leads == 12:
            if X.shape[1] != 8:
                raise ValueError(f"leads=12 needs a model of the 8 leads {('I', 'II', 'V1-V6')}; this one has {X.shape[1]}")
            X = derive_12_from_8(X)
        return X

    # -- pretrained weights and checkpoints -------------------------------------------
    @classmethod
    def from_pretrained(cls, path=None, device="cpu"):
        """The trained Pulse2Pulse generator of deepfake-ecg, as a fitted estimator.

        Parameters
        ----------
        path : str or path-like, optional
            A checkpoint ``{"stat_dict": state_dict}`` in deepfake-ecg's layout,
            or one written by :meth:`save_checkpoint`.  Default: the one shipped
            with the installed deepfake-ecg (``pip install ecgsk[pretrained]``).
        device : {"cpu", "cuda", "auto"}, default="cpu"

        Returns
        -------
        Pulse2PulseGAN
            Fitted (``n_features_in_ == 8``, length 5000 at 500 Hz), without a
            critic.  Tensors of the checkpoint that the forward pass never uses
            (``fc1``, six ``Conv1dTrans`` layers, ``ppfilter1``) are skipped.

        Raises
        ------
        ImportError
            With no ``path`` and no deepfake-ecg installed.

        Examples
        --------
        >>> gan = Pulse2PulseGAN.from_pretrained()  # doctest: +SKIP
        >>> gan.sample(1, random_state=0).shape  # doctest: +SKIP
        (1, 8, 5000)
        """
        if path is None:
            path = pretrained_checkpoint_path()
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(checkpoint, dict) and checkpoint.get("format") == _CHECKPOINT_FORMAT:
            return cls(device=device).load_checkpoint(path)
        if not isinstance(checkpoint, dict) or "stat_dict" not in checkpoint:
            raise ValueError(f"{path} is not a deepfake-ecg generator checkpoint (expected a dict with 'stat_dict')")
        mapped, skipped = map_pretrained_state_dict(checkpoint["stat_dict"])
        model_size = int(mapped["encoder.5.weight"].shape[0]) // 5
        n_leads = int(mapped["encoder.0.weight"].shape[1])
        est = cls(model_size=model_size, n_leads=n_leads, length=5000, fs=500, device=device)
        dev = est._reset_device()
        gen = Pulse2PulseGenerator(model_size, n_leads)
        gen.load_state_dict(mapped, strict=True)
        est.generator_ = gen.to(dev).eval()
        est.critic_ = None
        est.skipped_keys_ = skipped
        est.history_ = {"critic_loss": [], "wasserstein": [], "generator_loss": []}
        est.n_iter_ = 0
        est.n_features_in_ = n_leads
        est.n_timepoints_in_ = 5000
        est._start_rngs()
        return est

    def save_checkpoint(self, path):
        """Save parameters, networks, optimiser states and history to ``path`` (``torch.save``).

        The file holds only tensors and plain Python values, so
        :meth:`load_checkpoint` reads it with ``weights_only=True``.

        Examples
        --------
        >>> gan.save_checkpoint("p2p.pt")  # doctest: +SKIP
        >>> Pulse2PulseGAN().load_checkpoint("p2p.pt").sample(1).shape  # doctest: +SKIP
        (1, 8, 5000)
        """
        self._check_fitted()
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "random_state"}
        params["random_state"] = self.random_state if isinstance(self.random_state, (int, np.integer, type(None))) else None
        if isinstance(params["random_state"], np.integer):
            params["random_state"] = int(params["random_state"])

        def cpu_state(module):
            return None if module is None else {k: v.detach().cpu() for k, v in module.state_dict().items()}

        def opt_state(opt):
            return None if opt is None else opt.state_dict()

        torch.save(
            {
                "format": _CHECKPOINT_FORMAT,
                "params": params,
                "generator": cpu_state(self.generator_),
                "critic": cpu_state(getattr(self, "critic_", None)),
                "g_optimizer": opt_state(getattr(self, "g_optimizer_", None)),
                "c_optimizer": opt_state(getattr(self, "c_optimizer_", None)),
                "history": self.history_,
                "n_iter": int(getattr(self, "n_iter_", 0)),
                "n_features_in": int(self.n_features_in_),
                "n_timepoints_in": int(getattr(self, "n_timepoints_in_", self.length)),
            },
            path,
        )

    def load_checkpoint(self, path):
        """Load a checkpoint written by :meth:`save_checkpoint` (``weights_only=True``).

        The saved parameters replace this estimator's, except ``device``.

        Returns
        -------
        self
        """
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or ckpt.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not an ecgsk Pulse2Pulse checkpoint; for deepfake-ecg's use from_pretrained(path)")
        params = dict(ckpt["params"])
        params.pop("device", None)
        self.set_params(**params)
        device = self._reset_device()
        self.generator_ = Pulse2PulseGenerator(self.model_size, self.n_leads)
        self.generator_.load_state_dict(ckpt["generator"])
        self.generator_.to(device).eval()
        if ckpt.get("critic") is not None:
            self.critic_ = Pulse2PulseCritic(self.model_size, self.n_leads, self.length)
            self.critic_.load_state_dict(ckpt["critic"])
            self.critic_.to(device).eval()
            self._make_optimizers()
            if ckpt.get("g_optimizer") is not None:
                self.g_optimizer_.load_state_dict(ckpt["g_optimizer"])
            if ckpt.get("c_optimizer") is not None:
                self.c_optimizer_.load_state_dict(ckpt["c_optimizer"])
        else:
            self.critic_ = None
            self.g_optimizer_ = self.c_optimizer_ = None
        self.history_ = {k: list(v) for k, v in ckpt["history"].items()}
        self.n_iter_ = int(ckpt["n_iter"])
        self.n_features_in_ = int(ckpt["n_features_in"])
        self.n_timepoints_in_ = int(ckpt["n_timepoints_in"])
        self._start_rngs()
        return self


_CHECKPOINT_FORMAT = "ecgsk.pulse2pulse.v1"
