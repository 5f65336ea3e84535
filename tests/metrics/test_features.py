"""Tests for ecgsk.metrics.features: ecg_features and feature_names."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ecgsk import metrics as M
from ecgsk.datasets import make_synthetic_ecgs


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------
def test_feature_names_match_columns():
    for n_leads in (1, 2, 8, 12):
        X = make_synthetic_ecgs(2, n_leads=n_leads, n_samples=1000, random_state=0)
        F, names = M.ecg_features(X, return_names=True)
        assert F.shape == (2, len(names)) == (2, len(M.feature_names(n_leads)))
        assert len(set(names)) == len(names)
    assert M.feature_names(12)[:2] == ["I_std", "I_p01"]
    assert "corr_I_II" in M.feature_names(12)
    assert M.feature_names(8)[14] == "II_std"


@pytest.mark.parametrize(
    "X",
    [
        np.zeros((3, 12, 5000)),
        np.zeros((2, 1, 400)),
        np.ones((2, 2, 400)),
        np.zeros((1, 1, 1)),
        np.zeros((2, 3, 2)),
        np.full((2, 1, 50), 1e4),
    ],
    ids=["zeros-12x5000", "zeros-beat", "constant", "one-sample", "two-samples", "large-constant"],
)
def test_features_finite_on_degenerate_input(X):
    F = M.ecg_features(X)
    assert np.isfinite(F).all()
    assert F.shape == (len(X), len(M.feature_names(X.shape[1])))


def test_features_heart_rate_and_morphology_on_synthetic():
    rates = [50.0, 72.0, 110.0]
    X = np.concatenate(
        [make_synthetic_ecgs(2, n_leads=12, heart_rate=(r, r), hrv=0.0, random_state=i) for i, r in enumerate(rates)]
    )
    F, names = M.ecg_features(X, return_names=True)
    col = {n: F[:, i] for i, n in enumerate(names)}
    np.testing.assert_allclose(col["heart_rate"], np.repeat(rates, 2), rtol=0.04)
    assert (col["rr_cv"] < 0.05).all()
    # the simulator's QRS (Q at -25 ms, S at +28 ms, widths 10-12 ms) spans ~60-100 ms
    assert ((col["qrs_width"] > 30) & (col["qrs_width"] < 130)).all()
    # amplitudes: R in V4 ~1.4 mV, deep S in V2 (~-1.4 mV), upright T in V3
    assert (col["V4_r_amp"] > 0.8).all() and (col["V2_s_amp"] < -0.8).all() and (col["V3_t_amp"] > 0.15).all()
    # leads derived from I and II are correlated as expected: aVR ~ -(I+II)/2
    assert (col["corr_II_aVR"] < -0.8).all()


def test_features_on_single_beats_fall_back_without_nan():
    X = make_synthetic_ecgs(4, n_leads=8, n_samples=400, heart_rate=(60, 60), random_state=0)
    F, names = M.ecg_features(X, return_names=True)
    assert np.isfinite(F).all()
    hr = F[:, names.index("heart_rate")]
    assert ((hr == 0) | ((hr > 30) & (hr < 200))).all()  # 0 flags "undefined"
    assert (F[:, names.index("II_r_amp")] > 0.3).all()


def test_features_chunking_is_invariant():
    X = make_synthetic_ecgs(5, n_leads=3, n_samples=1500, random_state=3)
    np.testing.assert_allclose(M.ecg_features(X), M.ecg_features(X, chunk_size=2), rtol=1e-10, atol=1e-12)


def test_features_reject_bad_input():
    with pytest.raises(ValueError):
        M.ecg_features(np.full((2, 1, 10), np.nan))
    with pytest.raises(ValueError, match="fs"):
        M.ecg_features(np.zeros((2, 1, 10)), fs=0)


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 700)),
        elements=st.floats(-50, 50, allow_nan=False, width=32),
    ),
    st.sampled_from([1, 10, 100, 250, 360, 500, 1000]),
)
def test_features_finite_property(X, fs):
    F = M.ecg_features(X, fs=fs)
    assert F.shape == (X.shape[0], len(M.feature_names(X.shape[1])))
    assert np.isfinite(F).all()


def test_ludb_sinus_heart_rates(data_dir):
    from ecgsk.datasets import load_ludb

    X, meta = load_ludb(data_dir / "ludb")
    F, names = M.ecg_features(X[:40], return_names=True)
    hr = F[:, names.index("heart_rate")]
    sinus = meta["diagnoses"][:40].apply(lambda d: any("sinus" in s.lower() for s in d)).to_numpy()
    assert sinus.sum() >= 20
    assert ((hr[sinus] > 40) & (hr[sinus] < 150)).all(), hr[sinus]
    qrs = F[:, names.index("qrs_width")]
    assert 60 < np.median(qrs) < 120  # LUDB delineation: median QRS ~92 ms
    assert np.isfinite(F).all()


def test_cpsc2019_heart_rate_against_reference_r_peaks(data_dir):
    from ecgsk.datasets import load_cpsc2019

    X, r_peaks = load_cpsc2019(data_dir / "cpsc2019")
    F, names = M.ecg_features(X, fs=500, return_names=True)
    hr = F[:, names.index("heart_rate")]
    ref = np.array([60.0 / np.median(np.diff(np.sort(np.ravel(r)))) * 500 for r in r_peaks])
    err = np.abs(hr - ref)
    assert np.median(err) < 3.0  # noisy, partly arrhythmic records: most within a few bpm
    assert np.mean(err < 10.0) > 0.7


# -- issue 15: parameter ranges (regression tests) ---------------------------------------------
@pytest.mark.parametrize("params, match", [
    ({"chunk_size": -1}, "ecg_features: chunk_size must be None or an integer in"),  # returned np.empty garbage
    ({"chunk_size": 0}, "ecg_features: chunk_size must be"),
    ({"chunk_size": 1.5}, "ecg_features: chunk_size must be"),
    ({"fs": float("inf")}, "ecg_features: fs must be"),
    ({"fs": -1}, "ecg_features: fs must be"),
])
def test_ecg_features_range_checks_its_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        M.ecg_features(np.zeros((3, 1, 500), np.float32), **params)
