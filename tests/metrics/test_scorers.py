"""Tests for ecgsk.metrics.scorers: ECGScorer, the ready-made scorers and get_scorer."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from ecgsk import metrics as M
from ecgsk.base import GeneratorMixin, ReconstructorMixin, RiskMixin
from ecgsk.datasets import make_synthetic_ecgs


# ---------------------------------------------------------------------------
# scorers
# ---------------------------------------------------------------------------
class _MeanGainReconstructor(ReconstructorMixin, BaseEstimator):
    """Lead k = gain_k * lead I, gains by least squares; ``shrink`` degrades it."""

    def __init__(self, shrink=1.0):
        self.shrink = shrink

    def _fit(self, X, y=None, *, rng):
        lead_i = X[:, :1]
        self.gain_ = (X * lead_i).sum(axis=(0, 2)) / max((lead_i**2).sum(), 1e-12)

    def _transform(self, X):
        return self.shrink * self.gain_[None, :, None] * X


class _BootstrapGenerator(GeneratorMixin, BaseEstimator):
    """Resamples training ECGs, times ``scale``; records the conditions it sees."""

    tags = {"conditional": True}
    seen = []

    def __init__(self, scale=1.0):
        self.scale = scale

    def _fit(self, X, y=None, *, rng, conditions=None):
        self.X_ = X
        type(self).seen.append(("fit", None if conditions is None else len(conditions)))

    def _sample(self, n_samples, conditions, rng):
        type(self).seen.append(("sample", None if conditions is None else len(conditions)))
        return self.scale * self.X_[rng.randint(len(self.X_), size=n_samples)]


class _AmplitudeRisk(RiskMixin, BaseEstimator):
    def __init__(self, sign=1.0):
        self.sign = sign

    def _fit(self, X, y, *, rng):
        pass

    def _predict_risk(self, X, conditions):
        return self.sign * X.std(axis=(1, 2))


def test_reconstruction_scorers_in_cross_val_score():
    X = make_synthetic_ecgs(12, n_leads=12, n_samples=500, random_state=0)
    cv = KFold(3)
    r = cross_val_score(_MeanGainReconstructor(), X, scoring=M.reconstruction_pearson_scorer, cv=cv)
    assert r.shape == (3,) and np.all((r > -1) & (r <= 1))
    neg = cross_val_score(_MeanGainReconstructor(), X, scoring=M.reconstruction_rmse_scorer, cv=cv)
    assert np.all(neg < 0)
    worse = cross_val_score(_MeanGainReconstructor(shrink=0.0), X, scoring=M.get_scorer("reconstruction_rmse"), cv=cv)
    assert np.all(worse < neg)  # greater is better: the better model scores higher
    # pearson scorer agrees with ReconstructorMixin.score
    est = _MeanGainReconstructor().fit(X)
    assert M.reconstruction_pearson_scorer(est, X) == pytest.approx(est.score(X))
    # reference given separately as y
    assert M.reconstruction_rmse_scorer(est, X[:, :1], X) == pytest.approx(-M.rmse(X[:, 1:], est.transform(X)[:, 1:]))


def test_generation_scorer_grid_search():
    X = make_synthetic_ecgs(30, n_leads=1, n_samples=800, random_state=0)
    est = _BootstrapGenerator().fit(X)
    assert M.generation_mmd_scorer(est, X) == pytest.approx(est.score(X))
    grid = GridSearchCV(_BootstrapGenerator(), {"scale": [0.3, 1.0, 3.0]}, scoring=M.generation_mmd_scorer, cv=3)
    grid.fit(X)
    assert grid.best_params_ == {"scale": 1.0}
    fr = cross_val_score(_BootstrapGenerator(), X, scoring=M.get_scorer("generation_frechet"), cv=3)
    assert np.all(fr <= 0)


def test_concordance_scorer_in_cross_val_score():
    rng = np.random.RandomState(0)
    X = make_synthetic_ecgs(30, n_leads=1, n_samples=300, random_state=0) * rng.uniform(0.5, 2, (30, 1, 1))
    amp = X.std(axis=(1, 2))
    y = np.column_stack([np.ones(30), 10.0 / amp])  # larger amplitude -> earlier event
    good = cross_val_score(_AmplitudeRisk(), X, y, scoring=M.concordance_scorer, cv=3)
    bad = cross_val_score(_AmplitudeRisk(sign=-1.0), X, y, scoring=M.get_scorer("c_index"), cv=3)
    np.testing.assert_allclose(good, 1.0)
    np.testing.assert_allclose(bad, 0.0)
    with pytest.raises(ValueError, match="survival"):
        M.concordance_scorer(_AmplitudeRisk().fit(X, y), X)


def test_scorer_metadata_routing_passes_conditions():
    import sklearn

    X = make_synthetic_ecgs(12, n_leads=1, n_samples=300, random_state=0)
    cond = pd.DataFrame({"age": np.arange(12.0)})
    _BootstrapGenerator.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        est = _BootstrapGenerator().set_fit_request(conditions=True)
        res = cross_validate(est, X, scoring=M.generation_mmd_scorer, cv=KFold(3), params={"conditions": cond})
    assert np.isfinite(res["test_score"]).all()
    assert ("fit", 8) in _BootstrapGenerator.seen and ("sample", 4) in _BootstrapGenerator.seen
    # turning the request off keeps conditions away from the scorer
    scorer = M.get_scorer("generation_mmd").set_score_request(conditions=False)
    _BootstrapGenerator.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        cross_validate(est, X, scoring=scorer, cv=KFold(3), params={"conditions": cond})
    assert ("sample", None) in _BootstrapGenerator.seen
    # get_scorer returned a copy: the module's scorer still requests conditions
    assert M.generation_mmd_scorer.get_metadata_routing().score.requests == {"conditions": True}
    # several scorers at once, and GridSearchCV routing conditions to fit and scorer
    _BootstrapGenerator.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        res = cross_validate(
            est, X, cv=KFold(3), params={"conditions": cond},
            scoring={"mmd": M.generation_mmd_scorer, "fd": M.generation_frechet_scorer},
        )
        grid = GridSearchCV(est, {"scale": [0.5, 1.0]}, scoring=M.generation_mmd_scorer, cv=KFold(3))
        grid.fit(X, conditions=cond)
    assert np.isfinite(res["test_mmd"]).all() and (res["test_fd"] <= 0).all()
    assert ("sample", None) not in _BootstrapGenerator.seen


def test_get_scorer():
    assert M.get_scorer("concordance_index") is not M.concordance_scorer
    # a "neg_" scorer returns the negated metric, so that greater is better
    X = make_synthetic_ecgs(4, n_leads=12, n_samples=300, random_state=0)
    est = _MeanGainReconstructor().fit(X)
    scorer = M.get_scorer("neg_reconstruction_rmse")
    assert scorer.greater_is_better and repr(scorer) == "ECGScorer('neg_reconstruction_rmse', sign=-1)"
    score = scorer(est, X)
    assert score < 0 and score == pytest.approx(-M.rmse(X[:, 1:], est.transform(X)[:, 1:]))
    assert callable(M.get_scorer("accuracy"))  # falls back to scikit-learn
    with pytest.raises(ValueError, match="unknown scorer"):
        M.get_scorer("no_such_metric")
    with pytest.raises(TypeError, match="metadata"):
        M.reconstruction_pearson_scorer(None, None, None, conditions=1)


def test_scorers_pickle():
    import pickle

    for name in ("reconstruction_pearson", "neg_reconstruction_rmse", "neg_generation_mmd", "concordance"):
        scorer = M.get_scorer(name)
        clone = pickle.loads(pickle.dumps(scorer))
        assert repr(clone) == repr(scorer)
        assert clone.get_metadata_routing().score.requests == scorer.get_metadata_routing().score.requests
