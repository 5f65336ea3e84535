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

The package holds one module per part: :mod:`.networks` (generator, critic,
phase shuffle), :mod:`.polyphase` (the fast inference form),
:mod:`.pretrained` (deepfake-ecg's checkpoint) and :mod:`.estimator`
(:class:`Pulse2PulseGAN`).  Every name is importable from
``ecgsk.models.pulse2pulse``.
"""

from .estimator import Pulse2PulseGAN
from .networks import (
    DECODER_BLOCKS,
    ENCODER_STRIDES,
    KERNEL,
    PAD,
    SCALE_MV,
    SCALE_UV,
    TOTAL_STRIDE,
    PhaseShuffle,
    Pulse2PulseCritic,
    Pulse2PulseGenerator,
)
from .polyphase import PolyphaseGenerator, polyphase_generator, polyphase_weights
from .pretrained import PRETRAINED_HINT, PRETRAINED_UNUSED_PREFIXES, map_pretrained_state_dict, pretrained_checkpoint_path

__all__ = ["Pulse2PulseGAN", "Pulse2PulseGenerator", "Pulse2PulseCritic", "PolyphaseGenerator", "PhaseShuffle",
           "polyphase_generator", "polyphase_weights"]
