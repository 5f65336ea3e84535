"""The trained Pulse2Pulse generator shipped with ``deepfake-ecg``: where it is, how its keys map, its cache.

Nothing here imports deepfake-ecg; :func:`pretrained_checkpoint_path` finds
the package with :func:`importlib.util.find_spec`.

Converting the checkpoint (``torch.load``, key mapping, the polyphase weights
and dense matrices of :class:`~.polyphase.PolyphaseGenerator`) takes a few
tenths of a second, several times the load itself.
:func:`load_pretrained_generator` therefore keeps the converted tensors in a
safetensors file in :func:`pretrained_cache_dir`, named by the checkpoint's
SHA-256 and read back in a few tens of milliseconds.  The cached tensors are
the converted ones, bit for bit, so generated ECGs do not depend on whether
the cache was used.
"""

import contextlib
import hashlib
import io
import json
import os
import warnings

__all__ = ["pretrained_checkpoint_path", "map_pretrained_state_dict", "load_pretrained_checkpoint",
           "load_pretrained_generator", "pretrained_cache_dir", "PRETRAINED_UNUSED_PREFIXES", "PRETRAINED_HINT",
           "CACHE_ENV"]

PRETRAINED_HINT = "pip install ecgsk[pretrained]"
#: deepfake-ecg key prefix -> ecgsk key prefix
_PRETRAINED_KEYS = {f"conv_{i + 1}.": f"encoder.{i}." for i in range(6)}
_PRETRAINED_KEYS.update({f"deconv_{j}.conv1d.": f"decoder.{i}." for i, j in enumerate((1, 2, 3, 5, 6, 7))})
#: tensors in deepfake-ecg's checkpoint that its forward pass never uses
PRETRAINED_UNUSED_PREFIXES = ("fc1.", "ppfilter1.") + tuple(
    f"deconv_{j}.Conv1dTrans." for j in (1, 2, 3, 5, 6, 7)
)


def pretrained_checkpoint_path():
    """Path of the generator checkpoint shipped by the installed ``deepfake-ecg``.

    Found with :func:`importlib.util.find_spec`, so deepfake-ecg itself is not
    imported.

    Raises
    ------
    ImportError
        When deepfake-ecg is not installed (``pip install ecgsk[pretrained]``).
    """
    import importlib.util

    spec = importlib.util.find_spec("deepfakeecg")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the pretrained Pulse2Pulse weights ship with the deepfake-ecg package, which is not installed; "
            f"run `{PRETRAINED_HINT}` (or pass path= to a checkpoint)"
        )
    for location in spec.submodule_search_locations:
        path = os.path.join(location, "checkpoints", "g_stat.pt")
        if os.path.isfile(path):
            return path
    raise ImportError(
        f"deepfake-ecg is installed but its checkpoint checkpoints/g_stat.pt is missing; reinstall it with `{PRETRAINED_HINT}`"
    )


def map_pretrained_state_dict(state_dict):
    """Map deepfake-ecg's generator ``state_dict`` onto :class:`Pulse2PulseGenerator`.

    Returns
    -------
    mapped : dict
        ecgsk key -> tensor.
    skipped : list of str
        deepfake-ecg keys left out: the tensors its forward pass never uses
        (``fc1``, the six ``Conv1dTrans`` layers and the ``ppfilter1``
        post-processing filter).

    Raises
    ------
    ValueError
        For a key that is neither mapped nor known to be unused.
    """
    mapped, skipped, unknown = {}, [], []
    for key, value in state_dict.items():
        for old, new in _PRETRAINED_KEYS.items():
            if key.startswith(old):
                mapped[new + key[len(old):]] = value
                break
        else:
            (skipped if key.startswith(PRETRAINED_UNUSED_PREFIXES) else unknown).append(key)
    if unknown:
        raise ValueError(f"unexpected keys in the Pulse2Pulse checkpoint: {unknown}")
    return mapped, skipped


#: the generator tensors the mapped checkpoint must hold (its shapes give model_size and the leads)
_REQUIRED_KEYS = ("encoder.0.weight", "encoder.5.weight")


def load_pretrained_checkpoint(path):
    """Read a deepfake-ecg generator checkpoint safely and map its keys.

    Parameters
    ----------
    path : str or path-like
        A ``torch.save`` file holding ``{"stat_dict": state_dict}``.

    Returns
    -------
    mapped : dict
        ecgsk key -> tensor (see :func:`map_pretrained_state_dict`).
    skipped : list of str

    Raises
    ------
    ecgsk.exceptions.ModelFileError
        For a missing, empty, truncated or non-torch file (text, random
        bytes), a file that is not a generator checkpoint, or one with missing
        or unexpected keys.  The message names the file and what is wrong.

    Examples
    --------
    >>> import tempfile, os
    >>> from ecgsk.exceptions import ModelFileError
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "g.pt")
    ...     _ = open(p, "wb").close()
    ...     try:
    ...         load_pretrained_checkpoint(p)
    ...     except ModelFileError as exc:
    ...         print(str(exc).endswith("the file is empty"))
    True
    """
    where = os.fspath(path)
    _check_checkpoint_file(where)
    with open(where, "rb") as f:
        return _convert_checkpoint(where, f)


def _check_checkpoint_file(where):
    from ecgsk.exceptions import ModelFileError

    if not os.path.isfile(where):
        raise ModelFileError(f"{where}: no such file")
    if os.path.getsize(where) == 0:
        raise ModelFileError(f"{where}: the file is empty")


def _convert_checkpoint(where, source):
    """:func:`load_pretrained_checkpoint` on ``source`` (a path or a binary file object); errors name ``where``."""
    import torch

    from ecgsk.exceptions import ModelFileError

    try:
        checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only=True runs no code; text or random bytes fail in many ways
        # (EOFError, KeyError, IndexError, UnpicklingError, RuntimeError, ...): all mean "not a checkpoint"
        raise ModelFileError(f"{where}: not a readable torch checkpoint ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    if not isinstance(checkpoint, dict) or "stat_dict" not in checkpoint or not isinstance(checkpoint["stat_dict"], dict):
        raise ModelFileError(f"{where}: not a deepfake-ecg generator checkpoint (expected a dict with 'stat_dict')")
    try:
        mapped, skipped = map_pretrained_state_dict(checkpoint["stat_dict"])
    except ValueError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    missing = [k for k in _REQUIRED_KEYS if k not in mapped]
    if missing:
        inverse = {new: old for old, new in _PRETRAINED_KEYS.items()}
        theirs = [next(inverse[p] + k[len(p):] for p in inverse if k.startswith(p)) for k in missing]
        raise ModelFileError(f"{where}: the checkpoint lacks the generator tensors {theirs} (ecgsk's {missing})")
    return mapped, skipped


# -- the converted-weights cache ------------------------------------------------------
#: Environment variable naming the cache folder; empty, ``0``, ``off`` or ``none`` switches the cache off.
CACHE_ENV = "ECGSK_CACHE"
#: Bumped whenever the conversion changes (key mapping, polyphase weights, dense matrices): older
#: cache files are then ignored and rebuilt.
CACHE_VERSION = 1
_CACHE_FORMAT = "ecgsk-pulse2pulse-pretrained"
#: The network input length whose dense matrices the cache holds (the pretrained model's 5000 samples).
_CACHE_LENGTH = 5000
_GEN, _POLY = "generator.", "polyphase."


def pretrained_cache_dir():
    """The folder of the converted pretrained weights, or None when the cache is switched off.

    ``$ECGSK_CACHE`` when set (empty, ``0``, ``off`` or ``none`` switch the
    cache off), else ``$XDG_CACHE_HOME/ecgsk``, else ``~/.cache/ecgsk``.  The
    folder is created when the cache is first written.  Removing it is always
    safe: the next load converts the checkpoint again.

    Returns
    -------
    pathlib.Path or None

    Examples
    --------
    >>> import os
    >>> saved = os.environ.get("ECGSK_CACHE")
    >>> os.environ["ECGSK_CACHE"] = "/tmp/ecgsk-cache"
    >>> str(pretrained_cache_dir())
    '/tmp/ecgsk-cache'
    >>> os.environ["ECGSK_CACHE"] = "off"
    >>> pretrained_cache_dir() is None
    True
    >>> if saved is None:
    ...     del os.environ["ECGSK_CACHE"]
    ... else:
    ...     os.environ["ECGSK_CACHE"] = saved
    """
    from pathlib import Path

    env = os.environ.get(CACHE_ENV)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "none", "false", "no"):
            return None
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path("~/.cache").expanduser()) / "ecgsk"


def _stat_signature(where, st):
    # the path, size, modification time and file identity: a replaced or rewritten checkpoint gets a new one
    text = f"{os.path.realpath(where)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_dev}\0{CACHE_VERSION}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def _cache_paths(cache_dir, sha=None, signature=None):
    name = f"pulse2pulse-{sha}-v{CACHE_VERSION}.safetensors" if sha else None
    index = f"pulse2pulse-stat-{signature}-v{CACHE_VERSION}.txt" if signature else None
    return (cache_dir / name if name else None), (cache_dir / index if index else None)


def _fingerprint(data):
    """XOR and wrapping sum of the 64-bit words of ``data`` (zero-padded): catches truncation, bit flips, zeroed blocks."""
    import numpy as np

    with memoryview(data) as view:
        body = len(view) - len(view) % 8
        words = np.frombuffer(view[:body], dtype="<u8")
        xor, total = int(np.bitwise_xor.reduce(words)), int(np.add.reduce(words, dtype=np.uint64))
        del words  # no export of the buffer may outlive this block
        if body < len(view):  # the last few bytes, zero-padded to one word
            last = int.from_bytes(bytes(view[body:]).ljust(8, b"\0"), "little")
            xor, total = xor ^ last, (total + last) % (1 << 64)
        return f"{len(view)}:{xor:016x}:{total:016x}"


def _serialise_cache(tensors, metadata):
    """safetensors bytes of ``tensors`` whose metadata carries the fingerprint of the tensor data."""
    from safetensors.torch import save

    draft = save(tensors, metadata=dict(metadata, fingerprint="0"))
    start = 8 + int.from_bytes(draft[:8], "little")
    final = save(tensors, metadata=dict(metadata, fingerprint=_fingerprint(memoryview(draft)[start:])))
    return final


def _read_cache(path, sha):
    """The tensors and metadata of a cache file, checked; raises ValueError or OSError for a bad one.

    The fingerprint is checked on a read-only memory map, and the tensors are
    memory-mapped copy-on-write by safetensors: nothing is copied.
    """
    import mmap

    from safetensors.torch import load_file

    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size < 8:
            raise ValueError("the file is truncated")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            start = 8 + int.from_bytes(m[:8], "little")
            if start > len(m):
                raise ValueError("the header is truncated")
            try:
                metadata = json.loads(m[8:start]).get("__metadata__") or {}
            except (ValueError, AttributeError, UnicodeDecodeError) as exc:
                raise ValueError(f"unreadable header ({exc})") from None
            expected = {"format": _CACHE_FORMAT, "version": str(CACHE_VERSION), "source_sha256": sha}
            for key, value in expected.items():
                if metadata.get(key) != value:
                    raise ValueError(f"metadata {key}={metadata.get(key)!r}, expected {value!r}")
            with memoryview(m) as view:
                fingerprint = _fingerprint(view[start:])
            if metadata.get("fingerprint") != fingerprint:
                raise ValueError("the tensor data does not match its fingerprint")
    try:
        tensors = load_file(path)
    except Exception as exc:  # safetensors raises its own SafetensorError for a malformed file
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
    return tensors, metadata


def _write_atomic(path, data):
    from ecgsk.io._atomic import write_bytes_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def _generator_from_state(where, mapped):
    """A :class:`Pulse2PulseGenerator` holding ``mapped`` (no random initialisation), in eval mode."""
    import torch

    from ecgsk.exceptions import ModelFileError

    from .networks import Pulse2PulseGenerator

    model_size = int(mapped["encoder.5.weight"].shape[0]) // 5
    n_leads = int(mapped["encoder.0.weight"].shape[1])
    with torch.device("meta"):  # the shapes only: every tensor is replaced by the checkpoint's
        gen = Pulse2PulseGenerator(model_size, n_leads)
    # assign=True keeps the given tensors (no copy), so float32 is enforced here as copying into
    # float32 parameters would have done
    mapped = {k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in mapped.items()}
    try:
        gen.load_state_dict(mapped, strict=True, assign=True)
    except RuntimeError as exc:  # missing, unexpected or wrong-shaped tensors
        detail = " ".join(str(exc).split())
        raise ModelFileError(f"{where}: the tensors do not fit a Pulse2Pulse generator ({detail})") from None
    return gen.eval()


def load_pretrained_generator(path, *, cache=True):
    """A deepfake-ecg checkpoint as a ready :class:`Pulse2PulseGenerator`, through the converted-weights cache.

    The generator comes with its :class:`~.polyphase.PolyphaseGenerator`
    registered (:func:`~.polyphase.register_polyphase`), so that sampling
    computes nothing more.  The cache file is found through a small index
    keyed by the checkpoint's path, size, modification time and inode (so a
    hit reads no checkpoint), and is itself named by the checkpoint's SHA-256.
    A cache file that does not check out (wrong format or version, another
    checkpoint's hash, a fingerprint that does not match its data) gives a
    ``RuntimeWarning`` and the checkpoint is converted again and the cache
    rewritten.  Every cache file is written to a temporary name and renamed
    (:mod:`ecgsk.io._atomic`), so concurrent writers and interrupted writes
    leave either a complete file or none.  An unwritable cache folder gives a
    ``RuntimeWarning``; the weights are still loaded.

    Parameters
    ----------
    path : str or path-like
        A ``torch.save`` file holding ``{"stat_dict": state_dict}``.
    cache : bool, default=True
        Use :func:`pretrained_cache_dir` (also off when ``$ECGSK_CACHE`` says so).

    Returns
    -------
    generator : Pulse2PulseGenerator
        On the CPU, in eval mode.
    skipped : list of str
        The checkpoint keys left out (see :func:`map_pretrained_state_dict`).

    Raises
    ------
    ecgsk.exceptions.ModelFileError
        As :func:`load_pretrained_checkpoint`, and for tensors that do not fit
        a Pulse2Pulse generator.

    Examples
    --------
    >>> gen, skipped = load_pretrained_generator(pretrained_checkpoint_path())  # doctest: +SKIP
    >>> gen.model_size, len(skipped)  # doctest: +SKIP
    (50, 14)
    """
    where = os.fspath(path)
    _check_checkpoint_file(where)
    cache_dir = pretrained_cache_dir() if cache else None
    if cache_dir is None:
        mapped, skipped = load_pretrained_checkpoint(where)
        return _generator_from_state(where, mapped), skipped
    signature = _stat_signature(where, os.stat(where))
    _, index = _cache_paths(cache_dir, signature=signature)
    sha = None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = index.read_text().strip()
        sha = text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None
    if sha is not None:
        hit = _load_cached(where, cache_dir, sha)
        if hit is not None:
            return hit
    with open(where, "rb") as f:
        data = f.read()
    sha_now = hashlib.sha256(data).hexdigest()
    if sha_now != sha:  # the index was missing or stale: the cache may hold this content already
        hit = _load_cached(where, cache_dir, sha_now, warn_missing=False)
        if hit is not None:
            _store(index, sha_now.encode())
            return hit
    mapped, skipped = _convert_checkpoint(where, io.BytesIO(data))
    gen = _generator_from_state(where, mapped)
    from .polyphase import polyphase_generator

    fast = polyphase_generator(gen)  # computed once here, then read from the cache
    tensors = {_GEN + k: v.contiguous() for k, v in gen.state_dict().items()}
    tensors.update({_POLY + k: v for k, v in fast.export_state(_CACHE_LENGTH).items()})
    metadata = {"format": _CACHE_FORMAT, "version": str(CACHE_VERSION), "source_sha256": sha_now,
                "source": where, "skipped": json.dumps(skipped)}
    target, _ = _cache_paths(cache_dir, sha=sha_now)
    if _store(target, _serialise_cache(tensors, metadata)):
        _store(index, sha_now.encode())
    return gen, skipped


def _store(path, data):
    """Write a cache file atomically; warn (and return False) when the folder is not writable."""
    try:
        _write_atomic(path, data)
        return True
    except OSError as exc:
        warnings.warn(f"cannot write the Pulse2Pulse weights cache {path} ({exc.strerror or exc}); the weights "
                      f"are converted on every load. Set {CACHE_ENV} to a writable folder, or to 'off'",
                      RuntimeWarning, stacklevel=3)
        return False


def _load_cached(where, cache_dir, sha, warn_missing=True):
    """The generator from the cache file of checkpoint hash ``sha``, or None (with a warning for a bad file)."""
    target, _ = _cache_paths(cache_dir, sha=sha)
    try:
        tensors, metadata = _read_cache(target, sha)
        mapped = {k[len(_GEN):]: v for k, v in tensors.items() if k.startswith(_GEN)}
        state = {k[len(_POLY):]: v for k, v in tensors.items() if k.startswith(_POLY)}
        if len(mapped) + len(state) != len(tensors) or any(k not in mapped for k in _REQUIRED_KEYS):
            raise ValueError("unexpected tensor names")
        skipped = json.loads(metadata.get("skipped", "[]"))
        return _with_polyphase(where, mapped, skipped, state)
    except (FileNotFoundError, NotADirectoryError):  # no cache file (or no cache folder) yet
        if warn_missing:
            warnings.warn(f"the Pulse2Pulse weights cache {target} named by its index is missing; converting "
                          f"{where} again", RuntimeWarning, stacklevel=3)
        return None
    except Exception as exc:  # a damaged or foreign cache file must never stop the load
        warnings.warn(f"ignoring the damaged Pulse2Pulse weights cache {target} ({type(exc).__name__}: {exc}); "
                      f"converting {where} again and rewriting it", RuntimeWarning, stacklevel=3)
        return None


def _with_polyphase(where, mapped, skipped, state):
    """The generator of ``mapped`` with its polyphase form rebuilt from ``state`` and registered."""
    from .polyphase import PolyphaseGenerator, register_polyphase

    gen = _generator_from_state(where, mapped)
    register_polyphase(gen, PolyphaseGenerator(gen, state).eval())
    if not isinstance(skipped, list) or not all(isinstance(k, str) for k in skipped):
        raise ValueError("metadata 'skipped' is not a list of names")
    return gen, skipped
