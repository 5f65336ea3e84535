"""The training engine: one fit loop, its batching rule, history, faults and inference."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.utils.validation import check_is_fitted

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.exceptions import NotFittedError, TrainingDivergedError
from ecgsk.nn.callbacks import Callback
from ecgsk.nn.engine import epoch_batches

from _torch_stubs import TinyGenerator, TinyReconstructor


@pytest.fixture(scope="module")
def X12():
    return make_synthetic_ecgs(10, n_leads=12, n_samples=64, random_state=0)


def _weights(est, name="net_"):
    return {k: v.detach().clone() for k, v in getattr(est, name).state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


class Recorder(Callback):
    """Records the hooks called and the batch sizes seen."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, estimator, ctx):
        self.calls.append("train_begin")

    def on_epoch_begin(self, estimator, ctx):
        self.calls.append(f"epoch_begin:{ctx.epoch}")

    def on_batch_end(self, estimator, ctx, logs):
        self.calls.append(f"batch:{int(logs['batch_rows'])}")

    def on_epoch_end(self, estimator, ctx, record):
        self.calls.append(f"epoch_end:{record['epoch']}")

    def on_train_end(self, estimator, ctx):
        self.calls.append("train_end")


# -- batching rule ----------------------------------------------------------------
@pytest.mark.parametrize("n, size, expected", [
    (8, 4, [4, 4]), (9, 4, [4, 5]), (10, 4, [4, 4, 2]), (3, 8, [3]), (1, 4, [1]),
])
def test_epoch_batches_merges_a_last_batch_of_one(n, size, expected):
    batches = epoch_batches(np.arange(n), size)
    assert [len(b) for b in batches] == expected
    assert sorted(np.concatenate(batches).tolist()) == list(range(n))


def test_fit_uses_the_batching_rule_and_calls_every_hook_in_order(X12):
    rec = Recorder()
    est = TinyReconstructor(batch_size=3, max_epochs=2, callbacks=[rec], random_state=0).fit(X12[:7])
    assert rec.calls == []  # the parameter is left as given: the engine trains a copy
    # 7 rows in batches of 3 -> 3, 4 (the single last row joins the batch before)
    assert [h["batch_rows"] for h in est.history_] == pytest.approx([(9 + 16) / 7] * 2)


def test_callbacks_see_hooks_in_order(X12):
    seen = []

    class Spy(Recorder):
        def on_train_end(self, estimator, ctx):
            super().on_train_end(estimator, ctx)
            seen.extend(self.calls)

    TinyReconstructor(batch_size=3, max_epochs=2, callbacks=[Spy()], random_state=0).fit(X12[:7])
    assert seen == ["train_begin", "epoch_begin:1", "batch:3", "batch:4", "epoch_end:1",
                    "epoch_begin:2", "batch:3", "batch:4", "epoch_end:2", "train_end"]


# -- training, history, reproducibility ------------------------------------------
def test_fit_trains_records_history_and_counts_epochs(X12):
    est = TinyReconstructor(max_epochs=4, random_state=0)
    est.fit(X12)
    check_is_fitted(est)
    assert est.n_iter_ == 4
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 4]
    losses = [h["loss"] for h in est.history_]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0]
    assert all(h["dur"] > 0 for h in est.history_)
    assert est.interrupted_ is False


def test_parameters_change_from_their_initial_values(X12):
    one = TinyReconstructor(max_epochs=1, lr=0.0, random_state=0).fit(X12)
    two = TinyReconstructor(max_epochs=1, lr=0.05, random_state=0).fit(X12)
    assert _same(_weights(one), _weights(TinyReconstructor(max_epochs=1, lr=0.0, random_state=0).fit(X12)))
    assert not _same(_weights(one), _weights(two))  # same initial weights; lr 0 keeps them


def test_random_state_makes_fits_identical_and_different_seeds_differ(X12):
    a = TinyReconstructor(random_state=3).fit(X12)
    b = TinyReconstructor(random_state=3).fit(X12)
    c = TinyReconstructor(random_state=4).fit(X12)
    assert _same(_weights(a), _weights(b))
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    assert not _same(_weights(a), _weights(c))
    np.testing.assert_array_equal(a.transform(X12), b.transform(X12))


def test_fit_does_not_touch_global_rng_state(X12):
    torch.manual_seed(123)
    np.random.seed(5)
    expected_torch, expected_np = torch.rand(1), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(5)
    TinyReconstructor(random_state=0).fit(X12)
    assert torch.equal(torch.rand(1), expected_torch)
    assert np.random.rand() == expected_np


def test_warm_start_continues_epochs_and_weights(X12):
    est = TinyReconstructor(max_epochs=2, warm_start=True, random_state=0).fit(X12)
    after_two = _weights(est)
    est.fit(X12)
    assert est.n_iter_ == 4
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 4]
    assert not _same(after_two, _weights(est))
    cold = TinyReconstructor(max_epochs=2, warm_start=False, random_state=0).fit(X12)
    cold.fit(X12)
    assert cold.n_iter_ == 2  # a cold refit starts again


def test_warm_start_with_new_input_shape_starts_again(X12):
    est = TinyReconstructor(max_epochs=1, warm_start=True, random_state=0).fit(X12)
    est.fit(make_synthetic_ecgs(6, n_leads=12, n_samples=80, random_state=1))
    assert est.n_iter_ == 1
    assert est.n_timepoints_in_ == 80


def test_validation_fraction_logs_valid_scores(X12):
    est = TinyReconstructor(max_epochs=2, validation_fraction=0.3, random_state=0).fit(X12)
    assert all("valid_loss" in h and np.isfinite(h["valid_loss"]) for h in est.history_)


def test_gan_shaped_step_takes_several_optimizer_steps():
    X = make_synthetic_ecgs(8, n_leads=1, n_samples=32, random_state=0)
    gen = TinyGenerator(n_critic=3, random_state=0)
    gen.fit(X)
    init = TinyGenerator(n_critic=3, random_state=0, max_epochs=1)
    assert gen.n_iter_ == 2
    assert set(gen.history_[0]) >= {"critic", "generator", "epoch", "dur"}
    assert np.isfinite([h["critic"] for h in gen.history_]).all()
    # each batch took 3 critic steps and 1 generator step
    state = gen._optimizers_["critic"].state_dict()["state"]
    steps = int(next(iter(state.values()))["step"])
    assert steps == 3 * 2 * 2  # 3 per batch, 2 batches per epoch, 2 epochs
    assert gen.sample(3, random_state=0).shape == (3, 1, 32)
    del init


def test_gradient_clip_bounds_the_update(X12):
    free = TinyReconstructor(max_epochs=1, lr=1.0, random_state=0)
    clipped = TinyReconstructor(max_epochs=1, lr=1.0, gradient_clip=1e-3, random_state=0)
    zero = TinyReconstructor(max_epochs=1, lr=0.0, random_state=0).fit(X12)
    start = _weights(zero)
    def moved(est):
        return float(torch.cat([(est.net_.state_dict()[k] - start[k]).ravel() for k in start]).norm())

    assert moved(clipped.fit(X12)) < moved(free.fit(X12))
    assert moved(clipped) <= 3 * 1.0 * 1e-3 + 1e-6  # 3 steps of at most lr * clip each


def test_bf16_precision_trains(X12):
    est = TinyReconstructor(max_epochs=2, precision="bf16", random_state=0).fit(X12)
    assert np.isfinite([h["loss"] for h in est.history_]).all()
    assert est.transform(X12).dtype == np.float32


@pytest.mark.parametrize("params, match", [
    ({"precision": "16"}, "precision"),
    ({"gradient_clip": -1.0}, "gradient_clip"),
    ({"callbacks": ["not a callback"]}, "callbacks"),
])
def test_engine_parameters_are_checked(X12, params, match):
    with pytest.raises(ValueError, match=match):
        TinyReconstructor(**params).fit(X12)


# -- faults -------------------------------------------------------------------------
def test_nan_loss_raises_and_keeps_the_last_finite_epoch(X12):
    est = TinyReconstructor(max_epochs=5, nan_at=(3, 1), random_state=0)
    reference = TinyReconstructor(max_epochs=2, random_state=0).fit(X12)
    with pytest.raises(TrainingDivergedError, match="epoch 3") as info:
        est.fit(X12)
    assert (info.value.epoch, info.value.step, info.value.key) == (3, 1, "loss")
    assert est.n_iter_ == 2 and len(est.history_) == 2
    assert _same(_weights(est), _weights(reference))
    assert np.isfinite(est.transform(X12)).all()


def test_nan_in_the_first_epoch_leaves_a_fresh_estimator_unfitted(X12):
    est = TinyReconstructor(nan_at=(1, 0), random_state=0)
    with pytest.raises(TrainingDivergedError, match="before fit"):
        est.fit(X12)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        est.transform(X12)


def test_an_error_in_a_refit_restores_the_previous_fit(X12):
    est = TinyReconstructor(max_epochs=1, random_state=0).fit(X12)
    before, out_before = _weights(est), est.transform(X12)
    est.set_params(raise_at=(1, 1), max_epochs=3)
    other = make_synthetic_ecgs(6, n_leads=12, n_samples=80, random_state=2)
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(other)
    assert _same(before, _weights(est))
    assert est.n_timepoints_in_ == 64 and est.n_iter_ == 1
    np.testing.assert_array_equal(est.transform(X12), out_before)


def test_ctrl_c_stops_at_a_step_boundary_and_keeps_a_usable_model(X12):
    est = TinyReconstructor(max_epochs=10, interrupt_at=(2, 1), random_state=0)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X12)
    assert est.interrupted_ is True
    assert est.n_iter_ == 2
    assert est.history_[-1]["partial"] is True
    assert np.isfinite(est.transform(X12)).all()


def test_divergence_during_inference_is_an_error_not_silent_garbage(X12):
    est = TinyReconstructor(max_epochs=1, random_state=0).fit(X12)
    with torch.no_grad():
        est.net_.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="non-finite"):
        est.transform(X12)


# -- pickling --------------------------------------------------------------------------
def test_pickle_round_trip_drops_optimizers_and_predicts_the_same(X12):
    est = TinyReconstructor(max_epochs=1, warm_start=True, random_state=0).fit(X12)
    clone = pickle.loads(pickle.dumps(est))
    assert "_optimizers_" not in clone.__dict__
    np.testing.assert_array_equal(clone.transform(X12), est.transform(X12))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clone.fit(X12)  # a warm start after unpickling rebuilds the optimizers
    assert clone.n_iter_ == 2


# -- parallel cross-validation ----------------------------------------------------------------
class RecordThreads(Callback):
    """Stores the torch intra-op thread count the fit ran with on the estimator."""

    def on_train_begin(self, estimator, ctx):
        estimator.torch_threads_ = torch.get_num_threads()


def test_cross_validate_with_two_loky_workers_does_not_oversubscribe(X12):
    import os

    from joblib import parallel_backend
    from sklearn.model_selection import cross_validate

    est = TinyReconstructor(max_epochs=2, random_state=0, callbacks=[RecordThreads()])
    with parallel_backend("loky"):
        result = cross_validate(est, X12, cv=2, n_jobs=2, return_estimator=True)
    assert np.isfinite(result["test_score"]).all()
    cores = os.cpu_count() or 1
    # joblib caps each worker's threads at cores // n_jobs, and torch honours it
    assert all(fitted.torch_threads_ <= max(1, cores // 2) for fitted in result["estimator"])
    serial = cross_validate(est, X12, cv=2, n_jobs=1)
    np.testing.assert_allclose(result["test_score"], serial["test_score"], rtol=1e-6)


def test_cross_validate_on_a_dask_cluster(X12):
    import distributed  # in the test extra (ecgsk[dask])
    from joblib import parallel_backend
    from sklearn.model_selection import cross_validate

    est = TinyReconstructor(max_epochs=1, random_state=0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with parallel_backend("dask"):
            result = cross_validate(est, X12, cv=2, n_jobs=2)
    serial = cross_validate(est, X12, cv=2, n_jobs=1)
    np.testing.assert_allclose(result["test_score"], serial["test_score"], rtol=1e-6)
