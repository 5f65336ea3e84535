"""Torch plumbing shared by ecgsk models (imports torch; never imported by ``import ecgsk``)."""

from .base import TorchModelMixin, progress, resolve_device, seeded, to_numpy, to_tensor

__all__ = ["TorchModelMixin", "progress", "resolve_device", "seeded", "to_numpy", "to_tensor"]
