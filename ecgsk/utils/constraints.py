"""Declared parameter constraints, checked once by the mixins in ``fit``.

A model lists its hyper-parameters' constraints in the public class attribute
``parameter_constraints``, in the style of scikit-learn's
``_parameter_constraints``: a dict from parameter name to a list of accepted
forms.  A value is valid when it satisfies at least one of them.  The forms are

- ``None``: the value None;
- a type such as ``bool``, ``str`` or ``numbers.Integral`` (booleans never
  count as numbers);
- :class:`Interval`: a range of integers or reals; a bound may name another
  parameter (``Interval(Integral, 1, "window")``);
- :class:`Options`: a fixed set of values;
- :class:`Satisfies`: any other rule, given as a predicate and the words that
  describe it;
- the strings ``"random_state"`` (None, an int or a RandomState) and
  ``"callable"``.

This module is NumPy-only and imports nothing else from ecgsk (layer 1).

Examples
--------
>>> from numbers import Integral, Real
>>> constraints = {"width": [Interval(Integral, 1, None)],
...                "lr": [Interval(Real, 0, None, closed="neither")],
...                "ties": [Options("breslow", "efron")]}
>>> validate_params({"width": 4, "lr": 1e-3, "ties": "efron"}, constraints, owner="Model")
>>> validate_params({"width": 0, "lr": 1e-3, "ties": "efron"}, constraints, owner="Model")
Traceback (most recent call last):
...
ValueError: Model: width must be an integer in [1, inf); got 0
"""

import math
import numbers

import numpy as np

__all__ = ["Interval", "Options", "Satisfies", "validate_params", "describe_constraint", "TORCH_PARAMETER_CONSTRAINTS"]


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


class Interval:
    """A range of integers or real numbers.

    Parameters
    ----------
    kind : {numbers.Integral, numbers.Real}
        ``Integral`` accepts integers only; ``Real`` accepts any finite real
        number, integers included.  Booleans, NaN and infinities never pass.
    left, right : number, str or None
        The bounds; None is unbounded.  A string names another parameter whose
        value is the bound.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds are included.
    multiple_of : int, optional
        For integers, require a multiple of this number.
    """

    def __init__(self, kind, left, right, *, closed="both", multiple_of=None):
        if kind not in (numbers.Integral, numbers.Real):
            raise TypeError(f"Interval kind must be numbers.Integral or numbers.Real; got {kind!r}")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither'; got {closed!r}")
        self.kind, self.left, self.right, self.closed, self.multiple_of = kind, left, right, closed, multiple_of

    def _bound(self, bound, params):
        if isinstance(bound, str):
            value = params.get(bound)
            return value if isinstance(value, numbers.Real) and not _is_bool(value) else None
        return bound

    def is_satisfied_by(self, value, params):
        if _is_bool(value) or not isinstance(value, self.kind):
            return False
        if not math.isfinite(value):
            return False
        left, right = self._bound(self.left, params), self._bound(self.right, params)
        if left is not None and (value < left or (value == left and self.closed in ("right", "neither"))):
            return False
        if right is not None and (value > right or (value == right and self.closed in ("left", "neither"))):
            return False
        return self.multiple_of is None or value % self.multiple_of == 0

    def __str__(self):
        what = "an integer" if self.kind is numbers.Integral else "a finite number"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        text = f"{what} in {lb}{lo}, {hi}{rb}"
        if self.multiple_of is not None:
            text += f" and a multiple of {self.multiple_of}"
        return text


class Options:
    """One of a fixed set of values (compared with ``==``, booleans kept apart from 0/1).

    Parameters
    ----------
    *values : object
        The accepted values.

    Examples
    --------
    >>> Options("breslow", "efron").is_satisfied_by("efron", {})
    True
    """

    def __init__(self, *values):
        self.values = values

    def is_satisfied_by(self, value, params):
        for option in self.values:
            if _is_bool(option) != _is_bool(value):
                continue
            try:
                if value == option:
                    return True
            except Exception:  # arrays and other values without a plain ==
                continue
        return False

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


class Satisfies:
    """A rule given as a predicate, for what ranges and options cannot say.

    Parameters
    ----------
    predicate : callable ``(value, params) -> bool``
        ``params`` is the dict of all the estimator's parameters, for rules
        that relate two of them.
    description : str
        Words that complete "must be ...", e.g. ``"'random' unless risk_conditions=True"``.
    """

    def __init__(self, predicate, description):
        self.predicate, self.description = predicate, description

    def is_satisfied_by(self, value, params):
        try:
            return bool(self.predicate(value, params))
        except Exception:
            return False

    def __str__(self):
        return self.description


def _type_name(kind):
    names = {numbers.Integral: "an integer", numbers.Real: "a real number", bool: "True or False",
             str: "a string", type(None): "None"}
    return names.get(kind, f"an instance of {getattr(kind, '__name__', kind)}")


def _satisfies(constraint, value, params):
    if constraint is None:
        return value is None
    if constraint == "random_state":
        return value is None or isinstance(value, np.random.RandomState) or (
            isinstance(value, numbers.Integral) and not _is_bool(value) and 0 <= value < 2**32)
    if constraint == "callable":
        return callable(value)
    if isinstance(constraint, type):
        if constraint in (numbers.Integral, numbers.Real, int, float) and _is_bool(value):
            return False
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value, params)


def describe_constraint(constraint):
    """Words for one accepted form, as used in error messages.

    Parameters
    ----------
    constraint : object
        ``None``, ``"random_state"``, ``"callable"``, a type, or a constraint
        object (:class:`Interval`, :class:`Options`, :class:`Satisfies`).

    Returns
    -------
    str

    Examples
    --------
    >>> describe_constraint(None)
    'None'
    """
    if constraint is None:
        return "None"
    if constraint == "random_state":
        return "None, an int in [0, 2**32) or a numpy RandomState"
    if constraint == "callable":
        return "a callable"
    if isinstance(constraint, type):
        return _type_name(constraint)
    return str(constraint)


def validate_params(params, constraints, *, owner=None):
    """Check parameter values against declared constraints.

    Parameters
    ----------
    params : dict
        Parameter name to value (``estimator.get_params(deep=False)``).
    constraints : dict
        Parameter name to a list of accepted forms (see the module docstring),
        or the string ``"no_validation"``.  Parameters without an entry are
        not checked.
    owner : str, optional
        The estimator's name, prefixed to the message.

    Raises
    ------
    ValueError
        For the first parameter whose value satisfies none of its forms; the
        message names the parameter, what is accepted and what was given.
    TypeError
        If a constraint is declared for a name that is not a parameter.
    """
    prefix = f"{owner}: " if owner else ""
    for name, accepted in constraints.items():
        if name not in params:
            raise TypeError(f"{prefix}a constraint is declared for {name!r}, which is not a parameter")
        if accepted == "no_validation":
            continue
        value = params[name]
        if not any(_satisfies(c, value, params) for c in accepted):
            words = [describe_constraint(c) for c in accepted]
            expected = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
            raise ValueError(f"{prefix}{name} must be {expected}; got {value!r}")


def _is_betas(value, params):
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(b, numbers.Real) and not _is_bool(b) and 0 <= b < 1 for b in value))


#: Constraints shared by the torch models' common parameters.
TORCH_PARAMETER_CONSTRAINTS = {
    "device": [str, Satisfies(lambda value, params: type(value).__name__ == "device", "a torch.device")],
    "random_state": ["random_state"],
    "verbose": [Interval(numbers.Integral, 0, None), bool],
    "warm_start": [bool],
    "max_epochs": [Interval(numbers.Integral, 0, None)],
    "batch_size": [Interval(numbers.Integral, 1, None)],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "betas": [Satisfies(_is_betas, "a pair of numbers in [0, 1)")],
}
