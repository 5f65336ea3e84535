"""EKGAN: lead I -> 12-lead reconstruction with an image-to-image GAN and a label generator.

EKGAN (Joo et al., "Twelve-Lead ECG Reconstruction from Single-Lead Signals
Using Generative Adversarial Networks", MICCAI 2023; reference code
``knu-plml/ecg-recon``) treats a 512-sample window of lead I, repeated into 12
rows and zero-padded to 16, as a one-channel image, and maps it to the image of
the 12 leads with a 2-D U-Net.  A second, skip-less encoder-decoder (the label
generator) auto-encodes the real 12-lead image; an L1 term pulls the inference
generator's bottleneck towards the label generator's, so that the latent space
carries lead-specific information.  The images, windows and blending are
those of :mod:`ecgsk.models.pix2pix`.
"""

from numbers import Real

import torch
from torch import nn
from torch.nn import functional as F

from ..base import Interval
from .pix2pix import (
    COMMON_PARAMS_DOC,
    Down,
    UNet2d,
    Up,
    WindowImageGANReconstructor,
    discriminator_loss,
    generator_adversarial_loss,
    init_weights,
)

__all__ = ["EKGAN"]


class EKGANDiscriminator(nn.Module):
    """EKGAN's discriminator: a U-Net of (1, k) convolutions along time.

    Input: the lead-I image and a 12-lead image (real or generated),
    concatenated as 2 channels.  Encoder filters ``width/2 * (1, 2, 4, 8, 16)``
    (32 -> 512 in the paper), kernels 64, 32, 16, 8, 4 and strides 4, 4, 4, 2, 2
    along time (a stride is reduced to 1 where the window is too short for
    it).  Output: a logit map of the image's size.
    """

    def __init__(self, width, window):
        super().__init__()
        base = max(width // 2, 1)
        enc = [base, 2 * base, 4 * base, 8 * base, 16 * base]
        kernels = [64, 32, 16, 8, 4]
        strides, length = [], window
        for s in (4, 4, 4, 2, 2):
            s = s if length % s == 0 and length // s >= 1 else 1
            strides.append(s)
            length //= s
        self.down = nn.ModuleList()
        c_in = 2
        for i, c in enumerate(enc):
            self.down.append(Down(c_in, c, (1, kernels[i]), (1, strides[i]), norm=i > 0))
            c_in = c
        dec = [8 * base, 4 * base, 2 * base, base, 1]
        self.up = nn.ModuleList()
        for i, c in enumerate(dec):
            if i > 0:
                c_in = c_in + enc[-1 - i]
            last = i == len(dec) - 1
            self.up.append(Up(c_in, c, (1, kernels[-1 - i]), (1, strides[-1 - i]), norm=not last, act=not last))
            c_in = c

    def forward(self, condition, image):
        x = torch.cat([condition, image], dim=1)
        hidden = []
        for layer in self.down:
            x = layer(x)
            hidden.append(x)
        for i, layer in enumerate(self.up):
            if i > 0:
                x = torch.cat([x, hidden[-1 - i]], dim=1)
            x = layer(x)
        return x



class EKGAN(WindowImageGANReconstructor):
    __doc__ = f"""EKGAN: 12-lead ECG reconstruction from lead I (Joo et al., MICCAI 2023).

    Each window of ``window`` samples of lead I, standardised, is repeated
    into 12 rows and zero-padded with 2 rows above and below into a
    16 x ``window`` one-channel image.  Three networks train together:

    - the **inference generator** (IG), a 2-D U-Net with (2, 4) kernels and
      encoder filters 64 -> 1024 (``width`` = 64), maps the lead-I image to the
      12-lead image; its bottleneck is the latent vector;
    - the **label generator** (LG), the same encoder-decoder without skip
      connections, auto-encodes the real 12-lead image;
    - the **discriminator**, a U-Net of (1, k) convolutions along time on
      (lead-I image, 12-lead image) pairs, outputs a logit map.

    Losses: IG ``BCE(D(x, IG(x)), 1) + lambda_l1 * L1(y, IG(x)) +
    alpha_latent * L1(z_IG, z_LG)`` (the LG latent is a fixed target for the
    IG); LG ``L1(y, LG(y))``; D the usual real/fake BCE on logits.  Adam,
    ``lr`` = 1e-4, beta1 = 0.5, as in the paper.

    The label generator encodes the 12-lead target ``y`` as the paper
    describes; the reference code (knu-plml/ecg-recon) instead feeds it, and
    asks it to reconstruct, the lead-I input image.  This implementation
    follows the paper.  Only the inference generator is used in
    ``transform``.  Of its 12 output rows, II and V1-V6 are kept and III, aVR,
    aVL, aVF are derived from lead I and the predicted II, so the result obeys
    Einthoven/Goldberger exactly and lead I equals the input.  Per-lead means
    and standard deviations learned in ``fit`` normalise the images and are
    inverted in ``transform`` (output in mV).

    Parameters
    ----------{COMMON_PARAMS_DOC}
    lambda_l1 : float, default=50
        Weight of the L1 reconstruction term (the paper's lambda).
    alpha_latent : float, default=1
        Weight of the latent-matching L1 term (the paper's alpha).

    Attributes
    ----------
    generator_ : torch.nn.Module
        The inference generator.
    label_generator_ : torch.nn.Module
    discriminator_ : torch.nn.Module
    lead_mean_, lead_scale_ : ndarray of shape (12,)
        Normalisation learned in ``fit``.
    history_ : list of dict
        One record per epoch: ``epoch``, ``dur`` and the mean losses ``d``,
        ``ig_adv``, ``ig_l1``, ``latent``, ``lg_l1``.
    n_iter_ : int
        Epochs trained.
    n_features_in_ : int
        12.

    References
    ----------
    .. [1] J. Joo et al., "Twelve-Lead ECG Reconstruction from Single-Lead
       Signals Using Generative Adversarial Networks", MICCAI 2023.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, n_samples=1000, random_state=0)
    >>> model = EKGAN(window=128, width=4, max_epochs=1, device="cpu", random_state=0).fit(X)
    >>> model.transform(X[:, :1]).shape
    (8, 12, 1000)
    """

    def __init__(self, window=512, stride=None, train_stride=None, width=64, max_epochs=10, batch_size=32,
                 lr=1e-4, lambda_l1=50.0, alpha_latent=1.0, amplitude_jitter=0.0, fs=500, device="auto",
                 random_state=None, verbose=0, warm_start=False, callbacks=None, precision="32",
                 gradient_clip=None, num_workers=0):
        self.window = window
        self.stride = stride
        self.train_stride = train_stride
        self.width = width
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lambda_l1 = lambda_l1
        self.alpha_latent = alpha_latent
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

    parameter_constraints = {"alpha_latent": [Interval(Real, 0, None)]}

    def _build_modules(self):
        modules = {"generator_": UNet2d(self.width, skips=True), "label_generator_": UNet2d(self.width, skips=False),
                   "discriminator_": EKGANDiscriminator(self.width, self.window)}
        for module in modules.values():
            module.apply(init_weights)
        return modules

    def _configure_optimizers(self):
        return {"generator": self._adam(self.generator_, self.lr),
                "label_generator": self._adam(self.label_generator_, self.lr),
                "discriminator": self._adam(self.discriminator_, self.lr)}

    def _image_step(self, inp, tgt, ctx):
        """One simultaneous update of D, IG and LG on a batch of images; returns the losses."""
        generator, label_generator = ctx.modules["generator_"], ctx.modules["label_generator_"]
        discriminator = ctx.modules["discriminator_"]
        ig_out, ig_latent = generator(inp)
        lg_out, lg_latent = label_generator(tgt)

        d_loss = discriminator_loss(discriminator, inp, tgt, ig_out)
        ctx.optimizer_step("discriminator", d_loss)

        with ctx.frozen("discriminator_"):
            adv = generator_adversarial_loss(self.discriminator_, inp, ig_out)
            l1 = F.l1_loss(ig_out, tgt)
            latent = F.l1_loss(ig_latent, lg_latent.detach())  # the label generator's latent is a fixed target
            ctx.optimizer_step("generator", adv + self.lambda_l1 * l1 + self.alpha_latent * latent)

        lg_loss = F.l1_loss(lg_out, tgt)
        ctx.optimizer_step("label_generator", lg_loss)
        return {"d": d_loss.item(), "ig_adv": adv.item(), "ig_l1": l1.item(), "latent": latent.item(),
                "lg_l1": lg_loss.item()}
