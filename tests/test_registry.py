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


def test_duplicate_names_fail_only_for_that_name(plugins):
    # issue 15, "a duplicate name ... also breaks get_model('linear_reconstructor')": other names keep working
    plugins({"first-dist": {"gauss": "ecgsk.testing:GaussianECGGenerator"},
             "second-dist": {"gauss": "_stubs:LeastSquaresReconstructor", "lsq": GOOD["lsq"]}})
    for call in (lambda: get_model("gauss"), lambda: make_model("gauss")):
        with pytest.raises(RuntimeError) as info:
            call()
        message = str(info.value)
        assert "'gauss'" in message and "first-dist" in message and "second-dist" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_model("lsq") is LeastSquaresReconstructor
    with pytest.warns(PluginWarning) as record:
        rows = list_models()
    assert [(r["name"], r["distribution"]) for r in rows] == [
        ("gauss", "first-dist"), ("gauss", "second-dist"), ("lsq", "second-dist")]
    assert len(record) == 1
    message = str(record[0].message)
    assert "'gauss'" in message and "first-dist" in message and "second-dist" in message


def test_duplicate_name_same_value_in_two_distributions_is_a_conflict_too(plugins):
    # The same name twice is only merged when the distribution and the object agree.
    plugins({"one-dist": {"gauss": "ecgsk.testing:GaussianECGGenerator"},
             "two-dist": {"gauss": "ecgsk.testing:GaussianECGGenerator"}})
    with pytest.raises(RuntimeError, match="one-dist.*two-dist|two-dist.*one-dist"):
        get_model("gauss")
    with pytest.warns(PluginWarning, match="one-dist.*two-dist|two-dist.*one-dist"):
        assert len(list_models()) == 2


@pytest.mark.parametrize("target, error", [
    ("os.path:join", "not an estimator class"),  # issue 15: a function made list_models() raise TypeError
    ("ecgsk_test_int_plugin:VALUE", "not an estimator class"),  # ... and so did an int
    ("ecgsk_test_exit_plugin:Model", "SystemExit: 3"),  # issue 15: sys.exit(3) on import
    ("ecgsk_test_base_exception_plugin:Model", "SystemExit"),
])
def test_bad_targets_and_exits_warn_and_the_rest_load(plugins, tmp_path, target, error):
    modules = tmp_path / "modules"
    (modules / "ecgsk_test_int_plugin.py").write_text("VALUE = 3\n")
    (modules / "ecgsk_test_exit_plugin.py").write_text("import sys\nsys.exit(3)\n")
    (modules / "ecgsk_test_base_exception_plugin.py").write_text("raise SystemExit('bye')\n")
    plugins({"good-dist": GOOD, "bad-dist": {"bad_model": target}})
    with pytest.warns(PluginWarning) as record:
        rows = list_models()
    assert [r["name"] for r in rows] == ["amp_risk", "gauss", "lsq"]
    assert len(record) == 1
    message = str(record[0].message)
    assert "'bad-dist'" in message and "bad_model" in message and error in message and target in message
    with pytest.raises((ImportError, TypeError), match="bad-dist"):
        get_model("bad_model")
    assert get_model("gauss") is GaussianECGGenerator


def test_keyboard_interrupt_while_loading_propagates(plugins, tmp_path):
    (tmp_path / "modules" / "ecgsk_test_interrupt_plugin.py").write_text("raise KeyboardInterrupt\n")
    plugins({"good-dist": GOOD, "bad-dist": {"bad_model": "ecgsk_test_interrupt_plugin:Model"}})
    with pytest.raises(KeyboardInterrupt):
        list_models()
    with pytest.raises(KeyboardInterrupt):
        get_model("bad_model")


def test_undecodable_entry_points_file_warns_and_builtins_load(tmp_path, monkeypatch):
    # issue 15: one undecodable entry_points.txt made every get_model, built-ins included, raise
    # UnicodeDecodeError.  Real discovery here (no monkeypatched entry points): the bad distribution
    # is put on sys.path next to the installed ecgsk.
    info = tmp_path / "ecgsk_undecodable-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ecgsk-undecodable\nVersion: 1.0\n")
    (info / "entry_points.txt").write_bytes(b"[ecgsk.models]\nbad = caf\xe9\xff:Model\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    with pytest.raises(UnicodeDecodeError):  # the failure the registry has to contain
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    with pytest.warns(PluginWarning, match="ecgsk-undecodable.*UnicodeDecodeError"):
        cls = get_model("linear_reconstructor")
    assert cls.__name__ == "LinearLeadReconstructor"
    with pytest.warns(PluginWarning, match="ecgsk-undecodable"):
        names = [r["name"] for r in list_models()]
    assert "linear_reconstructor" in names and "pulse2pulse" in names


def test_plugin_warning_lives_in_exceptions():
    from ecgsk.exceptions import PluginWarning as Exported

    assert PluginWarning is Exported and issubclass(PluginWarning, UserWarning)


def test_cli_models_survives_a_plugin_that_exits(tmp_path):
    # issue 15: a plugin calling sys.exit(3) on import made `ecgsk models` exit with no output.
    import subprocess
    import sys

    info = tmp_path / "ecgsk_exiting-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ecgsk-exiting\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ecgsk.models]\nexiting = ecgsk_exiting_plugin:Model\n")
    (tmp_path / "ecgsk_exiting_plugin.py").write_text("import sys\nsys.exit(3)\n")
    # and a second distribution claiming a built-in's name: both are listed, with a warning naming both
    twin = tmp_path / "ecgsk_twin-1.0.dist-info"
    twin.mkdir()
    (twin / "METADATA").write_text("Metadata-Version: 2.1\nName: ecgsk-twin\nVersion: 1.0\n")
    (twin / "entry_points.txt").write_text("[ecgsk.models]\ncvae = ecgsk.testing:GaussianECGGenerator\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "ecgsk.cli", "models"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, (out.stdout, out.stderr)
    names = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    assert "linear_reconstructor" in names and "pulse2pulse" in names and "exiting" not in names
    assert "ecgsk-exiting" in out.stderr and "SystemExit: 3" in out.stderr
    cvae_rows = [line.split() for line in out.stdout.splitlines() if line.split()[:1] == ["cvae"]]
    assert sorted(row[-1] for row in cvae_rows) == ["ecgsk", "ecgsk-twin"], out.stdout
    assert any("'cvae'" in line and "ecgsk-twin" in line and "'ecgsk'" in line for line in out.stderr.splitlines())


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
