"""The Pulse2Pulse networks: the 1-D U-Net generator, the WaveGAN critic and phase shuffle.

The layer sizes follow Thambawita et al. (2021) and the generator of the
``deepfake-ecg`` package, whose trained weights load into
:class:`Pulse2PulseGenerator` unchanged (:mod:`.pretrained`).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Pulse2PulseGenerator", "Pulse2PulseCritic", "PhaseShuffle"]

KERNEL = 25
PAD = KERNEL // 2
ENCODER_STRIDES = (2, 5, 2, 5, 5, 5)
#: decoder blocks: (upsampling factor, index of the encoder output concatenated first, or None)
DECODER_BLOCKS = ((5, None), (5, 4), (5, 3), (2, 2), (5, 1), (2, None))
TOTAL_STRIDE = math.prod(ENCODER_STRIDES)  # 2500
#: network output x SCALE = microvolts (deepfake-ecg's convention); x SCALE / 1000 = millivolts
SCALE_UV = 6000
SCALE_MV = SCALE_UV / 1000.0


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
        Leads in and out.  The input length must be a multiple of
        :data:`TOTAL_STRIDE` (2500).

    Examples
    --------
    >>> import torch
    >>> g = Pulse2PulseGenerator(model_size=5)
    >>> g(torch.zeros(1, 8, 2500)).shape
    torch.Size([1, 8, 2500])
    """

    def __init__(self, model_size=50, n_channels=8):
        super().__init__()
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
        feats = self.encode(x)
        x = feats[-1]
        last = len(self.decoder) - 1
        for i, ((scale, skip), conv) in enumerate(zip(DECODER_BLOCKS, self.decoder)):
            if skip is not None:
                x = torch.cat((x, feats[skip]), dim=1)
            x = conv(F.pad(F.interpolate(x, scale_factor=scale, mode="nearest"), (PAD, PAD)))
            x = torch.tanh(x) if i == last else F.relu(x)
        return x



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


CRITIC_STRIDES = (2, 2, 2, 2, 4, 4, 4)


def critic_output_length(length):
    """Samples left after the critic's seven strided convolutions (kernel 25, padding 11)."""
    out = int(length)
    for stride in CRITIC_STRIDES:
        out = (out + 2 * 11 - KERNEL) // stride + 1
    return out


#: The shortest ECG the critic can score (one output sample after its convolutions).
MIN_LENGTH = next(n for n in range(1, 10_000) if critic_output_length(n) >= 1)


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
        Input length, at least :data:`MIN_LENGTH`; fixes the size of the
        linear layer.
    shift : int, default=2
        Phase-shuffle shift.
    alpha : float, default=0.2
        Leaky-ReLU slope.
    """

    strides = CRITIC_STRIDES

    def __init__(self, model_size=50, n_channels=8, length=5000, shift=2, alpha=0.2):
        super().__init__()
        d = int(model_size)
        chans = [n_channels, d, 2 * d, 5 * d, 10 * d, 20 * d, 25 * d, 100 * d]
        self.alpha = alpha
        self.convs = nn.ModuleList(
            nn.Conv1d(chans[i], chans[i + 1], KERNEL, stride=s, padding=11) for i, s in enumerate(self.strides)
        )
        self.shuffles = nn.ModuleList(PhaseShuffle(shift) for _ in range(len(self.strides) - 1))
        out_len = critic_output_length(length)
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
