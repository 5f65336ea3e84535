"""LinearLeadReconstructor: conformance, exactness on linear data, lead relations, real LUDB data."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import KFold, cross_val_score

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.models.linear import LinearLeadReconstructor
from ecgsk.pipeline import ECGPipeline

from _checks import assert_einthoven_limb_leads


@pytest.fixture(scope="module")
def X12():
    return make_synthetic_ecgs(10, n_leads=12, n_samples=1500, random_state=0)


def test_entry_point():
    from ecgsk.registry import get_model

    assert get_model("linear_reconstructor") is LinearLeadReconstructor


def test_lead_i_identity_and_einthoven(X12):
    rec = LinearLeadReconstructor().fit(X12)
    out = rec.transform(X12[:, :1])
    assert out.shape == (10, 12, 1500) and out.dtype == np.float32
    assert_einthoven_limb_leads(out, X12[:, 0])
    # 12-lead input reads lead I only.
    np.testing.assert_allclose(rec.transform(X12), out)


def test_recovers_a_linear_filter():
    """Leads that are FIR filters of lead I within the lag range are recovered almost exactly."""
    rng = np.random.RandomState(0)
    lead_i = rng.standard_normal((6, 2000)).astype(np.float32)
    X = np.zeros((6, 12, 2000), np.float32)
    X[:, 0] = lead_i
    kernels = rng.standard_normal((11, 9))
    for j in range(1, 12):
        X[:, j] = np.stack([np.convolve(x, kernels[j - 1], mode="same") for x in lead_i]) + 0.3
    rec = LinearLeadReconstructor(n_lags=9, max_lag=4, alpha=0.0).fit(X)
    # Reflected edges bias the fit a little; away from them the match is near exact.
    from ecgsk.metrics import pearson_per_lead

    out = rec.transform(X[:, :1])
    independent = [1, 6, 7, 8, 9, 10, 11]  # II, V1-V6; the synthetic limb leads break Einthoven
    r = pearson_per_lead(X[:, independent, 20:-20], out[:, independent, 20:-20])
    assert r.min() > 0.999, r
    assert rec.coef_.shape == (7, 9) and rec.lags_.tolist() == list(range(-4, 5))


def test_short_records_and_default_lags(X12):
    rec = LinearLeadReconstructor().fit(X12)
    assert len(rec.lags_) == 31 and rec.lags_.min() == -60 and rec.lags_.max() == 60
    out = rec.transform(X12[:, :1, :40])  # shorter than the lag span
    assert out.shape == (10, 12, 40) and np.isfinite(out).all()


def test_pickle_round_trip(X12):
    rec = LinearLeadReconstructor().fit(X12)
    again = pickle.loads(pickle.dumps(rec))
    np.testing.assert_array_equal(rec.transform(X12), again.transform(X12))


@pytest.mark.parametrize("params", [{"n_lags": 0}, {"max_lag": -1}, {"alpha": -1.0}, {"chunk_size": 0},
                                    {"n_lags": 2.5}])
def test_bad_params(X12, params):
    with pytest.raises(ValueError):
        LinearLeadReconstructor(**params).fit(X12)


def test_pipeline_cross_val_score_with_bandpass(X12):
    from ecgsk.preprocessing import BandpassFilter

    pipe = ECGPipeline([("bp", BandpassFilter(0.5, 40.0, fs=500)), ("rec", LinearLeadReconstructor())])
    scores = cross_val_score(pipe, X12, cv=KFold(2, shuffle=True, random_state=0))
    assert np.isfinite(scores).all() and scores.min() > 0.5


@pytest.mark.slow
def test_ludb_held_out_correlation(data_dir):
    """On band-passed LUDB the ridge floor reaches r ~ 0.6 on held-out records."""
    from ecgsk.datasets import load_ludb
    from ecgsk.preprocessing import BandpassFilter

    X, _ = load_ludb(data_dir / "ludb")
    X = BandpassFilter(0.5, 40.0, fs=500).fit_transform(X)
    rec = LinearLeadReconstructor().fit(X[:150])
    assert rec.score(X[150:]) > 0.45
