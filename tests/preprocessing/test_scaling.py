"""ecgsk.preprocessing.scaling: AmplitudeScaler and its inverse back to mV."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecgsk.pipeline import make_pipeline
from ecgsk.preprocessing import AmplitudeScaler, BandpassFilter
from ecgsk.testing import GaussianECGGenerator

from _checks import assert_sklearn_checks_pass, ecg_batches

FS = 500


def test_sklearn_checks_on_single_lead_input():
    assert_sklearn_checks_pass(AmplitudeScaler())


def test_scaler_inverse_in_pipeline_returns_millivolts(ludb):
    X = ludb[0][:20]
    pipe = make_pipeline(BandpassFilter(fs=FS), AmplitudeScaler(), GaussianECGGenerator(random_state=0)).fit(X)
    assert np.abs(pipe[:-1].transform(X)).max() == pytest.approx(1.0)
    samples = pipe.sample(4, random_state=0)
    scaled = pipe[-1].sample(4, random_state=0)  # what the model itself produces
    scaler = pipe[1]
    assert not np.allclose(scaler.scale_, 1.0)
    np.testing.assert_allclose(samples, scaled * scaler.scale_ + scaler.center_, rtol=1e-5, atol=1e-6)


def test_amplitude_scaler_round_trip(ludb):
    X = ludb[0][:10]
    for method in ("maxabs", "standard"):
        for per_lead in (True, False):
            sc = AmplitudeScaler(method=method, per_lead=per_lead).fit(X)
            np.testing.assert_allclose(sc.inverse_transform(sc.transform(X)), X, atol=1e-4)
    Z = AmplitudeScaler(method="standard").fit_transform(X)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1.0, atol=1e-3)


def test_unknown_method_raises_clear_error(x_small):
    with pytest.raises(ValueError, match="method"):
        AmplitudeScaler(method="minmax").fit(x_small)


_batches = ecg_batches


@settings(max_examples=25, deadline=None)
@given(X=_batches, method=st.sampled_from(["maxabs", "standard"]), per_lead=st.booleans())
def test_amplitude_scaler_round_trip_property(X, method, per_lead):
    sc = AmplitudeScaler(method=method, per_lead=per_lead).fit(X)
    Z = sc.transform(X)
    assert Z.dtype == np.float32 and Z.shape == X.shape and np.isfinite(Z).all()
    np.testing.assert_allclose(sc.inverse_transform(Z), X, atol=1e-4 * (np.abs(X).max() + 1))
