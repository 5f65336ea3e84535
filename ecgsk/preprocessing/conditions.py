"""Encoding of per-record covariates (age, sex, BMI ...) into standardised numbers.

NumPy and pandas only; used by the conditional models.
"""

import numpy as np
import pandas as pd

__all__ = ["ConditionEncoder"]

_SEX_CODES = {"m": 1.0, "male": 1.0, "man": 1.0, "f": 0.0, "female": 0.0, "woman": 0.0}


# -- conditions ------------------------------------------------------------------
class ConditionEncoder:
    """Turn a DataFrame of covariates into standardised float32 columns.

    Numeric and boolean columns are used as numbers.  A text column whose values
    are all sex codes (``M``/``F``, ``male``/``female``, ``0``/``1``, any case)
    becomes ``1`` for male and ``0`` for female; any other text column with at
    most two distinct values becomes ``0``/``1`` in sorted order of the values.
    Every column is then standardised with the mean and standard deviation of
    the training data.

    Attributes
    ----------
    columns_ : list of str
        The fitted column names, in order.
    mean_, scale_ : ndarray of shape (n_columns,)
        The standardisation of each encoded column (a constant column gets scale 1).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [40, 60], "sex": ["M", "F"]})
    >>> ConditionEncoder().fit(frame).transform(frame).tolist()
    [[-1.0, 1.0], [1.0, -1.0]]
    """

    def fit(self, frame):
        self.columns_ = [str(c) for c in frame.columns]
        self.maps_ = {}
        for col, name in zip(frame.columns, self.columns_):
            values = frame[col]
            if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
                self.maps_[name] = None
                continue
            numeric = pd.to_numeric(values, errors="coerce")
            if numeric.notna().all():
                self.maps_[name] = None
                continue
            codes = values.astype(str).str.strip().str.lower()
            levels = sorted(set(codes))
            if set(levels) <= set(_SEX_CODES) | {"0", "1"}:
                self.maps_[name] = {**_SEX_CODES, "0": 0.0, "1": 1.0}
            elif len(levels) <= 2:
                self.maps_[name] = {level: float(i) for i, level in enumerate(levels)}
            else:
                raise ValueError(
                    f"conditions column {name!r} is text with {len(levels)} levels ({levels[:5]}...); "
                    "only numeric, boolean, sex (M/F, male/female, 0/1) or two-level columns are accepted. "
                    "One-hot encode it first."
                )
        raw = self._encode(frame)
        self.mean_ = raw.mean(axis=0)
        scale = raw.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return self

    def _select(self, frame):
        names = [str(c) for c in frame.columns]
        if names == self.columns_:
            return frame
        if set(self.columns_) <= set(names):
            return frame[[frame.columns[names.index(c)] for c in self.columns_]]
        if names == [f"c{i}" for i in range(len(names))] and len(names) == len(self.columns_):
            return frame  # a plain array: columns by position
        raise ValueError(
            f"conditions have columns {names} but the model was fitted with {self.columns_}"
        )

    def _encode(self, frame):
        out = np.empty((len(frame), len(self.columns_)), dtype=np.float64)
        for j, name in enumerate(self.columns_):
            values = frame.iloc[:, j]
            mapping = self.maps_[name]
            if mapping is None:
                col = pd.to_numeric(values.astype(float) if pd.api.types.is_bool_dtype(values) else values,
                                    errors="coerce").to_numpy(dtype=np.float64)
            else:
                codes = values.astype(str).str.strip().str.lower()
                unknown = sorted(set(codes) - set(mapping))
                if unknown:
                    raise ValueError(f"conditions column {name!r} has unknown value(s) {unknown}; "
                                     f"known: {sorted(mapping)}")
                col = codes.map(mapping).to_numpy(dtype=np.float64)
            if not np.isfinite(col).all():
                raise ValueError(f"conditions column {name!r} has missing or non-numeric values; impute them first")
            out[:, j] = col
        return out

    def transform(self, frame):
        frame = self._select(frame)
        return ((self._encode(frame) - self.mean_) / self.scale_).astype(np.float32)
