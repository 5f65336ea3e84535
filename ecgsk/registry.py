"""Model discovery through the ``ecgsk.models`` entry-point group.

Built-in models register through ecgsk's own ``pyproject.toml``, so built-ins
and third-party plugins take the same road.  Discovery uses the standard
library's :mod:`importlib.metadata`; the ``entrypoints`` package is in
maintenance-only mode and itself points there.
"""

import warnings
from importlib import metadata

from .exceptions import PluginWarning

ENTRY_POINT_GROUP = "ecgsk.models"

__all__ = ["ENTRY_POINT_GROUP", "PluginWarning", "list_models", "get_model", "make_model", "model_kind"]


def _distribution_name(entry_point):
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "<unknown distribution>"
    try:
        return dist.name or _dist_path_name(dist)
    except Exception:  # unreadable METADATA
        return _dist_path_name(dist)


def _dist_path_name(dist):
    path = getattr(dist, "_path", None)
    return getattr(path, "name", None) or "<unknown distribution>"


def _warn(message):
    warnings.warn(message, PluginWarning, stacklevel=3)


def _scan_distributions():
    """The group's entry points, one distribution at a time, skipping (with a warning) unreadable ones."""
    eps, seen = [], set()
    for dist in metadata.distributions():
        try:
            name = dist.name
        except Exception:
            name = None
        key = name or _dist_path_name(dist)
        if key in seen:  # importlib.metadata.entry_points keeps the first of a name on sys.path, too
            continue
        seen.add(key)
        try:
            eps.extend(ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP)
        except Exception as exc:
            _warn(f"ecgsk skipped the plugins of distribution {key!r}: its entry-point metadata cannot be "
                  f"read ({type(exc).__name__}: {exc})")
    return eps


def _entry_points():
    """Entry points of the group, by name: ``{name: [(entry_point, distribution), ...]}``.

    The same distribution can be visible twice (for example an editable install
    next to a build directory); such repeats are the same plugin and are merged.
    A name with two or more entries is a conflict, reported when that name is used.
    An unreadable metadata file of one distribution gives a :class:`PluginWarning`
    and leaves the other distributions' entry points.
    """
    try:
        eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # e.g. an undecodable entry_points.txt: find out which, and skip only it
        eps = _scan_distributions()
    found = {}
    for ep in eps:
        dist = _distribution_name(ep)
        entries = found.setdefault(ep.name, [])
        if any(other_dist == dist and other_ep.value == ep.value for other_ep, other_dist in entries):
            continue
        entries.append((ep, dist))
    return found


def _conflict_message(name, entries):
    listed = " and ".join(f"distribution {dist!r} ({ep.value})" for ep, dist in entries)
    return (f"two plugins register the model name {name!r} in group {ENTRY_POINT_GROUP!r}: {listed}. "
            "Uninstall one of them or ask its author to rename the model.")


def _load(name, ep, dist):
    """Load one entry point; return the class or raise ImportError/TypeError naming the distribution."""
    where = f"ecgsk plugin {name!r} from distribution {dist!r}"
    try:
        obj = ep.load()
    except (Exception, SystemExit) as exc:  # KeyboardInterrupt still propagates
        raise ImportError(f"{where} failed to load ({ep.value}): {type(exc).__name__}: {exc}") from exc
    if not (isinstance(obj, type) and callable(getattr(obj, "fit", None))
            and callable(getattr(obj, "get_params", None))):
        raise TypeError(f"{where} is not an estimator class ({ep.value}): it names {obj!r} of type "
                        f"{type(obj).__name__}; expected a class with fit and get_params")
    return obj


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
        A plugin that fails to load (any exception or ``SystemExit`` on
        import, a target that is not an estimator class, unreadable
        entry-point metadata) produces a :class:`PluginWarning` naming its
        distribution and the error, and is left out; the others still load.
        A name registered by two distributions is listed once per
        distribution, with a :class:`PluginWarning` naming both.

    Examples
    --------
    >>> import ecgsk
    >>> names = [m["name"] for m in ecgsk.list_models()]  # doctest: +SKIP
    """
    rows = []
    for name, entries in sorted(_entry_points().items()):
        if len(entries) > 1:
            _warn(_conflict_message(name, entries) + " Both are listed; get_model(name) raises until then.")
        for ep, dist in entries:
            try:
                cls = _load(name, ep, dist)
            except (ImportError, TypeError) as exc:  # a broken plugin must not take the others down
                _warn(str(exc))
                continue
            rows.append({"name": name, "kind": model_kind(cls), "distribution": dist, "object": ep.value})
    return rows


def get_model(name):
    """Return the model class registered under ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`list_models` (an entry point of the
        ``ecgsk.models`` group).

    Returns
    -------
    type
        The estimator class.

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known names.
    RuntimeError
        If two distributions register ``name``; the message names both.
        Other names are unaffected.
    ImportError
        If the plugin is registered but fails to import (any exception or
        ``SystemExit``); names its distribution and the error.
    TypeError
        If the entry point names something that is not an estimator class.

    Examples
    --------
    >>> from ecgsk.registry import get_model
    >>> get_model("linear_reconstructor").__name__
    'LinearLeadReconstructor'
    """
    entries = _entry_points()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise KeyError(f"unknown ecgsk model {name!r}; known models: {known}")
    if len(entries[name]) > 1:
        raise RuntimeError(_conflict_message(name, entries[name]))
    ep, dist = entries[name][0]
    return _load(name, ep, dist)


def make_model(name, **params):
    """Instantiate the model registered under ``name`` with ``params``.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`.
    **params
        Constructor parameters of the model.

    Returns
    -------
    estimator
        An unfitted instance.

    Examples
    --------
    >>> model = make_model("linear_reconstructor")  # doctest: +SKIP
    """
    return get_model(name)(**params)
