"""The ecgsk model file: one safetensors file of arrays plus JSON, never a pickle.

A fitted estimator is stored as a single `safetensors
<https://huggingface.co/docs/safetensors>`_ file.  Its arrays (NumPy fitted
attributes, torch weights converted to NumPy by :mod:`ecgsk.nn`) are the
file's tensors; everything else is JSON, kept in the safetensors string
metadata under the key ``"ecgsk"``.  Reading such a file parses a JSON header
and copies raw numbers: nothing in it is ever executed or unpickled.

This module is the file layer and knows nothing of estimators:

- :func:`write_estimator_file` and :func:`read_estimator_file` write and read
  the container, atomically and with a :class:`~ecgsk.exceptions.ModelFileError`
  naming the file for every kind of damage;
- :class:`ValueEncoder` and :class:`ValueDecoder` turn fitted values
  (numbers, strings, lists, tuples, dicts, NumPy arrays and scalars, NumPy
  random generators) into JSON nodes plus named arrays and back; objects
  they do not know go to a callback (:mod:`ecgsk.base` handles estimators);
- :func:`resolve_class` imports a class named in a file, only from ecgsk,
  from a package trusted by the caller, or from a class registered under the
  ``ecgsk.models`` entry-point group.

The JSON document
-----------------
``{"format": "ecgsk.estimator", "format_version": 1, "ecgsk_version": ...,
"class": "module:QualName", "name": <registered name or null>,
"params": {...}, "attributes": {...}, ...}``.  ``params`` and ``attributes``
map names to *nodes*: JSON values, or objects tagged ``{"__ecgsk__": kind,
...}`` for what JSON cannot say directly (see :class:`ValueEncoder`).

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> with tempfile.TemporaryDirectory() as d:
...     path = os.path.join(d, "model.ecgsk")
...     _ = write_estimator_file(path, {"attr/coef_": np.arange(3.0)},
...                              {"class": "pkg:Model", "params": {}, "attributes": {}})
...     arrays, meta = read_estimator_file(path)
>>> arrays["attr/coef_"], meta["format_version"]
(array([0., 1., 2.]), 1)
"""

import importlib
import json
import math
import os
import re
import struct
import sys
import tempfile
from importlib import metadata as _metadata
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import numpy as np

from ecgsk.exceptions import ModelFileError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "TAG",
    "ModelFileError",
    "UnstorableValueError",
    "write_estimator_file",
    "read_estimator_file",
    "ValueEncoder",
    "ValueDecoder",
    "resolve_class",
    "class_path",
    "registered_models",
    "registered_name",
    "ecgsk_version",
]

#: The value of the document's ``format`` key.
FORMAT = "ecgsk.estimator"
#: The newest file-format version this ecgsk writes and reads.
FORMAT_VERSION = 1
#: The safetensors metadata key holding the JSON document.
METADATA_KEY = "ecgsk"
#: The key that marks a tagged JSON node.
TAG = "__ecgsk__"
#: The entry-point group of models (the same as :data:`ecgsk.registry.ENTRY_POINT_GROUP`).
MODELS_GROUP = "ecgsk.models"

#: NumPy dtypes stored as tensors (what safetensors and NumPy share).
ARRAY_DTYPES = frozenset({"bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                          "float16", "float32", "float64"})
_REQUIRED = {"format": str, "format_version": int, "ecgsk_version": str, "class": str, "params": dict,
             "attributes": dict}
_MAX_HEADER = 100_000_000  # safetensors' own limit
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CLASS_PATH = re.compile(rf"({_IDENT}(?:\.{_IDENT})*):({_IDENT}(?:\.{_IDENT})*)")
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.\-]+")
_DTYPE_STR = re.compile(r"[<>|=]?[biuf][1248]")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
# concrete paths come back as pathlib.Path of the loading system; pure ones keep their flavour
_PATH_FLAVOURS = {"PurePosixPath": "posix", "PureWindowsPath": "windows"}


class UnstorableValueError(TypeError):
    """A value that an ecgsk model file cannot hold safely.

    Attributes
    ----------
    path : str
        Where the value sits (``attr/filters_/0``), as tensor keys are named.
    reason : str
        What it is and why it cannot be stored.
    """

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def ecgsk_version():
    """The installed ecgsk's version (``"0.0.0+unknown"`` from an uninstalled source tree)."""
    try:
        return _metadata.version("ecgsk")
    except Exception:
        return "0.0.0+unknown"


def class_path(cls):
    """``"module:QualName"`` of a class, as files name it.

    Examples
    --------
    >>> class_path(ModelFileError)
    'ecgsk.exceptions:ModelFileError'
    """
    return f"{cls.__module__}:{cls.__qualname__}"


# -- the container ----------------------------------------------------------------
def _contiguous(array):
    """A C-contiguous array of the same shape (``np.ascontiguousarray`` would make 0-d arrays 1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_estimator_file(path, arrays, metadata):
    """Write arrays and a JSON document as one safetensors file, atomically.

    The file is first written to a temporary file in the same folder and then
    moved over ``path`` with :func:`os.replace`, so a failure (a value JSON
    cannot hold, a full disk, an interrupt) never leaves a partial file and
    never damages an existing one.

    Parameters
    ----------
    path : str or path-like
        The file to write (``.ecgsk`` is the customary suffix).
    arrays : dict of str to numpy.ndarray
        Tensors, of the dtypes in :data:`ARRAY_DTYPES`.  Non-contiguous and
        big-endian arrays are stored as contiguous little-endian copies.
    metadata : dict
        The document: at least ``class`` (``"module:QualName"``), ``params``
        and ``attributes``; strict JSON (no NaN, no infinity).  ``format``,
        ``format_version`` and ``ecgsk_version`` are filled in.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError, ValueError
        For an array of another dtype, a non-string key, a document that is
        not JSON or lacks a required key.  Nothing is written then.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_estimator_file(os.path.join(d, "m.ecgsk"), {},
    ...                              {"class": "pkg:M", "params": {}, "attributes": {}})
    ...     p.name
    'm.ecgsk'
    """
    import safetensors.numpy

    path = Path(path)
    tensors = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key or key == "__metadata__":
            raise TypeError(f"tensor names must be non-empty strings other than '__metadata__'; got {key!r}")
        if not isinstance(value, np.ndarray):
            raise TypeError(f"tensor {key!r} must be a numpy.ndarray; got {type(value).__name__}")
        if value.dtype.name not in ARRAY_DTYPES:
            raise TypeError(f"tensor {key!r} has dtype {value.dtype}; model files hold {sorted(ARRAY_DTYPES)}")
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        tensors[key] = _contiguous(value)
    document = dict(metadata)
    missing = [k for k in ("class", "params", "attributes") if k not in document]
    if missing:
        raise ValueError(f"the model file document lacks {missing}")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "ecgsk_version": ecgsk_version(), **document}
    document["format"], document["format_version"] = FORMAT, FORMAT_VERSION
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    payload = safetensors.numpy.save(tensors, metadata={METADATA_KEY: text})

    folder = path.parent if str(path.parent) else Path(".")
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _sniff(head):
    """A guess at what a non-safetensors file is, from its first bytes."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "a zip archive (such as a torch.save checkpoint or a NumPy .npz)"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a pickle"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy file"
    return None


def read_estimator_file(path):
    """Read a file written by :func:`write_estimator_file`.

    Nothing in the file is executed: the header is JSON, the tensors are raw
    numbers.  Pickles, zip archives (``torch.save`` checkpoints) and other
    files are refused before anything in them is interpreted.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    arrays : dict of str to numpy.ndarray
    metadata : dict
        The JSON document, checked for the required keys and types.

    Raises
    ------
    ModelFileError
        For a missing, empty, truncated or corrupt file, a file that is not an
        ecgsk model file, bad JSON, a newer or unknown format version, or a
        missing key.  The message names the file and says what is wrong.

    Examples
    --------
    >>> try:
    ...     read_estimator_file("no/such/model.ecgsk")
    ... except ModelFileError as exc:
    ...     print(exc)
    no/such/model.ecgsk: no such file
    """
    from safetensors import safe_open

    source = os.fspath(path)

    def fail(what, exc=None):
        msg = f"{source}: {what}"
        if exc is not None:
            msg += f" ({type(exc).__name__}: {exc})"
        raise ModelFileError(msg) from exc

    if not os.path.exists(source):
        fail("no such file")
    if not os.path.isfile(source):
        fail("is not a regular file")
    size = os.path.getsize(source)
    if size == 0:
        fail("the file is empty")
    with open(source, "rb") as stream:
        head = stream.read(16)
    # a safetensors header length such as 640 (0x280) starts with the bytes of a pickle's protocol marker
    # (0x80 0x02): sniff only what does not look like a safetensors file (a JSON header right after the length)
    looks_safetensors = len(head) > 8 and head[8:9] == b"{" and 8 + struct.unpack("<Q", head[:8])[0] <= size
    guess = None if looks_safetensors else _sniff(head)
    if guess is not None:
        fail(f"the file is {guess}, not an ecgsk model file; ecgsk never unpickles files (save models with "
             "est.save(path))")
    if size < 8:
        fail(f"the file is truncated or not an ecgsk model file ({size} bytes)")
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len > _MAX_HEADER:
        fail("not an ecgsk model file (no safetensors header)")
    if 8 + header_len > size:
        fail(f"the file is truncated or not an ecgsk model file (its header claims {header_len} bytes, the file "
             f"has {size})")
    try:
        with safe_open(source, framework="numpy") as handle:
            info = handle.metadata()
            keys = list(handle.keys())
            if info is None or METADATA_KEY not in info:
                fail("a safetensors file, but not an ecgsk model file (no 'ecgsk' metadata)")
            text = info[METADATA_KEY]
            arrays = {}
            for key in keys:
                try:
                    array = handle.get_tensor(key)
                except Exception as exc:
                    fail(f"tensor {key!r} cannot be read", exc)
                if not isinstance(array, np.ndarray) or array.dtype.name not in ARRAY_DTYPES:
                    fail(f"tensor {key!r} has an unsupported dtype")
                arrays[key] = array if array.flags.writeable else array.copy()
    except ModelFileError:
        raise
    except Exception as exc:
        fail("the file is truncated, corrupt or not an ecgsk model file", exc)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        fail("the model file's metadata is not valid JSON", exc)
    if not isinstance(document, dict):
        fail("the model file's metadata is not a JSON object")
    if document.get("format") != FORMAT:
        fail(f"not an ecgsk model file (format {document.get('format')!r}, expected {FORMAT!r})")
    version = document.get("format_version")
    if type(version) is not int or version < 1:
        fail(f"unknown file-format version {version!r}")
    if version > FORMAT_VERSION:
        fail(f"the file has format version {version}, written by a newer ecgsk "
             f"({document.get('ecgsk_version')!r}); this ecgsk ({ecgsk_version()}) reads versions up to "
             f"{FORMAT_VERSION}. Upgrade ecgsk to load it")
    for key, kind in _REQUIRED.items():
        if key not in document:
            fail(f"the model file's metadata lacks {key!r}")
        if type(document[key]) is not kind:
            fail(f"the model file's {key!r} is a {type(document[key]).__name__}, expected {kind.__name__}")
    if not _CLASS_PATH.fullmatch(document["class"]):
        fail(f"the model file names an invalid class {document['class']!r}")
    return arrays, document


# -- values <-> JSON nodes ----------------------------------------------------------
def _is_torch_object(value):
    return any(getattr(klass, "__module__", "").split(".")[0] == "torch" for klass in type(value).__mro__)


def _tag(node):
    """The tag of a JSON node, or None for a plain JSON value."""
    return node.get(TAG) if type(node) is dict else None


def _child(path, key, index):
    return f"{path}/{key}" if _SAFE_KEY.fullmatch(key) else f"{path}/#{index}"


class ValueEncoder:
    """Turns Python values into JSON nodes, putting arrays into ``arrays``.

    ====================================  ========================================================
    value                                 node
    ====================================  ========================================================
    None, bool, int, str, finite float    itself
    NaN, infinities                       ``{"__ecgsk__": "float", "value": "nan"}``
    list                                  a JSON list of nodes
    tuple, set, frozenset                 ``{"__ecgsk__": "tuple", "items": [...]}`` (etc.)
    dict of str keys                      a JSON object of nodes (other keys: ``"dict"``, items)
    NumPy scalar                          ``{"__ecgsk__": "scalar", "dtype": "float32", "value": ...}``
    NumPy numeric array                   ``{"__ecgsk__": "array", "key": ..., "dtype", "shape"}``
                                          with the array stored as tensor ``key``
    NumPy string array                    ``{"__ecgsk__": "str_array", "values": [...], ...}``
    NumPy dtype                           ``{"__ecgsk__": "dtype", "name": "float32"}``
    pathlib path                          ``{"__ecgsk__": "path", "value": "/a/b", "flavour": "native"}``
    RandomState, Generator                their full state (the same object twice stays one)
    anything else                         ``encode_object(encoder, value, path)``, else an error
    ====================================  ========================================================

    Parameters
    ----------
    arrays : dict
        Receives the arrays, keyed by the path of the value (``attr/coef_``).
    encode_object : callable, optional
        ``encode_object(encoder, value, path)`` returns a node for a value the
        encoder does not know, or None to refuse it.

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {}
    >>> node = ValueEncoder(arrays).encode({"lags": (0, 1), "w": np.zeros(2)}, "attr/x")
    >>> node["lags"]
    {'__ecgsk__': 'tuple', 'items': [0, 1]}
    >>> node["w"]
    {'__ecgsk__': 'array', 'key': 'attr/x/w', 'dtype': '<f8', 'shape': [2]}
    >>> sorted(arrays)
    ['attr/x/w']
    """

    def __init__(self, arrays, encode_object=None):
        self.arrays = arrays
        self.encode_object = encode_object
        self._memo = {}

    def encode(self, value, path):
        """The JSON node of ``value``; raises :class:`UnstorableValueError` for what cannot be stored."""
        kind = type(value)
        if value is None or kind in (bool, int, str):
            return value
        if kind is float:
            return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
        if isinstance(value, np.generic):
            return self._scalar(value, path)
        if kind is np.ndarray:
            return self._array(value, path)
        if kind is list:
            return [self.encode(v, f"{path}/{i}") for i, v in enumerate(value)]
        if kind is tuple:
            return {TAG: "tuple", "items": [self.encode(v, f"{path}/{i}") for i, v in enumerate(value)]}
        if kind in (set, frozenset):
            try:
                items = sorted(value)
            except TypeError:
                items = list(value)
            return {TAG: kind.__name__, "items": [self.encode(v, f"{path}/{i}") for i, v in enumerate(items)]}
        if kind is dict:
            if all(type(k) is str for k in value) and TAG not in value:
                return {k: self.encode(v, _child(path, k, i)) for i, (k, v) in enumerate(value.items())}
            return {TAG: "dict", "items": [[self.encode(k, f"{path}/#{i}k"), self.encode(v, f"{path}/#{i}")]
                                           for i, (k, v) in enumerate(value.items())]}
        if isinstance(value, np.dtype):
            if value.name not in ARRAY_DTYPES:
                raise UnstorableValueError(path, f"NumPy dtype {value} is not one of {sorted(ARRAY_DTYPES)}")
            return {TAG: "dtype", "name": value.name}
        if kind is type and issubclass(value, np.generic) and np.dtype(value).name in ARRAY_DTYPES:
            return {TAG: "dtype", "name": np.dtype(value).name, "type": True}
        if kind in (np.random.RandomState, np.random.Generator):
            return self._rng(value, path)
        if isinstance(value, PurePath) and kind.__module__ == "pathlib":
            return {TAG: "path", "value": str(value), "flavour": _PATH_FLAVOURS.get(kind.__name__, "native")}
        if _is_torch_object(value):
            raise UnstorableValueError(path, f"a torch object ({kind.__module__}.{kind.__qualname__}); only direct "
                                             "attributes of a torch model holding modules or tensors are stored")
        if self.encode_object is not None:
            node = self.encode_object(self, value, path)
            if node is not None:
                return node
        raise UnstorableValueError(path, f"a {kind.__module__}.{kind.__qualname__}, which model files cannot store "
                                         "safely (they hold NumPy arrays, numbers, strings, lists, tuples, dicts, "
                                         "NumPy random generators and estimators)")

    def _scalar(self, value, path):
        if value.dtype.name not in ARRAY_DTYPES:
            raise UnstorableValueError(path, f"a NumPy scalar of dtype {value.dtype}, not one of "
                                             f"{sorted(ARRAY_DTYPES)}")
        return {TAG: "scalar", "dtype": value.dtype.name, "value": self.encode(value.item(), path)}

    def _array(self, value, path):
        if value.dtype.kind == "U" or (value.dtype == object and all(isinstance(v, str) for v in value.flat)):
            return {TAG: "str_array", "dtype": value.dtype.str, "shape": list(value.shape),
                    "values": [str(v) for v in value.flat]}
        if value.dtype.name not in ARRAY_DTYPES:
            raise UnstorableValueError(path, f"a NumPy array of dtype {value.dtype}; model files hold arrays of "
                                             f"{sorted(ARRAY_DTYPES)} and of strings")
        if path in self.arrays:  # pragma: no cover - paths are unique by construction
            raise UnstorableValueError(path, "two values with the same path")
        stored = value.astype(value.dtype.newbyteorder("<")) if value.dtype.byteorder == ">" else value
        self.arrays[path] = _contiguous(stored)
        return {TAG: "array", "key": path, "dtype": value.dtype.str, "shape": list(value.shape)}

    def _rng(self, value, path):
        seen = self._memo.get(id(value))
        if seen is not None:
            return {TAG: "ref", "id": seen[1]}
        ref = len(self._memo)
        self._memo[id(value)] = (value, ref)  # keep the object alive so its id stays unique
        if type(value) is np.random.RandomState:
            name, key, pos, has_gauss, cached = value.get_state()
            return {TAG: "RandomState", "id": ref, "key": self._array(np.asarray(key, dtype=np.uint32), f"{path}/key"),
                    "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": self.encode(float(cached), path)}
        bit_generator = value.bit_generator
        name = type(bit_generator).__name__
        if name not in _BIT_GENERATORS:
            raise UnstorableValueError(path, f"a NumPy Generator on {name}; stored are {_BIT_GENERATORS}")
        return {TAG: "Generator", "id": ref, "bit_generator": name,
                "state": self.encode(bit_generator.state, f"{path}/state")}


class ValueDecoder:
    """Turns the nodes of :class:`ValueEncoder` back into values.

    Every inconsistency (an unknown tag, a missing tensor, a tensor whose
    shape or dtype differs from the one recorded) raises
    :class:`~ecgsk.exceptions.ModelFileError` naming ``source`` and where the
    node sits.

    Parameters
    ----------
    arrays : dict of str to numpy.ndarray
        The file's tensors.
    decode_object : callable, optional
        ``decode_object(decoder, node, where)`` for tags the decoder does not
        know (:mod:`ecgsk.base` decodes estimators); it returns the value.
    source : str
        The file, for messages.

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {}
    >>> node = ValueEncoder(arrays).encode((1, np.float32(2.5)), "attr/x")
    >>> ValueDecoder(arrays).decode(node)
    (1, np.float32(2.5))
    """

    def __init__(self, arrays, decode_object=None, source="<model file>"):
        self.arrays = arrays
        self.decode_object = decode_object
        self.source = source
        self._memo = {}

    def fail(self, where, what):
        """Raise a :class:`~ecgsk.exceptions.ModelFileError` naming the file and the place."""
        raise ModelFileError(f"{self.source}: {where}: {what}")

    def field(self, node, key, kinds, where):
        """``node[key]``, checked to be of one of the types ``kinds``."""
        if type(node) is not dict or key not in node:
            self.fail(where, f"the entry lacks {key!r}")
        value = node[key]
        if type(value) not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            self.fail(where, f"{key!r} is a {type(value).__name__}")
        return value

    def decode(self, node, where="value"):
        """The value of ``node``."""
        kind = type(node)
        if node is None or kind in (bool, int, str, float):
            return node
        if kind is list:
            return [self.decode(v, where) for v in node]
        if kind is not dict:
            self.fail(where, f"unexpected JSON {kind.__name__}")
        tag = node.get(TAG)
        if tag is None:
            return {k: self.decode(v, where) for k, v in node.items()}
        if tag == "float":
            text = self.field(node, "value", str, where)
            if text not in ("nan", "inf", "-inf"):
                self.fail(where, f"bad float {text!r}")
            return float(text)
        if tag in ("tuple", "set", "frozenset"):
            items = [self.decode(v, where) for v in self.field(node, "items", list, where)]
            try:
                return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
            except TypeError as exc:
                self.fail(where, f"bad {tag} ({exc})")
        if tag == "dict":
            out = {}
            for pair in self.field(node, "items", list, where):
                if type(pair) is not list or len(pair) != 2:
                    self.fail(where, "a dict item is not a [key, value] pair")
                try:
                    out[self.decode(pair[0], where)] = self.decode(pair[1], where)
                except TypeError as exc:
                    self.fail(where, f"unhashable dict key ({exc})")
            return out
        if tag == "scalar":
            dtype = self._dtype_name(self.field(node, "dtype", str, where), where)
            value = self.decode(self.field(node, "value", (bool, int, float, dict), where), where)
            try:
                return np.dtype(dtype).type(value)
            except (TypeError, ValueError, OverflowError) as exc:
                self.fail(where, f"bad {dtype} scalar {value!r} ({exc})")
        if tag == "array":
            return self._array(node, where)
        if tag == "str_array":
            dtype = self.field(node, "dtype", str, where)
            if not (dtype == "|O" or re.fullmatch(r"[<>|=]U\d+", dtype)):
                self.fail(where, f"bad string-array dtype {dtype!r}")
            shape = self._shape(node, where)
            values = self.field(node, "values", list, where)
            if not all(type(v) is str for v in values) or len(values) != math.prod(shape):
                self.fail(where, "bad string array")
            return np.array(values, dtype=np.dtype(dtype)).reshape(shape)
        if tag == "dtype":
            dtype = np.dtype(self._dtype_name(self.field(node, "name", str, where), where))
            return dtype.type if node.get("type") else dtype
        if tag in ("RandomState", "Generator"):
            return self._rng(node, tag, where)
        if tag == "path":
            text = self.field(node, "value", str, where)
            flavour = node.get("flavour", "native")
            if flavour not in ("native", "posix", "windows"):
                self.fail(where, f"bad path flavour {flavour!r}")
            return {"native": Path, "posix": PurePosixPath, "windows": PureWindowsPath}[flavour](text)
        if tag == "ref":
            ref = self.field(node, "id", int, where)
            if ref not in self._memo:
                self.fail(where, f"a reference to unknown object {ref}")
            return self._memo[ref]
        if self.decode_object is not None:
            return self.decode_object(self, node, where)
        self.fail(where, f"unknown entry type {tag!r} (a file from a newer ecgsk?)")

    def _dtype_name(self, name, where):
        if name not in ARRAY_DTYPES:
            self.fail(where, f"unsupported dtype {name!r}")
        return name

    def _shape(self, node, where):
        shape = self.field(node, "shape", list, where)
        if not all(type(n) is int and n >= 0 for n in shape):
            self.fail(where, f"bad shape {shape!r}")
        return tuple(shape)

    def _array(self, node, where):
        key = self.field(node, "key", str, where)
        dtype_str = self.field(node, "dtype", str, where)
        if not _DTYPE_STR.fullmatch(dtype_str):
            self.fail(where, f"bad dtype {dtype_str!r}")
        dtype = np.dtype(dtype_str)
        self._dtype_name(dtype.name, where)
        shape = self._shape(node, where)
        if key not in self.arrays:
            self.fail(where, f"tensor {key!r} is missing from the file")
        array = self.arrays[key]
        if array.shape != shape:
            self.fail(where, f"tensor {key!r} has shape {array.shape} but the file's metadata records {shape}")
        if array.dtype.name != dtype.name:
            self.fail(where, f"tensor {key!r} has dtype {array.dtype} but the file's metadata records {dtype.name}")
        return array.astype(dtype) if array.dtype != dtype else array

    def _rng(self, node, tag, where):
        ref = self.field(node, "id", int, where)
        if tag == "RandomState":
            key = self._array(self.field(node, "key", dict, where), where)
            pos = self.field(node, "pos", int, where)
            has_gauss = self.field(node, "has_gauss", int, where)
            cached = self.decode(self.field(node, "cached_gaussian", (float, int, dict), where), where)
            rng = np.random.RandomState()
            try:
                rng.set_state(("MT19937", key, pos, has_gauss, float(cached)))
            except (TypeError, ValueError) as exc:
                self.fail(where, f"bad RandomState state ({exc})")
        else:
            name = self.field(node, "bit_generator", str, where)
            if name not in _BIT_GENERATORS:
                self.fail(where, f"unknown bit generator {name!r}")
            bit_generator = getattr(np.random, name)()
            try:
                bit_generator.state = self.decode(self.field(node, "state", dict, where), where)
            except (TypeError, ValueError, KeyError) as exc:
                self.fail(where, f"bad {name} state ({exc})")
            rng = np.random.Generator(bit_generator)
        self._memo[ref] = rng
        return rng


# -- classes named in files ---------------------------------------------------------
def registered_models():
    """The ``ecgsk.models`` entry points: ``{name: (module, attribute)}``.

    Examples
    --------
    >>> registered_models()["linear_reconstructor"]  # doctest: +SKIP
    ('ecgsk.models.linear', 'LinearLeadReconstructor')
    """
    found = {}
    for ep in _metadata.entry_points(group=MODELS_GROUP):
        found.setdefault(ep.name, (ep.module, ep.attr))
    return found


def registered_name(cls, registered=None):
    """The name ``cls`` is registered under in the ``ecgsk.models`` group, or None.

    Only entry points whose module is already imported are looked at (a
    class's package is imported with it), so nothing new is imported.

    Examples
    --------
    >>> from ecgsk.exceptions import ModelFileError
    >>> registered_name(ModelFileError) is None
    True
    """
    if registered is None:
        registered = registered_models()
    for name, (module, attr) in sorted(registered.items()):
        obj = sys.modules.get(module)
        for part in (attr or "").split("."):
            obj = getattr(obj, part, None)
        if obj is cls:
            return name
    return None


def resolve_class(path, *, trusted=(), registered=None, source="<model file>"):
    """Import the class a model file names, if it may be imported.

    A class may come from ecgsk itself (``ecgsk`` or ``ecgsk.*``), from a
    top-level package in ``trusted``, or be exactly a class registered under
    the ``ecgsk.models`` entry-point group.  Anything else is refused without
    being imported.  Importing installed code is all this does: nothing in
    the file is run.

    Parameters
    ----------
    path : str
        ``"module:QualName"``.
    trusted : iterable of str
        Top-level package names to allow besides ecgsk.
    registered : dict, optional
        :func:`registered_models`, when the caller already has it.
    source : str
        The file, for messages.

    Returns
    -------
    type

    Raises
    ------
    ModelFileError
        For a path that is malformed, not allowed, not importable or not a class.

    Examples
    --------
    >>> resolve_class("ecgsk.exceptions:ModelFileError").__name__
    'ModelFileError'
    >>> try:
    ...     resolve_class("os:system")
    ... except ModelFileError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    <model file>: the file names the class 'os:system', which is neither part of ecgsk nor ...
    """
    match = _CLASS_PATH.fullmatch(path) if isinstance(path, str) else None
    if match is None or any(part.startswith("__") for part in re.split(r"[.:]", path)):
        raise ModelFileError(f"{source}: the file names an invalid class {path!r}")
    module_name, qualname = match.groups()
    top = module_name.split(".")[0]
    if registered is None:
        registered = registered_models()
    allowed = (top == "ecgsk" or top in set(trusted)
               or (module_name, qualname) in set(registered.values()))
    if not allowed:
        raise ModelFileError(
            f"{source}: the file names the class {path!r}, which is neither part of ecgsk nor registered under the "
            f"{MODELS_GROUP!r} entry-point group; it is not imported. Install and register the plugin that "
            "provides it, or load the file with that class's own load()"
        )
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        raise ModelFileError(f"{source}: the file's class {path!r} cannot be imported ({type(exc).__name__}: {exc}); "
                             "is the package that provides it installed, in a compatible version?") from exc
    if not isinstance(obj, type):
        raise ModelFileError(f"{source}: {path!r} is not a class")
    return obj
