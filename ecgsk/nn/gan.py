"""Wasserstein GAN losses with gradient penalty (WGAN-GP), shared by ecgsk's GANs.

Gulrajani et al. (2017), "Improved Training of Wasserstein GANs": the critic
minimises ``E[D(fake)] - E[D(real)] + lambda * E[(||grad D(x_hat)||_2 - 1)^2]``
where ``x_hat`` is a random interpolation between a real and a fake example,
and the generator minimises ``-E[D(fake)]``.

Examples
--------
>>> import torch
>>> from ecgsk.nn.gan import critic_loss, generator_loss
>>> real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])
>>> float(critic_loss(real, fake)), float(generator_loss(fake))
(-2.0, -0.0)
"""

import torch

__all__ = [
    "gradient_penalty",
    "critic_loss",
    "generator_loss",
    "wasserstein_estimate",
    "wgan_gp_critic_loss",
]


def gradient_penalty(critic, real, fake, *, weight=10.0, alpha=None, eps=1e-12):
    """WGAN-GP gradient penalty ``weight * mean((||grad critic(x_hat)||_2 - 1)^2)``.

    Parameters
    ----------
    critic : callable
        Maps a batch of examples to one score per example, shape ``(n,)`` or
        ``(n, 1)``.
    real, fake : torch.Tensor of shape (n, ...)
        Real and generated examples; ``fake`` is detached here.
    weight : float, default=10.0
        The penalty coefficient lambda.
    alpha : torch.Tensor of shape (n,), optional
        Interpolation weights in [0, 1]; drawn uniformly from the current torch
        RNG when not given.
    eps : float, default=1e-12
        Added under the square root so that the norm is differentiable at 0.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable with respect to the critic's parameters
        (``create_graph=True``).

    Examples
    --------
    >>> import torch
    >>> critic = torch.nn.Linear(3, 1)
    >>> real, fake = torch.randn(4, 3), torch.randn(4, 3)
    >>> gp = gradient_penalty(critic, real, fake)
    >>> bool(gp >= 0)
    True
    """
    fake = fake.detach()
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}")
    n = real.shape[0]
    if alpha is None:
        alpha = torch.rand(n, device=real.device, dtype=real.dtype)
    alpha = alpha.to(device=real.device, dtype=real.dtype).reshape((n,) + (1,) * (real.dim() - 1))
    interpolated = (alpha * real.detach() + (1.0 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolated)
    (grads,) = torch.autograd.grad(
        outputs=scores.sum(), inputs=interpolated, create_graph=True, retain_graph=True
    )
    norms = torch.sqrt(grads.reshape(n, -1).pow(2).sum(dim=1) + eps)
    return weight * ((norms - 1.0) ** 2).mean()


def critic_loss(real_scores, fake_scores):
    """Wasserstein critic loss ``mean(D(fake)) - mean(D(real))`` (to minimise)."""
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores):
    """Wasserstein generator loss ``-mean(D(fake))`` (to minimise)."""
    return -fake_scores.mean()


def wasserstein_estimate(real_scores, fake_scores):
    """The critic's estimate of the Wasserstein-1 distance, ``mean(D(real)) - mean(D(fake))``."""
    return real_scores.mean() - fake_scores.mean()


def wgan_gp_critic_loss(critic, real, fake, *, gp_weight=10.0):
    """Full WGAN-GP critic objective for one batch.

    Parameters
    ----------
    critic : callable
        The critic network.
    real, fake : torch.Tensor
        Real examples and (detached) generated examples of the same shape.
    gp_weight : float, default=10.0
        Gradient-penalty coefficient lambda.

    Returns
    -------
    loss : torch.Tensor
        Scalar to back-propagate into the critic.
    w_estimate : torch.Tensor
        Detached Wasserstein estimate ``mean(D(real)) - mean(D(fake))``.

    Examples
    --------
    >>> import torch
    >>> critic = torch.nn.Linear(3, 1)
    >>> loss, w = wgan_gp_critic_loss(critic, torch.randn(4, 3), torch.randn(4, 3))
    >>> loss.dim(), w.requires_grad
    (0, False)
    """
    fake = fake.detach()
    real_scores = critic(real)
    fake_scores = critic(fake)
    loss = critic_loss(real_scores, fake_scores)
    if gp_weight:
        loss = loss + gradient_penalty(critic, real, fake, weight=gp_weight)
    return loss, wasserstein_estimate(real_scores, fake_scores).detach()
