"""Pix2PixReconstructor and the windowed image-GAN base it shares with EKGAN: lead relations, training, pickling."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import KFold, cross_val_score

from ecgsk.models.ekgan import EKGAN
from ecgsk.models.pix2pix import Pix2PixReconstructor
from ecgsk.pipeline import ECGPipeline

from _checks import assert_einthoven_limb_leads
from _image_gans import MODELS, TINY


@pytest.mark.parametrize("name, cls", [("ekgan", EKGAN), ("pix2pix", Pix2PixReconstructor)])
def test_entry_points(name, cls):
    from ecgsk.registry import get_model

    assert get_model(name) is cls

@pytest.mark.parametrize("cls", MODELS)
def test_lead_i_identity_and_einthoven(cls, fitted, X12):
    out = fitted[cls].transform(X12[:, :1])
    assert out.shape == (8, 12, 300) and out.dtype == np.float32 and np.isfinite(out).all()
    assert_einthoven_limb_leads(out, X12[:, 0])
    np.testing.assert_allclose(fitted[cls].transform(X12), out, atol=1e-6)

@pytest.mark.parametrize("cls", MODELS)
def test_pickle_round_trip(cls, fitted, X12):
    again = pickle.loads(pickle.dumps(fitted[cls]))
    np.testing.assert_array_equal(fitted[cls].transform(X12), again.transform(X12))

@pytest.mark.parametrize("cls", MODELS)
def test_random_state_reproducible(cls, X12):
    a = cls(**TINY).fit(X12).transform(X12)
    b = cls(**TINY).fit(X12).transform(X12)
    np.testing.assert_array_equal(a, b)

@pytest.mark.parametrize("cls", MODELS)
def test_training_changes_every_network_and_logs_finite_losses(cls, X12):
    frozen = cls(**{**TINY, "lr": 1e-12}).fit(X12)
    trained = cls(**TINY).fit(X12)
    names = ["generator_", "discriminator_"] + (["label_generator_"] if cls is EKGAN else [])
    for name in names:
        before = getattr(frozen, name).state_dict()
        after = getattr(trained, name).state_dict()
        weights = [k for k in before if k.endswith("weight")]
        assert any(not torch.allclose(before[k], after[k]) for k in weights), name
    expected = {"d", "ig_adv", "ig_l1", "latent", "lg_l1"} if cls is EKGAN else {"d", "g_adv", "g_l1"}
    record = trained.history_[-1]
    assert set(record) >= expected | {"epoch", "dur"}
    assert all(np.isfinite(record[k]) for k in expected)
    assert trained.n_iter_ == 1

@pytest.mark.parametrize("cls", MODELS)
def test_warm_start_continues(cls, X12):
    model = cls(**{**TINY, "warm_start": True}).fit(X12)
    model.fit(X12)
    assert model.n_iter_ == 2 and [h["epoch"] for h in model.history_] == [1, 2]

def test_pipeline_cross_val_score_with_bandpass(X12):
    from ecgsk.preprocessing import BandpassFilter

    pipe = ECGPipeline([("bp", BandpassFilter(0.5, 40.0, fs=500)), ("rec", Pix2PixReconstructor(**TINY))])
    scores = cross_val_score(pipe, X12, cv=KFold(2, shuffle=True, random_state=0))
    assert np.isfinite(scores).all()
