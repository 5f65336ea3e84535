"""Docstrings of the registered models document their parameters (numpydoc PR01 / PR02).

The documentation site (``docs/``, built in CI with ``sphinx -W``) runs the same
two checks over the whole public API; this test keeps the models' docstrings
honest without building the site: every public method of every registered model,
including ``conditions`` where a method takes it, documents each of its parameters
(PR01) and documents no parameter it does not have (PR02).
"""

import importlib.util
import inspect

import pytest
from _ci import skip_outside_ci

import ecgsk

# numpydoc comes with the docs extra (pip install -e ".[docs]"), which CI installs before the tests
if importlib.util.find_spec("numpydoc") is None:
    skip_outside_ci("numpydoc is not installed (pip install -e '.[docs]')", allow_module_level=True)

import numpydoc.validate  # noqa: E402

CHECKS = ("PR01", "PR02")
# methods scikit-learn, torch or the standard library define are documented there
_FOREIGN = ("sklearn", "torch", "collections", "_collections_abc", "builtins", "abc")


def _defined_in_ecgsk(obj):
    target = obj.fget if isinstance(obj, property) else obj
    target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None) or ""
    return module.split(".")[0] not in _FOREIGN and module != ""


def public_callables(cls):
    """Import paths of a class and of its public methods that ecgsk defines (inherited ones included).

    Parameters
    ----------
    cls : type

    Returns
    -------
    list of str
        ``"module.Class"`` and ``"module.Class.method"`` names, as ``numpydoc.validate.validate`` takes.
    """
    base = f"{cls.__module__}.{cls.__qualname__}"
    names = [base]
    for name, value in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        function = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
        if isinstance(raw, property) or not callable(function):
            continue
        if _defined_in_ecgsk(function):
            names.append(f"{base}.{name}")
    return names


def docstring_errors(names, checks=CHECKS):
    """numpydoc's errors of the given codes, one ``"name: CODE message"`` line each.

    Parameters
    ----------
    names : iterable of str
        Import paths of the objects to validate.
    checks : tuple of str, default=("PR01", "PR02")
        numpydoc error codes to keep.

    Returns
    -------
    list of str
    """
    lines = []
    for name in names:
        for code, message in numpydoc.validate.validate(name)["errors"]:
            if code in checks:
                lines.append(f"{name}: {code} {message}")
    return lines


def _model_classes():
    return [ecgsk.get_model(entry["name"]) for entry in ecgsk.list_models()
            if entry["distribution"] in (None, "ecgsk")]


def test_public_callables_finds_the_mixin_methods():
    from ecgsk.models import CoxConditionalVAE, EKGAN

    names = public_callables(CoxConditionalVAE)
    assert "ecgsk.models.cvae.CoxConditionalVAE.predict_risk" in names
    assert "ecgsk.models.cvae.CoxConditionalVAE.sample" in names
    assert "ecgsk.models.cvae.CoxConditionalVAE.fit" in names
    assert not any(name.endswith((".get_params", ".set_params", ".set_fit_request")) for name in names)
    assert "ecgsk.models.ekgan.EKGAN.fit" in public_callables(EKGAN)


def test_docstring_errors_reports_an_undocumented_parameter():
    name = f"{__name__}._undocumented"
    assert docstring_errors([name]) == [f"{name}: PR01 Parameters {{'b'}} not documented"]


def _undocumented(a, b):
    """A helper with one parameter left out.

    Parameters
    ----------
    a : int
        Documented.
    """


def test_registered_models_are_found():
    names = {cls.__name__ for cls in _model_classes()}
    assert {"Pulse2PulseGAN", "LSTMGAN", "EKGAN", "Pix2PixReconstructor", "LinearLeadReconstructor",
            "ConditionalVAE", "CoxConditionalVAE"} <= names


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
def test_every_public_method_documents_its_parameters(cls):
    names = public_callables(cls)
    errors = docstring_errors(names)
    assert not errors, f"{len(errors)} numpydoc PR01/PR02 errors in {cls.__name__}:\n" + "\n".join(errors)
