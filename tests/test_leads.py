import numpy as np
import pytest

from ecgsk.leads import (
    LEADS_8,
    LEADS_12,
    canonical_lead_name,
    derive_12_from_8,
    lead_indices,
    select_8_from_12,
)


def test_constants():
    assert LEADS_12[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
    assert LEADS_8 == ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    assert set(LEADS_8) <= set(LEADS_12)


@pytest.mark.parametrize("raw,expected", [("i", "I"), ("avr", "aVR"), ("AVL", "aVL"), ("v6", "V6"), ("MLII", "II"), (" ii ", "II")])
def test_canonical_names(raw, expected):
    assert canonical_lead_name(raw) == expected


def test_lead_indices_and_unknown():
    assert lead_indices(["I", "avf", "v1"]) == [0, 5, 6]
    with pytest.raises(ValueError, match="unknown lead"):
        lead_indices(["V7"])


def test_derivation_follows_einthoven_goldberger(rng):
    X8 = rng.randn(3, 8, 50).astype(np.float32)
    X12 = derive_12_from_8(X8)
    lead_i, lead_ii = X8[:, 0], X8[:, 1]
    np.testing.assert_allclose(X12[:, 2], lead_ii - lead_i, atol=1e-6)
    np.testing.assert_allclose(X12[:, 3], -(lead_i + lead_ii) / 2, atol=1e-6)
    np.testing.assert_allclose(X12[:, 4], lead_i - lead_ii / 2, atol=1e-6)
    np.testing.assert_allclose(X12[:, 5], lead_ii - lead_i / 2, atol=1e-6)
    # aVR + aVL + aVF = 0 (Goldberger), and the precordial leads pass through.
    np.testing.assert_allclose(X12[:, 3] + X12[:, 4] + X12[:, 5], 0, atol=1e-5)
    np.testing.assert_array_equal(X12[:, 6:], X8[:, 2:])
    np.testing.assert_array_equal(select_8_from_12(X12), X8)
    assert X12.dtype == np.float32


def test_derivation_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="8"):
        derive_12_from_8(np.zeros((2, 12, 5)))
    with pytest.raises(ValueError, match="12"):
        select_8_from_12(np.zeros((2, 8, 5)))
