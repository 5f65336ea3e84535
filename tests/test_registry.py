"""Unit tests of ecgsk.registry with controlled entry points (nothing is installed).

The entry points are real :class:`importlib.metadata.EntryPoint` objects read
from real ``*.dist-info`` folders written to a temporary directory (so each
knows its distribution), and ``importlib.metadata.entry_points`` is
monkeypatched to return exactly them.
"""

import importlib
import importlib.metadata
import importlib.util
import warnings

import pytest

import ecgsk
from ecgsk import registry
from ecgsk.registry import ENTRY_POINT_GROUP, PluginWarning, get_model, list_models, make_model, model_kind
from ecgsk.testing import GaussianECGGenerator

from _stubs import AmplitudeRisk, LeastSquaresReconstructor


def _distribution(root, dist_name, entry_points, group=ENTRY_POINT_GROUP):
    """Write ``<dist>-1.0.dist-info`` under ``root`` and return it as a Distribution."""
    info = root / f"{dist_name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    return importlib.metadata.PathDistribution(info)


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """``plugins({"dist-name": {"model": "module:Class"}, ...})`` makes those the only entry points."""
    modules = tmp_path / "modules"
    modules.mkdir()
    # A module whose import raises, as a broken plugin's would.
    (modules / "ecgsk_test_raising_plugin.py").write_text(
        "raise RuntimeError('this plugin needs a GPU driver that is not installed')\n"
    )
    monkeypatch.syspath_prepend(str(modules))

    def install(spec):
        eps = []
        for dist_name, entries in spec.items():
            dist = _distribution(tmp_path / "site" / dist_name, dist_name, entries)
            eps.extend(ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP)

        def entry_points(**params):
            group = params.get("group")
            assert group == ENTRY_POINT_GROUP, f"registry asked for group {group!r}"
            return importlib.metadata.EntryPoints(eps)

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
        if hasattr(registry, "entry_points"):  # in case the registry imports the function itself
            monkeypatch.setattr(registry, "entry_points", entry_points)
        return eps

    yield install
    importlib.invalidate_caches()


GOOD = {
    "gauss": "ecgsk.testing:GaussianECGGenerator",
    "lsq": "_stubs:LeastSquaresReconstructor",
    "amp_risk": "_stubs:AmplitudeRisk",
}


def test_list_models_rows(plugins):
    plugins({"good-dist": GOOD})
    rows = list_models()
    assert [r["name"] for r in rows] == ["amp_risk", "gauss", "lsq"]  # sorted by name
    by_name = {r["name"]: r for r in rows}
    assert by_name["gauss"] == {"name": "gauss", "kind": "generator", "distribution": "good-dist",
                                "object": "ecgsk.testing:GaussianECGGenerator"}
    assert by_name["lsq"]["kind"] == "reconstructor"
    assert by_name["amp_risk"]["kind"] == "risk"
    assert {r["distribution"] for r in rows} == {"good-dist"}


def test_public_api_is_the_registry():
    assert ecgsk.list_models is list_models
    assert ecgsk.get_model is get_model
    assert ecgsk.make_model is make_model


def test_uses_importlib_metadata_not_entrypoints_package():
    source = importlib.util.find_spec("ecgsk.registry").loader.get_source("ecgsk.registry")
    assert "importlib" in source
    assert "import entrypoints" not in source and "from entrypoints" not in source


def test_model_kind():
    assert model_kind(GaussianECGGenerator) == "generator"
    assert model_kind(LeastSquaresReconstructor) == "reconstructor"
    assert model_kind(AmplitudeRisk) == "risk"
    assert model_kind(dict) == "other"


@pytest.mark.parametrize("target, error", [
    ("ecgsk_test_raising_plugin:Model", "RuntimeError: this plugin needs a GPU driver"),
    ("ecgsk_no_such_module_anywhere:Model", "ModuleNotFoundError"),
    ("ecgsk.testing:NoSuchClass", "AttributeError"),
])
def test_failing_plugin_warns_and_the_rest_load(plugins, target, error):
    plugins({"good-dist": GOOD, "bad-dist": {"bad_model": target}})
    with pytest.warns(PluginWarning) as record:
        rows = list_models()
    assert len(record) == 1
    message = str(record[0].message)
    assert "'bad-dist'" in message and "bad_model" in message and error in message
    assert target in message
    assert [r["name"] for r in rows] == ["amp_risk", "gauss", "lsq"]


def test_failing_plugin_get_model_raises_import_error_naming_distribution(plugins):
    plugins({"good-dist": GOOD, "bad-dist": {"bad_model": "ecgsk_test_raising_plugin:Model"}})
    with pytest.raises(ImportError, match="bad-dist") as info:
        get_model("bad_model")
    assert "GPU driver" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading a good model does not touch the broken one
        assert get_model("gauss") is GaussianECGGenerator


def test_duplicate_names_raise_naming_both_distributions(plugins):
    plugins({"first-dist": {"gauss": "ecgsk.testing:GaussianECGGenerator"},
             "second-dist": {"gauss": "_stubs:LeastSquaresReconstructor", "lsq": GOOD["lsq"]}})
    for call in (list_models, lambda: get_model("lsq"), lambda: make_model("gauss")):
        with pytest.raises(RuntimeError) as info:
            call()
        message = str(info.value)
        assert "'gauss'" in message and "first-dist" in message and "second-dist" in message


def test_duplicate_name_same_value_in_one_distribution_raises_too(plugins):
    # The same name twice is only merged when the distribution and the object agree.
    plugins({"one-dist": {"gauss": "ecgsk.testing:GaussianECGGenerator"},
             "two-dist": {"gauss": "ecgsk.testing:GaussianECGGenerator"}})
    with pytest.raises(RuntimeError, match="one-dist.*two-dist|two-dist.*one-dist"):
        list_models()


def test_same_distribution_seen_twice_is_merged(plugins, tmp_path, monkeypatch):
    eps = plugins({"good-dist": {"gauss": GOOD["gauss"]}})
    # The same distribution visible on two sys.path entries (e.g. editable + build dir).
    twin = _distribution(tmp_path / "site2" / "good-dist", "good-dist", {"gauss": GOOD["gauss"]})
    doubled = list(eps) + list(twin.entry_points)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **params: importlib.metadata.EntryPoints(doubled))
    rows = list_models()
    assert [(r["name"], r["distribution"]) for r in rows] == [("gauss", "good-dist")]


def test_unknown_name_lists_known_names(plugins):
    plugins({"good-dist": GOOD})
    with pytest.raises(KeyError) as info:
        get_model("pulse2plus")
    message = str(info.value)
    assert "pulse2plus" in message
    for name in GOOD:
        assert name in message
    with pytest.raises(KeyError, match="gauss"):
        make_model("nope", random_state=0)


def test_unknown_name_with_no_models(plugins):
    plugins({})
    assert list_models() == []
    with pytest.raises(KeyError, match="none"):
        get_model("gauss")


def test_make_model_passes_params(plugins):
    plugins({"good-dist": GOOD})
    model = make_model("gauss", random_state=3)
    assert type(model) is GaussianECGGenerator
    assert model.get_params() == {"random_state": 3}
    assert make_model("gauss").random_state is None
    with pytest.raises(TypeError):
        make_model("gauss", not_a_param=1)


def test_entry_point_without_distribution(monkeypatch):
    ep = importlib.metadata.EntryPoint(name="gauss", value="ecgsk.testing:GaussianECGGenerator",
                                       group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda **params: importlib.metadata.EntryPoints([ep]))
    rows = list_models()
    assert rows[0]["name"] == "gauss" and rows[0]["distribution"] == "<unknown distribution>"
