import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.pipeline import ECGPipeline, make_pipeline
from ecgsk.testing import GaussianECGGenerator

from _stubs import AmplitudeRisk, GainScaler, LeastSquaresReconstructor


def test_make_pipeline_names_steps():
    pipe = make_pipeline(GainScaler(), GaussianECGGenerator())
    assert isinstance(pipe, ECGPipeline)
    assert list(pipe.named_steps) == ["gainscaler", "gaussianecggenerator"]


def test_sample_is_mapped_back_through_inverse_transform():
    X = make_synthetic_ecgs(30, n_leads=2, n_samples=400, random_state=0) * np.array([1.0, 10.0])[None, :, None]
    X = X.astype(np.float32)
    pipe = make_pipeline(GainScaler(), GaussianECGGenerator(random_state=0)).fit(X)
    inner = pipe[-1].sample(5, random_state=3)
    assert np.abs(inner).max() <= 5.0  # the generator works on the scaled data
    samples = pipe.sample(5, random_state=3)
    np.testing.assert_allclose(samples, pipe[0].inverse_transform(inner), rtol=1e-6)
    # Lead 2 was 10x larger in the input; the samples come back in those units.
    assert samples[:, 1].std() > 5 * samples[:, 0].std()


def test_sample_requires_a_generator():
    pipe = make_pipeline(GainScaler(), LeastSquaresReconstructor()).fit(make_synthetic_ecgs(4, n_samples=300, random_state=0))
    with pytest.raises(AttributeError, match="sample"):
        pipe.sample(2)


def test_predict_risk_through_pipeline_with_conditions():
    rng = np.random.RandomState(0)
    X = make_synthetic_ecgs(24, n_leads=1, n_samples=500, random_state=0)
    time = 1.0 / np.abs(X[:, 0]).mean(axis=1)
    y = np.column_stack([np.ones(24), time])
    cond = pd.DataFrame({"age": rng.uniform(20, 80, 24)})
    pipe = make_pipeline(GainScaler(), AmplitudeRisk()).fit(X, y, amplituderisk__conditions=cond)
    risk = pipe.predict_risk(X, conditions=cond)
    assert risk.shape == (24,)
    assert pipe.score(X, y) > 0.9


def test_pipelines_in_cross_validation_and_grid_search():
    X = make_synthetic_ecgs(20, n_leads=12, n_samples=500, random_state=0)
    pipe = make_pipeline(GainScaler(), LeastSquaresReconstructor())
    scores = cross_val_score(pipe, X, cv=KFold(4))
    assert np.isfinite(scores).all() and (scores > -1).all()
    gen_pipe = make_pipeline(GainScaler(), GaussianECGGenerator(random_state=0))
    res = cross_validate(gen_pipe, X, cv=KFold(2))
    assert np.isfinite(res["test_score"]).all()
    grid = GridSearchCV(gen_pipe, {"gaussianecggenerator__random_state": [0, 1]}, cv=KFold(2)).fit(X)
    assert grid.best_params_["gaussianecggenerator__random_state"] in (0, 1)


def test_routed_conditions_reach_the_final_step():
    rng = np.random.RandomState(1)
    X = make_synthetic_ecgs(24, n_leads=1, n_samples=500, random_state=1)
    time = 1.0 / np.abs(X[:, 0]).mean(axis=1)
    y = np.array(list(zip(np.ones(24, bool), time)), dtype=[("event", bool), ("time", float)])
    cond = pd.DataFrame({"age": rng.uniform(20, 80, 24)})
    with config_context(enable_metadata_routing=True):
        model = AmplitudeRisk().set_fit_request(conditions=True).set_score_request(conditions=True)
        pipe = make_pipeline(GainScaler(), model)
        res = cross_validate(pipe, X, y, cv=KFold(3), params={"conditions": cond})
    assert (res["test_score"] > 0.9).all()
