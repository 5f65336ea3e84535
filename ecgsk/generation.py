"""Generate ECG files with a model, deepfake-ecg style.

``ecgsk.generate(num_ecg, out_dir)`` is a drop-in for
``deepfakeecg.generate(num, out_dir, start_id=0, run_device="cpu")``: by default
it writes ``{id}.asc`` files of 5000 rows x 8 space-separated integers in µV
(leads I, II, V1-V6), in deepfake-ecg's exact format, from the pretrained
Pulse2Pulse generator.  It is faster because the network runs in batches with a
polyphase decoder, the converted pretrained weights are read from a cache
(:func:`ecgsk.models.pulse2pulse.pretrained.load_pretrained_generator`), and
the files are written by a vectorised formatter on a writer thread while the
next batch is generated.  Memory stays bounded: ECGs are generated, written
and dropped one batch at a time, with at most two batches queued for the
writer.

Generation at scale
-------------------
ECG ``id`` is generated from its own seed, derived from ``(random_state, id)``
(:meth:`ecgsk.base.GeneratorMixin.sample_ids`), so the file ``{id}.asc`` has
the same bytes whatever the batch size, the number of processes or the shard
that writes it.  ``shard=(i, n_shards)`` (``ecgsk generate --shard i/N``)
writes one contiguous block of the ids; the ``n_shards`` blocks together are
exactly the files of one unsharded run with the same ``random_state``.  Under
``torchrun`` the ``ecgsk generate`` command splits the ids across the ranks in
the same way, with no process group.
"""

import numbers
import os
import secrets
from pathlib import Path

import numpy as np

__all__ = ["generate", "shard_ids", "launcher_shard", "FORMATS", "OutputDirError"]

FORMATS = ("asc", "npy", "csv", "wfdb")
DEFAULT_BATCH_SIZE = 64

#: How the error messages name the arguments: as Python parameters, or as ``ecgsk generate`` options.
PYTHON_NAMES = {
    "num_ecg": "num_ecg", "start_id": "start_id", "batch_size": "batch_size", "shard": "shard",
    "random_state": "random_state", "device": "device", "model": "model=",
    "overwrite": "pass overwrite=True", "weights": "pass weights= (a file written by est.save)",
    "conditions": "pass conditions= (a DataFrame with one row per ECG",
    "no_conditions": "conditions= does not apply",
    "weights_flag": "weights=", "out_dir": "out_dir", "format": "format", "leads": "leads",
}
CLI_NAMES = {
    "num_ecg": "-n/--num", "start_id": "--start-id", "batch_size": "--batch-size", "shard": "--shard",
    "random_state": "--seed", "device": "--device", "model": "--model",
    "overwrite": "pass --overwrite", "weights": "pass --weights FILE (a file written by `ecgsk train` or est.save)",
    "conditions": "pass --conditions FILE.csv (one row per ECG",
    "no_conditions": "--conditions does not apply",
    "weights_flag": "--weights", "out_dir": "-o/--out-dir", "format": "--format", "leads": "--leads",
}


class OutputDirError(OSError):
    """An OSError while creating or writing the output folder (read-only, disk full, not a folder).

    Its message names the folder (as ``out_dir`` or ``--out-dir``), the file
    and the OS error; ``errno`` is the original one.  Every file already in
    the folder is complete: the writers are atomic.
    """


def _check_int(value, name, *, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}; got {value!r}")
    return int(value)


def _parse_shard(shard, names=PYTHON_NAMES):
    """``None``, ``(index, n_shards)`` or ``"index/n_shards"`` -> ``(index, n_shards)``."""
    if shard is None:
        return 0, 1
    text = shard
    if isinstance(shard, str):
        head, sep, tail = shard.partition("/")
        try:
            shard = (int(head), int(tail)) if sep else None
        except ValueError:
            shard = None
    ok = isinstance(shard, (tuple, list)) and len(shard) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in shard
    )
    if not ok or not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise ValueError(
            f"{names['shard']} must be I/N with 0 <= I < N (shard I of N shards); got {text!r}"
        )
    return int(shard[0]), int(shard[1])


def shard_ids(num_ecg, start_id=0, shard=None):
    """The ids that shard ``index`` of ``n_shards`` generates: a contiguous, balanced block.

    Shard ``i`` of ``N`` gets ids ``start_id + floor(i * num_ecg / N)`` up to,
    not including, ``start_id + floor((i + 1) * num_ecg / N)``: the blocks
    differ in size by at most one, and together they are all ``num_ecg`` ids.
    Splitting shard ``i`` of ``N`` again into ``W`` shards (``torchrun`` ranks
    inside one Slurm array task) gives exactly the shards ``i * W + r`` of
    ``N * W``.

    Parameters
    ----------
    num_ecg : int
    start_id : int, default=0
    shard : (int, int), str or None
        ``(index, n_shards)`` or ``"index/n_shards"``; ``None`` for all ids.

    Returns
    -------
    range

    Examples
    --------
    >>> [list(shard_ids(5, 10, (i, 2))) for i in range(2)]
    [[10, 11], [12, 13, 14]]
    """
    num_ecg = _check_int(num_ecg, "num_ecg")
    start_id = _check_int(start_id, "start_id", minimum=0)
    index, n_shards = _parse_shard(shard)
    return range(start_id + index * num_ecg // n_shards, start_id + (index + 1) * num_ecg // n_shards)


def launcher_shard():
    """``(RANK, WORLD_SIZE)`` when started by a torch.distributed launcher with ``WORLD_SIZE`` > 1, else None.

    Read from the environment only (``torchrun`` and Slurm set these); no
    process group is created.

    Examples
    --------
    >>> import os
    >>> launcher_shard() if "WORLD_SIZE" not in os.environ else None
    """
    from .nn.distributed import launched_world_size

    world = launched_world_size()
    if world <= 1:
        return None
    rank = os.environ.get("RANK")
    try:
        rank = int(rank)
    except (TypeError, ValueError):
        raise ValueError(f"WORLD_SIZE={world} is set but RANK is not an integer ({rank!r})") from None
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} is outside 0..{world - 1} (WORLD_SIZE={world})")
    return rank, world


def _load_model(model, weights, device, names=PYTHON_NAMES):
    """Return a fitted generator: ``model`` itself (a fitted estimator), or loaded by name and/or from ``weights``."""
    if model is not None and not isinstance(model, str):
        if not hasattr(model, "sample_ids"):
            raise ValueError(f"model must be a registered model name or a fitted generator; got {model!r}")
        if weights is not None:
            raise ValueError("weights= applies to a model given by name, not to an estimator instance")
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "n_features_in_")
        return model
    from .registry import get_model

    if weights is None:
        name = "pulse2pulse" if model is None else model
        cls = get_model(name)
        if hasattr(cls, "from_pretrained"):
            return cls.from_pretrained(None, device=device)
        raise ValueError(f"model {name!r} ships no pretrained weights; {names['weights']}")
    from .base import load_estimator
    from .exceptions import ModelFileError

    cls = None if model is None else get_model(model)
    flag = names["weights_flag"]
    try:
        est = load_estimator(weights)
    except ModelFileError as exc:
        # not an ecgsk model file: a model with published weights may read its own format
        # (Pulse2Pulse: deepfake-ecg's checkpoint, read with weights_only=True)
        pretrained = getattr(cls or get_model("pulse2pulse"), "from_pretrained", None)
        if pretrained is None or not os.path.isfile(weights):
            raise ModelFileError(f"{flag} {weights}: {_strip_path(exc, weights)}") from None
        try:
            return pretrained(weights, device=device)
        except ModelFileError as exc2:
            raise ModelFileError(f"{flag} {weights}: {_strip_path(exc, weights)}; read as a deepfake-ecg "
                                 f"checkpoint instead: {_strip_path(exc2, weights)}") from None
    if cls is not None and not isinstance(est, cls):
        raise ValueError(f"{weights} holds a {type(est).__name__}, not a {model!r} model; "
                         f"leave out {names['model']} to use the model in the file")
    if not hasattr(est, "sample_ids"):
        raise ValueError(f"{weights} holds a {type(est).__name__}, which is not a generator")
    params = est.get_params(deep=False)
    if "device" in params and params["device"] != device:
        import copy

        est.set_params(device=device)
        est = copy.deepcopy(est)  # a torch estimator's copy is placed on its `device` parameter
    return est


def _strip_path(exc, path):
    """``exc``'s message without a leading ``"{path}: "`` (the caller names the file itself)."""
    text = str(exc)
    prefix = f"{os.fspath(path)}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _base_seed(random_state, names=PYTHON_NAMES):
    """The integer base seed: ``random_state`` itself, one draw from it, or fresh OS entropy for None."""
    if random_state is None:
        return secrets.randbits(63)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"{names['random_state']} must be a non-negative integer; got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    raise ValueError(f"{names['random_state']} must be an int, a RandomState, a Generator or None; got {random_state!r}")


def _check_conditions_for(est, conditions, num_ecg, names):
    """Conditions as a DataFrame of ``num_ecg`` rows (one row is repeated), or None; errors name the model."""
    from .base import get_tags
    from .utils.validation import check_conditions

    tags = get_tags(est)
    model = type(est).__name__
    if conditions is None:
        if tags["requires_conditions"]:
            columns = getattr(est, "condition_columns_", None)
            what = f" with the columns {', '.join(map(str, columns))}" if columns else ""
            raise ValueError(f"{model} is conditional: {names['conditions']}{what})")
        return None
    if not tags["conditional"]:
        raise ValueError(f"{model} is unconditional; {names['no_conditions']}")
    frame = check_conditions(conditions, allow_broadcast=True)
    if len(frame) not in (1, num_ecg):
        raise ValueError(f"the conditions have {len(frame)} rows; expected one per ECG ({num_ecg}) or one for all")
    if len(frame) == 1 and num_ecg > 1:
        frame = frame.iloc[np.zeros(num_ecg, dtype=int)].reset_index(drop=True)
    return frame


def _write(fmt, batch_mv, out_dir, start_id, fs, microvolts=None, meta=None):
    from . import io

    if fmt == "asc":
        if microvolts is not None:
            io.write_asc_microvolts(microvolts, out_dir, start_id)
        else:
            io.write_asc(batch_mv, out_dir, start_id)
    elif fmt == "npy":
        for i, x in enumerate(batch_mv):
            io.write_npy(x[None], out_dir / f"{start_id + i}.npy")
    elif fmt == "csv":
        io.write_csv(batch_mv, out_dir, start_id=start_id)
    else:
        comments = [dict(meta or {}, id=start_id + i) for i in range(len(batch_mv))]
        io.write_wfdb(batch_mv, out_dir, fs=fs, start_id=start_id, comments=comments)


def _model_name(est):
    from .io.estimator_file import registered_name

    try:
        return registered_name(type(est)) or type(est).__name__
    except Exception:  # a plugin's class without a registered name: its class name will do
        return type(est).__name__


def _target_files(fmt, out_dir, ids):
    suffixes = {"asc": (".asc",), "npy": (".npy",), "csv": (".csv",), "wfdb": (".hea", ".dat")}[fmt]
    for i in ids:
        for suffix in suffixes:
            yield out_dir / f"{i}{suffix}"


def generate(
    num_ecg,
    out_dir,
    start_id=0,
    device="cpu",
    *,
    model=None,
    format="asc",
    leads=8,
    batch_size=None,
    random_state=None,
    weights=None,
    conditions=None,
    shard=None,
    progress=False,
    overwrite=False,
):
    """Generate ``num_ecg`` synthetic ECGs and write one file per ECG to ``out_dir``.

    Parameters
    ----------
    num_ecg : int
        How many ECGs the whole run writes (positive), over all shards.
    out_dir : str or path-like
        Output directory, created if missing.  An existing non-empty
        directory raises ``FileExistsError`` unless ``overwrite=True``; with
        ``shard``, only the files this shard would write are checked, so
        that the shards can share one directory.
    start_id : int, default=0
        ECG ``i`` has id ``start_id + i``, and its file is named
        ``{id}.{ext}`` (records ``{id}`` for WFDB).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    model : str or fitted generator, optional
        A registered model name, or a fitted estimator with ``sample_ids``.
        Default: the model saved in ``weights``, or ``"pulse2pulse"`` (with
        deepfake-ecg's pretrained weights) without ``weights``.
    format : {"asc", "npy", "csv", "wfdb"}, default="asc"
        ``asc``: deepfake-ecg's text format, integer µV, one row per sample,
        one column per lead, byte-compatible with ``deepfakeecg.generate``;
        for Pulse2Pulse the integers are ``int(network_output * 6000)``
        computed from the float32 network output exactly as deepfake-ecg does.
        ``npy``: one float32 ``(1, leads, T)`` array in mV per file.  ``csv``:
        mV with a header of lead names.  ``wfdb``: ``.hea`` + ``.dat`` records.
    leads : {8, 12}, default=8
        8: I, II, V1-V6 (deepfake-ecg's columns).  12: the standard 12 leads,
        III, aVR, aVL and aVF derived from I and II.
    batch_size : int, optional
        ECGs generated and written per batch (default 64); memory use
        depends on it, not on ``num_ecg``.  It does not change the ECGs.
    random_state : int, RandomState, Generator or None
        The base seed: ECG ``id`` is generated from
        ``np.random.SeedSequence(base_seed, spawn_key=(id,))``.  An int is the
        base seed; a RandomState or Generator gives one draw; ``None`` gives
        fresh ECGs every call.  Shards of one run need the same int.
    weights : str or path-like, optional
        A model file written by ``est.save`` (or ``ecgsk train``), read with
        :func:`ecgsk.load`; for Pulse2Pulse also a deepfake-ecg
        ``{"stat_dict": ...}`` checkpoint (:meth:`Pulse2PulseGAN.from_pretrained`).
        With ``model`` given as well, the file must hold that model.
    conditions : DataFrame or array-like, optional
        For conditional models: one row per ECG of the whole run (row ``i``
        for id ``start_id + i``), or one row for all of them.
    shard : (int, int) or str, optional
        ``(index, n_shards)`` or ``"index/n_shards"``: write only this
        shard's contiguous block of the ids (see :func:`shard_ids`).  Under
        ``torchrun`` pass ``(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]))``
        (the ``ecgsk generate`` command does this itself).
    progress : bool, default=False
        Show a progress bar.
    overwrite : bool, default=False
        Allow writing into a non-empty ``out_dir`` (files with the same names
        are replaced).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ValueError
        For a bad ``num_ecg``, ``start_id``, ``batch_size``, ``format``,
        ``leads`` or ``shard``, an unavailable ``device`` (e.g. ``"cuda"``
        without CUDA), missing or unusable ``conditions``, or a model that
        generates non-finite values.
    ecgsk.exceptions.ModelFileError
        (a ValueError) For a ``weights`` file that cannot be read; the
        message names the file.
    FileExistsError
        When ``out_dir`` already holds files and ``overwrite`` is False.
    OutputDirError
        (an OSError, with the original ``errno``) When ``out_dir`` cannot be
        created or a file in it cannot be written (read-only folder, disk
        full).  Every file already there is complete: each is written to a
        temporary ``.{name}.ecgsk-tmp-XXXXXXXX`` and renamed when done (a
        WFDB ``.dat`` before its ``.hea``); errors and Ctrl-C remove the
        temporary, and the temporaries a hard kill leaves are removed by the
        next run into the folder.
    ImportError
        With no ``weights`` and deepfake-ecg (the pretrained weights) missing:
        ``pip install ecgsk[pretrained]``.

    Examples
    --------
    >>> import ecgsk, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:  # doctest: +SKIP
    ...     _ = ecgsk.generate(3, os.path.join(d, "out"), random_state=0)
    ...     sorted(os.listdir(os.path.join(d, "out")))
    ['0.asc', '1.asc', '2.asc']

    Two shards (e.g. two machines) write the files of one run between them:

    >>> for i in range(2):  # doctest: +SKIP
    ...     ecgsk.generate(1000, "out", random_state=0, shard=(i, 2))
    """
    return _generate_files(
        num_ecg, out_dir, start_id, device, model=model, format=format, leads=leads, batch_size=batch_size,
        random_state=random_state, weights=weights, conditions=conditions, shard=shard, progress=progress,
        overwrite=overwrite,
    )["out_dir"]


def _generate_files(num_ecg, out_dir, start_id=0, device="cpu", *, model=None, format="asc", leads=8,
                    batch_size=None, random_state=None, weights=None, conditions=None, shard=None, progress=False,
                    overwrite=False, names=PYTHON_NAMES):
    """:func:`generate`, with error messages in ``names``' spelling; returns what it did, as a dict."""
    num_ecg = _check_int(num_ecg, names["num_ecg"])
    start_id = _check_int(start_id, names["start_id"], minimum=0)
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else _check_int(batch_size, names["batch_size"])
    if not isinstance(format, str) or format.lower().lstrip(".") not in FORMATS:
        raise ValueError(f"{names['format']} must be one of {', '.join(FORMATS)}; got {format!r}")
    fmt = format.lower().lstrip(".")
    if isinstance(leads, bool) or leads not in (8, 12):
        raise ValueError(f"{names['leads']} must be 8 or 12; got {leads!r}")
    index, n_shards = _parse_shard(shard, names)
    ids = shard_ids(num_ecg, start_id, (index, n_shards))
    base_seed = _base_seed(random_state, names)
    from .nn.base import resolve_device

    try:
        device = str(resolve_device(device))
    except ValueError as exc:  # cuda without CUDA
        if names is PYTHON_NAMES:
            raise
        raise ValueError(f"{names['device']} {device}: {exc}") from None

    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{names['out_dir']} {out_dir} exists and is not a directory")
        # temporaries a killed run left (writers are atomic: only SIGKILL or power loss leaves them)
        from .io._atomic import remove_stale_temporaries

        remove_stale_temporaries(out_dir, None if n_shards == 1 else {p.name for p in _target_files(fmt, out_dir, ids)})
        if not overwrite:
            if n_shards == 1 and any(out_dir.iterdir()):
                raise FileExistsError(f"output directory {out_dir} is not empty; choose another one or "
                                      f"{names['overwrite']}")
            clash = next((p for p in _target_files(fmt, out_dir, ids) if p.exists()), None) if n_shards > 1 else None
            if clash is not None:
                raise FileExistsError(f"{clash} exists already (shard {index}/{n_shards}); choose another "
                                      f"directory or {names['overwrite']}")
    est = _load_model(model, weights, device, names)
    conditions = _check_conditions_for(est, conditions, num_ecg, names)
    if conditions is not None:
        conditions = conditions.iloc[ids.start - start_id:ids.stop - start_id].reset_index(drop=True)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputDirError(exc.errno, f"{names['out_dir']} {out_dir}: cannot create the folder "
                             f"({exc.strerror or exc})") from exc

    from .io.estimator_file import ecgsk_version
    from .leads import derive_12_from_8
    from .nn.base import progress as progress_bar

    fs = getattr(est, "fs", 500) or 500
    meta = {"model": _model_name(est), "ecgsk_version": ecgsk_version(), "seed": base_seed}
    bar = progress_bar(total=len(ids), desc="generate", verbose=progress, unit="ECG")
    asc = fmt == "asc" and leads == 8  # the model's own integers, byte-identical to deepfake-ecg

    def write(sid, batch):
        if asc:
            _write(fmt, None, out_dir, sid, fs, microvolts=batch)
        else:
            _write(fmt, derive_12_from_8(batch) if leads == 12 else batch, out_dir, sid, fs, meta=meta)
        bar.update(len(batch))

    # The files are written on a thread of their own while the model generates the next batch.
    writer = _BatchWriter(write)
    sid = ids.start
    try:
        try:
            for batch in est.sample_ids(ids, conditions=conditions, random_state=base_seed, batch_size=batch_size,
                                        integers=asc):
                writer.put(sid, batch)
                sid += len(batch)
            writer.close()
        finally:
            writer.stop()  # on an error or Ctrl-C: the batch being written is finished, the queued ones dropped
    except _WriteFailed as failed:
        exc, written = failed.error, failed.written
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        raise OutputDirError(
            exc.errno, f"{names['out_dir']} {out_dir}: cannot write {where}{exc.strerror or exc}; "
            f"{written} ECG(s) written before (ids {ids.start}-{ids.start + written - 1}), every file there is complete"
            if written else f"{names['out_dir']} {out_dir}: cannot write {where}{exc.strerror or exc}"
        ) from exc
    finally:
        bar.close()
    return {"out_dir": out_dir, "ids": ids, "seed": base_seed, "shard": (index, n_shards), "written": writer.written}


class _WriteFailed(Exception):
    """An OSError of the writer thread, with the ECGs written before the batch that failed."""

    def __init__(self, error, written):
        super().__init__(str(error))
        self.error, self.written = error, written


class _BatchWriter:
    """Write batches on one background thread, in order, behind a bounded queue.

    ``put(start_id, batch)`` hands a batch over (blocking while ``max_pending``
    wait, so memory stays bounded) and raises the writer's error, if any;
    ``close()`` waits for every batch; ``stop()`` lets the batch being written
    finish, drops the rest and joins the thread, also through repeated
    Ctrl-C.  Each file is written atomically and the batches in order, so an
    error or Ctrl-C leaves complete files of a prefix of the ids.
    """

    _DONE = object()

    def __init__(self, write, max_pending=2):
        import queue
        import threading

        self._write = write
        self._queue = queue.Queue(maxsize=max_pending)
        self._stopping = threading.Event()
        self._error = None
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="ecgsk-generate-writer", daemon=False)
        self._thread.start()

    def _run(self):
        while True:
            item = self._queue.get()
            if item is self._DONE or self._stopping.is_set():
                return
            start_id, batch = item
            try:
                self._write(start_id, batch)
            except BaseException as exc:  # handed to the generating thread, which raises it
                self._error = _WriteFailed(exc, self.written) if isinstance(exc, OSError) else exc
                self._stopping.set()
                return
            self.written += len(batch)

    def _raise_error(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, start_id, batch):
        import queue

        while True:
            self._raise_error()
            if not self._thread.is_alive():
                raise RuntimeError("the generate writer thread stopped")
            try:
                self._queue.put((start_id, batch), timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self):
        """Wait until every batch is written; raise the writer's error, if any."""
        self._enqueue_done()
        self._join()
        self._raise_error()

    def stop(self):
        """Finish the batch being written, drop the queued ones and join the thread (idempotent)."""
        import queue

        self._stopping.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._enqueue_done()
        self._join()

    def _enqueue_done(self):
        import queue

        while self._thread.is_alive():
            try:
                self._queue.put(self._DONE, timeout=0.1)
                return
            except queue.Full:
                continue

    def _join(self):
        from .io._atomic import _finish

        _finish(self._thread.join)  # a second Ctrl-C must not leave the writer running unjoined
