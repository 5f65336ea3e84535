"""Train a registered model on a folder of ECG records and save it: what ``ecgsk train`` runs.

``train("pulse2pulse", "my_ecgs/", "model.ecgsk", params={"max_epochs": 50})``
reads every record of the folder with ecgsk's readers (WFDB ``.hea``,
challenge ``.hea`` + ``.mat``, deepfake-ecg ``.asc``, NumPy ``.npy``), puts
the leads in the order the model needs, cuts the records into windows of the
length a fixed-length model needs, fits the model with a progress bar and
checkpoints, and writes one file that ``ecgsk.load`` and ``ecgsk generate
--weights`` read.  Under ``torchrun`` every process reads the same data and
the engine trains them together; only rank 0 writes.
"""

import numbers
import os
from pathlib import Path

import numpy as np

__all__ = ["train", "read_training_folder"]


def read_training_folder(path):
    """Read every ECG record in a folder, in millivolts, as one array.

    Parameters
    ----------
    path : str or path-like
        A folder of WFDB / challenge records (``.hea`` with ``.dat`` or
        ``.mat``), deepfake-ecg ``.asc`` files or ``.npy`` arrays (one format
        per folder).

    Returns
    -------
    X : ndarray of float32, shape (n_records, n_leads, n_samples)
        Records of different lengths are cropped to the shortest one.
    leads : tuple of str
        The lead names of the rows.
    fs : float
        The sampling rate in Hz.

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a folder.
    ValueError
        When it holds no readable records, or records of different sampling
        rates or leads.
    """
    from . import io
    from .leads import LEADS_8, LEADS_12

    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of ECG records")
    headers = sorted(folder.glob("*.hea"))
    if headers:
        records, rates, lead_sets = [], set(), set()
        for header in headers:
            X, frame = io.read_wfdb(header.with_suffix(""))
            X, info = X[0], frame.iloc[0]
            records.append(X)
            rates.add(float(info["fs"]))
            lead_sets.add(tuple(info["leads"]))
        if len(rates) > 1:
            raise ValueError(f"{folder}: records have different sampling rates {sorted(rates)}; resample them first")
        if len(lead_sets) > 1:
            raise ValueError(f"{folder}: records have different leads; found {sorted(lead_sets)}")
        leads, fs = lead_sets.pop(), rates.pop()
    elif any(folder.glob("*.asc")):
        stacked, _ = io.read_asc_dir(folder)
        records, leads, fs = list(stacked), LEADS_8, 500.0
    elif any(folder.glob("*.npy")):
        records = [x for f in sorted(folder.glob("*.npy")) for x in io.read_npy(f)]
        n_leads = records[0].shape[0]
        leads = LEADS_12 if n_leads == 12 else LEADS_8 if n_leads == 8 else tuple(f"lead{i}" for i in range(n_leads))
        fs = 500.0
    else:
        raise ValueError(f"{folder} holds no ECG records (.hea, .asc or .npy files)")
    length = min(x.shape[-1] for x in records)
    return np.stack([x[..., :length] for x in records]).astype(np.float32), tuple(leads), fs


def _model_leads(est, n_leads):
    """The lead names ``est`` is fitted on: LEADS_12 for 12 leads, LEADS_8 for 8, else the first n."""
    from .leads import LEADS_8, LEADS_12

    if n_leads == 12:
        return LEADS_12
    if n_leads == 8:
        return LEADS_8
    return None


def _prepare(est, X, leads):
    """Order the leads and cut windows the way ``est`` needs them."""
    from .base import get_tags
    from .leads import lead_indices

    wanted = est._expected_fit_leads() if hasattr(est, "_expected_fit_leads") else None
    if isinstance(wanted, numbers.Integral) and wanted != X.shape[1]:
        names = _model_leads(est, int(wanted))
        if names is None:
            X = X[:, : int(wanted)]
        else:
            try:
                X = X[:, lead_indices(names, leads)]
            except (KeyError, ValueError) as exc:
                raise ValueError(
                    f"the model needs the leads {', '.join(names)}; the records hold {', '.join(leads)}"
                ) from exc
    param = get_tags(est)["fixed_length_param"]
    length = getattr(est, param, None) if param else None
    if isinstance(length, numbers.Integral):
        n_windows = X.shape[2] // int(length)
        if n_windows == 0:
            raise ValueError(
                f"the model needs {length} samples per ECG ({param}={length}); the records have {X.shape[2]}"
            )
        X = X[:, :, : n_windows * int(length)].reshape(X.shape[0], X.shape[1], n_windows, int(length))
        X = X.transpose(0, 2, 1, 3).reshape(-1, X.shape[1], int(length))
    return np.ascontiguousarray(X)


def train(model, data, output, *, params=None, epochs=None, device=None, checkpoint_every=None, verbose=1):
    """Fit a registered model on a folder of records and save it to ``output``.

    Parameters
    ----------
    model : str
        A registered model name (``ecgsk models`` lists them).
    data : str or path-like
        A folder of records (see :func:`read_training_folder`).
    output : str or path-like
        Where to write the fitted model (read back with :func:`ecgsk.load`).
    params : dict, optional
        Constructor parameters, e.g. ``{"model_size": 25, "lr": 2e-4}``.
    epochs : int, optional
        ``max_epochs`` (a shortcut for ``params={"max_epochs": ...}``).
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    checkpoint_every : int, optional
        Save to ``output`` every this many epochs as well as at the end
        (torch models), so that a long run that is stopped keeps its progress.
    verbose : int, default=1
        Show progress.

    Returns
    -------
    estimator
        The fitted model.

    Examples
    --------
    >>> from ecgsk.training import train
    >>> est = train("linear_reconstructor", "records/", "linear.ecgsk")  # doctest: +SKIP
    """
    from .registry import get_model

    cls = get_model(model)
    params = dict(params or {})
    if epochs is not None:
        params["max_epochs"] = epochs
    if device is not None:
        params["device"] = device
    accepted = cls().get_params(deep=False)
    if "verbose" in accepted and "verbose" not in params:
        params["verbose"] = verbose
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"model {model!r} has no parameter(s) {', '.join(unknown)}; it takes {', '.join(sorted(accepted))}")
    if checkpoint_every is not None:
        if "callbacks" not in accepted:
            raise ValueError(f"model {model!r} does not train with callbacks, so it cannot checkpoint")
        from .nn.callbacks import Checkpoint

        params["callbacks"] = list(params.get("callbacks") or []) + [Checkpoint(output, every=checkpoint_every)]
    est = cls(**params)
    X, leads, fs = read_training_folder(data)
    if "fs" in accepted and "fs" not in params:
        est.set_params(fs=fs)
    X = _prepare(est, X, leads)
    est.fit(X)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 writes
        est.save(output)
    return est
