"""evaluate_generator: metrics against direct computations, verdicts on real LUDB data."""

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from ecgsk.evaluation import EvaluationReport, c2st_permutation_pvalue, evaluate_generator, prdc


@pytest.fixture(scope="module")
def ludb(data_dir):
    from ecgsk.datasets import load_ludb

    X, _ = load_ludb(data_dir / "ludb")
    rng = np.random.default_rng(0)
    p = rng.permutation(len(X))
    return X[p[:60]], X[p[60:90]], X[p[90:120]]  # real, held-out "synthetic", train


def test_prdc_matches_the_published_formulas_on_a_hand_checked_case():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [1.5], [10.0]])
    # k=1 radii: real -> 1 each; fake -> 1, 1, 8.5
    res = prdc(real, fake, k=1)
    assert res["precision"] == pytest.approx(2 / 3)  # 0.5 and 1.5 lie in real balls, 10 does not
    # recall: real points inside some fake ball: |0-0.5|<=1, |1-.5|, |2-1.5|, |3-1.5|>1 but 3 in ball(10, 8.5)? |3-10|=7<=8.5
    assert res["recall"] == pytest.approx(1.0)
    # density: 0.5 in balls of 0 and 1 (2), 1.5 in balls of 1 and 2 (2), 10 in none -> 4 / (1 * 3)
    assert res["density"] == pytest.approx(4 / 3)
    # coverage: nearest fake within radius 1 for 0 (0.5), 1, 2 (1.5); 3 -> 1.5 away: no
    assert res["coverage"] == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="k must be"):
        prdc(real, fake, k=3)


def test_c2st_pvalue_matches_brute_force_enumeration_of_fold_relabellings():
    import itertools

    rng = np.random.default_rng(0)
    folds = [np.arange(0, 7), np.arange(7, 13)]
    y = np.r_[1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    pred = np.where(rng.random(13) < 0.75, y, 1 - y)  # a classifier right about 3 times in 4
    observed = int((pred == y).sum())
    # every relabelling of each fold that keeps its class counts, equally likely under H0
    per_fold = []
    for idx in folds:
        n1 = int(y[idx].sum())
        counts = []
        for pos in itertools.combinations(range(len(idx)), n1):
            lab = np.zeros(len(idx), int)
            lab[list(pos)] = 1
            counts.append(int((lab == pred[idx]).sum()))
        per_fold.append(counts)
    totals = [c0 + c1 for c0 in per_fold[0] for c1 in per_fold[1]]
    expected = np.mean(np.array(totals) >= observed)
    assert c2st_permutation_pvalue(y, pred, folds) == pytest.approx(expected, rel=1e-12)
    assert c2st_permutation_pvalue(y, y, folds) == pytest.approx(1 / (35 * 20))  # C(7,3) C(6,3)
    assert c2st_permutation_pvalue(y, 1 - y, folds) == 1.0
    with pytest.raises(ValueError, match="binary"):
        c2st_permutation_pvalue(y, 2 * y, folds)
    with pytest.raises(ValueError, match="one length"):
        c2st_permutation_pvalue(y, y[:5], folds)


def test_metrics_agree_with_direct_computations():
    from ecgsk.datasets import make_synthetic_ecgs
    from ecgsk.metrics import ecg_features

    real = make_synthetic_ecgs(24, n_leads=2, n_samples=1500, random_state=0)
    fake = make_synthetic_ecgs(24, n_leads=2, n_samples=1500, random_state=1)
    report = evaluate_generator(real, fake, random_state=3, n_splits=1, figures=False)
    # n_splits=1: the value is one draw; recompute it from the same split and subsample
    rng = np.random.default_rng(3)
    from ecgsk.evaluation.generator import _spectrum_noise, _split

    _spectrum_noise(real, 12, rng)
    a, b = _split(24, None, rng)
    s = rng.choice(24, size=len(b), replace=False)
    Fr, names = ecg_features(real, 500, return_names=True)
    Ff = ecg_features(fake, 500)
    j = names.index("qrs_width")
    assert report["wasserstein[qrs_width_ms]"].value == pytest.approx(wasserstein_distance(Fr[a, j], Ff[s, j]))
    j = names.index("lead1_r_amp")
    assert report["wasserstein[R_amp_mV[lead1]]"].value == pytest.approx(wasserstein_distance(Fr[a, j], Ff[s, j]))
    mu, sd = Fr.mean(0), np.where(Fr.std(0) > 1e-12, Fr.std(0), 1.0)
    expected = prdc((Fr[a] - mu) / sd, (Ff[s] - mu) / sd, k=5)
    for k, v in expected.items():
        assert report[k].value == pytest.approx(v)
    # the logistic two-sample test: pooled out-of-fold accuracy and its permutation p-value
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=int(rng.integers(2**31)))
    Fx = np.vstack([(Fr[a] - mu) / sd, (Ff[s] - mu) / sd])
    y = np.r_[np.ones(len(a), int), np.zeros(len(s), int)]
    pred, held = np.empty_like(y), []
    for tr, te in folds.split(Fx, y):
        pred[te] = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(Fx[tr], y[tr]).predict(Fx[te])
        held.append(te)
    from ecgsk.metrics.features import ecg_measurements, measurement_names

    Mr, Mf, mnames = ecg_measurements(real), ecg_measurements(fake), measurement_names(2)
    for name in ("pr_ms", "qt_ms", "qtc_ms", "P_amp_mV[lead1]"):
        j = mnames.index(name)
        u, v = Mr[a, j], Mf[s, j]
        assert report[f"wasserstein[{name}]"].value == pytest.approx(
            wasserstein_distance(u[np.isfinite(u)], v[np.isfinite(v)]))
    found = np.isfinite(Mr[:, mnames.index("pr_ms")]), np.isfinite(Mf[:, mnames.index("pr_ms")])
    assert report["p_wave_found_gap"].value == pytest.approx(abs(found[0][a].mean() - found[1][s].mean()))
    assert report["c2st_accuracy[logistic]"].value == pytest.approx(np.mean(pred == y))
    assert report["c2st_pvalue[logistic]"].value == pytest.approx(c2st_permutation_pvalue(y, pred, held))
    assert report["c2st_pvalue[logistic]"].verdict == "info"


def test_input_shapes_and_not_applicable_metrics():
    from ecgsk.datasets import make_synthetic_ecgs

    beats = make_synthetic_ecgs(24, n_leads=1, n_samples=400, random_state=0)  # 0.8-s beats
    other = make_synthetic_ecgs(24, n_leads=1, n_samples=450, random_state=1)
    report = evaluate_generator(beats, other, random_state=0, n_splits=1, figures=False)
    for name in ("wasserstein[heart_rate_bpm]", "wasserstein[qtc_ms]"):  # QTc needs RR, like the rate
        assert not report[name].applicable
        assert "2.5 s" in report[name].reason
    assert not report["mmd2_signal"].applicable and "differ" in report["mmd2_signal"].reason
    assert not report["nn_distance_ratio"].applicable and not report["tstr_auroc"].applicable
    with pytest.raises(ValueError, match="same number of leads"):
        evaluate_generator(beats, make_synthetic_ecgs(24, n_leads=2, n_samples=400), figures=False)
    with pytest.raises(ValueError, match="n_splits"):
        evaluate_generator(beats, beats, n_splits=0, figures=False)
    with pytest.raises(ValueError, match="tolerances"):
        evaluate_generator(beats, beats, tolerances={"nope": 1}, figures=False)
    with pytest.raises(ValueError, match="real_labels"):
        evaluate_generator(beats, beats, real_labels=[0, 1], figures=False)


def _hann(t, start, width, amp):
    x = (t - start) / width
    return np.where((x >= 0) & (x <= 1), amp * np.sin(np.pi * np.clip(x, 0, 1)) ** 2, 0.0)


def _compact_ecgs(n, *, p_wave, seed, fs=500, duration=5.0):
    """Two-lead ECGs of raised-cosine waves, PR 140-200 ms, QT 360-420 ms, 55-85 bpm; optionally no P wave."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * fs)) / fs
    out = np.zeros((n, 2, len(t)))
    for i in range(n):
        rr, pr, qt = 60 / rng.uniform(55, 85), rng.uniform(0.14, 0.20), rng.uniform(0.36, 0.42)
        for r in np.arange(0.4, duration - 0.4, rr):
            qon = r - 0.04
            wave = _hann(t, qon, 0.02, -0.1) + _hann(t, qon + 0.02, 0.04, 1.0) + _hann(t, qon + 0.06, 0.02, -0.25)
            wave += _hann(t, qon + qt - 0.2, 0.2, 0.3) + (_hann(t, qon - pr, 0.1, 0.15) if p_wave else 0)
            out[i] += np.array([1.0, 0.7])[:, None] * wave
    return (out + 0.005 * rng.standard_normal(out.shape)).astype(np.float32)


def test_p_wave_measures_not_applicable_without_p_waves_and_failing_when_lost():
    no_p = evaluate_generator(_compact_ecgs(24, p_wave=False, seed=0), _compact_ecgs(24, p_wave=False, seed=1),
                              random_state=0, n_splits=2, figures=False)
    for name in ("wasserstein[pr_ms]", "wasserstein[P_amp_mV[lead0]]", "p_wave_found_gap"):
        assert not no_p[name].applicable and "P wave" in no_p[name].reason
    assert no_p["wasserstein[qt_ms]"].applicable and no_p["wasserstein[qtc_ms]"].applicable
    lost = evaluate_generator(_compact_ecgs(24, p_wave=True, seed=0), _compact_ecgs(24, p_wave=False, seed=1),
                              random_state=0, n_splits=2, figures=False)
    assert {"wasserstein[pr_ms]", "p_wave_found_gap", "wasserstein[P_amp_mV[lead0]]"} <= set(lost.failed)
    assert lost["p_wave_found_gap"].value > 0.9 and lost["p_wave_found_gap"].floor < 0.1
    assert "wasserstein[qt_ms]" not in lost.failed  # the QT of these sets is drawn alike


def test_reproducible_under_random_state():
    from ecgsk.datasets import make_synthetic_ecgs

    real = make_synthetic_ecgs(24, n_leads=1, n_samples=1000, random_state=0)
    fake = make_synthetic_ecgs(24, n_leads=1, n_samples=1000, random_state=1)
    r1 = evaluate_generator(real, fake, random_state=5, n_splits=2, figures=False)
    r2 = evaluate_generator(real, fake, random_state=5, n_splits=2, figures=False)
    assert r1.to_json() == r2.to_json()


def test_real_groups_keep_each_group_in_one_half_of_the_floor():
    from ecgsk.datasets import make_synthetic_ecgs

    # 12 records, each as 3 near-copies (beats of one record): without groups the copies straddle the
    # halves and the floor's nearest-neighbour coverage is near 1; with groups each half sees other records
    records = make_synthetic_ecgs(12, n_leads=1, n_samples=1000, random_state=0)
    rng = np.random.default_rng(0)
    real = np.repeat(records, 3, axis=0) + 0.001 * rng.standard_normal((36, 1, 1000)).astype(np.float32)
    groups = np.repeat(np.arange(12), 3)
    fake = make_synthetic_ecgs(36, n_leads=1, n_samples=1000, random_state=1)
    kw = dict(random_state=0, n_splits=3, figures=False, prdc_k=2)
    loose = evaluate_generator(real, fake, **kw)
    grouped = evaluate_generator(real, fake, real_groups=groups, **kw)
    assert grouped.meta["grouped"] and not loose.meta["grouped"]
    assert "group-disjoint" in grouped.reference
    assert grouped["mmd2_features"].floor > loose["mmd2_features"].floor + 0.05
    assert grouped["c2st_accuracy[logistic]"].floor > loose["c2st_accuracy[logistic]"].floor
    with pytest.raises(ValueError, match="at least two groups"):
        evaluate_generator(real, fake, real_groups=np.zeros(36), **kw)
    with pytest.raises(ValueError, match="real_groups must be 1-D"):
        evaluate_generator(real, fake, real_groups=groups[:-1], **kw)


def test_real_against_real_passes_on_ludb(ludb):
    real, held_out, _ = ludb
    report = evaluate_generator(real, held_out, random_state=0, n_splits=5, figures=False, reference="LUDB")
    assert isinstance(report, EvaluationReport)
    assert report.passed, report.failed
    assert "LUDB" in report.reference
    for model in ("logistic", "boosting"):  # real against real: the permutation test finds no difference
        assert report[f"c2st_pvalue[{model}]"].value > 0.05
        assert report[f"c2st_pvalue[{model}]"].floor > 0.05


@pytest.mark.parametrize("corruption, must_catch", [
    ("zeros", {"mmd2_features", "c2st_accuracy[logistic]", "coverage", "spectrum_distance[II]"}),
    ("white_noise", {"mmd2_features", "c2st_accuracy[logistic]", "spectrum_distance[II]"}),
    ("time_reversed", {"c2st_accuracy[logistic]", "wasserstein[T_amp_mV[V2]]"}),
])
def test_corrupted_sets_are_rejected_by_named_metrics(ludb, corruption, must_catch):
    real, held_out, _ = ludb
    rng = np.random.default_rng(1)
    fake = {"zeros": np.zeros_like(held_out),
            "white_noise": held_out + 0.05 * rng.standard_normal(held_out.shape).astype(np.float32),
            "time_reversed": np.ascontiguousarray(held_out[..., ::-1])}[corruption]
    report = evaluate_generator(real, fake, random_state=0, n_splits=3, figures=False)
    assert not report.passed
    assert must_catch <= set(report.failed), report.failed
    if corruption == "zeros":  # 30 against 30, perfectly told apart: p = 1 / prod_folds C(n_fold, n1_fold)
        assert report["c2st_pvalue[logistic]"].value < 1e-10
        assert report["c2st_pvalue[logistic]"].baselines["zeros"] < 1e-10


def test_copy_of_train_is_flagged_by_the_memorisation_metrics(ludb):
    real, _, train = ludb
    report = evaluate_generator(real, train.copy(), train=train, random_state=0, n_splits=3, figures=False)
    assert {"nn_distance_ratio", "membership_inference_auc"} <= set(report.failed)
    assert report["nn_distance_ratio"].value == pytest.approx(0.0, abs=1e-9)
    assert report["membership_inference_auc"].value > 0.9
