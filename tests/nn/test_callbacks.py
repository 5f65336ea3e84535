"""Training callbacks: early stopping, EMA, learning-rate schedules, progress bars."""

import numpy as np
import pytest
import torch

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.nn.callbacks import EMA, Callback, EarlyStopping, LRScheduler, ProgressBar

from _torch_stubs import TinyGenerator, TinyReconstructor


@pytest.fixture(scope="module")
def X12():
    return make_synthetic_ecgs(10, n_leads=12, n_samples=64, random_state=0)


class StopAfter(Callback):
    def __init__(self, epochs=1):
        self.epochs = epochs

    def on_epoch_end(self, estimator, ctx, record):
        if record["epoch"] >= self.epochs:
            ctx.stop_training = True


def test_a_callback_can_stop_training(X12):
    est = TinyReconstructor(max_epochs=10, callbacks=[StopAfter(2)], random_state=0).fit(X12)
    assert est.n_iter_ == 2


def test_early_stopping_stops_on_a_stalled_monitor_and_restores_the_best_epoch(X12):
    # lr far too high: the training loss rises after the first epochs, so the best epoch is early
    est = TinyReconstructor(max_epochs=30, lr=12.0, batch_size=10, random_state=0,
                            callbacks=[EarlyStopping(monitor="loss", patience=2)])
    est.fit(X12)
    losses = [h["loss"] for h in est.history_]
    best = int(np.argmin(losses)) + 1
    assert est.best_epoch_ == best
    assert est.n_iter_ == best + 2 < 30  # two epochs of patience after the best
    # the weights are those after the best epoch: refitting for best epochs gives the same weights
    same = TinyReconstructor(max_epochs=best, lr=12.0, batch_size=10, random_state=0).fit(X12)
    for k, v in same.net_.state_dict().items():
        torch.testing.assert_close(est.net_.state_dict()[k], v)


def test_early_stopping_on_validation_loss(X12):
    est = TinyReconstructor(max_epochs=6, validation_fraction=0.3, random_state=0,
                            callbacks=[EarlyStopping(patience=1)]).fit(X12)
    assert 1 <= est.best_epoch_ <= est.n_iter_ <= 6


def test_early_stopping_names_a_missing_monitor(X12):
    with pytest.raises(KeyError, match="validation_fraction"):
        TinyReconstructor(callbacks=[EarlyStopping(monitor="valid_loss")], random_state=0).fit(X12)


def test_ema_keeps_an_average_that_lags_the_weights():
    X = make_synthetic_ecgs(8, n_leads=1, n_samples=32, random_state=0)
    gen = TinyGenerator(max_epochs=3, lr=1e-2, random_state=0, callbacks=[EMA(decay=0.9)]).fit(X)
    avg, live = gen.generator_ema_, gen.generator_
    assert gen.ema_updates_ == 3 * 2
    assert not any(p.requires_grad for p in avg.parameters())
    diff = float((avg.weight - live.weight).detach().abs().max())
    assert 0 < diff < float(live.weight.detach().abs().max())


def test_lr_scheduler_logs_and_lowers_the_learning_rate(X12):
    est = TinyReconstructor(max_epochs=3, random_state=0,
                            callbacks=[LRScheduler("StepLR", step_size=1, gamma=0.5)]).fit(X12)
    assert [h["lr_net"] for h in est.history_] == pytest.approx([0.025, 0.0125, 0.00625])


def test_lr_scheduler_rejects_unknown_names(X12):
    with pytest.raises(ValueError, match="no 'Nope'"):
        TinyReconstructor(callbacks=[LRScheduler("Nope")]).fit(X12)
    with pytest.raises(ValueError, match="unknown optimizer"):
        TinyReconstructor(callbacks=[LRScheduler("StepLR", optimizers=["critic"], step_size=1)]).fit(X12)


def test_callbacks_are_cloneable_estimators():
    from sklearn.base import clone

    sched = LRScheduler("StepLR", step_size=3, gamma=0.1)
    copy = clone(sched)
    assert copy.get_params() == {"scheduler": "StepLR", "optimizers": None, "step_size": 3, "gamma": 0.1}
    assert clone(EarlyStopping(patience=7)).patience == 7


def test_verbose_shows_a_progress_bar_with_the_losses(X12, capsys):
    TinyReconstructor(max_epochs=2, verbose=1, random_state=0).fit(X12)
    err = capsys.readouterr().err
    assert "TinyReconstructor" in err and "loss" in err


def test_a_user_progress_bar_is_not_doubled(X12, capsys):
    TinyReconstructor(max_epochs=1, verbose=1, callbacks=[ProgressBar()], random_state=0).fit(X12)
    assert capsys.readouterr().err.count("TinyReconstructor") >= 1
