"""ecgsk.preprocessing.conditions: ConditionEncoder (per-record covariates to standardised numbers)."""

import numpy as np
import pandas as pd
import pytest

from ecgsk.preprocessing import ConditionEncoder


@pytest.fixture
def frame():
    return pd.DataFrame({"age": [30.0, 50.0, 70.0, 40.0], "sex": ["M", "F", "F", "M"],
                         "smoker": [True, False, True, True]})


def test_columns_are_standardised_with_training_statistics(frame):
    enc = ConditionEncoder().fit(frame)
    Z = enc.transform(frame)
    assert Z.dtype == np.float32 and Z.shape == (4, 3)
    assert enc.columns_ == ["age", "sex", "smoker"]
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=1e-6)
    # new rows use the training mean and scale
    new = enc.transform(frame.assign(age=[50.0, 50.0, 50.0, 50.0]))
    np.testing.assert_allclose(new[:, 0], (50.0 - enc.mean_[0]) / enc.scale_[0], rtol=1e-6)


def test_sex_codings_are_equivalent(frame):
    male = (frame["sex"] == "M").to_numpy()
    reference = ConditionEncoder().fit(frame).transform(frame)
    for sex in (np.where(male, "male", "female"), np.where(male, " Male", "FEMALE"), male.astype(int), male):
        other = frame.assign(sex=sex)
        np.testing.assert_allclose(ConditionEncoder().fit(other).transform(other), reference, atol=1e-6)


def test_male_codes_above_female(frame):
    Z = ConditionEncoder().fit(frame).transform(frame)
    assert Z[0, 1] > Z[1, 1]  # row 0 is M, row 1 is F


def test_two_level_text_in_sorted_order():
    frame = pd.DataFrame({"site": ["b", "a", "b", "a"]})
    Z = ConditionEncoder().fit(frame).transform(frame)
    assert Z[0, 0] > Z[1, 0]  # "a" -> 0, "b" -> 1 before standardising


def test_constant_column_does_not_divide_by_zero():
    frame = pd.DataFrame({"age": [50.0, 50.0, 50.0]})
    Z = ConditionEncoder().fit(frame).transform(frame)
    np.testing.assert_array_equal(Z, 0.0)


def test_columns_are_matched_by_name():
    frame = pd.DataFrame({"age": [30.0, 60.0], "bmi": [20.0, 30.0]})
    enc = ConditionEncoder().fit(frame)
    reordered = frame[["bmi", "age"]].assign(extra=[1, 2])
    np.testing.assert_array_equal(enc.transform(reordered), enc.transform(frame))
    with pytest.raises(ValueError, match="fitted with"):
        enc.transform(frame[["age"]])


@pytest.mark.parametrize(
    "fit_frame, bad_frame, match",
    [
        (pd.DataFrame({"region": ["n", "s", "e"]}), None, "One-hot"),
        (pd.DataFrame({"sex": ["M", "F"]}), pd.DataFrame({"sex": ["X"]}), "unknown value"),
        (pd.DataFrame({"age": [30.0, np.nan]}), None, "impute"),
    ],
    ids=["many-levels", "unknown-level", "missing"],
)
def test_unusable_columns_raise_clear_errors(fit_frame, bad_frame, match):
    with pytest.raises(ValueError, match=match):
        enc = ConditionEncoder().fit(fit_frame)
        enc.transform(bad_frame)
