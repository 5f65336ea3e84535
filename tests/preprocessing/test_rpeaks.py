"""ecgsk.preprocessing.rpeaks: R-peak detection (single- and multi-lead) and heart rate, on real data."""

import numpy as np
import pytest

from ecgsk.datasets import load_mitdb, make_synthetic_ecgs
from ecgsk.metrics import peak_detection_f1
from ecgsk.preprocessing import RPeakDetector, detect_rpeaks, heart_rate, qrs_magnitude

from _checks import assert_rejects_nan_and_wrong_leads

FS = 500


def ludb_lead_ii_reference(delineation):
    """QRS peaks marked in lead II, and the annotated span of each record."""
    refs, spans = [], []
    for rec in delineation:
        waves = rec["II"]
        refs.append(waves.loc[waves["wave"] == "QRS", "peak"].to_numpy())
        marks = np.concatenate([waves[c].to_numpy() for c in ("onset", "peak", "offset")])
        marks = marks[marks >= 0]
        spans.append((marks.min(), marks.max()))
    return refs, spans


# -- bad input --------------------------------------------------------------------------
def test_low_fs_raises_clear_error(x_small):
    with pytest.raises(ValueError, match="fs >= 100"):
        RPeakDetector(fs=50).fit(x_small)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "pan-tompkins"}, r"^detect_rpeaks: method must be one of 'neurokit', 'xqrs'; got 'pan-tompkins'"),
    ({"combine": "mean"}, r"^detect_rpeaks: combine must be"),
    ({"fs": 50}, r"^detect_rpeaks: fs must be .*fs >= 100"),
    ({"min_votes": 13}, r"^detect_rpeaks: min_votes must be an integer in \[1, 12\] for 12-lead input; got 13"),
])
def test_detect_rpeaks_rejects_bad_arguments(kwargs, match, x_small):
    from ecgsk.preprocessing import detect_rpeaks

    with pytest.raises(ValueError, match=match):
        detect_rpeaks(x_small, **kwargs)


def test_heart_rate_names_itself_in_argument_errors(x_small):
    with pytest.raises(ValueError, match=r"^heart_rate: combine must be"):
        heart_rate(x_small, combine="mean")


def test_nan_and_wrong_leads_raise(x_small):
    est = RPeakDetector().fit(x_small)
    assert_rejects_nan_and_wrong_leads(est, x_small)


# -- R peaks on real data ------------------------------------------------------------------
def test_rpeaks_cpsc2019(cpsc):
    X, refs = cpsc
    det = RPeakDetector(fs=FS).fit(X)
    peaks = det.detect(X)
    assert peak_detection_f1(peaks, refs, tol=int(0.075 * FS)) >= 0.88
    mask = det.transform(X[:5])
    assert mask.shape == (5, 1, 5000)
    assert [np.flatnonzero(m[0]).tolist() for m in mask] == [p.tolist() for p in peaks[:5]]


def test_rpeaks_mitdb_first_five_minutes(data_dir):
    X, fs, samples, symbols = load_mitdb(data_dir / "mitdb", record="100")
    n = int(300 * fs)
    beats = np.isin(np.asarray(symbols, dtype=object), list("NLRBAaJSVrFejnE/fQ?"))
    ref = np.asarray(samples)[beats & (np.asarray(samples) < n)]
    peaks = RPeakDetector(fs=float(fs)).fit(X[:, :1, :n]).detect(X[:, :1, :n])
    assert peak_detection_f1(peaks, [ref], tol=int(0.15 * fs)) >= 0.99


def test_rpeaks_xqrs_method(cpsc):
    X, refs = cpsc
    peaks = RPeakDetector(fs=FS, method="xqrs").fit(X[:10]).detect(X[:10])
    assert all(p.dtype == np.int64 for p in peaks)
    assert peak_detection_f1(peaks, refs[:10], tol=int(0.075 * FS)) >= 0.6


def test_rpeaks_multilead_beats_single_lead_on_ludb(ludb):
    X, _, delineation = ludb
    refs, spans = ludb_lead_ii_reference(delineation)
    tol = int(0.075 * FS)
    multi = peak_detection_f1(RPeakDetector(fs=FS).fit(X).detect(X), refs, tol, spans)
    single = peak_detection_f1(RPeakDetector(fs=FS).fit(X[:, 1:2]).detect(X[:, 1:2]), refs, tol, spans)
    assert multi >= 0.99 and multi >= single, (multi, single)


# -- heart rate ------------------------------------------------------------------------------
def test_heart_rate_matches_synthetic_rate_and_flags_flat_records():
    X = make_synthetic_ecgs(3, n_leads=12, heart_rate=(60, 60), random_state=1)
    assert np.allclose(heart_rate(X), 60.0, atol=2.0)
    fast = make_synthetic_ecgs(2, n_leads=12, heart_rate=(110, 110), random_state=1)
    assert np.allclose(heart_rate(fast), 110.0, atol=3.0)
    flat = heart_rate(np.zeros((1, 12, 5000)))
    assert flat.shape == (1,) and np.isnan(flat[0])
    with pytest.raises(ValueError, match="heart_rate"):
        heart_rate(X, fs=-1)


def test_heart_rate_on_ludb_matches_annotated_qrs_complexes(ludb):
    X, _, delineation = ludb
    idx = np.arange(0, 200, 10)
    hr = heart_rate(X[idx])
    ref = []
    for i in idx:
        qrs = delineation[i]["II"].query("wave == 'QRS'")["peak"].to_numpy()
        ref.append(60.0 * 500 / np.median(np.diff(np.sort(qrs))))
    # the cardiologists' QRS marks of lead II give the same rate within 2 bpm in at least 90% of records
    assert np.mean(np.abs(hr - np.array(ref)) < 2.0) >= 0.9


# -- issue 15: minimum lengths and parameter ranges (regression tests) -------------------------
def test_short_records_raise_ecgsk_error_with_the_length_needed():
    # issue 15: heart_rate on 20 samples raised SciPy's padlen error
    from ecgsk.preprocessing import min_rpeak_samples

    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"heart_rate: .*20 samples.*at least 375 samples"):
        heart_rate(rng.standard_normal((1, 1, 20)))
    with pytest.raises(ValueError, match=r"detect_rpeaks: .*at least 151 samples"):
        detect_rpeaks(rng.standard_normal((1, 1, 20)), method="xqrs")
    with pytest.raises(ValueError, match="qrs_magnitude: .*at least"):
        qrs_magnitude(rng.standard_normal((1, 2, 20)))
    # the stated minimum is exact: one sample fewer is refused by ecgsk, the minimum itself works
    for fs in (100, 257.3, 500, 1000):
        for method in ("neurokit", "xqrs"):
            for n_leads in (1, 3):
                need = min_rpeak_samples(fs, method, n_leads)
                with pytest.raises(ValueError, match=f"at least {need} samples"):
                    detect_rpeaks(rng.standard_normal((1, n_leads, need - 1)), fs, method=method)
                assert len(detect_rpeaks(rng.standard_normal((1, n_leads, need)), fs, method=method)) == 1


@pytest.mark.parametrize("param", [{"vote_tolerance": -1}, {"refine": -1}, {"min_votes": 0},
                                   {"vote_tolerance": float("nan")}])
def test_negative_detection_parameters_are_refused(param):
    # issue 15: vote_tolerance=-1 found 0 peaks and refine=-1 was accepted
    X = np.zeros((1, 3, 2000), np.float32)
    name = next(iter(param))
    with pytest.raises(ValueError, match=f"detect_rpeaks: {name} must be"):
        detect_rpeaks(X, **param)
    with pytest.raises(ValueError, match=f"heart_rate: {name} must be"):
        heart_rate(X, **param)


def test_qrs_magnitude_checks_fs():
    with pytest.raises(ValueError, match="qrs_magnitude: fs must be"):
        qrs_magnitude(np.zeros((1, 2, 2000), np.float32), fs=-1)
