"""Validation helpers of the data contract (DESIGN.md section 1), at the bottom of the package.

Everything here is NumPy-only and imports nothing else from ecgsk, so that
readers, metrics, mixins and models can all share one set of checks, as
``sklearn.utils.validation`` sits below the rest of scikit-learn.

- Data: :func:`check_ecg_array`, :func:`check_survival_target`,
  :func:`check_conditions`, :func:`check_n_samples`.
- Parameters: :func:`check_int_param`, :func:`check_float_param`, and the
  declarative constraints of :mod:`ecgsk.utils.constraints`.
"""

import math
import numbers

import numpy as np

__all__ = [
    "check_ecg_array",
    "is_lazy_ecg_input",
    "check_survival_target",
    "check_conditions",
    "check_n_samples",
    "check_int_param",
    "check_float_param",
    "reject_sample_weight",
    "check_latent_array",
]


def check_ecg_array(X, *, n_leads=None, min_samples=1, name="X", copy=False, lazy=False, chunk_size=256):
    """Validate an ECG batch and return it as float32 ``(n_ecgs, n_leads, n_samples)``.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, n_leads, n_samples) or (n_ecgs, n_samples)
        ECGs in millivolts.  A 2-D array is single-lead and is promoted to
        ``(n_ecgs, 1, n_samples)``.
    n_leads : int or sequence of int, optional
        The accepted number(s) of leads.
    min_samples : int, default=1
        The shortest accepted signal, in samples.
    name : str, default="X"
        Name used in error messages.
    copy : bool, default=False
        Force a copy even when no conversion is needed.
    lazy : bool, default=False
        For a ``numpy.memmap`` or an :class:`ecgsk.datasets.ECGDataset`
        (see :func:`is_lazy_ecg_input`): check it ``chunk_size`` ECGs at a
        time and return it as it is (a 2-D memmap as a ``(n, 1, T)`` view),
        without converting it to float32 in memory.  Other input is
        converted as usual.  False converts everything, so a memmap is read
        whole.
    chunk_size : int, default=256
        ECGs per chunk of the lazy check.

    Returns
    -------
    ndarray of float32, shape (n_ecgs, n_leads, n_samples)
        Or, with ``lazy=True``, the lazy input itself.

    Raises
    ------
    TypeError
        For non-numeric data (as NumPy does).
    ValueError
        For 1-D or >3-D input, an empty batch, NaN/inf values, the wrong number
        of leads or too few samples.  The message says what was expected and
        what was received.

    Examples
    --------
    >>> import numpy as np
    >>> check_ecg_array(np.zeros((4, 500))).shape
    (4, 1, 500)
    """
    if lazy and is_lazy_ecg_input(X):
        return _check_lazy_ecg_array(X, n_leads=n_leads, min_samples=min_samples, name=name, chunk_size=chunk_size)
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise ValueError(f"{name}: sparse input is not supported; pass a dense array of ECGs in mV")
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(
            f"{name} must be an array of shape (n_ecgs, n_leads, n_samples); could not convert it: {exc}"
        ) from exc
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} must be real-valued; got dtype {arr.dtype}")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold numbers (millivolts); got dtype object: {exc}") from exc
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers (millivolts); got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, None, :]
    elif arr.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_ecgs, n_leads, n_samples), or (n_ecgs, n_samples) for a "
            f"single lead; got a {arr.ndim}-D array of shape {arr.shape}. Reshape your data, e.g. "
            "X[None, None, :] for one single-lead ECG"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least 1 ECG, got shape {arr.shape}")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(
            f"{name} has no leads or no samples: got shape {arr.shape}; "
            f"0 feature(s) (shape=({arr.shape[0]}, 0)) while a minimum of 1 is required."
        )
    if n_leads is not None:
        allowed = (n_leads,) if isinstance(n_leads, numbers.Integral) else tuple(n_leads)
        if arr.shape[1] not in allowed:
            expected = allowed[0] if len(allowed) == 1 else " or ".join(map(str, allowed))
            raise ValueError(
                f"{name} has {arr.shape[1]} lead(s) but {expected} lead(s) were expected "
                f"(shape received: {arr.shape}; layout is (n_ecgs, n_leads, n_samples))"
            )
    if arr.shape[2] < min_samples:
        raise ValueError(
            f"{name} has {arr.shape[2]} samples per lead but at least {min_samples} are needed "
            f"(shape received: {arr.shape})"
        )
    source = arr
    with np.errstate(over="ignore", invalid="ignore"):
        arr = arr.astype(np.float32, copy=copy)
    if not np.isfinite(arr).all():
        _raise_non_finite(source, arr, name)
    _warn_if_microvolts(arr, name)
    return np.ascontiguousarray(arr)


#: Median absolute peak-to-peak amplitude (mV) above which a batch looks like microvolts.
MICROVOLT_PTP_THRESHOLD = 50.0


def _raise_non_finite(source, arr, name):
    """Raise the ValueError for non-finite values, naming float32 overflow as overflow."""
    bad = ~np.isfinite(arr)
    overflow = bad & np.isfinite(source) if np.issubdtype(source.dtype, np.floating) else bad
    n_over = int(overflow.sum())
    if n_over:
        biggest = float(np.abs(source[overflow]).max())
        raise ValueError(
            f"{name} has {n_over} value(s) that overflow float32 (largest magnitude {biggest:.3g}; float32 "
            f"holds at most {float(np.finfo(np.float32).max):.3g}); expected finite millivolts, which "
            "are at most a few mV"
        )
    raise ValueError(f"{name} contains {int(bad.sum())} NaN or infinite value(s); expected finite millivolts")


def _warn_if_microvolts(arr, name):
    """One :class:`~ecgsk.exceptions.UnitsWarning` when the amplitudes look like microvolts."""
    ptp = np.ptp(arr, axis=-1)
    median = float(np.median(np.abs(ptp)))
    if median > MICROVOLT_PTP_THRESHOLD:
        import warnings

        from ..exceptions import UnitsWarning

        warnings.warn(
            f"{name} looks like microvolts, not millivolts: the median peak-to-peak amplitude per lead is "
            f"{median:.4g} mV, above {MICROVOLT_PTP_THRESHOLD:g} mV, which no real ECG reaches. ecgsk expects "
            "mV; if the data is in uV, divide it by 1000 (X / 1000)",
            UnitsWarning,
            stacklevel=3,
        )


def check_n_samples(n_samples):
    """Validate the number of ECGs to generate.

    Parameters
    ----------
    n_samples : int
        A positive integer (booleans are refused).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For anything else.

    Examples
    --------
    >>> check_n_samples(3)
    3
    """
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples}")
    return int(n_samples)


def check_survival_target(y, n_expected=None):
    """Return ``(event, time)`` arrays from a survival target.

    Parameters
    ----------
    y : structured array with fields ``event`` and ``time``, or array of shape (n, 2)
        The scikit-survival layout, or a 2-column array ``(event, time)``.
    n_expected : int, optional
        Number of rows required (the number of ECGs).

    Returns
    -------
    event : ndarray of bool, shape (n,)
    time : ndarray of float64, shape (n,)

    Examples
    --------
    >>> event, time = check_survival_target([[1, 5.0], [0, 3.0]])
    >>> event.tolist(), time.tolist()
    ([True, False], [5.0, 3.0])
    """
    if y is None:
        raise ValueError("a survival target y is required: a structured array (event, time) or an (n, 2) array")
    arr = np.asarray(y)
    if arr.dtype.names is not None:
        names = {n.lower(): n for n in arr.dtype.names}
        if "event" not in names or "time" not in names:
            raise ValueError(f"structured survival target needs fields 'event' and 'time'; got {arr.dtype.names}")
        event, time = arr[names["event"]], arr[names["time"]]
    else:
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(
                f"survival target must be a structured array (event, time) or shape (n, 2); got shape {arr.shape}"
            )
        event, time = arr[:, 0], arr[:, 1]
    event_f = np.asarray(event, dtype=float)
    if not np.isin(event_f, (0.0, 1.0)).all():
        raise ValueError("survival event indicators must be 0/1 or boolean")
    time = np.asarray(time, dtype=np.float64)
    if not np.isfinite(time).all() or (time < 0).any():
        raise ValueError("survival times must be finite and non-negative")
    if n_expected is not None and len(time) != n_expected:
        raise ValueError(f"survival target has {len(time)} rows but X has {n_expected} ECGs")
    return event_f.astype(bool), time


def check_conditions(conditions, n_expected=None, *, allow_broadcast=False):
    """Validate per-record covariates and return them as a pandas DataFrame.

    Parameters
    ----------
    conditions : DataFrame, dict or array-like of shape (n, n_covariates)
        One row per ECG.  A dict maps column names to one value each (one
        subject, ``{"age": 30, "sex": "F"}``; when any value is a scalar the
        dict is one subject, so ``{"age": 60, "dx": ["MI", "CD"]}`` is one
        subject with two labels) or to one value per ECG.
    n_expected : int, optional
        Number of rows required.
    allow_broadcast : bool, default=False
        Accept a single row and repeat it ``n_expected`` times (one subject,
        many samples).
    """
    import pandas as pd

    if conditions is None:
        raise ValueError("this model needs `conditions`: a DataFrame or 2-D array with one row per ECG")
    if isinstance(conditions, dict):
        # one subject as {"age": 30, "sex": "F"} -- also with list values when any value is a scalar,
        # {"age": 60, "dx": ["MI", "CD"]} being one subject with two labels -- or columns as {"age": [30, 70]}
        one_row = any(np.ndim(v) == 0 for v in conditions.values())
        conditions = pd.DataFrame([conditions]) if one_row else pd.DataFrame(conditions)
    if isinstance(conditions, pd.Series):
        conditions = conditions.to_frame().T if n_expected == 1 or allow_broadcast else conditions.to_frame()
    if isinstance(conditions, pd.DataFrame):
        frame = conditions.reset_index(drop=True)
    else:
        arr = np.asarray(conditions)
        if arr.ndim == 1:
            arr = arr[None, :] if allow_broadcast else arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"conditions must be 2-D (n_ecgs, n_covariates); got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[f"c{i}" for i in range(arr.shape[1])])
    if len(frame) == 0:
        raise ValueError("conditions is empty; expected one row per ECG")
    if n_expected is not None and len(frame) != n_expected:
        if allow_broadcast and len(frame) == 1:
            frame = pd.concat([frame] * n_expected, ignore_index=True)
        else:
            raise ValueError(f"conditions has {len(frame)} rows but {n_expected} were expected (one per ECG)")
    return frame


def reject_sample_weight(sample_weight):
    """Refuse sample weights, which ecgsk scores do not support (they exist for metadata routing).

    Parameters
    ----------
    sample_weight : None
        Anything but ``None`` raises.

    Raises
    ------
    ValueError
        When ``sample_weight`` is not None.

    Examples
    --------
    >>> reject_sample_weight(None)
    """
    if sample_weight is not None:
        raise ValueError("sample_weight is not supported by ecgsk scores; pass None")


def check_int_param(value, name, minimum=1, *, owner=None):
    """Check an integer hyper-parameter and return it as ``int``.

    Parameters
    ----------
    value : object
        The parameter's value; booleans are refused.
    name : str
        The parameter's name, for the error message.
    minimum : int, default=1
        Smallest accepted value.
    owner : str, optional
        Class or function name prefixed to the message.

    Raises
    ------
    ValueError
        If ``value`` is not an integer ``>= minimum``.

    Examples
    --------
    >>> check_int_param(3, "latent_dim")
    3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_float_param(value, name, minimum=0.0, *, strict=False, maximum=None, allow_none=False):
    """Check a real hyper-parameter and return it as ``float`` (or None).

    Parameters
    ----------
    value : object
        The parameter's value; booleans, NaN and infinities are refused.
    name : str
        The parameter's name, for the error message.
    minimum : float, default=0.0
        Lower bound, included unless ``strict``.
    strict : bool, default=False
        Require ``value > minimum``.
    maximum : float, optional
        Exclusive upper bound.
    allow_none : bool, default=False
        Accept None (and return it), for "use the default" parameters.

    Raises
    ------
    ValueError
        If ``value`` is out of range or not a finite real number.

    Examples
    --------
    >>> check_float_param(0.5, "validation_fraction", strict=True, maximum=1.0)
    0.5
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    ok = ok and (value > minimum if strict else value >= minimum) and (maximum is None or value < maximum)
    if not ok:
        bound = f"> {minimum}" if strict else f">= {minimum}"
        upper = f" and < {maximum}" if maximum is not None else ""
        none = "None or " if allow_none else ""
        raise ValueError(f"{name} must be {none}a finite number {bound}{upper}; got {value!r}")
    return float(value)


def check_latent_array(Z, n_columns, name="X"):
    """Validate latent vectors: a finite 2-D float32 array with ``n_columns`` columns.

    Parameters
    ----------
    Z : array-like of shape (n, n_columns)
        Latent vectors.
    n_columns : int
        Required number of columns (the model's ``latent_dim``).
    name : str, default="X"
        The argument name used in error messages.

    Returns
    -------
    ndarray of float32, shape (n, n_columns)

    Raises
    ------
    ValueError
        For another number of columns, a non-2-D array, NaN or infinity.

    Examples
    --------
    >>> check_latent_array([[0.0, 1.0]], 2).dtype
    dtype('float32')
    """
    from sklearn.utils.validation import check_array

    Z = check_array(Z, dtype=np.float32, input_name=name)
    if Z.shape[1] != n_columns:
        raise ValueError(f"latent vectors {name} have {Z.shape[1]} columns but latent_dim={n_columns}")
    return Z


def is_lazy_ecg_input(X):
    """Whether ``X`` is read on access: a ``numpy.memmap`` or an object flagged ``__ecg_lazy__``.

    :class:`ecgsk.datasets.ECGDataset` carries the flag.

    Parameters
    ----------
    X : object
        Anything; nothing is read from it.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_lazy_ecg_input(np.zeros((2, 1, 5)))
    False
    """
    return isinstance(X, np.memmap) or bool(getattr(type(X), "__ecg_lazy__", False))


def _check_lazy_ecg_array(X, *, n_leads, min_samples, name, chunk_size):
    """The lazy path of :func:`check_ecg_array`: shape from ``X.shape``, values chunk by chunk."""
    shape = tuple(int(d) for d in X.shape)
    dtype = np.dtype(getattr(X, "dtype", np.float32))
    if np.iscomplexobj(np.empty(0, dtype)) or not (np.issubdtype(dtype, np.number) or dtype == bool):
        raise TypeError(f"{name} must hold real numbers (millivolts); got dtype {dtype}")
    if len(shape) == 2 and isinstance(X, np.memmap):
        X, shape = X[:, None, :], (shape[0], 1, shape[1])
    if len(shape) != 3:
        raise ValueError(
            f"{name} must have shape (n_ecgs, n_leads, n_samples), or (n_ecgs, n_samples) for a single lead; "
            f"got a {len(shape)}-D array of shape {shape}"
        )
    if shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: expected at least 1 ECG, got shape {shape}")
    if shape[1] == 0 or shape[2] == 0:
        raise ValueError(f"{name} has no leads or no samples: got shape {shape}")
    if n_leads is not None:
        allowed = (n_leads,) if isinstance(n_leads, numbers.Integral) else tuple(n_leads)
        if shape[1] not in allowed:
            expected = allowed[0] if len(allowed) == 1 else " or ".join(map(str, allowed))
            raise ValueError(
                f"{name} has {shape[1]} lead(s) but {expected} lead(s) were expected "
                f"(shape received: {shape}; layout is (n_ecgs, n_leads, n_samples))"
            )
    if shape[2] < min_samples:
        raise ValueError(
            f"{name} has {shape[2]} samples per lead but at least {min_samples} are needed (shape received: {shape})"
        )
    chunk_size = check_int_param(chunk_size, "chunk_size")
    if isinstance(X, np.memmap):
        if np.issubdtype(dtype, np.floating):
            for start in range(0, shape[0], chunk_size):
                chunk = np.asarray(X[start:start + chunk_size])
                finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
                if not finite.all():
                    rows = (start + np.flatnonzero(~finite))[:5].tolist()
                    raise ValueError(
                        f"{name} contains NaN or infinite values (in ECG(s) {rows}); expected finite millivolts"
                    )
    elif hasattr(X, "validate"):
        X.validate(chunk_size=chunk_size, name=name)
    return X
