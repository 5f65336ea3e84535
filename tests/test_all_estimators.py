"""Every check over every registered model and every transformer in ecgsk.preprocessing.

This replaces the per-file conformance tests: a new built-in (or an installed
plugin) is checked as soon as its entry point is registered.
"""

import importlib


import ecgsk
from ecgsk.preprocessing import ALL_TRANSFORMERS
from ecgsk.testing import parametrize_with_checks

MODELS = tuple(ecgsk.get_model(row["name"]) for row in ecgsk.list_models() if row["distribution"] == "ecgsk")


def test_every_builtin_entry_point_is_checked():
    names = {row["name"] for row in ecgsk.list_models() if row["distribution"] == "ecgsk"}
    assert {"pulse2pulse", "lstm_gan", "ekgan", "pix2pix", "linear_reconstructor", "cvae", "cox_cvae"} <= names
    assert len(MODELS) == len(names)


def test_every_preprocessing_transformer_is_listed():
    module = importlib.import_module("ecgsk.preprocessing")
    from ecgsk.base import BaseECGTransformer

    public = {getattr(module, name) for name in module.__all__}
    transformers = {obj for obj in public if isinstance(obj, type) and issubclass(obj, BaseECGTransformer)}
    assert transformers <= set(ALL_TRANSFORMERS)


@parametrize_with_checks(MODELS + tuple(ALL_TRANSFORMERS))
def test_ecgsk_compatible(estimator, check):
    assert check(estimator) == "passed"
