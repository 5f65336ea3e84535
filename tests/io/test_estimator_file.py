"""ecgsk.io.estimator_file: the safetensors + JSON container, the value codec and class resolution (no torch)."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import pytest

from ecgsk.exceptions import ModelFileError
from ecgsk.io import estimator_file as ef
from ecgsk.io.estimator_file import (
    FORMAT_VERSION,
    UnstorableValueError,
    ValueDecoder,
    ValueEncoder,
    read_estimator_file,
    resolve_class,
    write_estimator_file,
)

from _model_files import edit_document, edit_header, pickle_payload, read_raw, write_raw, zip_with_payload

DOC = {"class": "pkg.mod:Model", "params": {"a": 1}, "attributes": {}}


def _write(tmp_path, arrays=None, doc=None, name="m.ecgsk"):
    return write_estimator_file(tmp_path / name, arrays or {}, dict(doc or DOC))


# -- the container ----------------------------------------------------------------------
def test_round_trip_of_arrays_and_document(tmp_path):
    arrays = {
        "f8": np.arange(6.0).reshape(2, 3),
        "f4_transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not contiguous
        "scalar": np.array(3.5),  # 0-d stays 0-d
        "empty": np.zeros((0, 4), np.int64),
        "bool": np.array([True, False]),
        "u4": np.arange(3, dtype=np.uint32),
        "f2": np.ones(2, np.float16),
        "big_endian": np.arange(3, dtype=">f8"),
    }
    path = _write(tmp_path, arrays)
    got, document = read_estimator_file(path)
    assert set(got) == set(arrays)
    for key, value in arrays.items():
        assert got[key].shape == value.shape and got[key].dtype.name == value.dtype.name, key
        np.testing.assert_array_equal(got[key], value)
        assert got[key].flags.writeable
    assert document["format"] == "ecgsk.estimator" and document["format_version"] == FORMAT_VERSION
    assert document["ecgsk_version"] == ef.ecgsk_version()
    assert {k: document[k] for k in DOC} == DOC


def test_file_mode_follows_the_umask(tmp_path):
    path = _write(tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("arrays,doc,error", [
    ({"x": np.array([1 + 2j])}, DOC, TypeError),
    ({"x": np.array(["a"], dtype=object)}, DOC, TypeError),
    ({"x": [1.0]}, DOC, TypeError),
    ({1: np.zeros(1)}, DOC, TypeError),
    ({}, {"params": {}, "attributes": {}}, ValueError),
    ({}, {**DOC, "params": {"x": float("nan")}}, ValueError),
    ({}, {**DOC, "params": {"x": object()}}, TypeError),
])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, arrays, doc, error):
    path = _write(tmp_path)
    before = path.read_bytes()
    with pytest.raises(error):
        write_estimator_file(path, arrays, doc)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.ecgsk"]


def test_an_interrupted_replace_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(ef.os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, {"x": np.zeros(1000)})
    assert os.listdir(tmp_path) == []


# -- reading damaged and foreign files --------------------------------------------------
def _damage(tmp_path, how):
    """A damaged copy of a good file, and a fragment its error message must contain."""
    path = _write(tmp_path, {"attr/w": np.arange(12.0)})
    bad = tmp_path / f"bad-{how}.ecgsk"
    data = path.read_bytes()
    if how == "missing":
        return bad, "no such file"
    if how == "directory":
        bad.mkdir()
        return bad, "not a regular file"
    if how == "empty":
        bad.write_bytes(b"")
        return bad, "empty"
    if how == "tiny":
        bad.write_bytes(b"abc")
        return bad, "truncated"
    if how == "truncated":
        bad.write_bytes(data[: len(data) - 17])
        return bad, "truncated"
    if how == "header_cut":
        bad.write_bytes(data[:40])
        return bad, "truncated"
    if how == "random":
        bad.write_bytes(np.random.RandomState(0).bytes(4096))
        return bad, "not an ecgsk model file"
    if how == "trailing":
        bad.write_bytes(data + b"extra bytes")
        return bad, "corrupt"
    if how == "pickle":
        bad.write_bytes(pickle.dumps({"w": np.zeros(3)}))
        return bad, "pickle"
    if how == "zip":
        zip_with_payload(bad, tmp_path / "never")
        return bad, "zip"
    if how == "npy":
        np.save(bad.with_suffix(".npy"), np.zeros(3))
        os.replace(bad.with_suffix(".npy"), bad)
        return bad, ".npy"
    header, body = read_raw(path)
    if how == "plain_safetensors":
        del header["__metadata__"]
        write_raw(bad, header, body)
        return bad, "no 'ecgsk' metadata"
    if how == "bad_json":
        header["__metadata__"]["ecgsk"] = "{not json"
        write_raw(bad, header, body)
        return bad, "not valid JSON"
    if how == "not_object":
        header["__metadata__"]["ecgsk"] = "[1, 2]"
        write_raw(bad, header, body)
        return bad, "not a JSON object"
    if how == "bad_dtype":
        header["attr/w"]["dtype"] = "BF16"
        header["attr/w"]["shape"] = [48]
        write_raw(bad, header, body)
        return bad, "attr/w"
    document = json.loads(header["__metadata__"]["ecgsk"])
    if how == "newer":
        document["format_version"] = FORMAT_VERSION + 1
        fragment = "newer ecgsk"
    elif how == "version_string":
        document["format_version"] = "1"
        fragment = "unknown file-format version"
    elif how == "wrong_format":
        document["format"] = "something.else"
        fragment = "not an ecgsk model file"
    elif how == "no_params":
        del document["params"]
        fragment = "lacks 'params'"
    elif how == "params_list":
        document["params"] = []
        fragment = "'params' is a list"
    elif how == "bad_class":
        document["class"] = "os.system"
        fragment = "invalid class"
    header["__metadata__"]["ecgsk"] = json.dumps(document)
    write_raw(bad, header, body)
    return bad, fragment


DAMAGE = ["missing", "directory", "empty", "tiny", "truncated", "header_cut", "random", "trailing", "pickle", "zip",
          "npy", "plain_safetensors", "bad_json", "not_object", "bad_dtype", "newer", "version_string",
          "wrong_format", "no_params", "params_list", "bad_class"]


@pytest.mark.parametrize("how", DAMAGE)
def test_every_damage_is_a_model_file_error_naming_the_file(tmp_path, how):
    bad, fragment = _damage(tmp_path, how)
    with pytest.raises(ModelFileError) as info:
        read_estimator_file(bad)
    message = str(info.value)
    assert message.startswith(str(bad)), message
    assert fragment in message, message
    assert isinstance(info.value, ValueError)


def test_reading_a_pickle_or_zip_never_unpickles(tmp_path):
    marker = tmp_path / "marker"
    control = tmp_path / "control"
    pickle.loads(pickle_payload(control))  # the payload works: unpickling it runs code
    assert control.exists()
    (tmp_path / "evil.pkl").write_bytes(pickle_payload(marker))
    zip_with_payload(tmp_path / "evil.zip", marker)
    for name in ("evil.pkl", "evil.zip"):
        with pytest.raises(ModelFileError):
            read_estimator_file(tmp_path / name)
    assert not marker.exists()


@pytest.mark.parametrize("header_length", [0x280, 0x380, 0x480, 0x580])
def test_a_header_length_that_starts_like_a_pickle_still_reads(tmp_path, header_length):
    """A safetensors length of 640 is stored as the bytes 80 02 ..., a pickle's protocol marker: not a pickle."""
    import struct

    for pad in range(0, 1500):
        path = _write(tmp_path, doc={**DOC, "pad": "x" * pad})
        if struct.unpack("<Q", path.read_bytes()[:8])[0] == header_length:
            break
    else:  # pragma: no cover - the padding always reaches the length
        pytest.fail(f"no padding gave a header of {header_length} bytes")
    assert path.read_bytes()[:2] == bytes([0x80, header_length >> 8])
    _, document = read_estimator_file(path)
    assert document["pad"] == "x" * pad


# -- the value codec -----------------------------------------------------------------------
def _round_trip(value):
    arrays = {}
    node = ValueEncoder(arrays).encode(value, "attr/x")
    json.dumps(node, allow_nan=False)  # strict JSON
    return ValueDecoder(arrays).decode(node), node, arrays


def test_codec_round_trip_keeps_types_and_values():
    value = {
        "none": None, "flag": True, "int": 3, "big": 2**70, "float": 0.1, "nan": float("nan"),
        "inf": float("inf"), "ninf": float("-inf"), "text": "ü", "list": [1, [2, (3, "4")]],
        "tuple": (1, 2.5), "set": {3, 1, 2}, "frozen": frozenset({"a"}), "int_keys": {1: "a", (2, 3): "b"},
        "tag_key": {"__ecgsk__": "not a tag"},
        "f32": np.float32(0.1), "i64": np.int64(-5), "u8": np.uint8(7), "b": np.bool_(True),
        "f64_nan": np.float64("nan"),
        "array": np.arange(6.0).reshape(2, 3), "str_array": np.array(["I", "aVR"]),
        "obj_str_array": np.array(["x", "yz"], dtype=object), "dtype": np.dtype("float32"), "dtype_type": np.int16,
        "odd/key": np.zeros(2), "weird key": np.ones(1),
        "path": Path("/data/model.ecgsk"), "posix": PurePosixPath("a/b"), "windows": PureWindowsPath("C:/x"),
    }
    got, _, arrays = _round_trip(value)
    assert set(got) == set(value)
    for key, expected in value.items():
        actual = got[key]
        assert type(actual) is type(expected), key
        if isinstance(expected, np.ndarray):
            assert actual.dtype == expected.dtype and actual.shape == expected.shape
            np.testing.assert_array_equal(actual, expected)
        elif isinstance(expected, (float, np.floating)) and np.isnan(expected):
            assert np.isnan(actual)
        else:
            assert actual == expected, key
    assert len(arrays) == 3  # the numeric arrays only; strings stay in the JSON


def test_random_generators_continue_identically_and_stay_shared():
    rs = np.random.RandomState(3)
    rs.standard_normal()  # a cached Gaussian in its state
    gens = [np.random.default_rng(5), np.random.Generator(np.random.MT19937(2)),
            np.random.Generator(np.random.Philox(1))]
    got, node, _ = _round_trip({"a": rs, "b": [rs], "gens": gens})
    assert got["b"][0] is got["a"]  # one object stays one object
    assert node["b"][0] == {"__ecgsk__": "ref", "id": 0}
    np.testing.assert_array_equal(got["a"].standard_normal(5), rs.standard_normal(5))
    for restored, original in zip(got["gens"], gens):
        np.testing.assert_array_equal(restored.random(5), original.random(5))


@pytest.mark.parametrize("value,fragment", [
    (lambda: 0, "function"),
    (np.array([1, "a"], dtype=object), "dtype object"),
    (np.array([1 + 1j]), "complex128"),
    (np.complex64(1), "complex64"),
    (np.float128(1) if hasattr(np, "float128") else np.longdouble(1), "NumPy scalar"),
    (np.ma.masked_array([1.0]), "MaskedArray"),
    (object(), "builtins.object"),
    ([1, {"deep": [object()]}], "attr/x/1/deep/0"),
])
def test_unstorable_values_are_refused_by_path(value, fragment):
    with pytest.raises(UnstorableValueError) as info:
        ValueEncoder({}).encode(value, "attr/x")
    assert fragment in str(info.value)


def test_encode_object_callback_handles_unknown_objects():
    class Point:
        def __init__(self, x):
            self.x = x

    def encode_object(encoder, value, path):
        return {"__ecgsk__": "point", "x": encoder.encode(value.x, path + "/x")} if isinstance(value, Point) else None

    def decode_object(decoder, node, where):
        return Point(decoder.decode(node["x"]))

    arrays = {}
    node = ValueEncoder(arrays, encode_object=encode_object).encode([Point(np.arange(2))], "attr/p")
    got = ValueDecoder(arrays, decode_object=decode_object).decode(node)
    np.testing.assert_array_equal(got[0].x, np.arange(2))


@pytest.mark.parametrize("tamper,fragment", [
    (lambda n, a: n.update({"__ecgsk__": "pickle"}), "unknown entry type 'pickle'"),
    (lambda n, a: n.update({"shape": [3, 2]}), "has shape (2, 3) but the file's metadata records (3, 2)"),
    (lambda n, a: a.clear(), "missing from the file"),
    (lambda n, a: a.update({"attr/x": a["attr/x"].astype(np.float32)}), "dtype float32"),
    (lambda n, a: n.update({"dtype": "<c16"}), "bad dtype"),
    (lambda n, a: n.update({"dtype": "|O"}), "bad dtype"),
    (lambda n, a: n.pop("key"), "lacks 'key'"),
    (lambda n, a: n.update({"shape": [-1]}), "bad shape"),
])
def test_decoder_refuses_inconsistent_nodes(tamper, fragment):
    arrays = {}
    node = ValueEncoder(arrays).encode(np.zeros((2, 3)), "attr/x")
    tamper(node, arrays)
    with pytest.raises(ModelFileError) as info:
        ValueDecoder(arrays, source="model.ecgsk").decode(node, "attribute 'x'")
    assert str(info.value).startswith("model.ecgsk: attribute 'x': ")
    assert fragment in str(info.value)


def test_tampered_tensor_shape_in_a_file_is_caught(tmp_path):
    arrays = {}
    node = ValueEncoder(arrays).encode(np.arange(6.0).reshape(2, 3), "attr/w")
    path = write_estimator_file(tmp_path / "m.ecgsk", arrays, {**DOC, "attributes": {"w": node}})
    edit_header(path, lambda header: header["attr/w"].update({"shape": [3, 2]}))  # same bytes, other shape
    got, document = read_estimator_file(path)  # a valid container ...
    with pytest.raises(ModelFileError, match=r"tensor 'attr/w' has shape \(3, 2\)"):
        ValueDecoder(got, source=str(path)).decode(document["attributes"]["w"])  # ... with an inconsistent value


def test_edit_document_helper_round_trips(tmp_path):
    path = _write(tmp_path)
    edit_document(path, lambda d: d["params"].update({"a": 2}))
    assert read_estimator_file(path)[1]["params"] == {"a": 2}


# -- classes named in files -------------------------------------------------------------
def test_resolve_class_allows_ecgsk_and_trusted_packages():
    assert resolve_class("ecgsk.exceptions:ModelFileError") is ModelFileError
    from sklearn.preprocessing import StandardScaler

    assert resolve_class("sklearn.preprocessing._data:StandardScaler", trusted={"sklearn"}) is StandardScaler


@pytest.mark.parametrize("path,fragment", [
    ("antigravity:Fly", "neither part of ecgsk nor registered"),
    ("subprocess:Popen", "neither part of ecgsk nor registered"),
    ("ecgsk_evil.models:X", "neither part of ecgsk nor registered"),
    ("ecgsk.no_such_module:X", "cannot be imported"),
    ("ecgsk.exceptions:NoSuchClass", "cannot be imported"),
    ("ecgsk.io.estimator_file:read_estimator_file", "is not a class"),
    ("ecgsk.exceptions:ModelFileError.__init__.__globals__", "invalid class"),
    ("ecgsk.exceptions:__builtins__", "invalid class"),
    ("os.system", "invalid class"),
    ("ecgsk:<locals>.X", "invalid class"),
    (3, "invalid class"),
])
def test_resolve_class_refuses_without_importing(path, fragment):
    before = set(sys.modules)
    with pytest.raises(ModelFileError) as info:
        resolve_class(path, source="m.ecgsk")
    assert str(info.value).startswith("m.ecgsk: ") and fragment in str(info.value)
    assert "antigravity" not in set(sys.modules) - before


def test_resolve_class_allows_exactly_the_registered_plugin_classes():
    registered = {"lsq": ("_stubs", "LeastSquaresReconstructor")}
    assert resolve_class("_stubs:LeastSquaresReconstructor", registered=registered).__name__ == \
        "LeastSquaresReconstructor"
    with pytest.raises(ModelFileError, match="neither part of ecgsk"):
        resolve_class("_stubs:GainScaler", registered=registered)


def test_models_group_is_the_registry_group():
    from ecgsk.registry import ENTRY_POINT_GROUP

    assert ef.MODELS_GROUP == ENTRY_POINT_GROUP


def test_the_file_layer_does_not_import_torch(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from ecgsk.io import write_estimator_file, read_estimator_file\n"
        f"p = write_estimator_file({str(tmp_path / 'm.ecgsk')!r}, {{'w': np.zeros(2)}}, "
        "{'class': 'a:B', 'params': {}, 'attributes': {}})\n"
        "read_estimator_file(p)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
