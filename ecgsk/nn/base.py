"""Torch plumbing shared by the models: devices, seeding, pickling, save files, progress bars.

Every torch model inherits :class:`TorchModelMixin` next to one of the kind
mixins of :mod:`ecgsk.base`::

    class MyGAN(GeneratorMixin, TorchModelMixin, BaseEstimator): ...
"""

import contextlib
import copy
import warnings

import numpy as np
import torch

from ..exceptions import ModelFileError
from ..io.estimator_file import TAG, class_path

__all__ = ["TorchModelMixin", "resolve_device", "seeded", "progress", "to_tensor", "to_numpy"]


def resolve_device(device):
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | torch.device`` into a torch.device.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or ``None``) picks CUDA when it is available, else the CPU.

    Returns
    -------
    torch.device

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
    """A tqdm progress bar when ``verbose`` is truthy, else the bare iterable.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; without it, a bar to ``update`` by hand (a
        do-nothing object when ``verbose`` is falsy).
    total : int, optional
        Number of expected iterations.
    desc : str, optional
        Label of the bar.
    verbose : int, default=0
        Show the bar when truthy.
    **kwargs
        Passed to ``tqdm.auto.tqdm``.

    Returns
    -------
    iterable or tqdm.tqdm
    """
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
    """NumPy array to a torch tensor on ``device``.

    Parameters
    ----------
    X : array-like
        The array (made C-contiguous first).
    device : torch.device or str
        Where the tensor lives.
    dtype : torch.dtype, default=torch.float32
        The tensor's dtype.

    Returns
    -------
    torch.Tensor
    """
    return torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=device)


def to_numpy(tensor):
    """Torch tensor to a float32 NumPy array on the CPU.

    Parameters
    ----------
    tensor : torch.Tensor
        Any device, any floating dtype; detached first.

    Returns
    -------
    ndarray of float32
    """
    return tensor.detach().to("cpu", torch.float32).numpy()


def _load_device(estimator):
    """The estimator's ``device`` resolved again; the CPU, with a warning, when it is not available."""
    try:
        return resolve_device(getattr(estimator, "device", "auto"))
    except ValueError as exc:
        warnings.warn(f"{type(estimator).__name__}: {exc}; the loaded model runs on the CPU", UserWarning,
                      stacklevel=5)
        return torch.device("cpu")


#: torch dtypes stored as another NumPy dtype, losslessly, and cast back on load.
_WIDENED = {torch.bfloat16: ("bfloat16", torch.float32)}
_NUMPY_DTYPES = {torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16,
                 torch.float32, torch.float64}


def _tensor_to_numpy(tensor, where):
    """A tensor as a NumPy array and, for bf16, the dtype to cast it back to (``None`` otherwise)."""
    tensor = tensor.detach()
    note = None
    if tensor.dtype in _WIDENED:
        note, wider = _WIDENED[tensor.dtype]
        tensor = tensor.to(wider)
    elif tensor.dtype not in _NUMPY_DTYPES:
        raise TypeError(f"{where} is a {tensor.dtype} tensor; save files hold {sorted(map(str, _NUMPY_DTYPES))} "
                        "and bfloat16")
    array = tensor.to("cpu").numpy()
    return (array if array.flags.c_contiguous else array.copy(order="C")), note


def _state_tensor(module, key):
    """The parameter or buffer behind a state-dict key."""
    try:
        return module.get_parameter(key)
    except AttributeError:
        return module.get_buffer(key)


class TorchModelMixin:
    """Device handling, device-portable pickling and save files for estimators holding torch modules.

    Fitted modules are stored in attributes ending in ``_``.  Pickling moves
    every module and tensor to the CPU, so a model fitted on a GPU unpickles on
    a machine without one; after loading, the model runs on ``device``
    resolved again (``"auto"`` picks CUDA when present).

    ``save``/``load`` (:meth:`~ecgsk.base.ECGEstimatorMixin.save`) store each
    module attribute as its ``state_dict`` (parameters and persistent buffers,
    as NumPy; bf16 as float32 plus a note) and each tensor attribute as an
    array.  Optimizers (``_optimizers_``) and ``device_`` are not stored.  On
    load the modules are rebuilt by the model's ``_build_modules()`` (called
    after the parameters and every other fitted attribute are set) and filled
    with ``load_state_dict(strict=True)``; an attribute ending in ``_ema_``
    (``generator_ema_``) is a deep copy of the module it shadows
    (``generator_``) with its own weights.  Saving a model without
    ``_build_modules`` raises ``NotImplementedError``.
    """

    #: Attributes never written to save files (device-bound state that fit rebuilds).
    _persistence_skip = ("_optimizers_", "device_")

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

    # -- save files -------------------------------------------------------------------
    def _persistent_attributes(self):
        attributes = super()._persistent_attributes()
        return {k: v for k, v in attributes.items()
                if k not in self._persistence_skip and not isinstance(v, (torch.nn.Module, torch.Tensor))}

    def _torch_attributes(self):
        modules, tensors = {}, {}
        for key, value in vars(self).items():
            if key in self._persistence_skip:
                continue
            if isinstance(value, torch.nn.Module):
                modules[key] = value
            elif isinstance(value, torch.Tensor):
                tensors[key] = value
        return modules, tensors

    @staticmethod
    def _shadowed(name, built):
        """The built module that ``name`` is made from: itself, or the one an ``_ema_`` copy shadows."""
        if name in built:
            return built[name]
        if name.endswith("_ema_") and name[: -len("ema_")] in built:
            return built[name[: -len("ema_")]]
        return None

    def _build_for_persistence(self, *, check_only):
        """Call ``_build_modules()`` without touching the global torch RNG (on the meta device for checks)."""
        name = type(self).__name__
        build = getattr(self, "_build_modules", None)
        if build is None:
            raise NotImplementedError(
                f"{name} holds torch modules but has no _build_modules(), so a save file could not rebuild them. "
                "Move the model onto the training engine (ecgsk.nn.engine.TorchEstimatorMixin) or pickle it"
            )
        built = None
        if check_only:
            try:
                with torch.random.fork_rng(devices=[]), torch.device("meta"):
                    built = build()
            except Exception:
                built = None  # some constructors cannot run on the meta device: build for real
        if built is None:
            try:
                with torch.random.fork_rng(devices=[]):
                    built = build()
            except NotImplementedError as exc:
                raise NotImplementedError(f"{name}._build_modules() is not implemented ({exc}), so {name} "
                                          "cannot be saved") from exc
        if not isinstance(built, dict) or not all(isinstance(m, torch.nn.Module) for m in built.values()):
            raise TypeError(f"{name}._build_modules() must return a dict of attribute name -> torch.nn.Module")
        return built

    def _check_rebuildable(self, modules):
        """Fail at save time, not at load time, when ``_build_modules`` cannot rebuild the fitted modules."""
        name = type(self).__name__
        built = self._build_for_persistence(check_only=True)
        for attr, module in modules.items():
            ref = self._shadowed(attr, built)
            if ref is None:
                raise NotImplementedError(
                    f"{name}.save: the module attribute {attr!r} is not built by {name}._build_modules() (which "
                    f"builds {sorted(built)}), so a save file could not rebuild it"
                )
            if type(ref) is not type(module):
                raise RuntimeError(f"{name}.save: {attr!r} is a {type(module).__name__} but _build_modules() "
                                   f"builds a {type(ref).__name__}")
            have = {k: tuple(v.shape) for k, v in module.state_dict().items()}
            want = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
            if have != want:
                diff = sorted(set(have) ^ set(want)) or sorted(k for k in have if have[k] != want[k])
                raise RuntimeError(
                    f"{name}.save: _build_modules() builds {attr!r} with other tensors than the fitted one "
                    f"(differing: {diff[:5]}); it must build the modules from constructor parameters and fitted "
                    "non-module attributes only, so that save files can rebuild them"
                )

    def _persistent_state(self):
        """The base state plus torch modules (``module/<attr>/<key>``) and tensors (``tensor/<attr>``)."""
        arrays, attributes = super()._persistent_state()
        modules, tensors = self._torch_attributes()
        if modules:
            self._check_rebuildable(modules)
        name = type(self).__name__
        for attr, module in modules.items():
            keys, notes = [], {}
            for key, value in module.state_dict().items():
                where = f"{name}.save: {attr}.state_dict()[{key!r}]"
                if not isinstance(value, torch.Tensor):
                    raise TypeError(f"{where} is a {type(value).__name__}, not a tensor; save files hold tensors only")
                arrays[f"module/{attr}/{key}"], note = _tensor_to_numpy(value, where)
                keys.append(key)
                if note:
                    notes[key] = note
            attributes[attr] = {
                TAG: "module", "class": class_path(type(module)), "keys": keys, "dtypes": notes,
                "training": bool(module.training),
                "frozen": [k for k, p in module.named_parameters() if not p.requires_grad],
            }
        for attr, tensor in tensors.items():
            array, note = _tensor_to_numpy(tensor, f"{name}.save: attribute {attr!r}")
            arrays[f"tensor/{attr}"] = array
            attributes[attr] = {TAG: "tensor", "key": f"tensor/{attr}", "dtype": str(tensor.dtype).split(".")[-1],
                                "shape": list(tensor.shape)}
        return arrays, attributes

    def _restore_persistent_state(self, arrays, attributes):
        """Set the plain attributes, then rebuild the modules with ``_build_modules()`` and load their weights."""
        torch_nodes = {k: v for k, v in attributes.items()
                       if isinstance(v, dict) and v.get(TAG) in ("module", "tensor")}
        super()._restore_persistent_state(arrays, {k: v for k, v in attributes.items() if k not in torch_nodes})
        device = _load_device(self)
        modules = {k: v for k, v in torch_nodes.items() if v[TAG] == "module"}
        built = self._build_for_persistence(check_only=False) if modules else {}
        for attr, node in modules.items():
            self.__dict__[attr] = self._restore_module(attr, node, built, arrays).to(device)
        for attr, node in torch_nodes.items():
            if node[TAG] != "tensor":
                continue
            key, dtype = node.get("key"), getattr(torch, str(node.get("dtype")), None)
            if key not in arrays or not isinstance(dtype, torch.dtype):
                raise ModelFileError(f"attribute {attr!r}: a tensor entry without its data or with a bad dtype")
            if list(arrays[key].shape) != node.get("shape"):
                raise ModelFileError(f"attribute {attr!r}: tensor {key!r} has shape {arrays[key].shape} but the "
                                     f"file's metadata records {node.get('shape')}")
            self.__dict__[attr] = torch.from_numpy(arrays[key]).to(dtype).to(device)
        self.device_ = device
        return self

    def _restore_module(self, attr, node, built, arrays):
        name = type(self).__name__
        where = f"torch module {attr!r}"
        module = self._shadowed(attr, built)
        if module is None:
            raise ModelFileError(f"{where}: {name}._build_modules() does not build it (it builds {sorted(built)})")
        if attr not in built:  # an EMA copy of the module it shadows
            module = copy.deepcopy(module)
        keys, notes = node.get("keys"), node.get("dtypes", {})
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or not isinstance(notes, dict):
            raise ModelFileError(f"{where}: malformed entry")
        state = {}
        for key in keys:
            full = f"module/{attr}/{key}"
            if full not in arrays:
                raise ModelFileError(f"{where}: tensor {key!r} ({full}) is missing from the file")
            state[key] = torch.from_numpy(arrays[full])
        expected = module.state_dict()
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ModelFileError(f"{where} does not fit {name}: missing keys {missing[:5]}, unexpected keys "
                                 f"{unexpected[:5]}")
        wrong = [(k, tuple(state[k].shape), tuple(expected[k].shape)) for k in keys
                 if tuple(state[k].shape) != tuple(expected[k].shape)]
        if wrong:
            key, got, want = wrong[0]
            raise ModelFileError(f"{where}: tensor {key!r} has shape {got} in the file but {name} builds {want} "
                                 f"({len(wrong)} tensor(s) of the wrong shape)")
        try:
            module.load_state_dict(state, strict=True)
        except Exception as exc:
            raise ModelFileError(f"{where}: load_state_dict failed ({type(exc).__name__}: {exc})") from exc
        for key, note in notes.items():
            if note != "bfloat16" or key not in state:
                raise ModelFileError(f"{where}: bad dtype note {note!r} for {key!r}")
            tensor = _state_tensor(module, key)
            tensor.data = tensor.data.to(torch.bfloat16)
        frozen = node.get("frozen", [])
        if not isinstance(frozen, list):
            raise ModelFileError(f"{where}: malformed entry")
        params = dict(module.named_parameters())
        for key in frozen:
            if key not in params:
                raise ModelFileError(f"{where}: unknown frozen parameter {key!r}")
            params[key].requires_grad_(False)
        module.train(bool(node.get("training", False)))
        return module
