"""Fuzz suite (issue 15 item 6): random shapes, dtypes and values against the public API.

For every transformer in :data:`ecgsk.preprocessing.ALL_TRANSFORMERS` (the list
tests/test_all_estimators.py uses), every public metric of :mod:`ecgsk.metrics`
and :func:`ecgsk.utils.validation.check_ecg_array`, hypothesis-generated arrays
(``hypothesis.extra.numpy``) only ever produce

- a result that is finite whenever the input was finite, or
- a ``ValueError`` or ``TypeError`` raised by ecgsk itself (the innermost
  frame of the traceback is in the ecgsk package), never a third-party
  library's error passed through.

Bounded: few examples per target, no deadline, no example database, so the
whole module runs in about a minute.  The readers' fuzz tests live with the
readers (tests/io).  Failing examples found here are kept as explicit
regression tests in the test module of the module that was fixed.
"""

import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ecgsk
from ecgsk import metrics as M
from ecgsk.preprocessing import ALL_TRANSFORMERS
from ecgsk.utils.validation import check_ecg_array

ECGSK_DIR = Path(ecgsk.__file__).resolve().parent
FUZZ = settings(max_examples=30, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = st.sampled_from(["float64", "float32", "float16", "int16", "int32", "uint8", "bool"])


@st.composite
def ecg_batches(draw, max_ecgs=3, leads=(1, 2, 3, 8), max_samples=800, finite=None):
    """(array, is_finite): a small ECG-like array of a random dtype, sometimes with NaN/inf or huge values."""
    dtype = np.dtype(draw(DTYPES))
    shape = (draw(st.integers(1, max_ecgs)), draw(st.sampled_from(leads)), draw(st.integers(1, max_samples)))
    if dtype.kind == "f":
        allow_bad = draw(st.booleans()) if finite is None else not finite
        elements = st.floats(-1e4, 1e4, width=min(dtype.itemsize * 8, 64))
        if allow_bad:
            elements = elements | st.sampled_from([np.nan, np.inf, -np.inf])
    elif dtype.kind == "b":
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        elements = st.integers(max(int(info.min), -5000), min(int(info.max), 5000))
    X = draw(arrays(dtype, shape, elements=elements, fill=elements))
    return X, bool(np.isfinite(X.astype(np.float64)).all())


def _raised_by_ecgsk(exc):
    """Whether the innermost frame of ``exc``'s traceback is in the ecgsk package."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(ECGSK_DIR)


def _call(fn, *args, **kwargs):
    """Run ``fn``; return its result, or None for an allowed ecgsk ValueError/TypeError; fail otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        if not _raised_by_ecgsk(exc):
            pytest.fail(f"{getattr(fn, '__name__', fn)} let a third-party {type(exc).__name__} through: {exc}\n"
                        + "".join(traceback.format_exception(exc)[-6:]))
        return None


def _assert_finite(value, finite_input, what):
    if not finite_input or value is None:
        return
    leaves = value if isinstance(value, (list, tuple)) else [value]
    for leaf in leaves:
        arr = np.asarray(leaf)
        if arr.dtype.kind in "fc":
            assert np.isfinite(arr).all(), f"{what}: non-finite output from finite input"


# -- check_ecg_array -------------------------------------------------------------------------
@FUZZ
@given(data=ecg_batches(max_samples=50), squeeze=st.booleans())
def test_fuzz_check_ecg_array(data, squeeze):
    X, finite = data
    X = X[:, 0] if squeeze else X
    out = _call(check_ecg_array, X)
    if out is not None:
        assert out.dtype == np.float32 and out.ndim == 3
        assert np.isfinite(out).all()  # it never returns non-finite values, whatever the input


@FUZZ
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=5), dtype=DTYPES)
def test_fuzz_check_ecg_array_shapes(shape, dtype):
    out = _call(check_ecg_array, np.zeros(shape, dtype=dtype))
    if out is not None:
        assert out.ndim == 3 and min(out.shape) >= 1 and len(shape) in (2, 3)


# -- transformers ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL_TRANSFORMERS, ids=lambda c: c.__name__)
def test_fuzz_transformers(cls):
    params = cls.get_test_params()[0]

    @FUZZ
    @given(data=ecg_batches())
    def run(data):
        X, finite = data
        est = _call(cls(**params).fit, X)
        if est is None:
            return
        out = _call(est.transform, X)
        _assert_finite(out, finite, cls.__name__)

    run()


# -- metrics -----------------------------------------------------------------------------------
PAIRED = [M.rmse, M.prd, M.prd_seed, M.pearson_per_lead]


@pytest.mark.parametrize("metric", PAIRED, ids=lambda f: f.__name__)
def test_fuzz_paired_metrics(metric):
    @FUZZ
    @given(data=ecg_batches(max_samples=200), noise=st.floats(-10, 10), reshape=st.booleans())
    def run(data, noise, reshape):
        X, finite = data
        Y = X.astype(np.float64) + noise
        if reshape:  # a shape mismatch must be ecgsk's error
            Y = Y[:, :, : max(1, Y.shape[2] - 1)]
        _assert_finite(_call(metric, X, Y), finite, metric.__name__)

    run()


UNPAIRED = [M.mmd, M.frechet_feature_distance, M.classifier_two_sample_test,
            lambda X, Y: M.mmd(X, Y, features=True), lambda X, Y: M.mmd_seed(X[:, :, :64], Y[:, :, :64]),
            lambda X, Y: M.memorization_ratio(X, Y, Y[::-1])]


@pytest.mark.parametrize("metric", UNPAIRED, ids=["mmd", "frechet", "c2st", "mmd_features", "mmd_seed", "memo"])
def test_fuzz_unpaired_metrics(metric):
    @FUZZ
    @given(X=ecg_batches(max_ecgs=6, leads=(1, 2), max_samples=300),
           Y=ecg_batches(max_ecgs=6, leads=(1, 2), max_samples=300))
    def run(X, Y):
        (X, fx), (Y, fy) = X, Y
        _assert_finite(_call(metric, X, Y), fx and fy, getattr(metric, "__name__", "metric"))

    run()


@FUZZ
@given(data=ecg_batches(max_samples=1200), fs=st.sampled_from([100, 250, 500, 1e-3, 0, -1]),
       chunk_size=st.sampled_from([None, 1, 2, 0, -1]))
def test_fuzz_ecg_features(data, fs, chunk_size):
    X, finite = data
    _assert_finite(_call(M.ecg_features, X, fs, chunk_size=chunk_size), finite, "ecg_features")


@FUZZ
@given(event=arrays(np.int8, st.integers(1, 12), elements=st.integers(0, 1)),
       time=st.floats(0, 1e6) | st.floats(-1, 0) | st.just(np.nan), risk=st.floats(-1e6, 1e6),
       data=st.data())
def test_fuzz_concordance_index(event, time, risk, data):
    n = len(event)
    times = data.draw(arrays(np.float64, n, elements=st.floats(0, 1e6) | st.sampled_from([time])))
    risks = data.draw(arrays(np.float64, n, elements=st.floats(-1e6, 1e6) | st.sampled_from([risk])))
    value = _call(M.concordance_index, np.column_stack([event, times]), risks)
    if value is not None:
        assert 0.0 <= value <= 1.0


@FUZZ
@given(det=st.lists(st.lists(st.integers(-100, 5000), max_size=20), min_size=1, max_size=3),
       tol=st.floats(-5, 50) | st.just(np.nan), data=st.data())
def test_fuzz_peak_detection_f1(det, tol, data):
    ref = data.draw(st.lists(st.lists(st.integers(0, 5000), max_size=20), min_size=len(det), max_size=len(det)))
    value = _call(M.peak_detection_f1, det, ref, tol)
    if value is not None:
        assert 0.0 <= value <= 1.0


@FUZZ
@given(n_leads=st.integers(-2, 14) | st.floats(-1, 3) | st.none())
def test_fuzz_feature_names(n_leads):
    names = _call(M.feature_names, n_leads)
    if names is not None:
        assert len(names) == len(set(names))
