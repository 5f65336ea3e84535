"""Classifier two-sample test: :func:`classifier_two_sample_test` (closer to 0.5 is better).

scikit-learn and threadpoolctl are imported lazily, inside the function.
"""

import numbers
import warnings

import numpy as np

from ..utils.constraints import Interval, validate_params
from ..utils.validation import check_ecg_array
from .features import ecg_features

__all__ = ["classifier_two_sample_test"]


# ---------------------------------------------------------------------------
# two-sample classifier test
# ---------------------------------------------------------------------------
def classifier_two_sample_test(real, generated, fs=500, random_state=0, *, cv=5):
    """Classifier two-sample test: can a classifier tell real from generated ECGs?

    Two classifiers are trained on :func:`ecg_features` to label ECGs as real
    (1) or generated (0): a standardised logistic regression and a small
    ``HistGradientBoostingClassifier`` (50 trees of depth 3).  The score is the
    stratified ``cv``-fold cross-validated accuracy of each.  **Closer to 0.5
    is better** (for balanced sets): 0.5 means the classifier cannot tell the
    sets apart; 1.0 means they are trivially separable.  With unbalanced sets
    compare with ``chance`` (the majority-class rate) instead of 0.5.

    Parameters
    ----------
    real, generated : array-like of shape (n, leads, T)
        Same lead count; lengths may differ.
    fs : float, default=500
    random_state : int, default=0
        Seeds the folds and the boosting model.
    cv : int, default=5
        Number of folds (reduced to the size of the smaller set if needed).

    Returns
    -------
    dict
        ``logistic_regression`` and ``gradient_boosting`` (mean CV accuracy),
        ``logistic_regression_folds`` and ``gradient_boosting_folds`` (per
        fold), ``chance``, ``n_real``, ``n_generated``, ``n_splits``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> real = make_synthetic_ecgs(20, n_leads=1, n_samples=1000, random_state=0)
    >>> res = classifier_two_sample_test(real, 5 * real)
    >>> res["logistic_regression"] > 0.9
    True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    real = check_ecg_array(real, name="real")
    generated = check_ecg_array(generated, name="generated")
    if real.shape[1] != generated.shape[1]:
        raise ValueError(f"real and generated need the same lead count; got {real.shape[1]} and {generated.shape[1]}")
    validate_params({"cv": cv}, {"cv": [Interval(numbers.Integral, 2, None)]}, owner="classifier_two_sample_test")
    n_splits = min(int(cv), len(real), len(generated))
    if n_splits < 2:
        raise ValueError("the classifier two-sample test needs at least 2 ECGs in each set")
    F = np.vstack([ecg_features(real, fs), ecg_features(generated, fs)])
    y = np.r_[np.ones(len(real), dtype=int), np.zeros(len(generated), dtype=int)]
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    models = {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=50, max_depth=3, learning_rate=0.1, random_state=random_state
        ),
    }
    result = {}
    # OpenMP threads only slow the boosting down on a few thousand rows (and
    # badly so on a busy machine): use one thread for small problems.
    from threadpoolctl import threadpool_limits

    limits = 1 if len(F) < 10_000 else None
    with warnings.catch_warnings(), threadpool_limits(limits=limits, user_api="openmp"):
        warnings.simplefilter("ignore")
        for name, model in models.items():
            scores = cross_val_score(model, F, y, cv=folds, scoring="accuracy")
            result[name] = float(scores.mean())
            result[f"{name}_folds"] = scores.tolist()
    result["chance"] = max(len(real), len(generated)) / (len(real) + len(generated))
    result["n_real"], result["n_generated"], result["n_splits"] = len(real), len(generated), n_splits
    return result
