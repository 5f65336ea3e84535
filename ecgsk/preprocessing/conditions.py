"""Encoding of per-record covariates (age, sex, BMI, diagnoses ...) into numbers for the conditional models.

NumPy, pandas and scikit-learn only (no torch).
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.preprocessing import MultiLabelBinarizer, OneHotEncoder, StandardScaler

from ..utils.validation import check_conditions

__all__ = ["ConditionEncoder"]

_SEX_CODES = {"m": 1.0, "male": 1.0, "man": 1.0, "f": 0.0, "female": 0.0, "woman": 0.0}
_LIST_TYPES = (list, tuple, set, frozenset, np.ndarray)


def _is_missing(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


def _labels(value, name):
    """One multi-label cell as a sorted list of str: a list/tuple/set, or one label as a string."""
    if isinstance(value, _LIST_TYPES):
        return sorted(str(v).strip() for v in value)
    if _is_missing(value):
        raise ValueError(f"conditions column {name!r} has a missing value; give an empty list for 'no label'")
    return [str(value).strip()]


class ConditionEncoder:
    """Turn per-record covariates into float32 columns for a conditional model.

    Each column gets one of four kinds, found in ``fit``:

    - **numeric** (numbers, booleans, or text that parses as numbers): standardised
      with the training mean and standard deviation (:class:`~sklearn.preprocessing.StandardScaler`).
    - **binary**: text whose values are all sex codes (``M``/``F``,
      ``male``/``female``, ``0``/``1``, any case; male = 1, female = 0), or
      any other text with two distinct values (0/1 in sorted order); then
      standardised like a number.
    - **categorical**: text with more than two values, one-hot encoded
      (:class:`~sklearn.preprocessing.OneHotEncoder`), one 0/1 column per value.
    - **multi-label**: a column whose cells are lists (diagnoses, e.g.
      PTB-XL superclasses ``["MI", "STTC"]``), multi-hot encoded
      (:class:`~sklearn.preprocessing.MultiLabelBinarizer`), one 0/1 column
      per label; a string cell is one label, an empty list none.

    ``transform`` takes a DataFrame, a 2-D array (columns by position), or a
    dict: one subject (``{"age": 60, "sex": "M", "dx": ["MI"]}``: any scalar
    value makes the dict one row) or columns of values.

    Parameters
    ----------
    range_margin : float, default=3.0
        ``transform`` warns (``UserWarning``) when a numeric value lies more
        than ``range_margin`` training standard deviations below the
        training minimum or above the training maximum (``age=300`` for a
        model fitted on ages 20-90).

    Attributes
    ----------
    columns_ : list of str
        The fitted column names, in order.
    kinds_ : dict of str -> str
        ``"numeric"``, ``"binary"``, ``"categorical"`` or ``"multilabel"`` per column.
    maps_ : dict of str -> dict or None
        The value -> 0/1 map of each binary column (None for the others).
    encoders_ : dict of str -> OneHotEncoder or MultiLabelBinarizer
        The fitted encoder of each categorical and multi-label column.
    scaler_ : StandardScaler or None
        The standardisation of the numeric and binary columns, in ``columns_`` order.
    min_, max_ : dict of str -> float
        Training range of each numeric column.
    feature_names_out_ : list of str
        Names of the encoded columns: the column name for numeric and binary
        columns, ``"column=value"`` for one-hot and multi-hot ones.
    mean_, scale_ : ndarray of shape (n_features_out,)
        What ``transform`` subtracts and divides by, per encoded column (0 and
        1 for one-hot and multi-hot columns; a constant column gets scale 1).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [40, 60], "sex": ["M", "F"], "dx": [["MI"], ["NORM", "STTC"]]})
    >>> enc = ConditionEncoder().fit(frame)
    >>> enc.feature_names_out_
    ['age', 'sex', 'dx=MI', 'dx=NORM', 'dx=STTC']
    >>> enc.transform({"age": 60, "sex": "F", "dx": ["MI"]}).tolist()
    [[1.0, -1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, range_margin=3.0):
        self.range_margin = range_margin

    # -- fit ---------------------------------------------------------------------------
    def fit(self, conditions):
        """Learn the kind and encoding of every column.

        Parameters
        ----------
        conditions : DataFrame, dict or array-like of shape (n_records, n_covariates)

        Returns
        -------
        self
        """
        if isinstance(self.range_margin, bool) or not isinstance(self.range_margin, (int, float)) \
                or not self.range_margin >= 0:
            raise ValueError(f"range_margin must be a number >= 0; got {self.range_margin!r}")
        frame = check_conditions(conditions)
        self.columns_ = [str(c) for c in frame.columns]
        if len(set(self.columns_)) != len(self.columns_):
            raise ValueError(f"conditions have duplicated column names: {self.columns_}")
        self.kinds_, self.maps_, self.encoders_, self.min_, self.max_ = {}, {}, {}, {}, {}
        for j, name in enumerate(self.columns_):
            values = frame.iloc[:, j]
            self.maps_[name] = None
            if values.map(lambda v: isinstance(v, _LIST_TYPES)).any():
                self.kinds_[name] = "multilabel"
                self.encoders_[name] = MultiLabelBinarizer().fit([_labels(v, name) for v in values])
                continue
            if values.map(_is_missing).any():
                raise ValueError(f"conditions column {name!r} has missing values; impute them first")
            if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values) \
                    or pd.to_numeric(values, errors="coerce").notna().all():
                self.kinds_[name] = "numeric"
                col = self._numeric(values, name)
                self.min_[name], self.max_[name] = float(col.min()), float(col.max())
                continue
            codes = values.astype(str).str.strip().str.lower()
            levels = sorted(set(codes))
            if set(levels) <= set(_SEX_CODES) | {"0", "1"}:
                self.kinds_[name] = "binary"
                self.maps_[name] = {**_SEX_CODES, "0": 0.0, "1": 1.0}
            elif len(levels) <= 2:
                self.kinds_[name] = "binary"
                self.maps_[name] = {level: float(i) for i, level in enumerate(levels)}
            else:
                self.kinds_[name] = "categorical"
                text = values.astype(str).str.strip().to_numpy()[:, None]
                self.encoders_[name] = OneHotEncoder(sparse_output=False, handle_unknown="error",
                                                     dtype=np.float64).fit(text)
        scaled = [n for n in self.columns_ if self.kinds_[n] in ("numeric", "binary")]
        self.scaler_ = StandardScaler().fit(self._scalar_block(frame, scaled)) if scaled else None
        names, mean, scale = [], [], []
        for name in self.columns_:
            kind = self.kinds_[name]
            if kind in ("numeric", "binary"):
                k = scaled.index(name)
                names.append(name)
                mean.append(float(self.scaler_.mean_[k]))
                scale.append(float(self.scaler_.scale_[k]))
            else:
                levels = self._levels(name)
                names += [f"{name}={level}" for level in levels]
                mean += [0.0] * len(levels)
                scale += [1.0] * len(levels)
        self.feature_names_out_ = names
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.scale_ = np.asarray(scale, dtype=np.float64)
        return self

    def _levels(self, name):
        enc = self.encoders_[name]
        return [str(v) for v in (enc.classes_ if self.kinds_[name] == "multilabel" else enc.categories_[0])]

    @staticmethod
    def _numeric(values, name):
        if pd.api.types.is_bool_dtype(values):
            values = values.astype(float)
        col = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(col).all():
            raise ValueError(f"conditions column {name!r} has missing or non-numeric values; impute them first")
        return col

    def _binary(self, values, name):
        codes = values.astype(str).str.strip().str.lower()
        mapping = self.maps_[name]
        unknown = sorted(set(codes) - set(mapping))
        if unknown:
            raise ValueError(f"conditions column {name!r} has unknown value(s) {unknown}; known: {sorted(mapping)}")
        return codes.map(mapping).to_numpy(dtype=np.float64)

    def _scalar_block(self, frame, names):
        cols = []
        for name in names:
            values = frame[name] if name in frame.columns else frame.iloc[:, self.columns_.index(name)]
            cols.append(self._numeric(values, name) if self.kinds_[name] == "numeric" else self._binary(values, name))
        return np.column_stack(cols)

    # -- transform -----------------------------------------------------------------------
    def _select(self, frame):
        names = [str(c) for c in frame.columns]
        if names == [f"c{i}" for i in range(len(names))] and len(names) == len(self.columns_) \
                and names != self.columns_:
            frame = frame.copy()
            frame.columns = self.columns_  # a plain array: columns by position
            return frame
        unknown = [n for n in names if n not in self.columns_]
        missing = [n for n in self.columns_ if n not in names]
        if unknown or missing:
            parts = ([f"unknown columns {unknown}"] if unknown else []) + \
                    ([f"missing columns {missing}"] if missing else [])
            raise ValueError(f"conditions have {' and '.join(parts)}; the model was fitted with {self.columns_}")
        frame = frame.copy()
        frame.columns = names
        return frame[self.columns_]

    def _warn_out_of_range(self, name, col):
        std = self.scale_[self.feature_names_out_.index(name)]
        low, high = self.min_[name] - self.range_margin * std, self.max_[name] + self.range_margin * std
        outside = (col < low) | (col > high)
        if outside.any():
            warnings.warn(
                f"conditions column {name!r} has value(s) {sorted(set(col[outside].tolist()))[:5]} far outside "
                f"the training range [{self.min_[name]:g}, {self.max_[name]:g}] (more than {self.range_margin:g} "
                "training standard deviations beyond it); the model extrapolates there",
                UserWarning, stacklevel=3)

    def transform(self, conditions):
        """Encode covariates with the fitted encoding.

        Parameters
        ----------
        conditions : DataFrame, dict or array-like of shape (n_records, n_covariates)
            The fitted columns, no more and no fewer (in any order).

        Returns
        -------
        ndarray of float32, shape (n_records, len(``feature_names_out_``))

        Raises
        ------
        ValueError
            For an unknown or missing column, a missing value, or a category,
            binary value or label not seen in ``fit``.
        """
        frame = self._select(check_conditions(conditions))
        blocks = []
        for name in self.columns_:
            values = frame[name]
            kind = self.kinds_[name]
            if kind == "numeric":
                col = self._numeric(values, name)
                self._warn_out_of_range(name, col)
                blocks.append(col[:, None])
            elif kind == "binary":
                blocks.append(self._binary(values, name)[:, None])
            elif kind == "categorical":
                codes = values.astype(str).str.strip()
                unknown = sorted(set(codes) - set(self._levels(name)))
                if unknown:
                    raise ValueError(f"conditions column {name!r} has unknown value(s) {unknown}; "
                                     f"known: {self._levels(name)}")
                blocks.append(self.encoders_[name].transform(codes.to_numpy()[:, None]))
            else:
                cells = [_labels(v, name) for v in values]
                unknown = sorted({lab for cell in cells for lab in cell} - set(self._levels(name)))
                if unknown:
                    raise ValueError(f"conditions column {name!r} has unknown label(s) {unknown}; "
                                     f"known: {self._levels(name)}")
                blocks.append(self.encoders_[name].transform(cells).astype(np.float64))
        raw = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
        return ((raw - self.mean_) / self.scale_).astype(np.float32)

    def fit_transform(self, conditions):
        """``fit(conditions).transform(conditions)``.

        Parameters
        ----------
        conditions : DataFrame, dict or array-like of shape (n_records, n_covariates)
            The covariates to learn the encoding from and to encode.

        Returns
        -------
        ndarray of float32, shape (n_records, len(``feature_names_out_``))
        """
        return self.fit(conditions).transform(conditions)

    def get_feature_names_out(self, input_features=None):
        """The names of the encoded columns (``feature_names_out_``) as an array of str.

        Parameters
        ----------
        input_features : None
            Ignored; the encoded names come from the fitted columns
            (scikit-learn's signature).

        Returns
        -------
        ndarray of object
        """
        return np.asarray(self.feature_names_out_, dtype=object)
