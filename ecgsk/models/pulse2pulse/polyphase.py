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

__all__ = ["polyphase_weights", "PolyphaseGenerator", "polyphase_generator"]


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

