"""Callbacks for the training engine, passed to a torch model as ``callbacks=[...]``.

A callback subclasses :class:`Callback` and overrides any of its hook
methods; each receives the estimator and the
:class:`~ecgsk.nn.engine.TrainingContext` of the running fit:

- ``on_train_begin(estimator, ctx)``
- ``on_epoch_begin(estimator, ctx)``
- ``on_batch_end(estimator, ctx, logs)``: ``logs`` is the step's dict of losses
- ``on_epoch_end(estimator, ctx, record)``: ``record`` is the epoch's entry
  of ``history_``; a callback may add keys to it, or set
  ``ctx.stop_training = True``
- ``on_train_end(estimator, ctx)``

The engine works on a deep copy of each callback, so the instances given as
a parameter are never changed by ``fit`` and ``clone`` keeps working.

Examples
--------
>>> from ecgsk.nn.callbacks import Callback, EarlyStopping
>>> class PrintLoss(Callback):
...     def on_epoch_end(self, estimator, ctx, record):
...         print(record["epoch"], round(record.get("loss", 0.0), 3))
>>> stop = EarlyStopping(monitor="valid_loss", patience=3)
"""

import copy
import os
import tempfile

import numpy as np
import torch
from sklearn.base import BaseEstimator

from . import distributed as dist_utils
from .base import progress

__all__ = ["Callback", "ProgressBar", "EarlyStopping", "Checkpoint", "EMA", "LRScheduler"]


class Callback(BaseEstimator):
    """Base class of the training callbacks: every hook does nothing.

    Subclasses store their constructor arguments unchanged (scikit-learn's
    rule), so that ``get_params``, ``clone`` and ``save`` files handle them.
    """

    def on_train_begin(self, estimator, ctx):
        """Called once the modules and optimizers exist, before the first epoch.

        Parameters
        ----------
        estimator : TorchEstimatorMixin
            The model being fitted.
        ctx : ecgsk.nn.engine.TrainingContext
            The running fit: modules, optimizers, history, device, ``stop_training``.
        """

    def on_epoch_begin(self, estimator, ctx):
        """Called at the start of every epoch.

        Parameters
        ----------
        estimator : TorchEstimatorMixin
            The model being fitted.
        ctx : ecgsk.nn.engine.TrainingContext
            The running fit: modules, optimizers, history, device, ``stop_training``.
        """

    def on_batch_end(self, estimator, ctx, logs):
        """Called after every training step with its dict of float losses.

        Parameters
        ----------
        estimator : TorchEstimatorMixin
            The model being fitted.
        ctx : ecgsk.nn.engine.TrainingContext
            The running fit: modules, optimizers, history, device, ``stop_training``.
        logs : dict of str to float
            The step's losses, as the model's training step returned them.
        """

    def on_epoch_end(self, estimator, ctx, record):
        """Called after every complete epoch with its ``history_`` entry.

        Parameters
        ----------
        estimator : TorchEstimatorMixin
            The model being fitted.
        ctx : ecgsk.nn.engine.TrainingContext
            The running fit: modules, optimizers, history, device, ``stop_training``.
        record : dict
            The epoch's entry of ``history_``; a callback may add keys to it,
            or set ``ctx.stop_training = True``.
        """

    def on_train_end(self, estimator, ctx):
        """Called when training ends, also after an interrupt.

        Parameters
        ----------
        estimator : TorchEstimatorMixin
            The model being fitted.
        ctx : ecgsk.nn.engine.TrainingContext
            The running fit: modules, optimizers, history, device, ``stop_training``.
        """


class ProgressBar(Callback):
    """A tqdm bar over the epochs showing the latest losses (rank 0 only).

    Added automatically when the estimator's ``verbose`` is set.
    """

    def on_train_begin(self, estimator, ctx):
        self._bar = None
        if ctx.rank == 0:
            self._bar = progress(total=int(estimator.max_epochs), desc=type(estimator).__name__, verbose=1)

    def on_epoch_end(self, estimator, ctx, record):
        if self._bar is not None:
            self._bar.update(1)
            shown = {k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch", "dur") and isinstance(v, float)}
            self._bar.set_postfix(shown)

    def on_train_end(self, estimator, ctx):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _module_states(estimator):
    return {k: {n: t.detach().clone() for n, t in v.state_dict().items()}
            for k, v in estimator.__dict__.items() if isinstance(v, torch.nn.Module)}


class EarlyStopping(Callback):
    """Stop when a logged value stops improving, and restore the best weights.

    Parameters
    ----------
    monitor : str, default="valid_loss"
        A key of the ``history_`` records, e.g. ``"loss"``, ``"valid_loss"``
        (validation keys need the model's ``validation_fraction``).
    patience : int, default=5
        Epochs without improvement before stopping.
    min_delta : float, default=0.0
        The least change that counts as improvement.
    mode : {"min", "max"}, default="min"
    restore_best : bool, default=True
        Load the weights of the best epoch when training ends; the estimator's
        ``best_epoch_`` names it.

    Examples
    --------
    >>> from ecgsk.nn.callbacks import EarlyStopping
    >>> EarlyStopping(monitor="loss", patience=2)
    EarlyStopping(monitor='loss', patience=2)
    """

    def __init__(self, monitor="valid_loss", patience=5, min_delta=0.0, mode="min", restore_best=True):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.restore_best = restore_best

    def on_train_begin(self, estimator, ctx):
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping.mode must be 'min' or 'max'; got {self.mode!r}")
        self._best = np.inf
        self._best_epoch = None
        self._best_state = None
        self._stall = 0

    def on_epoch_end(self, estimator, ctx, record):
        if self.monitor not in record:
            raise KeyError(
                f"EarlyStopping monitors {self.monitor!r}, which this fit does not log; logged keys: "
                f"{sorted(record)}" + (" (validation keys need validation_fraction > 0)"
                                       if self.monitor.startswith("valid_") else "")
            )
        value = float(record[self.monitor]) * (1.0 if self.mode == "min" else -1.0)
        if value < self._best - float(self.min_delta):
            self._best, self._best_epoch, self._stall = value, record["epoch"], 0
            if self.restore_best:
                self._best_state = _module_states(estimator)
        else:
            self._stall += 1
            if self._stall >= int(self.patience):
                ctx.stop_training = True

    def on_train_end(self, estimator, ctx):
        if self._best_epoch is None:
            return
        estimator.best_epoch_ = self._best_epoch
        if self.restore_best and self._best_state is not None:
            for name, state in self._best_state.items():
                getattr(estimator, name).load_state_dict(state)


class Checkpoint(Callback):
    """Save the estimator every ``every`` epochs and when training ends.

    Each write goes to a temporary file in the same folder, then replaces
    ``path`` in one step (``os.replace``), so a crash never leaves half a
    file.  Under torch.distributed only rank 0 writes.

    Parameters
    ----------
    path : str or path-like
        The file, in the format of :meth:`~ecgsk.base.ECGEstimatorMixin.save`.
    every : int, default=1
        Epochs between saves.
    """

    def __init__(self, path, every=1):
        self.path = path
        self.every = every

    def _write(self, estimator):
        if dist_utils.rank() != 0:
            return
        path = os.fspath(self.path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=folder)
        os.close(handle)
        try:
            estimator.save(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def on_epoch_end(self, estimator, ctx, record):
        if int(self.every) > 0 and record["epoch"] % int(self.every) == 0:
            self._write(estimator)

    def on_train_end(self, estimator, ctx):
        self._write(estimator)


class EMA(Callback):
    """Exponential moving average of a module's weights, kept as ``<module>ema_``.

    After every step ``avg <- decay_t * avg + (1 - decay_t) * weights`` with
    the warm-up ``decay_t = min(decay, (1 + t) / (10 + t))``; buffers are
    copied.  Models sample from the average when it exists.

    Parameters
    ----------
    module : str, default: ``"generator_"``
        The attribute holding the module to average; the average is stored as
        ``module`` with ``ema_`` for its trailing ``_`` (``generator_ema_``).
    decay : float, default=0.999
        Largest decay of the average (reached after the warm-up).
    """

    def __init__(self, module="generator_", decay=0.999):
        self.module = module
        self.decay = decay

    def _target(self):
        return self.module[:-1] + "_ema_" if self.module.endswith("_") else self.module + "_ema_"

    def on_train_begin(self, estimator, ctx):
        source = getattr(estimator, self.module)
        average = estimator.__dict__.get(self._target())
        fresh = not ctx.history or average is None or type(average) is not type(source)
        if fresh:
            average = copy.deepcopy(source)
            average.requires_grad_(False)
            average.eval()
            setattr(estimator, self._target(), average)
            estimator.ema_updates_ = 0

    @torch.no_grad()
    def on_batch_end(self, estimator, ctx, logs):
        source = getattr(estimator, self.module)
        average = getattr(estimator, self._target())
        t = int(getattr(estimator, "ema_updates_", 0))
        decay = min(float(self.decay), (1.0 + t) / (10.0 + t))
        for avg, p in zip(average.parameters(), source.parameters()):
            avg.lerp_(p.detach(), 1.0 - decay)
        for avg, b in zip(average.buffers(), source.buffers()):
            avg.copy_(b)
        estimator.ema_updates_ = t + 1


class LRScheduler(Callback):
    """Step a torch learning-rate scheduler after every epoch, for every optimizer.

    The learning rate of each optimizer is logged as ``lr_<name>``.

    Parameters
    ----------
    scheduler : str or class, default="CosineAnnealingLR"
        A class of ``torch.optim.lr_scheduler`` or its name.
    optimizers : list of str, optional
        Names of the optimizers to schedule (default all).
    **kwargs
        Passed to the scheduler, e.g. ``T_max=50``.

    Examples
    --------
    >>> from ecgsk.nn.callbacks import LRScheduler
    >>> sched = LRScheduler("StepLR", step_size=10, gamma=0.5)
    """

    def __init__(self, scheduler="CosineAnnealingLR", optimizers=None, **kwargs):
        self.scheduler = scheduler
        self.optimizers = optimizers
        self.kwargs = kwargs

    def get_params(self, deep=True):
        params = {"scheduler": self.scheduler, "optimizers": self.optimizers}
        params.update(self.kwargs)
        return params

    def set_params(self, **params):
        for key in ("scheduler", "optimizers"):
            if key in params:
                setattr(self, key, params.pop(key))
        self.kwargs.update(params)
        return self

    def on_train_begin(self, estimator, ctx):
        cls = self.scheduler
        if isinstance(cls, str):
            if not hasattr(torch.optim.lr_scheduler, cls):
                raise ValueError(f"LRScheduler: torch.optim.lr_scheduler has no {cls!r}")
            cls = getattr(torch.optim.lr_scheduler, cls)
        names = list(ctx.optimizers) if self.optimizers is None else list(self.optimizers)
        unknown = sorted(set(names) - set(ctx.optimizers))
        if unknown:
            raise ValueError(f"LRScheduler: unknown optimizer(s) {unknown}; this model has {sorted(ctx.optimizers)}")
        self._schedulers = {name: cls(ctx.optimizers[name], **self.kwargs) for name in names}

    def on_epoch_end(self, estimator, ctx, record):
        for name, scheduler in self._schedulers.items():
            scheduler.step()
            record[f"lr_{name}"] = float(scheduler.get_last_lr()[0])
