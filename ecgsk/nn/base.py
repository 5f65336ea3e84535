"""Torch plumbing shared by the models: devices, seeding, pickling, progress bars.

Every torch model inherits :class:`TorchModelMixin` next to one of the kind
mixins of :mod:`ecgsk.base`::

    class MyGAN(GeneratorMixin, TorchModelMixin, BaseEstimator): ...
"""

import contextlib
import copy

import numpy as np
import torch

__all__ = ["TorchModelMixin", "resolve_device", "seeded", "progress", "to_tensor", "to_numpy"]


def resolve_device(device):
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | torch.device`` into a torch.device.

    Raises
    ------
    ValueError
        For an unknown device string, or ``"cuda"`` when no CUDA device exists.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but no CUDA device is available; use 'cpu' or 'auto'")
        return torch.device(device)
    if device == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError("device='mps' was requested but MPS is not available")
        return torch.device("mps")
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}")


@contextlib.contextmanager
def seeded(rng):
    """Run torch code under a seed drawn from ``rng`` without touching global RNG state.

    Parameters
    ----------
    rng : numpy.random.RandomState
        The estimator's RNG for this call.
    """
    seed = int(rng.randint(0, 2**31 - 1))
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield seed


def progress(iterable=None, *, total=None, desc=None, verbose=0, **kwargs):
    """A tqdm progress bar when ``verbose`` is truthy, else the bare iterable."""
    if not verbose:
        if iterable is None:
            return _NullBar()
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, **kwargs)


class _NullBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def to_tensor(X, device, dtype=torch.float32):
    """NumPy array to a torch tensor on ``device``."""
    return torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=device)


def to_numpy(tensor):
    """Torch tensor to a float32 NumPy array on the CPU."""
    return tensor.detach().to("cpu", torch.float32).numpy()


class TorchModelMixin:
    """Device handling and device-portable pickling for estimators holding torch modules.

    Fitted modules are stored in attributes ending in ``_``.  Pickling moves
    every module and tensor to the CPU, so a model fitted on a GPU unpickles on
    a machine without one; after loading, the model runs on ``device``
    resolved again (``"auto"`` picks CUDA when present).
    """

    def _torch_device(self):
        device = getattr(self, "device_", None)
        if device is None:
            device = resolve_device(getattr(self, "device", "auto"))
            self.device_ = device
        return device

    def _reset_device(self):
        self.device_ = resolve_device(getattr(self, "device", "auto"))
        return self.device_

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        for key, value in list(state.items()):
            if isinstance(value, torch.nn.Module):
                state[key] = copy.deepcopy(value).to("cpu")
            elif isinstance(value, torch.Tensor):
                state[key] = value.detach().to("cpu")
            elif isinstance(value, torch.optim.Optimizer):
                # Optimiser state is device-bound; warm starts rebuild it.
                state[key] = None
        state.pop("device_", None)
        return state

    def __setstate__(self, state):
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:
            self.__dict__.update(state)
        try:
            device = resolve_device(getattr(self, "device", "auto"))
        except ValueError:
            device = torch.device("cpu")
        for key, value in list(self.__dict__.items()):
            if isinstance(value, (torch.nn.Module, torch.Tensor)) and key.endswith("_"):
                setattr(self, key, value.to(device))
        self.device_ = device
