"""Metrics for generated, reconstructed and risk-scored ECGs (NumPy/SciPy only, no torch).

Every metric states whether lower or higher is better.

Overview
--------
Signal fidelity (paired ECGs)
    :func:`rmse` (lower), :func:`prd` (lower), :func:`pearson_per_lead` (higher).
Distribution distance (unpaired sets)
    :func:`mmd` (lower), :func:`frechet_feature_distance` (lower),
    :func:`classifier_two_sample_test` (closer to 0.5 is better).
Privacy / memorisation
    :func:`memorization_ratio` (close to 1 is good; well below 1 means copying).
Risk
    :func:`concordance_index` (higher).
Seed-paper protocol (LSTM-GAN table)
    :func:`prd_seed`, :func:`mmd_seed` (lower; per pair of signals).
Features
    :func:`ecg_features`, :func:`feature_names`; clinical measurements
    (PR, QRS, QT, QTc, P/R/T amplitudes) :func:`ecg_measurements`,
    :func:`measurement_names`.
Event detection
    :func:`peak_detection_f1` (higher).
Scorers for ``scoring=`` in scikit-learn model selection
    :data:`reconstruction_pearson_scorer`, :data:`reconstruction_rmse_scorer`,
    :data:`generation_mmd_scorer`, :data:`generation_frechet_scorer`,
    :data:`concordance_scorer` and :func:`get_scorer`.

Submodules
----------
:mod:`ecgsk.metrics.signal`
    :func:`rmse`, :func:`prd`, :func:`prd_seed`, :func:`pearson_per_lead`.
:mod:`ecgsk.metrics.features`
    :func:`ecg_features`, :func:`feature_names` (with ecgsk's own QRS detector),
    :func:`ecg_measurements`, :func:`measurement_names`.
:mod:`ecgsk.metrics.distances`
    :func:`mmd`, :func:`mmd_seed`, :func:`frechet_feature_distance`.
:mod:`ecgsk.metrics.privacy`
    :func:`memorization_ratio`.
:mod:`ecgsk.metrics.two_sample`
    :func:`classifier_two_sample_test`.
:mod:`ecgsk.metrics.survival`
    :func:`concordance_index`.
:mod:`ecgsk.metrics.scorers`
    :class:`ECGScorer`, the ready-made scorers, :data:`SCORERS`, :func:`get_scorer`.
:mod:`ecgsk.metrics.detection`
    :func:`peak_detection_f1`.

Every public name is re-exported here, so ``from ecgsk.metrics import mmd``
works.  lifelines, scikit-learn's model-selection tools and scipy.linalg are
imported lazily, inside the functions that need them, so ``import ecgsk.metrics``
stays fast.
"""

from .detection import peak_detection_f1
from .distances import frechet_feature_distance, mmd, mmd_seed
from .features import ecg_features, ecg_measurements, feature_names, measurement_names
from .privacy import memorization_ratio
from .scorers import (
    SCORERS,
    ECGScorer,
    concordance_scorer,
    generation_frechet_scorer,
    generation_mmd_scorer,
    get_scorer,
    reconstruction_pearson_scorer,
    reconstruction_rmse_scorer,
)
from .signal import pearson_per_lead, prd, prd_seed, rmse
from .survival import concordance_index
from .two_sample import classifier_two_sample_test

__all__ = [
    "peak_detection_f1",
    "rmse",
    "prd",
    "prd_seed",
    "mmd",
    "mmd_seed",
    "pearson_per_lead",
    "ecg_features",
    "feature_names",
    "ecg_measurements",
    "measurement_names",
    "frechet_feature_distance",
    "memorization_ratio",
    "concordance_index",
    "classifier_two_sample_test",
    "ECGScorer",
    "reconstruction_pearson_scorer",
    "reconstruction_rmse_scorer",
    "generation_mmd_scorer",
    "generation_frechet_scorer",
    "concordance_scorer",
    "get_scorer",
    "SCORERS",
]
