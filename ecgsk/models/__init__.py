"""Built-in models.  Each is registered as an ``ecgsk.models`` entry point; import
the submodule you need (``from ecgsk.models.pulse2pulse import Pulse2PulseGAN``)
or use :func:`ecgsk.make_model`.  Submodules import torch."""

_LAZY = {
    "Pulse2PulseGAN": "pulse2pulse",
    "LSTMGAN": "lstm_gan",
    "EKGAN": "ekgan",
    "Pix2PixReconstructor": "pix2pix",
    "LinearLeadReconstructor": "linear",
    "ConditionalVAE": "cvae",
    "CoxConditionalVAE": "cvae",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
