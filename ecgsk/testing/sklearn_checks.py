"""scikit-learn's own checks on single-lead 2-D input, with the checks that cannot apply."""

import warnings

__all__ = ["SKLEARN_EXPECTED_FAILURES", "run_sklearn_checks"]


#: scikit-learn checks that cannot apply to ECG estimators, with the reason.
SKLEARN_EXPECTED_FAILURES = {
    "check_fit2d_1feature": "one sample per ECG is not a signal; filters need a minimum length",
    "check_fit2d_1sample": "a batch of one single-sample ECG is not a signal",
    "check_fit1d": "1-D input is rejected with a ValueError by design (DESIGN.md 1); sklearn expects it",
    "check_transformer_data_not_an_array": "sklearn's _NotAnArray wrapper is converted, but lead-count checks differ",
    "check_estimators_dtypes": "integer-coded random data are not ECGs in mV; float32 output by design",
    "check_transformer_general": "transformers return 3-D (n, leads, T) batches, sklearn expects 2-D",
    "check_transformer_preserve_dtypes": "ECG batches are float32 by the data contract, whatever the input dtype",
    "check_methods_sample_order_invariance": "generators have no per-sample predictions",
    "check_methods_subset_invariance": "generators have no per-sample predictions",
    "check_fit_idempotent": "3-D output compared as 2-D",
    "check_fit_check_is_fitted": "stateless filters are usable without fit",
    "check_n_features_in_after_fitting": "n_features_in_ counts leads; sklearn's error message check expects features",
    "check_dict_unchanged": "3-D output",
    "check_dont_overwrite_parameters": "fit records n_timepoints_in_, a public fitted attribute sklearn does not expect",
    "check_estimators_pickle": "3-D output compared as 2-D",
    "check_readonly_memmap_input": "3-D output compared as 2-D",
    "check_n_features_in": "n_features_in_ counts leads, which is 1 for 2-D single-lead input, not X.shape[1]",
}


def run_sklearn_checks(estimator, expected_failed_checks=None):
    """Run scikit-learn's own ``check_estimator`` on single-lead 2-D input.

    A 2-D array ``(n_ecgs, n_samples)`` is a valid single-lead batch, so
    scikit-learn's generic checks apply in part.  The checks listed in
    :data:`SKLEARN_EXPECTED_FAILURES` (plus ``expected_failed_checks``) are
    allowed to fail for the reasons given there.

    Parameters
    ----------
    estimator : estimator instance
        The estimator to check.
    expected_failed_checks : dict of str to str, optional
        Further check names that may fail, each with its reason.

    Returns
    -------
    list of dict
        scikit-learn's results.

    Raises
    ------
    AssertionError
        If a check outside the expected list fails.
    """
    from sklearn.utils.estimator_checks import check_estimator as sk_check_estimator

    expected = dict(SKLEARN_EXPECTED_FAILURES)
    expected.update(expected_failed_checks or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = sk_check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        lines = [f"{r['check_name']}: {type(r['exception']).__name__}: {r['exception']}" for r in failed]
        raise AssertionError("[sklearn_checks] unexpected scikit-learn check failures:\n" + "\n".join(lines))
    return results
