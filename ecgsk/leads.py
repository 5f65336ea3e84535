"""Lead names and the Einthoven/Goldberger relations between the limb leads.

Only leads I and II of the six limb leads are independent; III, aVR, aVL and
aVF follow from them.  The eight independent leads (I, II, V1-V6) are what
Pulse2Pulse and deepfake-ecg generate.
"""

import numpy as np

LEADS_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LEADS_8 = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

_CANONICAL = {name.lower(): name for name in LEADS_12}
# Names used by other databases for the same electrodes.
_CANONICAL.update({"mlii": "II", "avr": "aVR", "avl": "aVL", "avf": "aVF"})

__all__ = [
    "default_lead_names",
    "LEADS_12",
    "LEADS_8",
    "canonical_lead_name",
    "lead_indices",
    "derive_12_from_8",
    "select_8_from_12",
]


def default_lead_names(n_leads, prefix="lead"):
    """Lead names for ``n_leads`` rows: LEADS_12 for 12, LEADS_8 for 8, else ``prefix0``, ``prefix1``, ...

    Examples
    --------
    >>> default_lead_names(8)[:3], default_lead_names(2, prefix="ch")
    (['I', 'II', 'V1'], ['ch0', 'ch1'])
    """
    if n_leads == 12:
        return list(LEADS_12)
    if n_leads == 8:
        return list(LEADS_8)
    return [f"{prefix}{i}" for i in range(n_leads)]


def canonical_lead_name(name):
    """Map a lead name to its standard spelling, case-insensitively.

    Parameters
    ----------
    name : str
        A lead name such as ``"avr"``, ``"V1"`` or ``"MLII"``.

    Returns
    -------
    str
        The standard name (``"aVR"``, ``"V1"``, ``"II"``); unknown names are
        returned stripped but otherwise unchanged.

    Examples
    --------
    >>> canonical_lead_name("avl")
    'aVL'
    """
    if not isinstance(name, str):
        raise TypeError(f"lead names must be str, got {type(name).__name__}: {name!r}")
    stripped = name.strip()
    return _CANONICAL.get(stripped.lower(), stripped)


def lead_indices(names, available=LEADS_12):
    """Return the positions of ``names`` within ``available``.

    Raises
    ------
    ValueError
        If a name is not among ``available``; the message lists what is.

    Examples
    --------
    >>> lead_indices(["i", "V6"])
    [0, 11]
    """
    if isinstance(names, str):
        names = [names]
    wanted = [canonical_lead_name(n) for n in names]
    pool = [canonical_lead_name(n) for n in available]
    missing = [n for n in wanted if n not in pool]
    if missing:
        raise ValueError(f"unknown lead name(s) {missing}; expected names from {tuple(pool)}")
    return [pool.index(n) for n in wanted]


def derive_12_from_8(X):
    """Derive the standard 12 leads from the 8 independent ones.

    Einthoven: III = II - I.  Goldberger: aVR = -(I + II)/2,
    aVL = I - II/2, aVF = II - I/2.

    Parameters
    ----------
    X : ndarray of shape (n_ecgs, 8, n_samples)
        Leads in :data:`LEADS_8` order.

    Returns
    -------
    ndarray of shape (n_ecgs, 12, n_samples)
        Leads in :data:`LEADS_12` order, same dtype.

    Examples
    --------
    >>> import numpy as np
    >>> X8 = np.ones((1, 8, 3), dtype="float32")
    >>> derive_12_from_8(X8)[0, :6, 0].tolist()
    [1.0, 1.0, 0.0, -1.0, 0.5, 0.5]
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[1] != 8:
        raise ValueError(
            f"derive_12_from_8 expects shape (n_ecgs, 8, n_samples) with leads {LEADS_8}; "
            f"got shape {X.shape}"
        )
    lead_i, lead_ii = X[:, 0], X[:, 1]
    limb = np.stack(
        [lead_i, lead_ii, lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2],
        axis=1,
    )
    return np.concatenate([limb, X[:, 2:]], axis=1).astype(X.dtype, copy=False)


def select_8_from_12(X):
    """Keep the 8 independent leads (I, II, V1-V6) of a 12-lead batch.

    Parameters
    ----------
    X : array-like of shape (n_ecgs, 12, n_samples)
        ECGs with the leads in ``LEADS_12`` order.

    Returns
    -------
    ndarray of shape (n_ecgs, 8, n_samples)
        The leads in ``LEADS_8`` order.

    Examples
    --------
    >>> import numpy as np
    >>> select_8_from_12(np.zeros((2, 12, 5))).shape
    (2, 8, 5)
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[1] != 12:
        raise ValueError(
            f"select_8_from_12 expects shape (n_ecgs, 12, n_samples) with leads {LEADS_12}; "
            f"got shape {X.shape}"
        )
    return X[:, [0, 1, 6, 7, 8, 9, 10, 11]]
