"""ecgsk: scikit-learn-style ECG generative models.

Data layout: ``(n_ecgs, n_leads, n_samples)`` float32 arrays in millivolts.
Models are discovered through the ``ecgsk.models`` entry-point group; torch is
imported only when a model is used, so ``import ecgsk`` stays fast.

Examples
--------
>>> import ecgsk
>>> ecgsk.LEADS_8
('I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6')
"""

from .leads import LEADS_8, LEADS_12, derive_12_from_8, select_8_from_12
from .registry import get_model, list_models, make_model

try:
    from importlib.metadata import version as _version

    __version__ = _version("ecgsk")
except Exception:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "LEADS_8",
    "LEADS_12",
    "derive_12_from_8",
    "select_8_from_12",
    "get_model",
    "list_models",
    "make_model",
    "generate",
    "load",
    "__version__",
]


def generate(num_ecg, out_dir, start_id=0, device="cpu", **kwargs):
    """Generate ECG files with a model, deepfake-ecg style (see :func:`ecgsk.generation.generate`).

    Parameters
    ----------
    num_ecg : int
        How many ECGs to write.
    out_dir : str or path-like
        Output directory, created if missing.
    start_id : int, default=0
        Id of the first ECG; file ``i`` is named after ``start_id + i``.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the model runs.
    **kwargs
        The other keyword arguments of :func:`ecgsk.generation.generate`
        (``model``, ``format``, ``leads``, ``random_state``, ``weights``,
        ``conditions``, ...).

    Returns
    -------
    object
        What :func:`ecgsk.generation.generate` returns.

    Examples
    --------
    >>> import ecgsk
    >>> ecgsk.generate(5, "out")  # doctest: +SKIP
    """
    from .generation import generate as _generate

    return _generate(num_ecg, out_dir, start_id=start_id, device=device, **kwargs)


def load(path):
    """Load an estimator saved with ``est.save(path)``; nothing in the file is executed.

    The file names the estimator's class.  It is imported only when it is
    part of ecgsk (a built-in model, a transformer, an
    :class:`~ecgsk.pipeline.ECGPipeline`) or registered under the
    ``ecgsk.models`` entry-point group (an installed plugin); otherwise use
    that class's own ``load``.  See ``docs/persistence.md``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
        Fitted as it was saved: its outputs are identical to the saved
        estimator's.

    Raises
    ------
    ecgsk.exceptions.ModelFileError
        For a missing, damaged or foreign file, a newer file format, a class
        that is unknown or not allowed, or tensors that do not fit.  The
        message names the file.

    Examples
    --------
    >>> import ecgsk
    >>> model = ecgsk.load("model.ecgsk")  # doctest: +SKIP
    """
    from .base import load_estimator

    return load_estimator(path)
