"""Shared set-up of the EKGAN and Pix2Pix tests: the two models, a tiny configuration, and their fixtures."""

import pytest

from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.models.ekgan import EKGAN
from ecgsk.models.pix2pix import Pix2PixReconstructor

MODELS = [EKGAN, Pix2PixReconstructor]
TINY = {"window": 64, "width": 2, "max_epochs": 1, "batch_size": 8, "device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def X12():
    return make_synthetic_ecgs(8, n_leads=12, n_samples=300, random_state=0)


@pytest.fixture(scope="module")
def fitted(X12):
    return {cls: cls(**TINY).fit(X12) for cls in MODELS}
