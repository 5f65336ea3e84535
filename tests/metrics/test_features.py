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
    from ecgsk.metrics.features import ecg_measurements, measurement_names

    Mx = ecg_measurements(X)  # undefined is NaN, never inf
    assert Mx.shape == (len(X), len(measurement_names(X.shape[1]))) and not np.isinf(Mx).any()


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


# ---------------------------------------------------------------------------
# clinical measurements (ecg_measurements)
# ---------------------------------------------------------------------------
from ecgsk.metrics.features import ecg_measurements, measurement_names  # noqa: E402


def _hann(t, start, width, amp):
    """A raised-cosine bump from ``start`` to ``start + width`` (s): exact onset and end."""
    x = (t - start) / width
    return np.where((x >= 0) & (x <= 1), amp * np.sin(np.pi * np.clip(x, 0, 1)) ** 2, 0.0)


def _beats_with_intervals(pr, qt, *, p_amp=(0.15, -0.10), hr=60.0, duration=10.0, fs=500, p_wave=True):
    """Two-lead ECGs of compact waves: P onset = QRS onset - pr, T end = QRS onset + qt (s)."""
    t = np.arange(int(duration * fs)) / fs
    rr = 60.0 / hr
    leads = [np.zeros_like(t), np.zeros_like(t)]
    scale = (1.0, 0.6)
    for r in np.arange(0.5, duration - 0.5, rr):
        qon = r - 0.04
        for i in range(2):
            if p_wave:
                leads[i] += _hann(t, qon - pr, 0.10, p_amp[i])
            leads[i] += scale[i] * (_hann(t, qon, 0.02, -0.1) + _hann(t, qon + 0.02, 0.04, 1.0)
                                    + _hann(t, qon + 0.06, 0.02, -0.25))
            leads[i] += scale[i] * _hann(t, qon + qt - 0.20, 0.20, 0.35)
    return np.stack(leads)[None].astype(np.float32)


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 700)),
        elements=st.floats(-50, 50, allow_nan=False, width=32),
    ),
    st.sampled_from([1, 10, 100, 250, 360, 500, 1000]),
)
def test_measurements_nan_or_finite_property(X, fs):
    Mx = ecg_measurements(X, fs=fs)
    assert Mx.shape == (X.shape[0], len(measurement_names(X.shape[1])))
    assert not np.isinf(Mx).any()  # undefined is NaN, everything else finite


def test_measurement_names_match_columns():
    X = make_synthetic_ecgs(2, n_leads=3, n_samples=2000, random_state=0)
    Mx, names = ecg_measurements(X, return_names=True)
    assert Mx.shape == (2, len(names)) == (2, 6 + 4 * 3)
    assert names[:6] == ["heart_rate_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms"]
    assert names == measurement_names(3) and "P_amp_mV[lead0]" in names
    with pytest.raises(ValueError, match="n_leads"):
        measurement_names(0)


@pytest.mark.parametrize("pr, qt", [(0.14, 0.36), (0.20, 0.44), (0.17, 0.40)])
def test_pr_qt_qtc_and_p_amplitude_on_beats_of_known_intervals(pr, qt):
    X = _beats_with_intervals(pr, qt)
    Mx, names = ecg_measurements(X, return_names=True)
    m = dict(zip(names, Mx[0]))
    assert m["heart_rate_bpm"] == pytest.approx(60.0, abs=1.0)
    # threshold crossings sit a few ms inside the bumps' exact ends
    assert m["pr_ms"] == pytest.approx(pr * 1000, abs=20)
    assert m["qt_ms"] == pytest.approx(qt * 1000, abs=25)
    assert m["qrs_ms"] == pytest.approx(80, abs=20)
    # Fridericia, computed directly from the measured QT and RR
    assert m["qtc_ms"] == pytest.approx(m["qt_ms"] / np.cbrt(m["rr_ms"] / 1000.0), rel=1e-9)
    assert m["P_amp_mV[lead0]"] == pytest.approx(0.15, abs=0.03)
    assert m["P_amp_mV[lead1]"] == pytest.approx(-0.10, abs=0.03)  # the sign follows the lead


def test_interval_differences_are_measured_without_bias():
    a = ecg_measurements(_beats_with_intervals(0.14, 0.36), return_names=True)
    b = ecg_measurements(_beats_with_intervals(0.20, 0.44))
    names = a[1]
    assert b[0, names.index("pr_ms")] - a[0][0, names.index("pr_ms")] == pytest.approx(60, abs=6)
    assert b[0, names.index("qt_ms")] - a[0][0, names.index("qt_ms")] == pytest.approx(80, abs=8)
    fast = ecg_measurements(_beats_with_intervals(0.16, 0.36, hr=100.0))[0]
    # same QT, RR 0.6 s: QTc = QT / 0.6^(1/3) is longer than at 60 bpm
    assert fast[names.index("qtc_ms")] == pytest.approx(fast[names.index("qt_ms")] / np.cbrt(0.6), rel=0.03)


def test_undefined_measurements_are_nan():
    names = measurement_names(2)
    no_p = ecg_measurements(_beats_with_intervals(0.16, 0.40, p_wave=False))[0]
    assert np.isnan(no_p[names.index("pr_ms")]) and np.isnan(no_p[names.index("P_amp_mV[lead0]")])
    assert np.isfinite(no_p[names.index("qt_ms")]) and np.isfinite(no_p[names.index("R_amp_mV[lead0]")])
    beat = _beats_with_intervals(0.16, 0.40, duration=1.2)  # one beat (R at 0.5 s): no RR
    one = ecg_measurements(beat)[0]
    assert np.isnan(one[names.index("heart_rate_bpm")]) and np.isnan(one[names.index("qtc_ms")])
    assert one[names.index("qt_ms")] == pytest.approx(400, abs=25)
    flat = ecg_measurements(np.zeros((1, 2, 5000)))[0]
    assert np.isnan(flat[names.index("pr_ms")]) and np.isnan(flat[names.index("qt_ms")])


def test_measurements_agree_with_features_and_chunking():
    X = make_synthetic_ecgs(5, n_leads=3, n_samples=3000, random_state=4)
    F, fnames = M.ecg_features(X, return_names=True)
    Mx, names = ecg_measurements(X, return_names=True)
    np.testing.assert_allclose(Mx[:, names.index("R_amp_mV[lead1]")], F[:, fnames.index("lead1_r_amp")])
    np.testing.assert_allclose(Mx[:, names.index("qrs_ms")], F[:, fnames.index("qrs_width")])
    np.testing.assert_allclose(Mx, ecg_measurements(X, chunk_size=2), rtol=1e-10, equal_nan=True)


def test_ludb_delineation_errors(data_dir):
    """PR and QT against LUDB's lead-II cardiologist delineation (the calibration set): MAE 8.8 / 17.7 ms over all 200."""
    import wfdb

    from ecgsk.datasets import load_ludb

    X, meta = load_ludb(data_dir / "ludb")
    X, records = X[:60], list(meta["record"][:60])
    Mx, names = ecg_measurements(X, return_names=True)
    pr_err, qt_err = [], []
    for i, rec in enumerate(records):
        ann = wfdb.rdann(str(data_dir / "ludb" / "data" / str(rec)), "ii")
        sym, smp = list(ann.symbol), np.asarray(ann.sample)
        waves = [(sym[k], smp[k - 1], smp[k + 1]) for k in range(1, len(sym) - 1)
                 if sym[k] in "pNt" and sym[k - 1] == "(" and sym[k + 1] == ")"]
        prs, qts = [], []
        for j, (s, on, off) in enumerate(waves):
            if s != "N":
                continue
            before = [w for w in waves[:j] if w[0] == "p" and on - w[1] < 200]
            after = [w for w in waves[j + 1:] if w[0] == "t" and w[2] - on < 350]
            if before:
                prs.append((on - before[-1][1]) * 2.0)
            if after:
                qts.append((after[0][2] - on) * 2.0)
        if prs and np.isfinite(Mx[i, names.index("pr_ms")]):
            pr_err.append(Mx[i, names.index("pr_ms")] - np.median(prs))
        if qts and np.isfinite(Mx[i, names.index("qt_ms")]):
            qt_err.append(Mx[i, names.index("qt_ms")] - np.median(qts))
    assert len(pr_err) > 40 and len(qt_err) > 50
    assert np.mean(np.abs(pr_err)) < 15 and np.mean(np.abs(qt_err)) < 30
