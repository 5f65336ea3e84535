"""Generate ECG files with a model, deepfake-ecg style.

``ecgsk.generate(num_ecg, out_dir)`` is a drop-in for
``deepfakeecg.generate(num, out_dir, start_id=0, run_device="cpu")``: by default
it writes ``{id}.asc`` files of 5000 rows x 8 space-separated integers in µV
(leads I, II, V1-V6), in deepfake-ecg's exact format, from the pretrained
Pulse2Pulse generator.  It is faster because the network runs in batches with a
polyphase decoder and the files are written by a vectorised formatter.  Memory
stays bounded: ECGs are generated, written and dropped one batch at a time.
"""

import numbers
from pathlib import Path

import numpy as np

__all__ = ["generate", "FORMATS"]

FORMATS = ("asc", "npy", "csv", "wfdb")
DEFAULT_BATCH_SIZE = 64


def _check_positive_int(value, name, *, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}; got {value!r}")
    return int(value)


def _load_model(model, weights, device):
    """Return a fitted generator for ``model`` (a registered name or a fitted estimator)."""
    if not isinstance(model, str):
        if not hasattr(model, "sample"):
            raise ValueError(f"model must be a registered model name or a fitted generator; got {model!r}")
        if weights is not None:
            raise ValueError("weights= applies to a model given by name, not to an estimator instance")
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "n_features_in_")
        return model
    from .registry import get_model

    cls = get_model(model)
    if weights is None and hasattr(cls, "from_pretrained"):
        return cls.from_pretrained(None, device=device)
    if weights is None:
        raise ValueError(f"model {model!r} ships no pretrained weights; pass weights= (a checkpoint path)")
    if not hasattr(cls, "load_checkpoint"):
        raise ValueError(f"model {model!r} cannot load a checkpoint (it has no load_checkpoint method)")
    try:
        est = cls(device=device)
    except TypeError:
        est = cls()
    return est.load_checkpoint(weights)


def _write(fmt, batch_mv, out_dir, start_id, fs, microvolts=None):
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
        io.write_wfdb(batch_mv, out_dir, fs=fs, start_id=start_id)


def generate(
    num_ecg,
    out_dir,
    start_id=0,
    device="cpu",
    *,
    model="pulse2pulse",
    format="asc",
    leads=8,
    batch_size=None,
    random_state=None,
    weights=None,
    progress=False,
    overwrite=False,
):
    """Generate ``num_ecg`` synthetic ECGs and write one file per ECG to ``out_dir``.

    Parameters
    ----------
    num_ecg : int
        How many ECGs to write (positive).
    out_dir : str or path-like
        Output directory, created if missing.  An existing non-empty
        directory raises ``FileExistsError`` unless ``overwrite=True``.
    start_id : int, default=0
        File ``i`` is named ``{start_id + i}.{ext}`` (records ``{start_id + i}``
        for WFDB).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    model : str or fitted generator, default="pulse2pulse"
        A registered model name, or a fitted estimator with ``sample``.
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
        depends on it, not on ``num_ecg``.
    random_state : int, RandomState or None
        Seed for reproducible files; ``None`` gives fresh ECGs every call.
    weights : str or path-like, optional
        Checkpoint to load instead of the pretrained weights (a deepfake-ecg
        ``{"stat_dict": ...}`` file or one written by ``save_checkpoint``).
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
        For a bad ``num_ecg``, ``start_id``, ``batch_size``, ``format`` or
        ``leads``, or an unavailable ``device`` (e.g. ``"cuda"`` without CUDA).
    FileExistsError
        When ``out_dir`` already holds files and ``overwrite`` is False.
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
    """
    from sklearn.utils import check_random_state

    num_ecg = _check_positive_int(num_ecg, "num_ecg")
    start_id = _check_positive_int(start_id, "start_id", minimum=0)
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else _check_positive_int(batch_size, "batch_size")
    if not isinstance(format, str) or format.lower().lstrip(".") not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}")
    fmt = format.lower().lstrip(".")
    if isinstance(leads, bool) or leads not in (8, 12):
        raise ValueError(f"leads must be 8 or 12; got {leads!r}")
    from .nn.base import resolve_device

    device = str(resolve_device(device))  # ValueError for cuda without CUDA

    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not overwrite:
            raise FileExistsError(
                f"output directory {out_dir} is not empty; choose another one or pass overwrite=True"
            )
    rng = check_random_state(random_state)
    est = _load_model(model, weights, device)
    out_dir.mkdir(parents=True, exist_ok=True)

    from .leads import derive_12_from_8
    from .nn.base import progress as progress_bar

    fs = getattr(est, "fs", 500) or 500
    bar = progress_bar(total=num_ecg, desc="generate", verbose=progress, unit="ECG")
    try:
        written = 0
        asc = fmt == "asc" and leads == 8  # the model's own integers, byte-identical to deepfake-ecg
        for batch in est.iter_samples(num_ecg, batch_size=batch_size, random_state=rng, integers=asc):
            sid = start_id + written
            if asc:
                _write(fmt, None, out_dir, sid, fs, microvolts=batch)
            else:
                _write(fmt, derive_12_from_8(batch) if leads == 12 else batch, out_dir, sid, fs)
            written += len(batch)
            bar.update(len(batch))
    finally:
        bar.close()
    return out_dir
