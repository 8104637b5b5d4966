"""The drift report rendered by headless Chromium: the table and one chart per feature are
in the rendered DOM, and the screenshot shows both series' colours (the bars were drawn).

Chromium comes from .ci/apt-packages (`make browser`, run by `make test`). In CI (CI=1) a
missing browser fails this test; elsewhere it skips with the reason."""

import os
import re
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pytest
from matplotlib import image

from featurestream.contract.catalog import ORDERS
from monitoring.drift import compute_drift
from monitoring.report import write_report


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI: .ci/run installs .ci/apt-packages (make browser)")
    pytest.skip("chromium not installed: run `make browser` (installs .ci/apt-packages)")


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    rng = np.random.default_rng(7)
    base = pa.table(
        {
            "purchase_amount": rng.uniform(0, 1, 2000),
            "n_days_since_last_purchase": rng.uniform(0, 1, 2000),
            "is_reordered": rng.integers(0, 2, 2000),
        }
    )
    cur = pa.table(
        {
            "purchase_amount": rng.uniform(0.3, 1, 2000),
            "n_days_since_last_purchase": rng.uniform(0, 1, 2000),
            "is_reordered": rng.integers(0, 2, 2000),
        }
    )
    report = compute_drift(
        ORDERS,
        base,
        cur,
        baseline_window="/2021-06-01T00:00:00Z",
        current_window="2021-06-01T00:00:00Z/",
    )
    html, _ = write_report(report, tmp_path_factory.mktemp("report"))
    return report, html


def test_chromium_renders_the_table_and_a_chart_per_feature(report_page):
    report, html = report_page
    dom = headless("--dump-dom", html.as_uri()).stdout
    assert '<table id="summary">' in dom
    rows = re.findall(r"<tr><td>([^<]+)</td>", dom)
    assert rows == [f.feature for f in report.features]
    charts = re.findall(r'<svg class="chart" data-feature="([^"]+)"', dom)
    assert charts == [f.feature for f in report.features]
    assert dom.count('class="bar baseline"') == dom.count('class="bar current"') > 0
    psi = next(f for f in report.features if f.feature == "purchase_amount").psi
    assert f"PSI {psi:.3f}" in dom
    assert "http://" not in dom and "https://" not in dom  # self-contained: nothing fetched


def test_the_screenshot_shows_both_series(report_page, tmp_path):
    _, html = report_page
    shot = tmp_path / "report.png"
    headless(f"--screenshot={shot}", "--window-size=1200,1400", html.as_uri())
    pixels = (image.imread(shot)[:, :, :3] * 255).round().astype(int)
    colours = {tuple(p) for p in pixels.reshape(-1, 3)[::7]}
    assert (0x4A, 0x78, 0xB5) in colours  # baseline bars
    assert (0xE0, 0x82, 0x3D) in colours  # current bars
