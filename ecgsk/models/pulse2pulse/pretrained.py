"""The trained Pulse2Pulse generator shipped with ``deepfake-ecg``: where it is, how its keys map.

Nothing here imports deepfake-ecg; :func:`pretrained_checkpoint_path` finds
the package with :func:`importlib.util.find_spec`.
"""

import os

__all__ = ["pretrained_checkpoint_path", "map_pretrained_state_dict", "load_pretrained_checkpoint", "PRETRAINED_UNUSED_PREFIXES", "PRETRAINED_HINT"]

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
    import torch

    from ecgsk.exceptions import ModelFileError

    where = os.fspath(path)
    if not os.path.isfile(where):
        raise ModelFileError(f"{where}: no such file")
    if os.path.getsize(where) == 0:
        raise ModelFileError(f"{where}: the file is empty")
    try:
        checkpoint = torch.load(where, map_location="cpu", weights_only=True)
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
