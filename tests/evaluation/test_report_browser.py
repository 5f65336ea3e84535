"""The HTML report of a small real evaluation, opened in headless Chromium (selenium + chromedriver)."""

import importlib.util
import shutil
from pathlib import Path

import pytest
from _ci import skip_outside_ci

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _need(condition, why):
    # CI installs chromium, chromium-driver and selenium: there a missing browser is an error
    if not condition:
        skip_outside_ci(why)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory, data_dir):
    _need(importlib.util.find_spec("matplotlib") is not None, "matplotlib is not installed (figures)")
    from ecgsk.datasets import load_cinc2021
    from ecgsk.evaluation import evaluate_generator

    X, _ = load_cinc2021(data_dir / "cinc2021")
    report = evaluate_generator(X[:16], X[16:30], random_state=0, n_splits=1, reference="CinC 2021 sample")
    assert report.figures  # the page must have images to check
    return report.to_html(tmp_path_factory.mktemp("html") / "report.html")


def test_report_renders_in_headless_chromium(report_html):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need(False, "selenium is not installed")
    _need(Path(CHROMIUM).exists() and Path(DRIVER).exists(), f"no chromium at {CHROMIUM} / chromedriver at {DRIVER}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get(report_html.as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        n_images = driver.execute_script("return document.images.length")
        assert n_images >= 5
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
        assert all(w > 0 for w in widths), widths
        top, inner = driver.execute_script(
            "const t = document.getElementById('verdict-table');"
            "return [t.getBoundingClientRect().top, window.innerHeight];")
        assert 0 <= top < inner
        assert driver.find_element("id", "verdict-table").is_displayed()
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == [], severe
    finally:
        driver.quit()
