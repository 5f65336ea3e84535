"""Polyphase inference for the Pulse2Pulse generator.

Nearest-neighbour upsampling by ``s`` followed by a 25-tap convolution is the
same linear map as ``s`` convolutions with ``~25/s + 1`` taps on the signal
before upsampling, whose outputs are interleaved.  The polyphase weights are
sums of the trained weights, so :class:`PolyphaseGenerator` equals the plain
network up to float rounding, at about a third of the arithmetic.
"""

import weakref

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .networks import DECODER_BLOCKS, KERNEL, PAD

__all__ = ["polyphase_weights", "PolyphaseGenerator", "polyphase_generator", "register_polyphase"]


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
    left, t_max = polyphase_pads(k, scale, pad)
    t_min = -left
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


def polyphase_pads(k, scale, pad=PAD):
    """Zero padding ``(left, right)`` of the polyphase convolution of a ``k``-tap kernel (see :func:`polyphase_weights`).

    Examples
    --------
    >>> polyphase_pads(25, 5)
    (3, 3)
    """
    return -((0 - pad) // scale), (scale - 1 + k - 1 - pad) // scale


def _polyphase_shape(shape, scale, pad=PAD):
    c_out, c_in, k = shape
    left, right = polyphase_pads(k, scale, pad)
    return (c_out * scale, c_in, left + right + 1)


def _state_tensor(state, key, shape):
    """``state[key]`` checked to be a float tensor of ``shape``; a ValueError names the key otherwise."""
    value = state.get(key)
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"the polyphase state lacks {key!r}")
    if tuple(value.shape) != tuple(shape) or not value.is_floating_point():
        raise ValueError(f"the polyphase state's {key!r} has shape {tuple(value.shape)} ({value.dtype}); "
                         f"expected {tuple(shape)}")
    return value


class PolyphaseGenerator(nn.Module):
    """Inference-only copy of a :class:`Pulse2PulseGenerator` with polyphase decoder blocks.

    Equal to the plain generator up to float rounding (about 1e-6), with about a
    third of the decoder's arithmetic and no upsampled intermediate tensors.

    Parameters
    ----------
    generator : Pulse2PulseGenerator
        The trained network; its weights are read once, at construction.
    state : dict of str to torch.Tensor, optional
        The derived tensors of :meth:`export_state`, used as they are instead
        of being computed again (the pretrained-weights cache stores them).
        Each must have the shape this ``generator`` implies; a ``ValueError``
        names the first that is missing or misshapen.

    Examples
    --------
    >>> import torch
    >>> from ecgsk.models.pulse2pulse import Pulse2PulseGenerator
    >>> g = Pulse2PulseGenerator(model_size=5).eval()
    >>> fast = PolyphaseGenerator(g)
    >>> x = torch.rand(2, 8, 2500) * 2 - 1
    >>> bool(torch.allclose(fast(x), g(x), atol=1e-5))
    True
    """

    def __init__(self, generator, state=None):
        super().__init__()
        self.encoder = generator.encoder
        self.scales = [s for s, _ in DECODER_BLOCKS]
        self.skips = [k for _, k in DECODER_BLOCKS]
        weights, biases, pads = [], [], []
        for i, ((scale, _), conv) in enumerate(zip(DECODER_BLOCKS, generator.decoder)):
            left, right = polyphase_pads(conv.weight.shape[2], scale)
            if state is None:
                w, _, _ = polyphase_weights(conv.weight, scale)
                b = conv.bias.detach().repeat_interleave(scale)
            else:
                w, b = _state_tensor(state, f"weights.{i}", _polyphase_shape(conv.weight.shape, scale)), \
                    _state_tensor(state, f"biases.{i}", (conv.bias.shape[0] * scale,))
            weights.append(nn.Parameter(w.contiguous(), requires_grad=False))
            biases.append(nn.Parameter(b.contiguous(), requires_grad=False))
            pads.append((left, right))
        self.weights = nn.ParameterList(weights)
        self.biases = nn.ParameterList(biases)
        self.pads = pads
        self._decoder = list(generator.decoder)  # plain list: not registered twice
        self._dense = {}
        if state is not None:
            for key in state:
                if key.startswith("dense."):
                    self._load_dense(state, key)

    # -- the tensors a cache stores (see ecgsk.models.pulse2pulse.pretrained) ---------------
    def dense_layers(self, length):
        """The layers that run as one dense matrix product for an input of ``length`` samples.

        Returns
        -------
        list of (str, int, int, int)
            ``(which, index, c_in, l_in)``: ``"enc"`` or ``"dec"``, the layer's
            index, and its input's channels and samples, in forward order.
        """
        layers = []
        c, n = self.encoder[0].in_channels, int(length)
        enc_out = []
        for j, conv in enumerate(self.encoder):
            if self._use_dense_shape("enc", j, c, n):
                layers.append(("enc", j, c, n))
            c, n = conv.out_channels, (n + 2 * PAD - KERNEL) // conv.stride[0] + 1
            enc_out.append((c, n))
        for i, conv in enumerate(self._decoder):
            if self.skips[i] is not None:
                c += enc_out[self.skips[i]][0]
            if self._use_dense_shape("dec", i, c, n):
                layers.append(("dec", i, c, n))
            c, n = conv.out_channels, n * self.scales[i]
        return layers

    def export_state(self, length):
        """Every derived tensor for inputs of ``length`` samples, as a flat dict of CPU float32 tensors.

        The polyphase weights and biases (``weights.{i}``, ``biases.{i}``) and
        the dense matrices of :meth:`dense_layers`
        (``dense.{which}.{index}.{c_in}.{l_in}.matrix`` and ``.bias``).
        ``PolyphaseGenerator(generator, state)`` rebuilds an identical module
        from it without recomputing anything.

        Parameters
        ----------
        length : int
            The network's input length (a multiple of 2500).

        Returns
        -------
        dict of str to torch.Tensor
        """
        cpu = torch.device("cpu")
        state = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            state[f"weights.{i}"] = w.detach().to(cpu).contiguous()
            state[f"biases.{i}"] = b.detach().to(cpu).contiguous()
        for which, index, c_in, l_in in self.dense_layers(length):
            matrix, bias, _ = self._dense_map(which, index, c_in, l_in, cpu, torch.float32)
            state[f"dense.{which}.{index}.{c_in}.{l_in}.matrix"] = matrix
            state[f"dense.{which}.{index}.{c_in}.{l_in}.bias"] = bias
        return state

    def _load_dense(self, state, key):
        parts = key.split(".")
        if len(parts) != 6 or parts[1] not in ("enc", "dec") or parts[5] not in ("matrix", "bias"):
            raise ValueError(f"unexpected polyphase state key {key!r}")
        if parts[5] == "bias":
            return
        which, index, c_in, l_in = parts[1], int(parts[2]), int(parts[3]), int(parts[4])
        layers = self.encoder if which == "enc" else self._decoder
        if not 0 <= index < len(layers):
            raise ValueError(f"unexpected polyphase state key {key!r}")
        l_out = self._dense_out_length(which, index, l_in)
        c_out = layers[index].out_channels
        matrix = _state_tensor(state, key, (c_in * l_in, c_out * l_out))
        bias = _state_tensor(state, key[: -len("matrix")] + "bias", (c_out * l_out,))
        self._dense[(which, index, c_in, l_in, matrix.device, matrix.dtype)] = (matrix, bias, l_out)

    def _dense_out_length(self, which, index, length):
        if which == "enc":
            return (length + 2 * PAD - KERNEL) // self.encoder[index].stride[0] + 1
        return length * self.scales[index]

    #: layers with at most this many inputs (channels x samples), and at most its
    #: square of matrix entries, run as one dense matrix product
    dense_limit = 2500

    def _use_dense(self, which, index, x):
        return self._use_dense_shape(which, index, x.shape[1], x.shape[2])

    def _use_dense_shape(self, which, index, c_in, length):
        n_in = c_in * length
        if n_in > self.dense_limit:
            return False
        layers = self.encoder if which == "enc" else self._decoder
        n_out = layers[index].out_channels * self._dense_out_length(which, index, length)
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


def _weights_key(generator):
    return tuple((p.data_ptr(), p._version, p.device.type) for p in generator.parameters())


def polyphase_generator(generator):
    """A cached :class:`PolyphaseGenerator` for ``generator``, rebuilt when its weights change.

    The cache key includes every parameter's storage and version counter, which
    in-place updates (optimiser steps, ``load_state_dict``) increment.

    Examples
    --------
    >>> from ecgsk.models.pulse2pulse import Pulse2PulseGenerator
    >>> g = Pulse2PulseGenerator(model_size=5).eval()
    >>> polyphase_generator(g) is polyphase_generator(g)
    True
    """
    key = _weights_key(generator)
    hit = _POLYPHASE_CACHE.get(generator)
    if hit is not None and hit[0] == key:
        return hit[1]
    fast = PolyphaseGenerator(generator).eval()
    _POLYPHASE_CACHE[generator] = (key, fast)
    return fast


def register_polyphase(generator, fast):
    """Make :func:`polyphase_generator` return ``fast`` for ``generator`` until its weights change.

    For a :class:`PolyphaseGenerator` rebuilt from stored tensors
    (``PolyphaseGenerator(generator, state)``), so that it is not recomputed.

    Examples
    --------
    >>> from ecgsk.models.pulse2pulse import Pulse2PulseGenerator
    >>> g = Pulse2PulseGenerator(model_size=5).eval()
    >>> fast = PolyphaseGenerator(g, PolyphaseGenerator(g).export_state(2500)).eval()
    >>> register_polyphase(g, fast) is polyphase_generator(g)
    True
    """
    if not isinstance(fast, PolyphaseGenerator) or fast.encoder is not generator.encoder:
        raise ValueError("fast must be a PolyphaseGenerator built from this generator")
    _POLYPHASE_CACHE[generator] = (_weights_key(generator), fast)
    return fast
