"""Headless Chromium (Debian's ``chromium``) driven by Playwright, for checking pages as a reader sees them.

``render(path_or_html, png, width=...)`` loads a file (or HTML text) with every
request that leaves ``file://`` blocked and recorded, takes a full-page
screenshot, and returns what a test asserts on: console errors, page errors and
the outside requests the page tried to make.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (make test installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@dataclass
class PageCheck:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    title: str = ""
    text: str = ""
    violations: list[dict] = field(default_factory=list)  # axe-core's, when ``axe_js`` was given
    inspected: Any = None  # what ``inspect`` returned


def render(
    page_path: Path,
    png: Path,
    *,
    width: int = 1280,
    height: int = 900,
    dark: bool = False,
    timeout_ms: int = 20_000,
    axe_js: Path | None = None,
    inspect: Callable[[Any], Any] | None = None,
) -> PageCheck:
    """Open ``page_path`` in headless Chromium, screenshot it to ``png``, report problems.

    With ``axe_js`` (axe-core's ``axe.min.js``), the page is also audited by
    axe-core in a second context (one that lets the injected script past the
    page's Content-Security-Policy); the violations land in ``violations``.
    ``inspect(page)`` runs on the checked page after the screenshot.
    """
    from playwright.sync_api import sync_playwright

    check = PageCheck()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=timeout_ms)
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                color_scheme="dark" if dark else "light",
                java_script_enabled=True,
            )
            page = context.new_page()
            page.set_default_timeout(timeout_ms)

            def route(r):  # noqa: ANN001 - playwright's Route
                url = r.request.url
                if url.startswith(("file://", "data:", "about:")):
                    r.continue_()
                else:
                    check.outside_requests.append(url)
                    r.abort()

            page.route("**/*", route)
            page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: check.page_errors.append(str(e)))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            check.title = page.title()
            check.text = page.inner_text("body")
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=True)
            if inspect is not None:
                check.inspected = inspect(page)
            if axe_js is not None:
                check.violations = _axe(browser, page_path, axe_js, width, height, dark)
        finally:
            browser.close()
    return check


def _axe(browser: Any, page_path: Path, axe_js: Path, width: int, height: int, dark: bool) -> list[dict]:
    """axe-core's violations for the page (``preload`` off: it would fetch the CSS over file://)."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme="dark" if dark else "light",
        bypass_csp=True,
    )
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file://", "data:")) else r.abort())
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    page.add_script_tag(path=str(axe_js))
    result = page.evaluate("async () => await axe.run(document, {preload: false, resultTypes: ['violations']})")
    context.close()
    return list(result["violations"])
