"""Privacy / memorisation: :func:`memorization_ratio` (close to 1 is good; well below 1 means copying).
"""

import numpy as np

from ..utils.validation import check_ecg_array
from .signal import _reduce

__all__ = ["memorization_ratio"]


# ---------------------------------------------------------------------------
# memorisation
# ---------------------------------------------------------------------------
def _nn_dist(G, R, block_g=256, block_r=2048):
    """Distance from each row of G to its nearest row of R (float64, chunked)."""
    out = np.full(len(G), np.inf)
    r2 = np.einsum("ij,ij->i", R, R, dtype=np.float64)
    for i in range(0, len(G), block_g):
        g = G[i : i + block_g].astype(np.float64)
        g2 = np.einsum("ij,ij->i", g, g)
        best = np.full(len(g), np.inf)
        for j in range(0, len(R), block_r):
            r = R[j : j + block_r].astype(np.float64)
            d2 = g2[:, None] + r2[None, j : j + block_r] - 2.0 * (g @ r.T)
            best = np.minimum(best, d2.min(axis=1))
        out[i : i + block_g] = best
    return np.sqrt(np.maximum(out, 0.0))


def memorization_ratio(generated, train, holdout, reduce="mean"):
    """Nearest-training-neighbour distance over nearest-holdout-neighbour distance.

    For each generated ECG ``g``:

    .. math:: r(g) = \\frac{\\min_{t \\in train}\\lVert g-t\\rVert}{\\min_{h \\in holdout}\\lVert g-h\\rVert}

    (Euclidean distance on the flattened signals, computed in chunks so that
    memory stays bounded).  **Interpretation:** a generator that has
    learned the distribution, not the training set, is as close to unseen
    holdout ECGs as to training ECGs, so ``r ≈ 1``.  A generator that copies
    (or nearly copies) training ECGs scores **well below 1** (0 for exact
    copies).  Values above 1 are harmless.  Close to 1 is good; well below 1
    flags memorisation.

    ``train`` and ``holdout`` should be the same size and drawn from the same
    distribution: nearest-neighbour distances shrink as the reference set
    grows, so unequal sizes bias the ratio (a larger ``train`` pushes it below
    1).  When both distances are 0 the ratio is 1; when only the holdout
    distance is 0 it is large but finite.

    Parameters
    ----------
    generated, train, holdout : array-like of shape (n, leads, T)
        Same (leads, T) for all three.
    reduce : {"mean", "median", "min", "max"} or None, default="mean"
        ``None`` returns one ratio per generated ECG.

    Returns
    -------
    float or ndarray of shape (n_generated,)

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> train = make_synthetic_ecgs(30, n_leads=1, n_samples=500, random_state=0)
    >>> holdout = make_synthetic_ecgs(30, n_leads=1, n_samples=500, random_state=1)
    >>> memorization_ratio(train[:10], train, holdout) < 0.01
    True
    """
    G = check_ecg_array(generated, name="generated")
    R = check_ecg_array(train, name="train")
    H = check_ecg_array(holdout, name="holdout")
    if not (G.shape[1:] == R.shape[1:] == H.shape[1:]):
        raise ValueError(
            f"generated, train and holdout need the same (leads, T); got {G.shape[1:]}, {R.shape[1:]}, {H.shape[1:]}"
        )
    G, R, H = (a.reshape(len(a), -1) for a in (G, R, H))
    d_train, d_hold = _nn_dist(G, R), _nn_dist(G, H)
    scale = max(float(np.abs(G).max()), 1.0) * 1e-12
    ratio = np.where(d_hold > scale, d_train / np.maximum(d_hold, scale), np.where(d_train > scale, d_train / scale, 1.0))
    return _reduce(ratio, reduce)
