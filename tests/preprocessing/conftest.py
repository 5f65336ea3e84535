"""Shared fixtures of the preprocessing tests: real data (loaded once per session) and a small batch.

Real data come from ``../shared/data`` through ecgsk's readers (the
``data_dir`` fixture; missing data is an error in CI).
"""

import pytest

from ecgsk.datasets import load_cpsc2019, load_ludb, make_synthetic_ecgs


@pytest.fixture(scope="session")
def ludb(data_dir):
    X, meta, delineation = load_ludb(data_dir / "ludb", return_delineation=True)
    return X, meta, delineation


@pytest.fixture(scope="session")
def cpsc(data_dir):
    return load_cpsc2019(data_dir / "cpsc2019")


@pytest.fixture(scope="session")
def x_small():
    """Two synthetic 12-lead records of 1000 samples at 500 Hz."""
    return make_synthetic_ecgs(2, n_leads=12, n_samples=1000, random_state=0)
