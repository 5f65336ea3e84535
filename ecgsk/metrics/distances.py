"""Distribution distances between ECG sets: MMD (:func:`mmd`, :func:`mmd_seed`) and
:func:`frechet_feature_distance`. **Lower is better.**

scipy.linalg is imported lazily, only by ``method="sqrtm"``.
"""

import numbers
import warnings

import numpy as np

from ..utils.constraints import Interval, validate_params
from ..utils.validation import check_ecg_array
from .features import ecg_features
from .signal import _TINY, _pair, _reduce

__all__ = ["mmd", "mmd_seed", "frechet_feature_distance"]


# ---------------------------------------------------------------------------
# distribution distances
# ---------------------------------------------------------------------------
def _standardise(A, B, standardize):
    if standardize in (None, False, "none"):
        return A, B
    if standardize == "pooled":
        ref = np.vstack([A, B])
    elif standardize == "reference":
        ref = A
    else:
        raise ValueError(f"standardize must be 'pooled', 'reference' or None; got {standardize!r}")
    mu, sd = ref.mean(axis=0), ref.std(axis=0)
    sd = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mu)), sd, 1.0)
    return (A - mu) / sd, (B - mu) / sd


def _sq_dists(A, B):
    """Squared Euclidean distances between rows, float64 (inputs may be float32)."""
    a2 = np.einsum("ij,ij->i", A, A, dtype=np.float64)
    b2 = np.einsum("ij,ij->i", B, B, dtype=np.float64)
    G = np.asarray(A @ B.T, dtype=np.float64)
    return np.maximum(a2[:, None] + b2[None, :] - 2.0 * G, 0.0)


def _rbf_mmd2_unbiased(A, B, bandwidth="median"):
    if len(A) < 2 or len(B) < 2:
        raise ValueError(f"MMD needs at least 2 samples in each set; got {len(A)} and {len(B)}")
    dxx, dyy, dxy = _sq_dists(A, A), _sq_dists(B, B), _sq_dists(A, B)
    np.fill_diagonal(dxx, 0.0)
    np.fill_diagonal(dyy, 0.0)
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a positive float; got {bandwidth!r}")
        off = np.concatenate(
            [dxx[np.triu_indices(len(A), 1)], dyy[np.triu_indices(len(B), 1)], dxy.ravel()]
        )
        off = off[off > 0]
        gamma = 1.0 / np.median(off) if len(off) else 1.0
    else:
        if not float(bandwidth) > 0:
            raise ValueError(f"bandwidth must be 'median' or a positive float; got {bandwidth!r}")
        gamma = 1.0 / (2.0 * float(bandwidth) ** 2)
    m, n = len(A), len(B)
    Kxx, Kyy, Kxy = np.exp(-gamma * dxx), np.exp(-gamma * dyy), np.exp(-gamma * dxy)
    term_x = (Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
    term_y = (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1))
    return float(term_x + term_y - 2.0 * Kxy.mean())


def mmd(X, Y, *, features=False, fs=500, bandwidth="median"):
    """Unbiased RBF-kernel MMD² between two sets of ECGs. **Lower is better** (0 = same distribution).

    .. math:: \\widehat{MMD}^2 = \\frac{1}{m(m-1)}\\sum_{i\\ne j}k(x_i,x_j)
              + \\frac{1}{n(n-1)}\\sum_{i\\ne j}k(y_i,y_j) - \\frac{2}{mn}\\sum_{i,j}k(x_i,y_j)

    with :math:`k(a, b) = \\exp(-\\gamma\\lVert a-b\\rVert^2)`.

    Parameters
    ----------
    X, Y : array-like of shape (n, leads, T)
        The two sets; they may differ in size (at least 2 ECGs each).
    features : bool, default=False
        Compare :func:`ecg_features` (standardised with the pooled mean and
        standard deviation of both sets) instead of flattened signals.
    fs : float, default=500
        Sampling rate, used by the features.
    bandwidth : "median" or float, default="median"
        ``"median"`` is the median heuristic: ``gamma = 1 / median`` of the
        non-zero pairwise squared distances of the pooled set; a float is the
        Gaussian kernel's sigma (``gamma = 1 / (2 sigma²)``).

    Returns
    -------
    float
        The unbiased estimate; it can be slightly negative when the two sets
        come from the same distribution.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> A = make_synthetic_ecgs(20, n_leads=1, n_samples=1000, random_state=0)
    >>> B = make_synthetic_ecgs(20, n_leads=1, n_samples=1000, random_state=1)
    >>> abs(mmd(A, B, features=True)) < mmd(A, 2 * B, features=True)
    True
    """
    X = check_ecg_array(X, name="X")
    Y = check_ecg_array(Y, name="Y")
    if features:
        if X.shape[1] != Y.shape[1]:
            raise ValueError(f"feature MMD needs the same number of leads; got {X.shape[1]} and {Y.shape[1]}")
        A, B = _standardise(ecg_features(X, fs), ecg_features(Y, fs), "pooled")
    else:
        if X.shape[1:] != Y.shape[1:]:
            raise ValueError(f"signal MMD needs equal (leads, T); got {X.shape[1:]} and {Y.shape[1:]}")
        A, B = X.reshape(len(X), -1), Y.reshape(len(Y), -1)
        if (A.size + B.size) * 8 <= 512 * 2**20:  # exact float64 Gram unless that would take > 512 MiB
            A, B = A.astype(np.float64), B.astype(np.float64)
    return _rbf_mmd2_unbiased(A, B, bandwidth)


def mmd_seed(x, y, *, bandwidth=1.0, reduce="mean", block=2048):
    """Per-pair MMD² of the LSTM-GAN paper's table. **Lower is better.**

    The seed protocol (Zhu et al. 2019) compares each generated signal with one
    real signal: the samples of ``x_i`` and of ``y_i`` are treated as two sets
    of *scalar* points, and the unbiased MMD² between them is computed with the
    Gaussian kernel ``k(a, b) = exp(-(a-b)² / (2·bandwidth²))``, bandwidth 1
    (in the signals' units).  Being unbiased, a value can be negative.  It
    measures whether the amplitude *histograms* agree, not the waveforms; use
    :func:`mmd` for a distribution distance between ECG sets.

    For multi-lead input the per-lead values are averaged, giving one value per
    pair of ECGs.  The cost is O(T²) per pair and lead, in blocks of ``block``
    samples.

    Parameters
    ----------
    x, y : array-like of shape (n, leads, T) or (n, T)
        Pairs ``(x_i, y_i)``; same shape.
    bandwidth : float, default=1.0
    reduce : {"mean", "median", "min", "max"} or None, default="mean"
        ``None`` returns the per-pair array (for the table's Mean/Min/Max).
    block : int, default=2048

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 1.0]])
    >>> y = np.array([[0.0, 2.0]])
    >>> # k(x0,x1)=e^-.5; k(y0,y1)=e^-2; cross: 1 + e^-2 + e^-.5 + e^-.5 over 4, times 2
    >>> expected = np.exp(-0.5) + np.exp(-2) - 0.5 * (1 + np.exp(-2) + 2 * np.exp(-0.5))
    >>> bool(np.isclose(mmd_seed(x, y), expected))
    True
    """
    x, y = _pair(x, y)
    validate_params({"bandwidth": bandwidth, "block": block},
                    {"bandwidth": [Interval(numbers.Real, 0, None, closed="neither")],
                     "block": [Interval(numbers.Integral, 1, None)]}, owner="mmd_seed")
    n, L, T = x.shape
    if T < 2:
        raise ValueError("mmd_seed needs at least 2 samples per signal")
    c = 1.0 / (2.0 * float(bandwidth) ** 2)

    def ksum(a, b):  # sum over all (i, j) of k(a_i, b_j), a and b 1-D
        total = 0.0
        for i in range(0, len(a), block):
            total += np.exp(-c * (a[i : i + block, None] - b[None, :]) ** 2).sum()
        return total

    out = np.empty(n)
    for i in range(n):
        vals = []
        for lead in range(L):
            a, b = x[i, lead], y[i, lead]
            kxx = (ksum(a, a) - T) / (T * (T - 1))
            kyy = (ksum(b, b) - T) / (T * (T - 1))
            kxy = ksum(a, b) / (T * T)
            vals.append(kxx + kyy - 2.0 * kxy)
        out[i] = np.mean(vals)
    return _reduce(out, reduce)


def _trace_sqrt_product(S1, S2, method="eigh"):
    """``Tr((S1 S2)^(1/2))`` for symmetric positive semi-definite ``S1``, ``S2``.

    ``"eigh"``: ``S1 S2`` is similar to the symmetric PSD matrix
    ``S1^(1/2) S2 S1^(1/2)`` (and a limit of such when ``S1`` is singular), so
    the trace is the sum of the square roots of that matrix's eigenvalues,
    clipped at 0.  Two symmetric eigendecompositions: fast and stable even for
    the singular covariances of fewer ECGs than features.

    ``"sqrtm"``: the FID reference recipe, ``scipy.linalg.sqrtm(S1 @ S2)``;
    if the result is not finite or has a non-negligible imaginary part, a
    small ridge is added to both covariances, then the real part is taken.
    It can take seconds for a few hundred features with singular covariances.
    """
    if method == "eigh":
        def _clip(w):  # eigenvalues at rounding level are exact zeros
            tol = max(float(np.abs(w).max(initial=0.0)), _TINY) * len(w) * np.finfo(np.float64).eps
            return np.where(w > tol, w, 0.0)

        w, V = np.linalg.eigh((S1 + S1.T) / 2.0)
        root = (V * np.sqrt(_clip(w))) @ V.T
        M_ = root @ S2 @ root
        return float(np.sqrt(_clip(np.linalg.eigvalsh((M_ + M_.T) / 2.0))).sum())
    if method != "sqrtm":
        raise ValueError(f"method must be 'eigh' or 'sqrtm'; got {method!r}")
    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = np.asarray(linalg.sqrtm(S1 @ S2))
    if not np.isfinite(covmean).all() or (
        np.iscomplexobj(covmean) and np.abs(covmean.imag).max() > 1e-3 * max(1.0, np.abs(covmean.real).max())
    ):
        eps = 1e-6 * max(1.0, np.trace(S1) / len(S1), np.trace(S2) / len(S2))
        offset = eps * np.eye(len(S1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            covmean = np.asarray(linalg.sqrtm((S1 + offset) @ (S2 + offset)))
    tr = float(np.real(np.trace(covmean)))
    return tr if np.isfinite(tr) else _trace_sqrt_product(S1, S2, "eigh")


def frechet_feature_distance(X, Y, fs=500, *, standardize="pooled", method="eigh"):
    """Fréchet distance between Gaussian fits of :func:`ecg_features`. **Lower is better** (0 = same fit).

    .. math:: d^2 = \\lVert\\mu_X-\\mu_Y\\rVert^2 + \\mathrm{Tr}\\big(\\Sigma_X+\\Sigma_Y-2(\\Sigma_X\\Sigma_Y)^{1/2}\\big)

    the ECG-feature analogue of FID.  Features are first standardised so that
    every feature counts in units of its spread: with ``standardize="pooled"``
    (default) by the mean and standard deviation of both sets together, which
    makes the distance symmetric in ``X`` and ``Y``; with ``"reference"`` by
    those of ``X`` (the real data), which keeps the scale fixed when comparing
    several generated sets against one reference; ``None`` uses raw features.
    Constant features are left unscaled.

    The trace of the matrix square root is computed, by default, from the
    symmetric form ``Tr((Σ_X^½ Σ_Y Σ_X^½)^½)``, which equals
    ``Tr((Σ_X Σ_Y)^½)`` exactly, with eigenvalues clipped at 0: stable and
    fast even when the covariances are singular.  ``method="sqrtm"`` uses the
    FID reference recipe instead: ``scipy.linalg.sqrtm(Σ_X Σ_Y)``, retried with
    a small ridge on both covariances if the result is not finite or has a
    non-negligible imaginary part, then its real part (the two agree to
    rounding; ``sqrtm`` can take seconds for 12-lead feature sets).  The
    result is clipped at 0.  With fewer ECGs than features the covariances are
    singular and the value carries estimation bias, so compare distances
    computed with equal set sizes.

    Parameters
    ----------
    X, Y : array-like of shape (n, leads, T)
        Reference and generated sets (at least 2 ECGs each, same lead count;
        lengths may differ).
    fs : float, default=500
    standardize : {"pooled", "reference"} or None, default="pooled"
    method : {"eigh", "sqrtm"}, default="eigh"
        How the trace of the matrix square root is computed (see above).

    Returns
    -------
    float

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> A = make_synthetic_ecgs(30, n_leads=1, n_samples=1000, random_state=0)
    >>> frechet_feature_distance(A, A) < 1e-6
    True
    >>> frechet_feature_distance(A, 3 * A) > 1.0
    True
    """
    X = check_ecg_array(X, name="X")
    Y = check_ecg_array(Y, name="Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y need the same number of leads; got {X.shape[1]} and {Y.shape[1]}")
    if len(X) < 2 or len(Y) < 2:
        raise ValueError(f"the Fréchet distance needs at least 2 ECGs per set; got {len(X)} and {len(Y)}")
    if method not in ("eigh", "sqrtm"):
        raise ValueError(f"method must be 'eigh' or 'sqrtm'; got {method!r}")
    A, B = _standardise(ecg_features(X, fs), ecg_features(Y, fs), standardize)
    mu1, mu2 = A.mean(axis=0), B.mean(axis=0)
    S1 = np.atleast_2d(np.cov(A, rowvar=False))
    S2 = np.atleast_2d(np.cov(B, rowvar=False))
    diff = mu1 - mu2
    d2 = float(diff @ diff + np.trace(S1) + np.trace(S2) - 2.0 * _trace_sqrt_product(S1, S2, method))
    return max(d2, 0.0)
