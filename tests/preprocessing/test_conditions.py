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


def test_columns_are_matched_by_name_and_unknown_or_missing_ones_raise():
    frame = pd.DataFrame({"age": [30.0, 60.0], "bmi": [20.0, 30.0]})
    enc = ConditionEncoder().fit(frame)
    np.testing.assert_array_equal(enc.transform(frame[["bmi", "age"]]), enc.transform(frame))
    with pytest.raises(ValueError, match=r"missing columns \['bmi'\]"):
        enc.transform(frame[["age"]])
    with pytest.raises(ValueError, match=r"unknown columns \['smoker'\]"):
        enc.transform(frame.assign(smoker=[1, 0]))  # never silently ignored


def test_one_subject_as_a_dict():
    enc = ConditionEncoder().fit(pd.DataFrame({"age": [30.0, 60.0], "sex": ["M", "F"]}))
    np.testing.assert_array_equal(enc.transform({"age": 60, "sex": "F"}), enc.transform(
        pd.DataFrame({"age": [60.0], "sex": ["F"]})))
    assert enc.transform({"age": [30, 60], "sex": ["M", "F"]}).shape == (2, 2)  # a dict of columns


def test_categorical_columns_are_one_hot():
    frame = pd.DataFrame({"rhythm": ["SR", "AF", "SB", "SR"], "age": [50, 60, 70, 80]})
    enc = ConditionEncoder().fit(frame)
    assert enc.kinds_ == {"rhythm": "categorical", "age": "numeric"}
    assert enc.feature_names_out_ == ["rhythm=AF", "rhythm=SB", "rhythm=SR", "age"]
    Z = enc.transform(frame)
    np.testing.assert_array_equal(Z[:, :3], [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="unknown value"):
        enc.transform({"rhythm": "VT", "age": 60})


def test_multi_label_columns_are_multi_hot():
    frame = pd.DataFrame({"age": [40, 50, 60, 70], "dx": [["NORM"], ["MI", "STTC"], [], "CD"]})
    enc = ConditionEncoder().fit(frame)
    assert enc.kinds_["dx"] == "multilabel"
    assert enc.feature_names_out_ == ["age", "dx=CD", "dx=MI", "dx=NORM", "dx=STTC"]
    Z = enc.transform(frame)
    np.testing.assert_array_equal(Z[:, 1:], [[0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]])
    # one subject with two labels: any scalar in the dict makes it one row
    one = enc.transform({"age": 60, "dx": ["MI", "STTC"]})
    assert one.shape == (1, 5)
    np.testing.assert_array_equal(one[0, 1:], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="unknown label"):
        enc.transform({"age": 60, "dx": ["HYP"]})
    with pytest.raises(ValueError, match="missing value"):
        enc.transform(pd.DataFrame({"age": [60], "dx": [None]}))


def test_far_out_of_range_values_warn():
    enc = ConditionEncoder().fit(pd.DataFrame({"age": np.linspace(20, 90, 15)}))
    with pytest.warns(UserWarning, match=r"'age'.*300.*far outside the training range \[20, 90\]"):
        enc.transform({"age": 300})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc.transform({"age": 95})  # a little outside: no warning
        enc.transform({"age": 15})
    with pytest.raises(ValueError, match="range_margin"):
        ConditionEncoder(range_margin=-1).fit(pd.DataFrame({"age": [1.0, 2.0]}))


@pytest.mark.parametrize(
    "fit_frame, bad_frame, match",
    [
        (pd.DataFrame({"sex": ["M", "F"]}), pd.DataFrame({"sex": ["X"]}), "unknown value"),
        (pd.DataFrame({"age": [30.0, np.nan]}), None, "impute"),
    ],
    ids=["unknown-level", "missing"],
)
def test_unusable_columns_raise_clear_errors(fit_frame, bad_frame, match):
    with pytest.raises(ValueError, match=match):
        enc = ConditionEncoder().fit(fit_frame)
        enc.transform(bad_frame)
