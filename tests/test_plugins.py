"""Third-party plugins, end to end: real pip installs, real entry points.

Both plugins are pip-installed with ``--target`` into temporary directories,
never into the test environment, so the suite leaves the environment as it
found it.  The example plugin (``plugins/ecgsk-example-plugin``) is put on
``sys.path`` by a session fixture and discovered through the ``ecgsk.models``
entry-point group (``importlib.metadata`` scans ``sys.path``); at teardown the
directory leaves ``sys.path`` again.  The broken fixture plugin
(``plugins/broken-plugin``) is on ``sys.path`` only for the tests that use it.

Both builds run from copies in a temporary directory, so the checkout gets no
``build/`` or ``*.egg-info`` folders.  ``--no-index --no-build-isolation
--no-deps`` keeps pip off the network.
"""

import importlib
import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import FunctionTransformer

import ecgsk
from ecgsk.datasets import make_synthetic_ecgs
from ecgsk.pipeline import ECGPipeline
from ecgsk.preprocessing import BandpassFilter, detect_rpeaks
from ecgsk.registry import PluginWarning
from ecgsk.testing import check_estimator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SRC = ROOT / "plugins" / "ecgsk-example-plugin"
BROKEN_SRC = ROOT / "plugins" / "broken-plugin"
EXAMPLE_DIST = "ecgsk-example-plugin"
BROKEN_DIST = "ecgsk-broken-plugin"
MODEL_NAME = "beat_template"


def _pip_install(src, workdir, *extra):
    """``pip install`` a copy of ``src``; return the completed process."""
    copy = workdir / src.name
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
           "--no-index", "--disable-pip-version-check", "--no-input", *extra, str(copy)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _fail_install(src, *results):
    details = "\n".join(f"--- {' '.join(r.args[-3:])}\n{r.stdout}\n{r.stderr}" for r in results)
    pytest.fail(f"could not pip-install {src}:\n{details}")


def _list_models_quietly():
    """``list_models()`` ignoring warnings about other (possibly unfinished) plugins."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        return ecgsk.list_models()


def _forget_modules(prefix):
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[name]


def _installed_in_environment(dist_name=EXAMPLE_DIST):
    """Whether a fresh interpreter of this environment (no test-time sys.path entries) finds ``dist_name``."""
    code = ("import importlib.metadata as m, sys\n"
            "try:\n    m.distribution(sys.argv[1])\nexcept m.PackageNotFoundError:\n    print('absent')\n"
            "else:\n    print('installed')\n")
    out = subprocess.run([sys.executable, "-c", code, dist_name], capture_output=True, text=True, timeout=120,
                         cwd=ROOT.parent)
    assert out.returncode == 0 and out.stdout.strip() in ("absent", "installed"), (out.stdout, out.stderr)
    return out.stdout.strip() == "installed"


@pytest.fixture(scope="session")
def installed_before():
    """Whether the environment had the example plugin before the session (normally not)."""
    return _installed_in_environment()


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory, installed_before):
    """The example plugin, pip-installed into a private ``--target`` directory (not the environment)."""
    target = tmp_path_factory.mktemp("example-plugin-site")
    result = _pip_install(EXAMPLE_SRC, tmp_path_factory.mktemp("example-plugin-build"), "--target", str(target))
    if result.returncode != 0:
        _fail_install(EXAMPLE_SRC, result)
    return target


@pytest.fixture(scope="session")
def example_plugin(example_plugin_site, installed_before):
    """Make the example plugin importable and discoverable for the session; undone at teardown."""
    entry = str(example_plugin_site)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        dist = importlib.metadata.distribution(EXAMPLE_DIST)
        assert any(ep.group == "ecgsk.models" and ep.name == MODEL_NAME for ep in dist.entry_points)
        yield dist
    finally:
        while entry in sys.path:
            sys.path.remove(entry)
        _forget_modules("ecgsk_example_plugin")
        importlib.invalidate_caches()
    # After teardown the private copy is gone from this process, and the environment is as it was.
    if not installed_before:
        with pytest.raises(importlib.metadata.PackageNotFoundError):
            importlib.metadata.distribution(EXAMPLE_DIST)
    assert _installed_in_environment() == installed_before


@pytest.fixture(scope="session")
def broken_plugin_dir(tmp_path_factory):
    """The broken fixture plugin, pip-installed into a private ``--target`` directory."""
    target = tmp_path_factory.mktemp("broken-plugin-site")
    result = _pip_install(BROKEN_SRC, tmp_path_factory.mktemp("broken-plugin-build"), "--target", str(target))
    if result.returncode != 0:
        _fail_install(BROKEN_SRC, result)
    return target


@pytest.fixture
def broken_plugin(broken_plugin_dir, example_plugin):
    """Make the broken plugin visible for one test; it disappears again at teardown."""
    sys.path.insert(0, str(broken_plugin_dir))
    importlib.invalidate_caches()
    try:
        yield broken_plugin_dir
    finally:
        sys.path.remove(str(broken_plugin_dir))
        _forget_modules("ecgsk_broken_plugin")
        importlib.invalidate_caches()


def _to_microvolts(X):
    return np.asarray(X) * 1000.0


def _to_millivolts(X):
    return np.asarray(X) / 1000.0


# -- the example plugin ---------------------------------------------------------------
def test_example_plugin_is_listed(example_plugin):
    rows = {row["name"]: row for row in _list_models_quietly()}
    assert MODEL_NAME in rows, f"{MODEL_NAME!r} not discovered; found {sorted(rows)}"
    row = rows[MODEL_NAME]
    assert row["kind"] == "generator"
    assert row["distribution"] == EXAMPLE_DIST
    assert row["object"] == "ecgsk_example_plugin.beat_template:BeatTemplateGenerator"


def test_example_plugin_is_not_installed_in_the_environment(example_plugin, example_plugin_site,
                                                           installed_before):
    # The distribution the tests see is the private --target copy ...
    location = Path(example_plugin.locate_file("")).resolve()
    assert location == example_plugin_site.resolve(), location
    # ... and a plain interpreter (the environment without the fixture's sys.path entry)
    # sees the environment exactly as it was before the session: nothing was installed
    # into site-packages, so nothing is left behind when the fixture's teardown drops the
    # directory from sys.path (the teardown asserts that too).
    assert _installed_in_environment() == installed_before
    if not installed_before:
        assert not _installed_in_environment()


def test_example_plugin_get_and_make_model(example_plugin):
    from ecgsk_example_plugin import BeatTemplateGenerator

    assert ecgsk.get_model(MODEL_NAME) is BeatTemplateGenerator
    model = ecgsk.make_model(MODEL_NAME, n_components=2, fs=250, random_state=7)
    assert isinstance(model, BeatTemplateGenerator)
    params = model.get_params()
    assert (params["n_components"], params["fs"], params["random_state"]) == (2, 250, 7)
    with pytest.raises(TypeError):
        ecgsk.make_model(MODEL_NAME, no_such_param=1)


def test_example_plugin_passes_check_estimator(example_plugin):
    cls = ecgsk.get_model(MODEL_NAME)
    table = check_estimator(cls)
    assert table.failed == []
    n = len(cls.get_test_params())
    suffixes = [f"[{i}]" for i in range(n)] if n > 1 else [""]
    for name in ("check_fit", "check_output", "check_determinism", "check_bad_input", "check_pipeline"):
        assert all(table[name + sfx]["status"] == "passed" for sfx in suffixes)


def test_example_plugin_in_pipeline(example_plugin):
    X = make_synthetic_ecgs(8, n_leads=12, n_samples=2000, random_state=1)
    pipe = ECGPipeline([
        ("uV", FunctionTransformer(_to_microvolts, inverse_func=_to_millivolts, check_inverse=False)),
        ("model", ecgsk.make_model(MODEL_NAME, n_components=3, random_state=0)),
    ])
    pipe.fit(X)
    # The model was fitted in microvolts; ECGPipeline.sample maps samples back to mV.
    assert np.abs(pipe[-1].mean_beat_).max() > 100
    S = pipe.sample(3, random_state=0)
    assert S.shape == (3, 12, 2000) and S.dtype == np.float32
    assert np.isfinite(S).all()
    assert 0.3 < np.abs(S).max() < 5 * np.abs(X).max()
    np.testing.assert_array_equal(S, pipe.sample(3, random_state=0))
    assert np.isfinite(pipe.score(X))

    search = GridSearchCV(pipe, {"model__n_components": [1, 3]}, cv=KFold(2, shuffle=True, random_state=0))
    search.fit(X)
    assert search.best_params_["model__n_components"] in (1, 3)
    assert search.best_estimator_.sample(1).shape == (1, 12, 2000)


def _peaks(ecg, fs):
    """R peaks of one ECG with ecgsk's detector, the one the plugin uses."""
    return detect_rpeaks(np.asarray(ecg)[None], fs)[0]


def _beat_window(model):
    """Samples before and after the R peak, from the documented ``before``/``after`` (seconds) and ``fs``."""
    pre, post = int(round(model.before * model.fs)), int(round(model.after * model.fs))
    if hasattr(model, "mean_beat_"):
        assert model.mean_beat_.shape[1] == pre + post  # the fitted beats have that window
    return pre, post


def _documented_highpass(model, X):
    """The documented baseline-wander step: an order-2 BandpassFilter high-pass at ``highpass`` Hz."""
    return BandpassFilter(low=model.highpass, high=None, order=2, fs=model.fs).fit_transform(X)


def test_example_plugin_samples_look_like_the_training_ecgs(example_plugin):
    fs = 500
    X = make_synthetic_ecgs(12, n_leads=12, fs=fs, n_samples=5000, heart_rate=(60, 80), random_state=3)
    model = ecgsk.make_model(MODEL_NAME, n_components=4, random_state=0).fit(X)
    S = model.sample(6)
    assert S.shape == (6, 12, 5000)

    # Heart rate: one R peak per sampled RR interval, within the training range.
    rates = [60.0 * (len(p) - 1) / (np.ptp(p) / fs) for p in detect_rpeaks(S, fs)]
    assert all(52 <= r <= 88 for r in rates), rates

    # Beat shape: the mean sampled beat matches the mean training beat, lead by lead.
    def mean_beat(batch):
        pre, post = _beat_window(model)
        beats = [ecg[:, p - pre:p + post] for ecg in batch for p in _peaks(ecg, fs)
                 if p >= pre and p + post <= ecg.shape[1]]
        return np.mean(beats, axis=0)

    real, fake = mean_beat(_documented_highpass(model, X)), mean_beat(S)
    assert np.linalg.norm(fake - real) < 0.3 * np.linalg.norm(real)
    # (aVL is nearly flat in the simulator, so its correlation is noise; skip leads under 0.2 mV.)
    r = [np.corrcoef(a, b)[0, 1] for a, b in zip(real, fake) if np.ptp(a) > 0.2]
    assert len(r) >= 10 and min(r) > 0.95, r
    # Lead structure is kept because the coefficients are modelled jointly: III = II - I.
    lead_iii_error = np.abs(S[:, 2] - (S[:, 1] - S[:, 0])).max()
    assert lead_iii_error < 0.1 * np.abs(S[:, 1]).max(), lead_iii_error


def test_example_plugin_too_short_signals_error(example_plugin):
    model = ecgsk.make_model(MODEL_NAME)
    with pytest.raises(ValueError, match="samples"):
        model.fit(np.zeros((4, 2, 100), np.float32))  # shorter than one beat window
    with pytest.raises(ValueError, match="beat"):
        model.fit(np.zeros((4, 2, 2000), np.float32))  # flat lines: no QRS complexes
    with pytest.raises(ValueError, match="n_components"):
        ecgsk.make_model(MODEL_NAME, n_components=0).fit(make_synthetic_ecgs(4, n_leads=1, n_samples=2000))


def test_example_plugin_uses_ecgsk_signal_processing(example_plugin, data_dir, monkeypatch):
    """The plugin reuses ecgsk's R-peak detector and filters, here on the noisy CPSC 2019 records."""
    from ecgsk.datasets import load_cpsc2019
    from ecgsk_example_plugin import beat_template

    assert beat_template.detect_rpeaks is detect_rpeaks
    assert beat_template.BandpassFilter is BandpassFilter
    assert not hasattr(beat_template, "detect_r_peaks")  # no detector of its own any more
    calls = []

    def spy(X, fs=500, **kwargs):
        calls.append(len(X))
        return detect_rpeaks(X, fs, **kwargs)

    monkeypatch.setattr(beat_template, "detect_rpeaks", spy)
    X, references = load_cpsc2019(data_dir / "cpsc2019")
    model = ecgsk.make_model(MODEL_NAME, n_components=3, random_state=0).fit(X)
    assert calls == [len(X)]
    # Every complete beat window around a detected R peak is one training beat ...
    pre, post = _beat_window(model)
    peaks = detect_rpeaks(X, 500)
    expected = sum(int(((p >= pre) & (p + post <= X.shape[2])).sum()) for p in peaks)
    assert model.n_beats_ == expected
    # ... and ecgsk's detector finds about as many beats as the reference annotates.
    n_ref = sum(len(np.ravel(r)) for r in references)
    n_found = sum(len(p) for p in peaks)
    assert abs(n_found - n_ref) < 0.15 * n_ref, (n_found, n_ref)
    # The beats are cut from ecgsk's BandpassFilter high-pass (high=None): the fitted mean beat
    # is the mean of those windows.
    clean = _documented_highpass(model, X).astype(np.float64)
    beats = [clean[i, :, q - pre:q + post] for i, p in enumerate(peaks)
             for q in p[(p >= pre) & (p + post <= X.shape[2])]]
    np.testing.assert_allclose(model.mean_beat_, np.mean(beats, axis=0), atol=1e-6)


def test_example_plugin_on_ludb(example_plugin, data_dir):
    """Fitted on real 12-lead ECGs, the samples keep the heart rate and beat a per-sample Gaussian."""
    from ecgsk.datasets import load_ludb
    from ecgsk.testing import GaussianECGGenerator

    X, _ = load_ludb(data_dir / "ludb")
    X = X[:60]
    model = ecgsk.make_model(MODEL_NAME, n_components=6, random_state=0).fit(X)
    assert model.n_beats_ > 400
    S = model.sample(20)
    assert S.shape == (20, 12, 5000) and np.isfinite(S).all()

    def median_rate(batch):
        return np.median([60.0 / np.median(np.diff(p) / 500) for p in detect_rpeaks(batch, 500)])

    real, fake = median_rate(X), median_rate(S)
    assert abs(fake - real) < 0.15 * real, (real, fake)
    baseline = GaussianECGGenerator(random_state=0).fit(X)
    assert model.score(X) > baseline.score(X)


def test_extension_template_passes_check_estimator(monkeypatch):
    name = "ecgsk_extension_template"
    spec = importlib.util.spec_from_file_location(name, ROOT / "plugins" / "extension_template.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # so that the pickle check can find the class
    spec.loader.exec_module(module)
    table = check_estimator(module.MyGenerator)
    assert table.failed == []
    assert len([k for k in table if k.startswith("check_cross_val_score")]) == len(module.MyGenerator.get_test_params())


def _load_extension_template(monkeypatch):
    name = "ecgsk_extension_template"
    spec = importlib.util.spec_from_file_location(name, ROOT / "plugins" / "extension_template.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # so that the pickle check can find the class
    spec.loader.exec_module(module)
    return module


def test_extension_template_torch_model_passes_check_estimator(monkeypatch):
    from ecgsk.nn.engine import TorchEstimatorMixin

    cls = _load_extension_template(monkeypatch).MyTorchGenerator
    assert cls.__mro__[1] is TorchEstimatorMixin  # the engine comes first in the bases
    assert "_fit" not in cls.__dict__  # the engine's fit loop, no loop of its own
    table = check_estimator(cls)
    assert table.failed == []
    assert len([k for k in table if k.startswith("check_cross_val_score")]) == len(cls.get_test_params())


def test_extension_template_torch_model_trains_on_the_engine(monkeypatch):
    from ecgsk.nn.callbacks import EarlyStopping

    cls = _load_extension_template(monkeypatch).MyTorchGenerator
    X = make_synthetic_ecgs(16, n_leads=2, n_samples=100, random_state=0)
    model = cls(hidden=8, latent_dim=2, max_epochs=6, batch_size=4, validation_fraction=0.25, device="cpu",
                callbacks=[EarlyStopping("valid_loss", patience=100)], random_state=0).fit(X)
    # the engine's history: one record per epoch with the step's losses and the validation step's score
    assert [r["epoch"] for r in model.history_] == list(range(1, 7)) and model.n_iter_ == 6
    assert {"epoch", "dur", "loss", "reconstruction", "kl", "valid_loss"} <= set(model.history_[0])
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    assert 1 <= model.best_epoch_ <= 6 and model.interrupted_ is False
    # a warm start continues the epoch count and keeps the fitted scale
    scale = model.scale_
    model.set_params(warm_start=True, max_epochs=2, callbacks=None).fit(X * 2)
    assert model.n_iter_ == 8 and model.scale_ == scale
    S = model.sample(4, random_state=0)
    assert S.shape == (4, 2, 100) and S.dtype == np.float32 and np.isfinite(S).all()
    # modules are rebuilt from parameters and fitted non-module attributes only (what save files need)
    rebuilt = model._build_modules()
    assert {k: [p.shape for p in m.parameters()] for k, m in rebuilt.items()} == \
        {k: [p.shape for p in getattr(model, k).parameters()] for k in rebuilt}


# -- the broken plugin ------------------------------------------------------------
def test_broken_plugin_warns_and_others_still_load(broken_plugin):
    assert importlib.metadata.distribution(BROKEN_DIST).entry_points
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = ecgsk.list_models()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    broken = [m for m in messages if BROKEN_DIST in m]
    assert len(broken) == 1, messages
    assert "broken_model" in broken[0]
    assert "ImportError" in broken[0] and "broken on purpose" in broken[0]
    names = [row["name"] for row in rows]
    assert MODEL_NAME in names and "broken_model" not in names


def test_broken_plugin_get_model_names_distribution(broken_plugin):
    with pytest.raises(ImportError, match=BROKEN_DIST) as info:
        ecgsk.get_model("broken_model")
    assert "broken on purpose" in str(info.value)
    assert ecgsk.get_model(MODEL_NAME).__name__ == "BeatTemplateGenerator"


def test_broken_plugin_is_gone_after_the_fixture(broken_plugin_dir, example_plugin):
    names = [row["name"] for row in _list_models_quietly()]
    assert "broken_model" not in names
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(BROKEN_DIST)


# -- duplicates and unknown names -----------------------------------------------------
def _write_dist_info(site, dist_name, entry_points):
    info = site / f"{dist_name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ecgsk.models]\n{lines}\n")


def test_duplicate_name_across_distributions_fails_only_for_that_name(example_plugin, tmp_path, monkeypatch):
    # A second installed distribution claims the example plugin's name.
    _write_dist_info(tmp_path, "ecgsk-copycat", {MODEL_NAME: "ecgsk.testing:GaussianECGGenerator"})
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    for call in (lambda: ecgsk.get_model(MODEL_NAME), lambda: ecgsk.make_model(MODEL_NAME)):
        with pytest.raises(RuntimeError) as info:
            call()
        message = str(info.value)
        assert MODEL_NAME in message and EXAMPLE_DIST in message and "ecgsk-copycat" in message
    # Only that name fails: the built-ins still load, and list_models lists both entries with a warning.
    assert ecgsk.get_model("linear_reconstructor").__name__ == "LinearLeadReconstructor"
    with pytest.warns(PluginWarning, match="ecgsk-copycat") as record:
        rows = ecgsk.list_models()
    assert any(EXAMPLE_DIST in str(w.message) for w in record)
    assert sorted(r["distribution"] for r in rows if r["name"] == MODEL_NAME) == ["ecgsk-copycat", EXAMPLE_DIST]


def test_unknown_name_lists_known_models(example_plugin):
    with pytest.raises(KeyError) as info:
        ecgsk.get_model("no_such_model")
    message = str(info.value)
    assert "no_such_model" in message and MODEL_NAME in message
    with pytest.raises(KeyError, match=MODEL_NAME):
        ecgsk.make_model("no_such_model", n_components=2)


# -- the command line ---------------------------------------------------------------------
def test_cli_models_lists_the_example_plugin(example_plugin, capsys):
    from ecgsk.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    line = next((ln for ln in out.splitlines() if ln.split()[:1] == [MODEL_NAME]), None)
    assert line is not None, out
    assert line.split()[1:] == ["generator", EXAMPLE_DIST]


def test_cli_models_reports_a_broken_plugin_and_goes_on(broken_plugin, capsys):
    from ecgsk.cli import main

    assert main(["models"]) == 0
    captured = capsys.readouterr()
    assert any(ln.split()[:1] == [MODEL_NAME] for ln in captured.out.splitlines())
    assert BROKEN_DIST in captured.err
