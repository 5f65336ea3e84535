"""est.save / Cls.load / ecgsk.load: round trips, refused files, and never running code from a file."""

import importlib.metadata
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import sklearn
import torch
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

import ecgsk
from ecgsk.base import GeneratorMixin, ReconstructorMixin
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.exceptions import ModelFileError
from ecgsk.io import read_estimator_file, write_estimator_file
from ecgsk.models.linear import LinearLeadReconstructor
from ecgsk.nn.callbacks import EMA, Checkpoint, EarlyStopping, LRScheduler
from ecgsk.pipeline import ECGPipeline, make_pipeline
from ecgsk.preprocessing import ALL_TRANSFORMERS, AmplitudeScaler, BandpassFilter, FilterChain, NotchFilter
from ecgsk.testing import GaussianECGGenerator

from _model_files import edit_document, edit_header, pickle_payload, read_raw, write_raw, zip_with_payload
from _stubs import LeastSquaresReconstructor, PairGenerator
from _torch_stubs import TinyGenerator, TinyReconstructor


@pytest.fixture(scope="module")
def X12():
    return make_synthetic_ecgs(6, n_leads=12, n_samples=400, random_state=0)


@pytest.fixture(scope="module")
def X1():
    return make_synthetic_ecgs(8, n_leads=1, n_samples=16, random_state=1)


@pytest.fixture(scope="module")
def linear(X12):
    return LinearLeadReconstructor().fit(X12)


@pytest.fixture(scope="module")
def pair(X1):
    return PairGenerator(random_state=0).fit(X1)


def _same_params(a, b):
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for key in pa:
        if isinstance(pa[key], sklearn.base.BaseEstimator) or isinstance(pa[key], list):
            assert repr(pa[key]) == repr(pb[key]), key
        else:
            assert pa[key] == pb[key], key


# -- round trips -------------------------------------------------------------------------
def test_linear_reconstructor_round_trip(tmp_path, linear, X12):
    path = tmp_path / "linear.ecgsk"
    assert linear.save(path) is None
    for loaded in (LinearLeadReconstructor.load(path), ecgsk.load(path), ReconstructorMixin.load(path)):
        assert type(loaded) is LinearLeadReconstructor
        check_is_fitted(loaded)
        _same_params(linear, loaded)
        np.testing.assert_array_equal(loaded.transform(X12), linear.transform(X12))
        for name in ("lags_", "coef_", "intercept_"):
            original, restored = getattr(linear, name), getattr(loaded, name)
            assert restored.dtype == original.dtype and np.array_equal(restored, original), name
        assert type(loaded.x_mean_) is type(linear.x_mean_) and loaded.x_mean_ == linear.x_mean_
        assert loaded.score(X12) == linear.score(X12)
    document = read_estimator_file(path)[1]
    assert document["class"] == "ecgsk.models.linear:LinearLeadReconstructor"
    assert document["name"] == "linear_reconstructor"
    assert document["kind"] == ["reconstructor"]
    assert document["ecgsk_version"] == ecgsk.__version__


def test_unfitted_estimators_round_trip_unfitted(tmp_path):
    path = tmp_path / "cfg.ecgsk"
    LinearLeadReconstructor(n_lags=7).save(path)
    loaded = ecgsk.load(path)
    assert loaded.n_lags == 7
    with pytest.raises(sklearn.exceptions.NotFittedError):
        loaded.transform(np.zeros((1, 1, 400)))


TRANSFORMER_CASES = [(cls, params) for cls in ALL_TRANSFORMERS for params in cls.get_test_params()]


@pytest.mark.parametrize("cls,params", TRANSFORMER_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(TRANSFORMER_CASES)])
def test_preprocessing_transformers_round_trip(tmp_path, cls, params):
    est = cls(**params)
    X, fit_params = est.get_test_data()
    est.fit(X)
    path = tmp_path / "t.ecgsk"
    est.save(path)
    loaded = ecgsk.load(path)
    assert type(loaded) is cls
    _same_params(est, loaded)
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    if hasattr(est, "inverse_transform"):
        Xt = est.transform(X)
        np.testing.assert_array_equal(loaded.inverse_transform(Xt), est.inverse_transform(Xt))


def test_nested_estimators_in_fitted_attributes(tmp_path):
    chain = FilterChain([BandpassFilter(fs=250), NotchFilter(fs=250)]).fit(np.random.RandomState(0).randn(2, 1, 500))
    path = tmp_path / "chain.ecgsk"
    chain.save(path)
    loaded = ecgsk.load(path)
    assert [type(f) for f in loaded.filters_] == [BandpassFilter, NotchFilter]
    np.testing.assert_array_equal(loaded.filters_[0].sos_, chain.filters_[0].sos_)
    arrays = read_estimator_file(path)[0]
    assert {"attr/filters_/0/attr/sos_", "attr/filters_/1/attr/sos_", "attr/sos_"} <= set(arrays)


def test_default_sample_stream_continues_and_rng_objects_stay_shared(tmp_path):
    gen = GaussianECGGenerator(random_state=np.random.RandomState(4)).fit(np.random.RandomState(0).randn(5, 2, 20))
    gen.sample(3)  # advance the stream
    path = tmp_path / "g.ecgsk"
    gen.save(path)
    loaded = ecgsk.load(path)
    np.testing.assert_array_equal(loaded.sample(4), gen.sample(4))
    np.testing.assert_array_equal(loaded.sample(2, random_state=9), gen.sample(2, random_state=9))
    assert isinstance(loaded.random_state, np.random.RandomState)


def test_metadata_routing_requests_survive(tmp_path):
    with sklearn.config_context(enable_metadata_routing=True):
        gen = GaussianECGGenerator().set_fit_request(conditions=True).set_score_request(conditions=True)
        gen.fit(np.zeros((3, 1, 8)))
        path = tmp_path / "g.ecgsk"
        gen.save(path)
    loaded = ecgsk.load(path)
    with sklearn.config_context(enable_metadata_routing=True):
        requests = loaded._get_metadata_request()
        assert requests.fit.requests == {"conditions": True}
        assert requests.score.requests["conditions"] is True


def test_pipeline_of_ecgsk_and_sklearn_steps_round_trips(tmp_path):
    X = make_synthetic_ecgs(6, n_leads=2, n_samples=500, random_state=2)
    pipe = make_pipeline(BandpassFilter(fs=500), AmplitudeScaler(), FunctionTransformer(),
                         GaussianECGGenerator(random_state=0)).fit(X)
    path = tmp_path / "pipe.ecgsk"
    pipe.save(path)
    for loaded in (ECGPipeline.load(path), ecgsk.load(path)):
        assert type(loaded) is ECGPipeline
        assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
        np.testing.assert_array_equal(loaded.sample(3, random_state=1), pipe.sample(3, random_state=1))
        np.testing.assert_array_equal(loaded[:-1].transform(X), pipe[:-1].transform(X))
        check_is_fitted(loaded)


def test_a_parameter_that_cannot_be_stored_warns_and_gets_its_default(tmp_path):
    X = make_synthetic_ecgs(3, n_leads=1, n_samples=500, random_state=2)
    pipe = make_pipeline(FunctionTransformer(func=np.negative), GaussianECGGenerator(random_state=0)).fit(X)
    path = tmp_path / "pipe.ecgsk"
    with pytest.warns(UserWarning, match=r"parameter 'func' = <ufunc 'negative'> cannot be stored safely"):
        pipe.save(path)
    with pytest.warns(UserWarning, match="parameter 'func' of FunctionTransformer was not stored"):
        loaded = ecgsk.load(path)
    assert loaded[0].func is None


def test_pickle_still_works_on_loaded_estimators(tmp_path, linear, X12):
    path = tmp_path / "linear.ecgsk"
    linear.save(path)
    again = pickle.loads(pickle.dumps(LinearLeadReconstructor.load(path)))
    np.testing.assert_array_equal(again.transform(X12), linear.transform(X12))


# -- torch models --------------------------------------------------------------------------
def test_torch_stub_trains(X1):
    before = PairGenerator(random_state=0)
    est = PairGenerator(random_state=0, n_steps=8).fit(X1)
    assert len(est.loss_curve_) == 8 and np.isfinite(est.loss_curve_).all()
    assert not np.array_equal(est.initial_weight_, est.decoder_.linear.weight.detach().numpy())
    assert before.get_params() == PairGenerator(random_state=0).get_params()


@pytest.mark.parametrize("bf16", [False, True])
def test_torch_stub_round_trip(tmp_path, X1, bf16):
    est = PairGenerator(random_state=0, bf16=bf16).fit(X1)
    est.sample(2)  # advance the default stream
    path = tmp_path / "pair.ecgsk"
    rng_before = torch.random.get_rng_state()
    est.save(path)
    loaded = PairGenerator.load(path)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # building modules left the global RNG alone
    check_is_fitted(loaded)
    np.testing.assert_array_equal(loaded.sample(5), est.sample(5))
    np.testing.assert_array_equal(loaded.sample(3, random_state=0), est.sample(3, random_state=0))
    for name in ("mapper_", "decoder_", "decoder_ema_"):
        original, restored = getattr(est, name), getattr(loaded, name)
        assert type(restored) is type(original)
        assert restored.training == original.training
        for (k1, t1), (k2, t2) in zip(original.state_dict().items(), restored.state_dict().items()):
            assert k1 == k2 and t1.dtype == t2.dtype and t1.shape == t2.shape and torch.equal(t1, t2), k1
        assert [p.requires_grad for p in restored.parameters()] == [p.requires_grad for p in original.parameters()]
    assert loaded.decoder_.offset.abs().sum() > 0  # the buffer came back
    assert int(loaded.mapper_[1].num_batches_tracked) == int(est.mapper_[1].num_batches_tracked) > 0
    assert loaded.decoder_ema_ is not loaded.decoder_
    assert next(loaded.decoder_ema_.parameters()).dtype == (torch.bfloat16 if bf16 else torch.float32)
    assert torch.equal(loaded.center_, est.center_)
    assert loaded.device_ == torch.device("cpu")
    assert "_optimizers_" not in vars(loaded)
    assert isinstance(loaded.scale_, np.float32) and loaded.scale_ == est.scale_
    arrays, document = read_estimator_file(path)
    assert arrays["module/mapper_/1.num_batches_tracked"].shape == ()  # 0-d stays 0-d
    if bf16:
        assert document["attributes"]["decoder_ema_"]["dtypes"] == {"linear.weight": "bfloat16",
                                                                    "linear.bias": "bfloat16",
                                                                    "offset": "bfloat16"}
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.sample(2, random_state=1), est.sample(2, random_state=1))


def test_loaded_torch_model_falls_back_to_cpu_without_cuda(tmp_path, X1, monkeypatch):
    est = PairGenerator(random_state=0).fit(X1)
    est.set_params(device="cuda")  # as if it had been trained on a GPU
    path = tmp_path / "pair.ecgsk"
    est.save(path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="runs on the CPU"):
        loaded = PairGenerator.load(path)
    assert loaded.device == "cuda" and loaded.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in loaded.mapper_.parameters())
    np.testing.assert_array_equal(loaded.sample(2, random_state=0), est.set_params(device="cpu").sample(
        2, random_state=0))


def test_engine_model_with_ema_and_callbacks_round_trips_and_warm_starts(tmp_path, X1):
    X = make_synthetic_ecgs(8, n_leads=1, n_samples=32, random_state=3)
    callbacks = [EMA(decay=0.9), EarlyStopping(monitor="generator", patience=5), LRScheduler("StepLR", step_size=1)]
    est = TinyGenerator(random_state=0, callbacks=callbacks, max_epochs=2).fit(X)
    assert hasattr(est, "generator_ema_")
    path = tmp_path / "tiny.ecgsk"
    est.save(path)
    loaded = TinyGenerator.load(path)
    assert repr(loaded.callbacks) == repr(callbacks)
    assert loaded.history_ == est.history_ and loaded.n_iter_ == est.n_iter_
    assert loaded._fitted_inputs_["_sample_rng_"] is loaded._sample_rng_
    np.testing.assert_array_equal(loaded.sample(4), est.sample(4))
    for name in ("generator_", "critic_", "generator_ema_"):
        for t1, t2 in zip(getattr(est, name).state_dict().values(), getattr(loaded, name).state_dict().values()):
            assert torch.equal(t1, t2)
    # a loaded model keeps training: the optimizers are rebuilt, the epoch count continues
    loaded.set_params(warm_start=True, callbacks=None)
    before = loaded.generator_.weight.detach().clone()
    loaded.fit(X)
    assert loaded.n_iter_ == est.n_iter_ + 2 and [r["epoch"] for r in loaded.history_] == [1, 2, 3, 4]
    assert all(np.isfinite(r["generator"]) and np.isfinite(r["critic"]) for r in loaded.history_)
    assert not torch.equal(before, loaded.generator_.weight)


def test_checkpoint_callback_writes_a_loadable_file(tmp_path, X12):
    path = tmp_path / "ckpt" / "tiny.ecgsk"
    est = TinyReconstructor(random_state=0, max_epochs=3, callbacks=[Checkpoint(path, every=1)]).fit(X12)
    loaded = TinyReconstructor.load(path)
    np.testing.assert_array_equal(loaded.transform(X12), est.transform(X12))
    assert [r["epoch"] for r in loaded.history_] == [1, 2, 3]
    assert os.listdir(path.parent) == ["tiny.ecgsk"]


def test_builtin_engine_model_round_trips_through_ecgsk_load(tmp_path):
    from ecgsk.models.pulse2pulse import Pulse2PulseGAN

    est = Pulse2PulseGAN(**Pulse2PulseGAN.get_test_params()[0])
    X, _ = est.get_test_data(n_ecgs=4)
    est.fit(X)
    path = tmp_path / "p2p.ecgsk"
    est.save(path)
    loaded = ecgsk.load(path)
    assert type(loaded) is Pulse2PulseGAN and read_estimator_file(path)[1]["name"] == "pulse2pulse"
    np.testing.assert_array_equal(loaded.sample(2, random_state=0), est.sample(2, random_state=0))
    np.testing.assert_array_equal(loaded.sample(2), est.sample(2))


# PairGenerator's fitted modules under classes whose _build_modules cannot rebuild them
class _NoBuilder(PairGenerator):
    _build_modules = None


class _WrongBuilder(PairGenerator):
    def _build_modules(self):
        modules = super()._build_modules()
        modules["decoder_"] = type(modules["decoder_"])(self.hidden, self.length + 1)
        return modules


class _MissingModule(PairGenerator):
    def _build_modules(self):
        return {"mapper_": super()._build_modules()["mapper_"]}


@pytest.mark.parametrize("cls,error,fragment", [
    (_NoBuilder, NotImplementedError, "_NoBuilder holds torch modules but has no _build_modules()"),
    (_WrongBuilder, RuntimeError, "_build_modules() builds 'decoder_' with other tensors than the fitted one"),
    (_MissingModule, NotImplementedError, "'decoder_' is not built by _MissingModule._build_modules()"),
])
def test_torch_models_that_could_not_be_rebuilt_refuse_to_save(tmp_path, X1, cls, error, fragment):
    est = PairGenerator(random_state=0).fit(X1)
    est.__class__ = cls
    path = tmp_path / "m.ecgsk"
    with pytest.raises(error) as info:
        est.save(path)
    assert fragment in str(info.value)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_torch_modules_on_a_model_without_the_torch_layer_refuse_to_save(tmp_path):
    est = LeastSquaresReconstructor()
    est.net_ = torch.nn.Linear(2, 2)
    with pytest.raises(NotImplementedError, match=r"LeastSquaresReconstructor.save: the attributes \['net_'\]"):
        est.save(tmp_path / "m.ecgsk")


def test_an_unstorable_fitted_attribute_is_a_clear_error_and_leaves_the_old_file(tmp_path, linear):
    path = tmp_path / "linear.ecgsk"
    linear.save(path)
    before = path.read_bytes()
    est = pickle.loads(pickle.dumps(linear))
    est.helper_ = lambda x: x
    with pytest.raises(TypeError, match="fitted attribute 'helper_' cannot be stored safely"):
        est.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["linear.ecgsk"]


# -- refused files ---------------------------------------------------------------------------
LOADERS = {
    "ecgsk.load": ecgsk.load,
    "Cls.load": LinearLeadReconstructor.load,
    "read_estimator_file": read_estimator_file,
}


@pytest.fixture
def good_file(tmp_path, linear):
    path = tmp_path / "linear.ecgsk"
    linear.save(path)
    return path


def _damaged(good, how):
    bad = good.with_name(f"bad-{how}.ecgsk")
    data = good.read_bytes()
    if how == "empty":
        bad.write_bytes(b"")
    elif how == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif how == "random":
        bad.write_bytes(np.random.RandomState(1).bytes(len(data)))
    elif how == "missing":
        pass
    return bad


@pytest.mark.parametrize("how", ["empty", "truncated", "random", "missing"])
@pytest.mark.parametrize("loader", LOADERS, ids=list(LOADERS))
def test_damaged_files_are_model_file_errors_naming_the_file(good_file, how, loader):
    bad = _damaged(good_file, how)
    with pytest.raises(ModelFileError) as info:
        LOADERS[loader](bad)
    assert str(bad) in str(info.value)


def test_wrong_class_is_refused(tmp_path, good_file, pair):
    with pytest.raises(ModelFileError, match="holds a LinearLeadReconstructor .*not a PairGenerator") as info:
        PairGenerator.load(good_file)
    assert str(good_file) in str(info.value)
    with pytest.raises(ModelFileError, match="not a GeneratorMixin"):
        GeneratorMixin.load(good_file)
    path = tmp_path / "pair.ecgsk"
    pair.save(path)
    with pytest.raises(ModelFileError, match=r"holds a _stubs:PairGenerator .*not a LinearLeadReconstructor"):
        LinearLeadReconstructor.load(path)
    # an unregistered class outside ecgsk is not imported by ecgsk.load; its own load works
    with pytest.raises(ModelFileError, match="neither part of ecgsk nor registered") as info:
        ecgsk.load(path)
    assert str(path) in str(info.value)
    assert type(PairGenerator.load(path)) is PairGenerator


def test_tampered_array_shape_is_refused(good_file):
    key = "attr/coef_"
    header, _ = read_raw(good_file)
    shape = header[key]["shape"]
    edit_header(good_file, lambda h: h[key].update({"shape": shape[::-1]}))  # the same bytes, another shape
    for loader in (ecgsk.load, LinearLeadReconstructor.load):
        with pytest.raises(ModelFileError, match=r"attribute 'coef_': tensor 'attr/coef_' has shape") as info:
            loader(good_file)
        assert str(good_file) in str(info.value)


def _torch_file(tmp_path, pair):
    path = tmp_path / "pair.ecgsk"
    pair.save(path)
    return path


def test_tampered_module_shape_is_refused(tmp_path, pair):
    path = _torch_file(tmp_path, pair)
    key = "module/decoder_/linear.weight"
    edit_header(path, lambda h: h[key].update({"shape": h[key]["shape"][::-1]}))
    with pytest.raises(ModelFileError, match=r"torch module 'decoder_': tensor 'linear.weight' has shape \(8, 16\) "
                                             r"in the file but PairGenerator builds \(16, 8\)") as info:
        PairGenerator.load(path)
    assert str(info.value).startswith(str(path))


def test_missing_module_key_is_refused(tmp_path, pair):
    path = _torch_file(tmp_path, pair)
    arrays, document = read_estimator_file(path)
    del arrays["module/mapper_/1.running_var"]
    write_estimator_file(path, arrays, document)
    with pytest.raises(ModelFileError, match=r"torch module 'mapper_': tensor '1.running_var' .* is missing") as info:
        PairGenerator.load(path)
    assert str(info.value).startswith(str(path))
    # dropped from the list of keys too: the strict comparison with the built module catches it
    arrays, document = read_estimator_file(path)
    document["attributes"]["mapper_"]["keys"].remove("1.running_var")
    write_estimator_file(path, arrays, document)
    with pytest.raises(ModelFileError, match=r"missing keys \['1.running_var'\]"):
        PairGenerator.load(path)


def test_newer_format_and_unknown_model_name(tmp_path, good_file):
    edit_document(good_file, lambda d: d.update({"format_version": 99}))
    with pytest.raises(ModelFileError, match="format version 99, written by a newer ecgsk"):
        ecgsk.load(good_file)
    path = tmp_path / "plugin.ecgsk"
    write_estimator_file(path, {}, {"class": "ecgsk_gone_plugin.models:GoneGAN", "name": "gone_gan",
                                    "params": {}, "attributes": {}})
    with pytest.raises(ModelFileError, match="ecgsk_gone_plugin.models:GoneGAN.*model name 'gone_gan'") as info:
        ecgsk.load(path)
    assert str(path) in str(info.value)
    assert "ecgsk_gone_plugin" not in sys.modules


def test_stored_parameters_the_class_does_not_accept(good_file):
    edit_document(good_file, lambda d: d["params"].update({"no_such_param": 1}))
    with pytest.raises(ModelFileError, match="does not accept the stored parameters"):
        ecgsk.load(good_file)


def _fake_entry_points(monkeypatch, entries):
    eps = importlib.metadata.EntryPoints(
        importlib.metadata.EntryPoint(name=name, value=value, group="ecgsk.models") for name, value in entries.items()
    )
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **params: eps)


def test_registered_plugin_classes_load_through_ecgsk_load(tmp_path, monkeypatch, X12):
    est = LeastSquaresReconstructor().fit(X12)
    path = tmp_path / "lsq.ecgsk"
    _fake_entry_points(monkeypatch, {"lsq": "_stubs:LeastSquaresReconstructor"})
    est.save(path)
    assert read_estimator_file(path)[1]["name"] == "lsq"
    np.testing.assert_array_equal(ecgsk.load(path).transform(X12), est.transform(X12))
    # the class moved since the file was written: the registered name finds it
    edit_document(path, lambda d: d.update({"class": "_stubs_old_location:LeastSquaresReconstructor"}))
    assert type(ecgsk.load(path)) is LeastSquaresReconstructor


@pytest.mark.parametrize("node,fragment", [
    ({"__ecgsk__": "object", "class": "os:system", "state": {}}, "neither part of ecgsk nor registered"),
    ({"__ecgsk__": "estimator", "class": "subprocess:Popen", "prefix": "attr/x", "params": {}, "attributes": {}},
     "neither part of ecgsk nor registered"),
    ({"__ecgsk__": "estimator", "class": "ecgsk.exceptions:ModelFileError", "prefix": "attr/x", "params": {},
      "attributes": {}}, "is not a scikit-learn estimator"),
    ({"__ecgsk__": "module", "keys": []}, "is not a torch model"),
    ({"__ecgsk__": "pickle", "data": "gASV"}, "unknown entry type 'pickle'"),
])
def test_crafted_entries_are_refused(good_file, node, fragment):
    edit_document(good_file, lambda d: d["attributes"].update({"x_": node}))
    for loader in (ecgsk.load, LinearLeadReconstructor.load):
        with pytest.raises(ModelFileError, match=fragment) as info:
            loader(good_file)
        assert str(good_file) in str(info.value)


# -- never unpickle ---------------------------------------------------------------------------
def test_a_pickle_payload_is_never_run_whatever_the_loader(tmp_path, good_file):
    marker = tmp_path / "pwned"
    control = tmp_path / "control"
    pickle.loads(pickle_payload(control))  # the payload works: unpickling it runs code
    assert control.exists()
    payload = pickle_payload(marker)

    crafted = {}
    crafted["pickle"] = tmp_path / "model.pkl.ecgsk"
    crafted["pickle"].write_bytes(payload)
    crafted["zip"] = zip_with_payload(tmp_path / "torch_save.ecgsk", marker)
    # a valid model file whose attribute claims to be a pickle
    crafted["tagged"] = tmp_path / "tagged.ecgsk"
    crafted["tagged"].write_bytes(good_file.read_bytes())
    import base64

    edit_document(crafted["tagged"], lambda d: d["attributes"].update(
        {"coef_": {"__ecgsk__": "pickle", "data": base64.b64encode(payload).decode()}}))
    # a valid model file whose tensor holds the pickle bytes instead of coef_
    arrays, document = read_estimator_file(good_file)
    arrays["attr/coef_"] = np.frombuffer(payload, dtype=np.uint8).copy()
    crafted["tensor"] = write_estimator_file(tmp_path / "tensor.ecgsk", arrays, document)
    # the payload after a valid header
    crafted["appended"] = tmp_path / "appended.ecgsk"
    crafted["appended"].write_bytes(good_file.read_bytes() + payload)
    # the payload as the JSON document itself
    header, body = read_raw(good_file)
    header["__metadata__"]["ecgsk"] = payload.decode("latin-1")
    crafted["as_json"] = tmp_path / "as_json.ecgsk"
    write_raw(crafted["as_json"], header, body)

    for name, path in crafted.items():
        for loader in ("ecgsk.load", "Cls.load"):
            with pytest.raises(ModelFileError) as info:
                LOADERS[loader](path)
            assert str(path) in str(info.value), (name, loader)
        if name in ("tagged", "tensor"):  # valid containers: the file layer returns inert data
            arrays, _ = read_estimator_file(path)
            assert all(isinstance(a, np.ndarray) for a in arrays.values())
        else:
            with pytest.raises(ModelFileError):
                read_estimator_file(path)
        assert not marker.exists(), f"the payload ran from the {name} file"


def test_numpy_estimators_save_and_load_without_torch(tmp_path):
    code = (
        "import sys, numpy as np, ecgsk\n"
        "from ecgsk.testing import GaussianECGGenerator\n"
        "from ecgsk.preprocessing import BandpassFilter\n"
        f"p = {str(tmp_path / 'g.ecgsk')!r}\n"
        "g = GaussianECGGenerator(random_state=0).fit(np.zeros((3, 1, 600)))\n"
        "g.save(p); assert (ecgsk.load(p).sample(2) == g.sample(2)).all()\n"
        "f = BandpassFilter().fit(np.zeros((1, 1, 600))); f.save(p); ecgsk.load(p)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_import_ecgsk_stays_light():
    code = ("import sys, ecgsk; assert callable(ecgsk.load); "
            "bad = {'torch', 'ecgsk.base', 'safetensors'} & set(sys.modules); assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
