"""ecgsk.preprocessing.filters: band-pass, notch, baseline-wander removal and fused filter chains."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold, cross_val_score

from ecgsk.base import ReconstructorMixin
from ecgsk.metrics import pearson_per_lead
from ecgsk.pipeline import make_pipeline
from ecgsk.preprocessing import BandpassFilter, BaselineWanderRemoval, FilterChain, LeadSelector, NotchFilter
from ecgsk.testing import GaussianECGGenerator

from _checks import assert_linear, assert_rejects_nan_and_wrong_leads, assert_sklearn_checks_pass

FS = 500


# -- conformance -----------------------------------------------------------------
@pytest.mark.parametrize(
    "est",
    [BandpassFilter(zero_phase=False), NotchFilter(zero_phase=False), BaselineWanderRemoval(method="median")],
    ids=lambda e: type(e).__name__,
)
def test_sklearn_checks_on_single_lead_input(est):
    # scikit-learn's generic checks use 2-3 "features" (samples per lead); zero-phase
    # filters reject such short signals by design, causal filters and the median method do not.
    assert_sklearn_checks_pass(est)


# -- pipelines on real data ---------------------------------------------------------
def test_filter_select_generator_pipeline_cross_val(ludb):
    X = ludb[0][:40]
    pipe = make_pipeline(BandpassFilter(fs=FS), NotchFilter(fs=FS), LeadSelector(("I",)),
                         GaussianECGGenerator(random_state=0))
    scores = cross_val_score(pipe, X, cv=KFold(2, shuffle=True, random_state=0), error_score="raise")
    assert np.isfinite(scores).all()
    assert pipe.fit(X).sample(3).shape == (3, 1, 5000)


class LagLeastSquaresReconstructor(ReconstructorMixin, BaseEstimator):
    """Test stub: each lead as a least-squares FIR of lead I (lags -lag..lag)."""

    def __init__(self, lag=5):
        self.lag = lag

    def design_matrix(self, lead_i):
        x = lead_i[:, 0]
        cols = [np.roll(x, s, axis=-1) for s in range(-self.lag, self.lag + 1)]
        return np.stack(cols + [np.ones_like(x)], axis=-1)  # (n, T, n_lags + 1)

    def _fit(self, X, y=None, *, rng):  # the ReconstructorMixin hook
        A = self.design_matrix(X[:, :1]).reshape(-1, 2 * self.lag + 2).astype(np.float64)
        B = X.transpose(0, 2, 1).reshape(-1, X.shape[1]).astype(np.float64)
        self.coef_ = np.linalg.lstsq(A, B, rcond=None)[0]

    def _transform(self, X):  # the ReconstructorMixin hook
        return (self.design_matrix(X) @ self.coef_).transpose(0, 2, 1)


def test_filter_reconstructor_pipeline_cross_val(ludb):
    """Filters then a lead-I reconstructor, scored from lead I alone via LeadSelector."""
    X = ludb[0][:40]

    def score_from_lead_i(pipe, X_test, y=None):
        filtered = pipe[:-1].transform(X_test)
        lead_i = LeadSelector(("I",)).fit(filtered).transform(filtered)  # inference sees lead I only
        reconstructed = pipe[-1].transform(lead_i)
        assert reconstructed.shape == filtered.shape
        return float(np.mean(pearson_per_lead(filtered[:, 1:], reconstructed[:, 1:])))

    pipe = make_pipeline(BandpassFilter(fs=FS), NotchFilter(fs=FS), LagLeastSquaresReconstructor())
    cv = KFold(2, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, cv=cv, scoring=score_from_lead_i, error_score="raise")
    default = cross_val_score(pipe, X, cv=cv, error_score="raise")  # ReconstructorMixin.score
    np.testing.assert_allclose(scores, default, atol=1e-6)  # same thing, two roads
    # A linear map from lead I explains a real part of the other leads; a constant would score 0.
    assert np.all(scores > 0.2), scores


# -- behaviour --------------------------------------------------------------------------
def test_bandpass_and_notch_frequency_response():
    t = np.arange(8 * FS) / FS
    freqs = (0.1, 10.0, 50.0, 100.0)
    X = np.stack([np.sin(2 * np.pi * f * t)[None] for f in freqs]).astype(np.float32)
    mid = slice(2 * FS, 6 * FS)

    def gain(Y):  # amplitude of each record's own tone, by projection (edge transients excluded)
        return np.array([2 * abs(np.mean(Y[k, 0, mid] * np.exp(-2j * np.pi * f * t[mid]))) for k, f in enumerate(freqs)])

    bp = gain(BandpassFilter(fs=FS).fit_transform(X))
    assert bp[0] < 0.05 and bp[1] > 0.95 and bp[2] < 0.5 and bp[3] < 0.01, bp
    notch = gain(NotchFilter(fs=FS).fit_transform(X))
    assert notch[2] < 0.01 and notch[1] > 0.99 and notch[3] > 0.99, notch
    notch_h = gain(NotchFilter(fs=FS, harmonics=2).fit_transform(X))
    assert notch_h[3] < 0.01 and notch_h[2] < 0.01, notch_h
    assert NotchFilter(freq=60, harmonics=True, fs=FS).fit(X).freqs_ == (60.0, 120.0, 180.0, 240.0)


def test_baseline_wander_removal(ludb):
    X = ludb[0][:10] + np.linspace(0, 2, 5000, dtype=np.float32)  # add a 2 mV drift
    for method in ("highpass", "median"):
        Y = BaselineWanderRemoval(method=method, fs=FS).fit_transform(X)
        assert np.abs(np.median(Y[..., 500:-500], axis=-1)).max() < 0.2, method


def test_filter_chain_equals_sequential_filters_away_from_edges(ludb):
    X = ludb[0][:10]
    seq = NotchFilter(fs=FS).fit_transform(BandpassFilter(fs=FS).fit_transform(X))
    chain = FilterChain([BandpassFilter(fs=FS), NotchFilter(fs=FS)]).fit(X)
    assert chain.sos_.shape == (5, 6)
    out = chain.transform(X)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    # The 0.5 Hz high-pass rings for seconds, so the two edge treatments differ a little
    # well into the record; measured max 0.008 mV beyond 2 s from the edges.
    np.testing.assert_allclose(out[..., 1000:-1000], seq[..., 1000:-1000], atol=0.015)
    assert np.abs(out - seq)[..., 1000:-1000].mean() < 1e-3


def test_sos_designs_are_cached():
    a = BandpassFilter(fs=FS).fit(np.zeros((1, 1, 1000)))
    b = BandpassFilter(fs=FS).fit(np.zeros((1, 1, 1000)))
    assert a.sos_ is b.sos_ and not a.sos_.flags.writeable


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "est, match",
    [
        (BandpassFilter(high=40, fs=50), "Nyquist"),
        (BandpassFilter(low=0.5, high=300, fs=500), "Nyquist"),
        (BandpassFilter(low=40, high=20), "below high"),
        (BandpassFilter(fs=-500), "positive sampling rate"),
        (NotchFilter(freq=60, fs=100), "Nyquist"),
        (NotchFilter(freq=50, harmonics=5, fs=500), "harmonics must be .*Nyquist.*; got 5"),
        (BaselineWanderRemoval(method="spline"), "method"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseEstimator) else "",
)
def test_bad_parameters_raise_clear_errors(est, match, x_small):
    with pytest.raises(ValueError, match=match):
        est.fit(x_small)


@pytest.mark.parametrize("cls", [BandpassFilter, NotchFilter, FilterChain])
def test_too_short_for_filter_padding(cls, x_small):
    with pytest.raises(ValueError, match="edge|samples"):
        cls().fit(np.zeros((2, 1, 6), np.float32))
    fitted = cls().fit(x_small[:, :1])
    with pytest.raises(ValueError, match="samples"):
        fitted.transform(np.zeros((2, 1, 6), np.float32))


def test_nan_and_wrong_leads_raise(x_small):
    est = BandpassFilter().fit(x_small)
    assert_rejects_nan_and_wrong_leads(est, x_small)


# -- properties (hypothesis) --------------------------------------------------------------------
_linear = [
    BandpassFilter(fs=FS),
    BandpassFilter(low=None, high=30, order=2, zero_phase=False, fs=250),
    NotchFilter(fs=FS, harmonics=2),
    BaselineWanderRemoval(fs=FS),
    FilterChain(),
]


@pytest.mark.parametrize("est", _linear, ids=lambda e: repr(e))
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_linear_filter_properties(est, data):
    X, out = assert_linear(est, data)
    assert out.shape == X.shape
