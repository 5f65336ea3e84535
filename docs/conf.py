"""Sphinx configuration of ecgsk's documentation site.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(``pip install -e ".[docs]"`` first).  Sphinx with numpydoc, as scikit-learn,
sktime and skorch use: the docstrings are numpydoc already, and numpydoc's
validation checks that every public method documents its parameters.
"""

import inspect
import os
import sys
from datetime import date

# the package is installed editable; this also lets the build run from a plain checkout
sys.path.insert(0, os.path.abspath(".."))

import ecgsk  # noqa: E402  (torch-free)

project = "ecgsk"
author = "the ecgsk developers"
copyright = f"{date.today().year}, {author}"
release = ecgsk.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# -- Markdown (the existing pages in docs/) ------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links resolve

# -- API reference --------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # a module's __all__ is its public API
autosummary_imported_members = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc sections carry the types
add_module_names = False

# -- numpydoc -----------------------------------------------------------------------------
numpydoc_show_class_members = False  # the class template lists the methods itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# "Every public method documents its parameters": PR01 (a parameter is not documented) and
# PR02 (a documented parameter does not exist) fail the build through -W.
numpydoc_validation_checks = {"PR01", "PR02"}
numpydoc_validation_exclude = {
    r"\.__init__$",  # the class docstring documents the constructor
    r"^sklearn\.",
    r"^torch\.",
}

# numpydoc drops a section it does not know ("Floors", say) from the page with only a Python
# warning; make that an error, so that no docstring content disappears silently.
import warnings  # noqa: E402

warnings.filterwarnings("error", message="Unknown section", category=UserWarning, module="numpydoc")

# -- HTML ------------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"ecgsk {release}"
html_static_path = []

# -- what the API pages show -------------------------------------------------------------------
API_MODULES = [
    "ecgsk", "ecgsk.base", "ecgsk.models", "ecgsk.nn", "ecgsk.nn.callbacks", "ecgsk.preprocessing",
    "ecgsk.pipeline", "ecgsk.metrics", "ecgsk.evaluation", "ecgsk.io", "ecgsk.datasets", "ecgsk.plotting",
    "ecgsk.generation", "ecgsk.training", "ecgsk.registry", "ecgsk.exceptions", "ecgsk.testing", "ecgsk.utils",
]


def _foreign_duplicates():
    """Names re-exported from outside ecgsk by more than one module (e.g. scikit-learn's NotFittedError).

    autodoc registers such an object under its real name on every page that shows it, which Sphinx
    reports as a duplicate; all but the first page get ``:no-index:``.
    """
    import importlib

    seen, duplicates = set(), set()
    for modname in API_MODULES:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            real = getattr(obj, "__module__", None)
            if isinstance(obj, type) and real and not real.startswith("ecgsk"):
                key = f"{real}.{obj.__qualname__}"
                if key in seen:
                    duplicates.add(f"{modname}.{name}")
                seen.add(key)
    return duplicates


autosummary_context = {"no_index": sorted(_foreign_duplicates())}


def _constants():
    """Full names of the data in the API modules' ``__all__`` (``LEADS_8``, the scorer instances, ...)."""
    import importlib

    names = []
    for modname in API_MODULES:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)):
                names.append(f"{modname}.{name}")
    return names


# PR01/PR02 are about a callable's signature; a constant that happens to be callable (a scorer
# instance) is documented by its class
numpydoc_validation_exclude |= {"^" + name.replace(".", r"\.") + "$" for name in _constants()}

_FOREIGN = ("sklearn.", "torch.", "collections.", "_collections_abc", "builtins", "abc")


def _skip_foreign_member(app, what, name, obj, skip, options):
    """Show only methods and properties that ecgsk defines (not scikit-learn's, torch's or the stdlib's).

    Inherited scikit-learn methods (``get_params``, ``set_fit_request``, ``Pipeline.fit``, ...) are
    documented by scikit-learn; their docstrings point into scikit-learn's own site.
    """
    if what != "class" or skip:
        return None
    if inspect.isbuiltin(obj) or inspect.ismethoddescriptor(obj):  # dict.get of a dict subclass, ...
        return True
    target = obj.fget if isinstance(obj, property) else obj
    target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None) or ""
    if module.startswith(_FOREIGN) or module in _FOREIGN:
        return True
    return None


def _drop_type_docstring(app, what, name, obj, options, lines):
    """A constant (``LEADS_8``, ``SCORERS``, a scorer instance) shows its value, not its type's docstring.

    autodoc falls back to ``type(obj).__doc__`` for data without a ``#:`` comment, which would put
    "Built-in immutable sequence." under every tuple.
    """
    if what not in ("data", "attribute") or isinstance(obj, type) or not lines:
        return
    type_doc = inspect.getdoc(type(obj))
    if type_doc and "\n".join(lines).strip() == type_doc.strip():
        lines[:] = []


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
    app.connect("autodoc-process-docstring", _drop_type_docstring, priority=100)  # before numpydoc
