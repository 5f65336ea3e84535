"""The engine's shared behaviours, tested once over every built-in torch model at its tiny test size.

History, callbacks, divergence, Ctrl-C, exceptions in a step, warm start and
reproducibility.  (torch.distributed: test_distributed.py; save/load:
tests/test_persistence.py.)
"""

import os
import signal

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from ecgsk.base import ReconstructorMixin, RiskMixin
from ecgsk.exceptions import TrainingDivergedError
from ecgsk.nn.callbacks import Callback
from ecgsk.nn.engine import TorchEstimatorMixin
from ecgsk.registry import get_model, list_models

TORCH_MODELS = [m["name"] for m in list_models()
                if m["distribution"] == "ecgsk" and issubclass(get_model(m["name"]), TorchEstimatorMixin)]


def make(name, **overrides):
    cls = get_model(name)
    params = {**cls.get_test_params()[0], "device": "cpu", "random_state": 0, "max_epochs": 2, **overrides}
    est = cls(**params)
    X, fit_params = est.get_test_data(n_ecgs=8, random_state=0)
    return est, X, fit_params


def fit(est, X, fit_params):
    params = dict(fit_params)
    y = params.pop("y", None)
    return est.fit(X, y, **params) if y is not None else est.fit(X, **params)


def output(est, X, fit_params):
    """What the fitted model produces, for comparisons."""
    if isinstance(est, RiskMixin):
        return est.predict_risk(X, fit_params.get("conditions"))
    if isinstance(est, ReconstructorMixin):
        return est.transform(X)
    conditions = fit_params.get("conditions")
    return est.sample(3, conditions=None if conditions is None else conditions.iloc[:3], random_state=0)


def weights(est):
    return {f"{n}/{k}": v.detach().clone() for n in est._trained_module_names_
            for k, v in getattr(est, n).state_dict().items()}


class AtStep(Callback):
    """Does something to the estimator after a given (epoch, step)."""

    def __init__(self, epoch=1, step=0, action="interrupt"):
        self.epoch = epoch
        self.step = step
        self.action = action

    def on_batch_end(self, estimator, ctx, logs):
        if (ctx.epoch, ctx.step) != (self.epoch, self.step):
            return
        if self.action == "interrupt":
            os.kill(os.getpid(), signal.SIGINT)
        elif self.action == "nan":
            with torch.no_grad():
                for name in estimator._trained_module_names_:
                    for p in getattr(estimator, name).parameters():
                        p.fill_(float("nan"))
        elif self.action == "raise":
            raise RuntimeError("boom in a step")


class Hooks(Callback):
    def __init__(self):
        self.seen = []

    def on_train_begin(self, estimator, ctx):
        self.seen = ["begin"]
        estimator.hooks_seen_ = self.seen

    def on_epoch_end(self, estimator, ctx, record):
        self.seen.append(("epoch", record["epoch"], sorted(record)))

    def on_train_end(self, estimator, ctx):
        self.seen.append("end")


def test_there_are_torch_models():
    assert {"pulse2pulse", "lstm_gan", "ekgan", "pix2pix"} <= set(TORCH_MODELS)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_history_is_one_finite_record_per_epoch(name):
    est, X, fp = make(name)
    fit(est, X, fp)
    assert est.n_iter_ == 2 and [h["epoch"] for h in est.history_] == [1, 2]
    for record in est.history_:
        assert record["dur"] > 0
        losses = {k: v for k, v in record.items() if k not in ("epoch", "dur")}
        assert losses and all(np.isfinite(v) for v in losses.values()), record
    assert est.interrupted_ is False


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_callbacks_see_every_epoch(name):
    est, X, fp = make(name, callbacks=[Hooks()])
    fit(est, X, fp)
    seen = est.hooks_seen_
    assert seen[0] == "begin" and seen[-1] == "end"
    assert [s[1] for s in seen[1:-1]] == [1, 2]
    assert all("dur" in s[2] for s in seen[1:-1])


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_same_random_state_same_model(name):
    a, X, fp = make(name)
    b, _, _ = make(name)
    fit(a, X, fp), fit(b, X, fp)
    np.testing.assert_array_equal(output(a, X, fp), output(b, X, fp))


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_warm_start_continues(name):
    est, X, fp = make(name, warm_start=True, max_epochs=1)
    fit(est, X, fp)
    first = weights(est)
    fit(est, X, fp)
    assert est.n_iter_ == 2 and [h["epoch"] for h in est.history_] == [1, 2]
    assert any(not torch.equal(first[k], v) for k, v in weights(est).items())


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_ctrl_c_leaves_a_usable_model(name):
    est, X, fp = make(name, max_epochs=50, callbacks=[AtStep(2, 0, "interrupt")])
    with pytest.warns(UserWarning, match="interrupted"):
        fit(est, X, fp)
    assert est.interrupted_ is True and est.n_iter_ == 2
    assert est.history_[-1].get("partial") is True
    assert np.isfinite(output(est, X, fp)).all()


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_divergence_keeps_the_last_finite_epoch(name):
    reference, X, fp = make(name, max_epochs=1)
    fit(reference, X, fp)
    est, _, _ = make(name, max_epochs=5, callbacks=[AtStep(2, 0, "nan")])
    with pytest.raises(TrainingDivergedError) as info:
        fit(est, X, fp)
    assert info.value.epoch == 2
    assert est.n_iter_ == 1 and len(est.history_) == 1
    after = weights(est)
    for key, value in weights(reference).items():
        assert torch.equal(after[key], value), key
    np.testing.assert_array_equal(output(est, X, fp), output(reference, X, fp))


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_an_exception_in_a_step_leaves_a_fresh_model_unfitted(name):
    est, X, fp = make(name, callbacks=[AtStep(1, 0, "raise")])
    with pytest.raises(RuntimeError, match="boom"):
        fit(est, X, fp)
    with pytest.raises(NotFittedError):
        output(est, X, fp)


def test_weights_that_go_bad_in_the_last_step_of_an_epoch_are_not_kept():
    # 8 ECGs in one batch: step 0 is the epoch's last, so its losses are finite but the weights are not
    est, X, fp = make("pulse2pulse", max_epochs=5, batch_size=8, callbacks=[AtStep(2, 0, "nan")])
    with pytest.raises(TrainingDivergedError, match="weights of"):
        fit(est, X, fp)
    assert est.n_iter_ == 1 and len(est.history_) == 1
    assert all(torch.isfinite(v).all() for v in weights(est).values())


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_save_and_load_in_a_fresh_object_gives_the_same_outputs_and_keeps_training(name, tmp_path):
    import ecgsk

    est, X, fp = make(name, warm_start=True, max_epochs=1)
    fit(est, X, fp)
    path = tmp_path / f"{name}.ecgsk"
    est.save(path)
    loaded = ecgsk.load(path)
    assert type(loaded) is type(est)
    assert loaded.history_ == est.history_ and loaded.n_iter_ == 1
    np.testing.assert_array_equal(output(loaded, X, fp), output(est, X, fp))
    fit(loaded, X, fp)  # a warm start from the file continues the epoch count
    assert loaded.n_iter_ == 2
