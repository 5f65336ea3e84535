"""Model discovery through the ``ecgsk.models`` entry-point group.

Built-in models register through ecgsk's own ``pyproject.toml``, so built-ins
and third-party plugins take the same road.  Discovery uses the standard
library's :mod:`importlib.metadata`; the ``entrypoints`` package is in
maintenance-only mode and itself points there.
"""

import warnings
from importlib import metadata

ENTRY_POINT_GROUP = "ecgsk.models"

__all__ = ["ENTRY_POINT_GROUP", "PluginWarning", "list_models", "get_model", "make_model", "model_kind"]


class PluginWarning(UserWarning):
    """A plugin could not be loaded; the other plugins are unaffected."""


def _distribution_name(entry_point):
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None else "<unknown distribution>"


def _entry_points():
    """Entry points of the group, with duplicate names detected.

    The same distribution can be visible twice (for example an editable install
    next to a build directory); such repeats are the same plugin and are merged.
    """
    found = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = _distribution_name(ep)
        if ep.name in found:
            other_ep, other_dist = found[ep.name]
            if other_dist == dist and other_ep.value == ep.value:
                continue
            raise RuntimeError(
                f"two plugins register the model name {ep.name!r} in group {ENTRY_POINT_GROUP!r}: "
                f"distribution {other_dist!r} ({other_ep.value}) and distribution {dist!r} ({ep.value}). "
                "Uninstall one of them or ask its author to rename the model."
            )
        found[ep.name] = (ep, dist)
    return found


def model_kind(cls):
    """``"generator"``, ``"reconstructor"``, ``"risk"``, or a combination joined by ``+``."""
    from .base import GeneratorMixin, ReconstructorMixin, RiskMixin

    kinds = [name for mixin, name in ((RiskMixin, "risk"), (GeneratorMixin, "generator"),
                                      (ReconstructorMixin, "reconstructor")) if issubclass(cls, mixin)]
    return "+".join(kinds) if kinds else "other"


def list_models():
    """List the discovered models.

    Returns
    -------
    list of dict
        One dict per loadable model with keys ``name``, ``kind``,
        ``distribution`` and ``object`` (``"module:Class"``), sorted by name.
        A plugin that fails to import produces a :class:`PluginWarning` naming
        its distribution and the error, and is left out.

    Examples
    --------
    >>> import ecgsk
    >>> names = [m["name"] for m in ecgsk.list_models()]  # doctest: +SKIP
    """
    rows = []
    for name, (ep, dist) in sorted(_entry_points().items()):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            warnings.warn(
                f"ecgsk plugin {name!r} from distribution {dist!r} failed to load ({ep.value}): "
                f"{type(exc).__name__}: {exc}",
                PluginWarning,
                stacklevel=2,
            )
            continue
        rows.append({"name": name, "kind": model_kind(cls), "distribution": dist, "object": ep.value})
    return rows


def get_model(name):
    """Return the model class registered under ``name``.

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known names.
    ImportError
        If the plugin is registered but fails to import; names its distribution.
    """
    entries = _entry_points()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise KeyError(f"unknown ecgsk model {name!r}; known models: {known}")
    ep, dist = entries[name]
    try:
        return ep.load()
    except Exception as exc:
        raise ImportError(
            f"ecgsk plugin {name!r} from distribution {dist!r} failed to load ({ep.value}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def make_model(name, **params):
    """Instantiate the model registered under ``name`` with ``params``.

    Examples
    --------
    >>> model = make_model("linear_reconstructor")  # doctest: +SKIP
    """
    return get_model(name)(**params)
