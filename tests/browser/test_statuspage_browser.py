"""The status page as readers see it: headless Chromium at desktop and phone widths, light and dark.

Each variant is screenshotted (to a temp folder, and to ``test-artifacts/`` when
``SLACTL_ARTIFACTS`` is set), must log no console errors and make no outside
request, pass axe-core (from the npm registry, injected into the page) without
serious or critical violations, and show a day's tooltip when it gets keyboard focus.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from kits import browser
from kits.paths import ROOT
from kits.statuspage import build, scenario

ARTIFACTS = ROOT / "test-artifacts"
AXE_VERSION = "4"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def axe_js() -> Path:
    """axe-core's ``axe.min.js``, installed once with npm into a cache folder."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "slactl-tests"
    target = root / f"axe-core-{AXE_VERSION}"
    js = target / "node_modules" / "axe-core" / "axe.min.js"
    if js.is_file():
        return js
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed (apt-get install npm): axe-core comes from the npm registry")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".axe-", dir=root))
    try:
        proc = subprocess.run(
            [npm, "install", "--prefix", str(staging), f"axe-core@{AXE_VERSION}", "--no-audit", "--no-fund"],
            capture_output=True, text=True, timeout=300,
        )
        if proc.returncode != 0 or not (staging / "node_modules/axe-core/axe.min.js").is_file():
            _unavailable(f"npm install axe-core failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
        try:
            os.replace(staging, target)  # another test worker may have won the race: keep theirs
        except OSError:
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return js


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    reason = browser.missing()
    if reason:
        _unavailable(reason)
    folder = tmp_path_factory.mktemp("statuspage-browser")
    sc = scenario(folder)
    build(sc.config, folder / "site")
    return folder / "site"


def _inspect(width: int):
    """Look at the live page: CSS applied, no scripts, tooltips on keyboard focus stay on screen."""

    def run(page) -> dict:  # noqa: ANN001 - playwright's Page
        out: dict = {"scripts": page.locator("script").count()}
        out["banner_bg"] = page.eval_on_selector(".banner", "e => getComputedStyle(e).backgroundColor")
        out["body_bg"] = page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor")
        for _ in range(12):  # Tab from the top until a day of the first service has focus
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('day')"):
                break
        out["tab_reaches_day"] = page.evaluate("document.activeElement.classList.contains('day')")
        boxes = []
        days = page.locator(".service").first.locator(".day:visible")
        for i in (0, days.count() // 2, days.count() - 1):
            day = days.nth(i)
            day.focus()
            box = day.locator(".tip").bounding_box()
            boxes.append((box["x"], box["x"] + box["width"], box["width"]))
        out["tip_boxes"] = boxes
        out["visible_days"] = days.count()
        return out

    return run


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_status_page_in_chromium(site, axe_js, width, dark, tmp_path):
    name = f"status-page-{width}-{'dark' if dark else 'light'}.png"
    png = tmp_path / name
    check = browser.render(site / "index.html", png, width=width, dark=dark, axe_js=axe_js, inspect=_inspect(width))
    if os.environ.get("SLACTL_ARTIFACTS"):
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(png, ARTIFACTS / name)
    assert png.stat().st_size > 10_000
    assert check.console_errors == [] and check.page_errors == []
    assert check.outside_requests == []
    assert check.title == "Generic Corp Status: Minor Service Outage"
    assert "Database engine upgrade" in check.text and "Delayed webhook deliveries" in check.text
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in check.violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    seen = check.inspected
    assert seen["scripts"] == 0
    assert seen["banner_bg"] not in ("rgba(0, 0, 0, 0)", "transparent")  # the hashed CSS loaded under the CSP
    dark_bg = seen["body_bg"] == "rgb(13, 17, 23)"
    assert dark_bg == dark
    assert seen["tab_reaches_day"]
    assert seen["visible_days"] == (90 if width > 600 else 30)
    for left, right, w in seen["tip_boxes"]:
        assert w > 100 and left >= 0 and right <= width, seen["tip_boxes"]
