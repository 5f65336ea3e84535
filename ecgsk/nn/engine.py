"""The training engine: one fit loop for every torch model.

A model inherits :class:`TorchEstimatorMixin` *before* its kind mixin::

    class MyGAN(TorchEstimatorMixin, GeneratorMixin, BaseEstimator):
        ...

and supplies hooks only:

``_training_data(X, y=None, *, conditions=None, reset=True)``
    Return a dict of per-ECG arrays (one row per ECG, NumPy), and on
    ``reset`` set fitted non-module attributes (scales, encoders).
``_build_modules()``
    Return ``{"generator_": nn.Module, ...}``: the networks, keyed by the
    attribute names they are stored under (ending in ``_``).  It may use only
    constructor parameters and fitted non-module attributes, so that
    :meth:`~ecgsk.base.ECGEstimatorMixin.save` files can rebuild them.
``_configure_optimizers()``
    Return ``{"generator": torch.optim.Optimizer, ...}``.
``_training_step(batch, ctx)``
    One step on a batch (a dict of tensors on the device).  It takes its own
    optimizer steps with ``ctx.optimizer_step(name, loss)`` (so a WGAN-GP step
    takes five critic steps and one generator step) and returns a dict of
    float losses, which the engine averages over the epoch into ``history_``.
``_validation_step(batch, ctx)`` (optional)
    Return a dict of float scores on held-out rows; they are logged with the
    prefix ``valid_``.
``_on_train_begin(data, ctx)``, ``_on_train_end(data, ctx)`` (optional)
    Set-up once the optimizers exist, and a last step once training has
    ended (after the callbacks, so after early stopping has restored the
    best weights), e.g. refitting a linear head on the final features.
``_epoch_data(data, ctx)`` (optional)
    Return the rows to train on this epoch, made from the training rows
    ``data`` (e.g. random crops into windows, drawn from ``ctx.shared_rng``,
    which is the same on every process).  By default every epoch trains on
    the rows of ``_training_data``.

The engine owns seeding (from ``random_state``), device placement, shuffling
and batching, epochs and warm start, gradient clipping, precision (``"32"`` or
``"bf16"`` autocast), callbacks, the history, faults (non-finite losses,
Ctrl-C, exceptions) and torch.distributed data parallelism.

Larger-than-memory data
-----------------------
When ``_training_data`` returns a lazily read array (an
:class:`ecgsk.datasets.ECGDataset`, e.g. ``map_rows(X, scale)`` of a
memmap, or a ``numpy.memmap``), the engine never reads it whole: each step
reads its batch's rows (in ``num_workers`` DataLoader worker processes when
the estimator has ``num_workers > 0``), ``_epoch_data`` receives the training
rows as a lazy subset (and may return lazy rows, e.g. windows cut when read),
and held-out rows are validated ``VALIDATION_CHUNK_SIZE`` rows at a time
(:meth:`TorchEstimatorMixin._validate_chunks`).  The batches and their order
are those of an in-memory fit, so the fit is the same up to what the model's
own statistics (``_training_data``) compute differently in chunks.

Batching rule
-------------
Each epoch shuffles the training rows with the estimator's RNG and cuts them
into batches of ``batch_size`` rows.  A last batch of a single row is merged
into the one before it (batch norm and spreads need two rows); a data set
smaller than ``batch_size`` is one batch.  Under torch.distributed,
``batch_size`` is the *global* batch: each of the W processes takes
``batch_size // W`` rows of it.
"""

import contextlib
import copy
import math
import signal
import threading
import time
import warnings

import numpy as np
import torch

from ..exceptions import TrainingDivergedError
from ..utils.validation import is_lazy_ecg_input
from . import distributed as dist_utils
from .base import TorchModelMixin, seeded, to_numpy

__all__ = ["TorchEstimatorMixin", "TrainingContext", "epoch_batches", "ENGINE_PARAMETER_CONSTRAINTS"]


def _is_callback_list(value, params):
    if value is None:
        return True
    if not isinstance(value, (list, tuple)):
        return False
    from .callbacks import Callback

    return all(isinstance(cb, Callback) for cb in value)


def _engine_constraints():
    from ..utils.constraints import Interval, Options, Satisfies
    import numbers

    return {
        "callbacks": [Satisfies(_is_callback_list, "None or a list of ecgsk.nn.callbacks.Callback")],
        "precision": [Options("32", "bf16")],
        "gradient_clip": [None, Interval(numbers.Real, 0, None, closed="neither")],
    }


#: Constraints of the engine's own parameters (merged into each model's).
ENGINE_PARAMETER_CONSTRAINTS = _engine_constraints()

#: Held-out rows per validation step when the training data are read lazily (a memmap or an ECGDataset).
VALIDATION_CHUNK_SIZE = 1024


def epoch_batches(order, batch_size):
    """Cut a shuffled index array into batches by the engine's batching rule.

    Parameters
    ----------
    order : ndarray of int
        Row indices in the order of this epoch.
    batch_size : int

    Returns
    -------
    list of ndarray

    Examples
    --------
    >>> import numpy as np
    >>> [len(b) for b in epoch_batches(np.arange(9), 4)]
    [4, 5]
    >>> [len(b) for b in epoch_batches(np.arange(3), 8)]
    [3]
    """
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2:
        last = batches.pop()
        batches[-1] = np.concatenate([batches[-1], last])
    return batches


def _take_rows(value, rows):
    """Rows ``rows`` of a training array: a lazy subset (nothing read) for a lazily read one, else a copy."""
    if not is_lazy_ecg_input(value):
        return value[rows]
    if hasattr(value, "subset"):
        return value.subset(rows)
    from ..datasets.dataset import as_ecg_dataset

    return as_ecg_dataset(value).subset(rows)


def _as_training_tensors(data):
    """Training arrays as CPU tensors, lazily read ones left as they are (read per batch)."""
    return {k: v if is_lazy_ecg_input(v) else torch.as_tensor(np.ascontiguousarray(v)) for k, v in data.items()}


def _check_num_workers(estimator):
    value = getattr(estimator, "num_workers", 0)
    if value is None:
        return 0
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{type(estimator).__name__}: num_workers must be an integer >= 0; got {value!r}")
    return int(value)


def _read_batch(tensors, idx, device=None):
    """The rows ``idx`` of every training array as tensors (lazily read arrays are read now)."""
    out = {}
    for key, value in tensors.items():
        if is_lazy_ecg_input(value):
            part = torch.from_numpy(np.ascontiguousarray(value[np.asarray(idx)], dtype=np.float32))
        else:
            part = value[torch.as_tensor(idx)]
        out[key] = part if device is None else part.to(device, non_blocking=True)
    return out


class _BatchRows(torch.utils.data.Dataset):
    """A map-style dataset whose item ``idx`` (an array of row numbers) is one batch, for DataLoader workers."""

    def __init__(self, tensors):
        self.tensors = tensors

    def __len__(self):
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, idx):
        return _read_batch(self.tensors, idx)


class _StopRequest:
    """Turns the first Ctrl-C during ``fit`` into a request to stop at the next step boundary."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
            except ValueError:  # not allowed here (e.g. embedded interpreters)
                self._previous = None
        return self

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class TrainingContext:
    """What a training step and the callbacks see of the running fit.

    Attributes
    ----------
    estimator : the estimator being fitted
    modules : dict of str to torch.nn.Module
        The trained modules by attribute name, wrapped in
        ``DistributedDataParallel`` under torch.distributed.  Call these in a
        step for the modules an optimizer step updates; use the bare
        ``estimator.<name>`` for the others.
    optimizers : dict of str to torch.optim.Optimizer
    device : torch.device
    rng : numpy.random.RandomState
        The step's RNG for noise (different on each rank).
    shared_rng : numpy.random.RandomState
        An RNG that is the same on every rank (for ``_epoch_data``).
    epoch : int
        The current epoch, counted from 1 over the estimator's whole life
        (warm starts continue the count).
    step : int
        The step within the epoch, from 0.
    global_step : int
    rank, world_size : int
    stop_training : bool
        A callback sets it to end training after the current epoch.
    history : list of dict
        ``estimator.history_`` as it grows.
    """

    def __init__(self, estimator, modules, optimizers, device, rng, precision, gradient_clip, shared_rng=None):
        self.estimator = estimator
        self.modules = modules
        self.optimizers = optimizers
        self.device = device
        self.rng = rng
        self.shared_rng = shared_rng
        self.precision = precision
        self.gradient_clip = gradient_clip
        self.epoch = 0
        self.step = 0
        self.global_step = 0
        self.rank = dist_utils.rank()
        self.world_size = dist_utils.world_size()
        self.stop_training = False
        self.history = estimator.history_

    def optimizer_step(self, name, loss):
        """Back-propagate ``loss`` and take one step of optimizer ``name``.

        Gradients are zeroed first, clipped to ``gradient_clip`` (total norm)
        when the estimator sets it, and averaged across processes by DDP.
        """
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.gradient_clip:
            params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, self.gradient_clip)
        optimizer.step()

    def autocast(self):
        """The precision context (bf16 autocast when ``precision="bf16"``)."""
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def frozen(self, *names):
        """Switch off gradients of the named modules (e.g. the critic during a generator step)."""
        params = [p for name in names for p in self.estimator.__dict__[name].parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def gather(self, tensor):
        """All ranks' rows of ``tensor``, keeping gradients (identity on one process)."""
        return dist_utils.all_gather_with_grad(tensor)


#: Attributes the kind mixins' ``fit`` sets before calling ``_fit``.
_FIT_INPUT_KEYS = ("n_features_in_", "n_timepoints_in_", "_sample_rng_")


class _Diverged(Exception):
    def __init__(self, key, value, step):
        self.key, self.value, self.step = key, value, step


class TorchEstimatorMixin(TorchModelMixin):
    """The training engine, as a mixin placed before the kind mixin.

    Engine parameters read from the estimator (constructor parameters):
    ``max_epochs``, ``batch_size``, ``device``, ``random_state``, ``verbose``,
    ``warm_start``, ``callbacks``, ``precision``, ``gradient_clip`` and, when
    the model has it, ``validation_fraction``.

    Fitted attributes the engine sets: ``history_`` (one dict per epoch with
    ``epoch``, ``dur`` and every logged loss), ``n_iter_`` (epochs trained in
    all), ``interrupted_`` (True after a Ctrl-C) and the modules.
    """

    parameter_constraints = ENGINE_PARAMETER_CONSTRAINTS

    # -- hooks a model supplies ----------------------------------------------------
    def _training_data(self, X, y=None, *, conditions=None, reset=True):
        """Per-ECG training arrays; by default ``{"X": X}``."""
        return {"X": np.ascontiguousarray(X, dtype=np.float32)}

    def _build_modules(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _configure_optimizers(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _training_step(self, batch, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    _validation_step = None
    _epoch_data = None

    def _default_callbacks(self):
        """Callbacks a model adds from its own parameters (e.g. EMA from ``ema_decay``)."""
        return []

    def _validation_labels(self, data):
        """Row labels to stratify the validation split on, or None."""
        return None

    def _can_warm_start(self, X):
        """Whether a warm start may keep the current modules for data ``X``."""
        return getattr(self, "_fitted_shape_", None) == tuple(X.shape[1:])

    def _on_train_begin(self, data, ctx):
        """Hook run once the modules and optimizers exist, before the first epoch."""

    def _on_train_end(self, data, ctx):
        """Hook run once training has ended, after the callbacks' ``on_train_end`` (so after early stopping
        has restored the best weights); ``data`` are all the rows of ``_training_data`` as tensors (lazily
        read ones as they are). Every process runs it on the same rows."""

    # -- the fit loop ----------------------------------------------------------------
    def _fit(self, X, y=None, *, rng, **fit_params):
        before = dict(self.__dict__)
        # the kind mixin's fit has already recorded the new input's shape and a new sample RNG; a failed fit
        # must give back the previous ones (or none, when the estimator was not fitted before)
        previous_inputs = before.pop("_fitted_inputs_", None)
        for key in _FIT_INPUT_KEYS:
            before.pop(key, None)
        if previous_inputs is not None:
            before.update(previous_inputs)
            before["_fitted_inputs_"] = previous_inputs
        module_names = [k for k, v in before.items() if isinstance(v, torch.nn.Module)]
        before_states = {k: copy.deepcopy(before[k].state_dict()) for k in module_names}
        try:
            self._run_fit(X, y, rng, fit_params)
            self._fitted_inputs_ = {k: self.__dict__[k] for k in _FIT_INPUT_KEYS if k in self.__dict__}
            return self
        except BaseException:
            # an exception inside a step (or at set-up) leaves the estimator as it was
            if not getattr(self, "_keep_state_on_error", False):
                self.__dict__.clear()
                self.__dict__.update(before)
                for k, state in before_states.items():
                    before[k].load_state_dict(state)
            self.__dict__.pop("_keep_state_on_error", None)
            raise

    def _run_fit(self, X, y, rng, fit_params):
        device = dist_utils.init_distributed(self._reset_device())
        self.device_ = device
        seeds = dist_utils.broadcast_ints(rng.randint(0, 2**31 - 1, size=4))
        build_seed, shuffle_seed, step_seed, split_seed = seeds
        rank, world = dist_utils.rank(), dist_utils.world_size()

        warm = bool(getattr(self, "warm_start", False)) and self._has_modules() and self._can_warm_start(X)
        data = self._training_data(X, y, reset=not warm, **fit_params)
        n_rows = len(next(iter(data.values())))
        train_idx, valid_idx = self._split_validation(data, n_rows, split_seed)

        with seeded(np.random.RandomState(build_seed)):
            built = self._build_modules()
            if not warm:
                for name, module in built.items():
                    setattr(self, name, module)
                self.history_ = []
                self.n_iter_ = 0
                self.__dict__.pop("_optimizers_", None)
            else:
                # a warm start from weights that lack a module (a pretrained generator without its critic)
                # builds just the missing ones
                missing = {name: module for name, module in built.items()
                           if not isinstance(self.__dict__.get(name), torch.nn.Module)}
                for name, module in missing.items():
                    setattr(self, name, module)
                if missing:
                    self.__dict__.pop("_optimizers_", None)
                self.__dict__.setdefault("history_", [])
                self.__dict__.setdefault("n_iter_", 0)
            self._fitted_shape_ = tuple(X.shape[1:])
            self._trained_module_names_ = list(built)
            names = self._module_names()
            for name in names:
                getattr(self, name).to(device)
            optimizers = getattr(self, "_optimizers_", None)
            if not warm or optimizers is None:
                optimizers = self._configure_optimizers()
            self._optimizers_ = optimizers

        modules = {name: self._wrap(getattr(self, name), device) for name in names}
        step_rng = np.random.RandomState((step_seed + rank) % (2**31 - 1))
        ctx = TrainingContext(self, modules, optimizers, device, step_rng, getattr(self, "precision", "32"),
                              getattr(self, "gradient_clip", None), shared_rng=np.random.RandomState(shuffle_seed + 1))
        callbacks = self._all_callbacks()
        tensors = _as_training_tensors(data)
        _check_num_workers(self)
        self.interrupted_ = False

        with torch.random.fork_rng(devices=self._cuda_devices(device)):
            torch.manual_seed((step_seed + rank) % (2**31 - 1))
            self._train_modules(True)
            self._on_train_begin(tensors, ctx)
            for cb in callbacks:
                cb.on_train_begin(self, ctx)
            last_good = self._snapshot()
            sampler = self._sampler(train_idx, shuffle_seed, rank, world)
            shuffle_rng = np.random.RandomState(shuffle_seed)
            local_batch = max(1, int(self.batch_size) // world)
            diverged = None
            with _StopRequest() as stop:
                try:
                    for _ in range(int(self.max_epochs)):
                        ctx.epoch = self.n_iter_ + 1
                        started = time.perf_counter()
                        for cb in callbacks:
                            cb.on_epoch_begin(self, ctx)
                        epoch_tensors, epoch_sampler, epoch_rows = tensors, sampler, train_idx
                        if self._epoch_data is not None:
                            # lazily read arrays come as lazy subsets, and the hook may give back lazy rows
                            rows_now = self._epoch_data({k: _take_rows(v, train_idx) for k, v in data.items()}, ctx)
                            epoch_tensors = _as_training_tensors(rows_now)
                            epoch_rows = np.arange(len(next(iter(rows_now.values()))))
                            epoch_sampler = self._sampler(epoch_rows, shuffle_seed, rank, world)
                        order = self._epoch_order(epoch_rows, epoch_sampler, shuffle_rng, ctx.epoch)
                        sums, rows, partial = {}, 0, False
                        self._train_modules(True)
                        batches = epoch_batches(order, local_batch)
                        for step, (idx, batch) in enumerate(self._iter_batches(epoch_tensors, batches, device)):
                            ctx.step = step
                            with ctx.autocast():
                                logs = self._training_step(batch, ctx)
                            logs = {k: float(v) for k, v in (logs or {}).items()}
                            bad = [k for k, v in logs.items() if not math.isfinite(v)]
                            flags = dist_utils.all_reduce_sums([float(bool(bad)), float(stop.requested)]) \
                                if world > 1 else [float(bool(bad)), float(stop.requested)]
                            if flags[0]:
                                key = bad[0] if bad else "loss (on another rank)"
                                raise _Diverged(key, logs.get(key, float("nan")), step)
                            for k, v in logs.items():
                                total, count = sums.get(k, (0.0, 0))
                                sums[k] = (total + v * len(idx), count + len(idx))
                            rows += len(idx)
                            ctx.global_step += 1
                            for cb in callbacks:
                                cb.on_batch_end(self, ctx, logs)
                            if flags[1]:
                                partial = True
                                break
                        record = self._epoch_record(ctx.epoch, started, sums, rows, partial)
                        if len(valid_idx) and not partial:
                            record.update(self._validate(tensors, valid_idx, device, ctx))
                        record["dur"] = time.perf_counter() - started
                        self.history_.append(record)
                        self.n_iter_ = ctx.epoch
                        if partial:
                            self.interrupted_ = True
                            break
                        for cb in callbacks:
                            cb.on_epoch_end(self, ctx, record)
                        bad_module = self._non_finite_module(names)
                        if bad_module is not None:
                            # finite losses but weights gone bad (e.g. an update after the last loss): never keep them
                            self.history_.pop()
                            self.n_iter_ = ctx.epoch - 1
                            raise _Diverged(f"weights of {bad_module}", float("nan"), ctx.step)
                        last_good = self._snapshot()
                        if ctx.stop_training:
                            break
                except _Diverged as exc:
                    diverged = exc
                except KeyboardInterrupt:
                    # raised inside a step (a second Ctrl-C, or outside the main thread): the step may be
                    # half done, so go back to the last completed epoch
                    self._restore(last_good)
                    self.interrupted_ = True
            if diverged is not None:
                self._handle_divergence(diverged, ctx.epoch, last_good)
            if self.interrupted_:
                warnings.warn(
                    f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) after {self.n_iter_} "
                    "epoch(s); the estimator holds the state it had reached and interrupted_ is True",
                    UserWarning, stacklevel=4,
                )
            for cb in callbacks:
                cb.on_train_end(self, ctx)
            self._on_train_end(tensors, ctx)
            dist_utils.broadcast_buffers([v for v in self.__dict__.values() if isinstance(v, torch.nn.Module)])
            self._train_modules(False)
        return self

    # -- pieces of the loop ----------------------------------------------------------
    def _iter_batches(self, tensors, batches, device):
        """``(index, batch)`` pairs; rows of lazily read inputs are read per batch, by DataLoader workers
        when the estimator has ``num_workers > 0``."""
        workers = _check_num_workers(self)
        if workers and any(is_lazy_ecg_input(v) for v in tensors.values()):
            from torch.utils.data import DataLoader

            # its own generator: a DataLoader otherwise draws its workers' base seed from the global torch RNG,
            # which would shift the noise of the training steps (the fit must not depend on num_workers)
            loader = DataLoader(_BatchRows(tensors), sampler=batches, batch_size=None, num_workers=workers,
                                generator=torch.Generator().manual_seed(0))
            for idx, part in zip(batches, loader):
                yield idx, {k: v.to(device, non_blocking=True) for k, v in part.items()}
            return
        for idx in batches:
            yield idx, _read_batch(tensors, idx, device)

    def _non_finite_module(self, names):
        for name in names:
            params = [p.detach() for p in getattr(self, name).parameters()]
            # one fused reduction (NaN and infinity propagate through the norm), one device sync
            if params and not bool(torch.isfinite(torch.nn.utils.get_total_norm(params))):
                return name
        return None

    def _has_modules(self):
        return any(isinstance(v, torch.nn.Module) for k, v in self.__dict__.items() if k.endswith("_"))

    def _module_names(self):
        """The trained modules: those ``_build_modules`` made (not EMA copies and the like)."""
        names = getattr(self, "_trained_module_names_", None)
        if names is None or not all(isinstance(self.__dict__.get(n), torch.nn.Module) for n in names):
            names = [k for k, v in self.__dict__.items()
                     if k.endswith("_") and isinstance(v, torch.nn.Module) and not k.endswith("_ema_")]
        self._trained_module_names_ = list(names)
        return list(names)

    @staticmethod
    def _cuda_devices(device):
        return [device.index or 0] if device.type == "cuda" else []

    @staticmethod
    def _wrap(module, device):
        if not dist_utils.is_distributed() or not any(p.requires_grad for p in module.parameters()):
            return module
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)

    def _train_modules(self, mode):
        for name in self._module_names():
            getattr(self, name).train(mode)

    def _all_callbacks(self):
        from .callbacks import ProgressBar

        user = list(getattr(self, "callbacks", None) or [])
        defaults = self._default_callbacks()
        bar = [ProgressBar()] if getattr(self, "verbose", 0) and not any(isinstance(c, ProgressBar) for c in user) \
            else []
        # fresh copies: callbacks hold per-fit state and the parameter must stay as the user gave it
        return [copy.deepcopy(cb) for cb in defaults + user] + bar

    def _split_validation(self, data, n_rows, seed):
        fraction = getattr(self, "validation_fraction", None)
        everything = np.arange(n_rows)
        if not fraction:
            return everything, everything[:0]
        n_valid = int(math.ceil(float(fraction) * n_rows))
        if n_rows - n_valid < 2 or n_valid < 1:
            return everything, everything[:0]
        labels = self._validation_labels(data)
        from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

        if labels is not None and len(np.unique(labels)) > 1 and np.bincount(
                np.unique(labels, return_inverse=True)[1]).min() >= 2:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
            train, valid = next(splitter.split(everything, labels))
        else:
            train, valid = next(ShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed).split(everything))
        return np.sort(train), np.sort(valid)

    @staticmethod
    def _sampler(train_idx, seed, rank, world):
        if world <= 1:
            return None
        from torch.utils.data import DistributedSampler

        return DistributedSampler(range(len(train_idx)), num_replicas=world, rank=rank, shuffle=True,
                                  seed=seed, drop_last=False)

    @staticmethod
    def _epoch_order(train_idx, sampler, shuffle_rng, epoch):
        if sampler is None:
            return train_idx[shuffle_rng.permutation(len(train_idx))]
        sampler.set_epoch(epoch)
        return train_idx[np.fromiter(iter(sampler), dtype=np.int64)]

    @staticmethod
    def _epoch_record(epoch, started, sums, rows, partial):
        # each loss is averaged over the rows of the steps that logged it (a GAN's generator loss may be
        # logged only every n_critic steps); under torch.distributed the keys are the same on every rank
        keys = sorted(sums)
        totals = dist_utils.all_reduce_sums([sums[k][0] for k in keys] + [float(sums[k][1]) for k in keys])
        record = {"epoch": epoch}
        record.update({k: totals[i] / max(totals[len(keys) + i], 1.0) for i, k in enumerate(keys)})
        if partial:
            record["partial"] = True
        return record

    def _validate(self, tensors, valid_idx, device, ctx):
        if self._validation_step is None:
            return {}
        self._train_modules(False)
        size = max(1, int(VALIDATION_CHUNK_SIZE))
        with torch.no_grad(), ctx.autocast():
            if any(is_lazy_ecg_input(v) for v in tensors.values()) and len(valid_idx) > size:
                # lazily read inputs: never all held-out rows at once
                chunks = (_read_batch(tensors, valid_idx[i:i + size], device) for i in range(0, len(valid_idx), size))
                logs = self._validate_chunks(chunks, ctx) or {}
            else:
                logs = self._validation_step(_read_batch(tensors, valid_idx, device), ctx) or {}
        self._train_modules(True)
        keys = sorted(logs)
        totals = dist_utils.all_reduce_sums([float(logs[k]) for k in keys])
        world = dist_utils.world_size()
        return {f"valid_{k}": totals[i] / world for i, k in enumerate(keys)}

    def _validate_chunks(self, chunks, ctx):
        """Validation scores of held-out rows given as several batches (lazily read data).

        The default calls ``_validation_step`` on each batch and averages
        each score over the batches, weighted by their rows, which is the
        score of all rows at once for a mean over rows (a mean loss).  A
        model whose validation score is not such a mean (a Cox partial
        likelihood ranks all held-out rows together) overrides this.

        Parameters
        ----------
        chunks : iterator of dict of tensors
            The held-out rows, a batch at a time, on the device.
        ctx : TrainingContext

        Returns
        -------
        dict of str to float
        """
        sums, count = {}, 0
        for batch in chunks:
            n = len(next(iter(batch.values())))
            for k, v in (self._validation_step(batch, ctx) or {}).items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            count += n
        return {k: v / max(count, 1) for k, v in sums.items()}

    def _snapshot(self):
        """Everything an epoch changes: module weights, optimizer states, history, plain fitted attributes."""
        state = {}
        for key, value in self.__dict__.items():
            if isinstance(value, torch.nn.Module):
                state[key] = ("module", {k: t.detach().clone() for k, t in value.state_dict().items()})
            elif key == "_optimizers_":
                state[key] = ("optimizers", {n: copy.deepcopy(o.state_dict()) for n, o in value.items()})
            else:
                state[key] = ("value", copy.copy(value) if isinstance(value, (list, dict)) else value)
        return state

    def _restore(self, snapshot):
        for key in [k for k in self.__dict__ if k not in snapshot]:
            del self.__dict__[key]
        for key, (kind, value) in snapshot.items():
            if kind == "module":
                self.__dict__[key].load_state_dict(value)
            elif kind == "optimizers":
                for name, state in value.items():
                    self.__dict__[key][name].load_state_dict(state)
            else:
                self.__dict__[key] = value

    def _handle_divergence(self, exc, epoch, last_good):
        self._restore(last_good)
        message = (
            f"{type(self).__name__} training diverged: loss {exc.key!r} was {exc.value} at epoch {epoch}, "
            f"step {exc.step}. "
        )
        if self.history_:
            # keep the last finite epoch rather than the state before fit
            self._keep_state_on_error = True
            self._fitted_inputs_ = {k: self.__dict__[k] for k in _FIT_INPUT_KEYS if k in self.__dict__}
            message += f"The estimator is left at its last finite epoch ({self.history_[-1]['epoch']}). "
        else:
            message += "No epoch finished; the estimator is left as it was before fit. "
        message += "Lower lr, or set gradient_clip."
        raise TrainingDivergedError(message, epoch=epoch, step=exc.step, key=exc.key)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_optimizers_", None)  # device-bound; a warm start rebuilds them
        return state

    # -- inference ----------------------------------------------------------------
    def _predict_batches(self, function, *arrays, batch_size=None, dtype=np.float32, name="output"):
        """Run ``function`` on row batches of NumPy arrays with no gradient; NumPy out.

        Parameters
        ----------
        function : callable
            Takes one tensor per array (on the device) and returns a tensor.
        *arrays : ndarray or ECGDataset
            Arrays with the same number of rows; a lazily read one (a memmap
            or an ECGDataset) is read one batch at a time.
        batch_size : int, optional
            Rows per call; default the estimator's ``batch_size`` (at least 256).

        Raises
        ------
        ValueError
            When the output holds a NaN or an infinity (a diverged model),
            rather than returning it silently.
        """
        device = self._torch_device()
        n = len(arrays[0])
        size = batch_size or max(256, int(getattr(self, "batch_size", 256) or 256))
        for module_name in self._module_names():
            getattr(self, module_name).eval()
        outputs = []
        with torch.no_grad():
            for start in range(0, n, size):
                part = [torch.as_tensor(np.ascontiguousarray(a[start:start + size]), device=device)
                        for a in arrays]
                outputs.append(to_numpy(function(*part)) if dtype == np.float32
                               else function(*part).detach().cpu().numpy().astype(dtype))
        out = np.concatenate(outputs) if outputs else np.zeros((0,), dtype)
        if not np.isfinite(out).all():
            raise ValueError(
                f"{type(self).__name__} produced non-finite {name} (NaN or infinity): the model's weights are "
                "not finite or it has diverged; refit it with a lower lr"
            )
        return out
