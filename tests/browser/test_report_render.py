"""The monthly report as HTML and Markdown: escaping, rounding, charts, and the page in Chromium.

The reports go to customers and are built from names users choose, so the tests
feed hostile names and null figures as well as the demo's month, and look at the
page in a real browser at desktop and phone widths, light and dark.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kits import browser
from kits.paths import ROOT
from test_statuspage_browser import axe_js  # noqa: F401 - the shared axe-core fixture

from slactl.app.demo import run_demo
from slactl.render import charts
from slactl.render.report import fmt_duration, report_html, report_markdown, to_json

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"
QUOTE = 'a"b&c'


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("demo")
    run_demo(out, month="2026-01", seed=42, now=datetime(2026, 11, 1, tzinfo=timezone.utc))
    return json.loads((out / "reports" / "report-2026-01.json").read_text("utf-8"))


def _day(date: str, up: int, down: int, no_data: int = 0, excluded: int = 0) -> dict:
    counted = up + down
    return {
        "date": date,
        "uptime_percent": None if counted == 0 else 100.0 * up / counted,
        "minutes": {
            "total": up + down + no_data + excluded,
            "up": up,
            "down": down,
            "no_data": no_data,
            "excluded": excluded,
        },
    }


def _service(daily: list[dict], **over: object) -> dict:
    up = sum(d["minutes"]["up"] for d in daily)
    down = sum(d["minutes"]["down"] for d in daily)
    uptime = None if up + down == 0 else 100.0 * up / (up + down)
    s = {
        "uptime_percent": uptime,
        "minutes": {
            k: sum(d["minutes"][k] for d in daily)
            for k in ("total", "up", "down", "no_data", "excluded")
        },
        "coverage_percent": 100.0 if uptime is not None else 0.0,
        "incidents": [],
        "incident_count": 0,
        "mttr_minutes": None,
        "error_ratio": None,
        "latency_seconds": None,
        "latency_bounds_seconds": None,
        "tiers": {
            "standard": {"target": 99.9, "met": None if uptime is None else uptime >= 99.9},
            EVIL: {"target": 99.99, "met": None if uptime is None else uptime >= 99.99},
        },
        "latency_targets": None,
        "kind": "probe",
        "objective": 99.9,
        "slice_threshold": 0.95,
        "no_data_policy": "ignore",
        "daily": daily,
    }
    s.update(over)
    return s


def hostile_report() -> dict:
    """A month in progress (15 of 31 days) with hostile names, nulls and an open-ended bucket."""
    days = [f"2026-01-{d:02d}" for d in range(1, 16)]
    busy = [_day(d, 1440, 0) for d in days]
    busy[3] = _day(days[3], 1400, 40)
    busy[9] = _day(days[9], 1000, 20, no_data=420)
    busy[12] = _day(days[12], 0, 0, no_data=1440)
    busy[13] = _day(days[13], 1320, 0, excluded=120)
    ratio = _service(
        busy,
        kind="ratio",
        objective=99.95,
        error_ratio=0.000123456,
        incidents=[
            {
                "start": "2026-01-04T10:00:00Z",
                "end": "2026-01-04T10:40:00Z",
                "duration_minutes": 40,
            },
            {
                "start": "2026-01-10T23:50:00Z",
                "end": "2026-01-11T00:10:00Z",
                "duration_minutes": 20,
            },
        ],
        incident_count=2,
        mttr_minutes=30.0,
        latency_seconds={"p50": 0.0123, "p95": 0.9, "p99": 2.5, "p999": None},
        latency_bounds_seconds={
            "p50": [0.01, 0.025],
            "p95": [0.5, 1.0],
            "p99": [2.5, None],
            "p999": None,
        },
        latency_targets={"p95": {"target": 0.5, "met": False}, "p99": {"target": 3.0, "met": True}},
    )
    probe = _service([_day(d, 1440, 0) for d in days])
    empty = _service([_day(d, 0, 0, no_data=1440) for d in days], coverage_percent=0.0)
    return {
        "month": "2026-01",
        "timezone": "UTC",
        "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
        "services": {EVIL: ratio, QUOTE: probe, "empty|pipe": empty},
        "complete": False,
        "as_of": "2026-01-15T12:00:00Z",
    }


def svgs(html: str) -> list[ET.Element]:
    """Every inline chart, parsed as XML (which fails loudly if one is malformed)."""
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    return [ET.fromstring(s) for s in found]


def day_groups(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == "ch-day"]


def test_html_and_markdown_escape_hostile_names() -> None:
    report = hostile_report()
    html = report_html(report).decode()
    md = report_markdown(report).decode()
    assert "<script" not in html.lower() and "<script" not in md.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert QUOTE not in html and "a&#34;b&amp;c" in html
    assert "&lt;script&gt;alert\\(1\\)" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "empty\\|pipe" in md
    for line in md.splitlines():
        if line.startswith("| empty"):
            assert (
                len(re.findall(r"(?<!\\)\|", line)) == 10
            )  # 9 columns: the pipe in the name is escaped


def test_nulls_and_month_in_progress() -> None:
    report = hostile_report()
    html = report_html(report).decode()
    md = report_markdown(report).decode()
    for text in (html, md):
        assert "Month in progress" in text and "as of 2026-01-15 12:00 UTC" in text
    assert (
        "No latency histogram" not in html
    )  # probe and empty services say it in words, not a chart
    assert html.count("This service has no latency histogram.") == 2
    assert "No incidents." in html and "No incidents." in md
    empty_row = next(line for line in md.splitlines() if line.startswith("| empty"))
    assert "| — |" in empty_row and "n/a" not in empty_row and "– standard" in empty_row
    assert "P999" in html and "no data" in html  # an extra percentile without a value
    assert "∞" in html  # P99's bucket is open-ended (+Inf)


def test_figures_are_rounded_against_the_reader(demo_report: dict) -> None:
    html = report_html(demo_report).decode()
    md = report_markdown(demo_report).decode()
    auth = demo_report["services"]["auth"]
    assert auth["uptime_percent"] == pytest.approx(99.95295699)
    for text in (html, md):
        assert "99.952%" in text  # 99.95296 rounded down
        assert "198.6 ms" in text and "48.2 ms" in text  # 198.55 ms and 48.14 ms rounded up
        assert "21 min" in text and "5 min" in text  # MTTR 21 and 5
        assert "0.074%" in text  # error ratio 0.00073224
        assert "470.5%" in text  # 21 down minutes of a 4.464-minute budget
        assert "within bucket 100–250 ms" in text  # P95 targets inside their bucket
        assert "0.0009999" not in text and "25000" not in text  # no float noise in budgets
    assert charts.fmt_uptime(99.98999) == "99.989%"
    assert charts.fmt_uptime(100.0) == "100.000%" and charts.fmt_uptime(None) == "—"
    assert charts.fmt_latency(0.0573) == "57.3 ms" and charts.fmt_latency(0.20001) == "200.1 ms"
    assert charts.fmt_plain(99.9) == "99.9" and charts.fmt_plain(0.05, 1000) == "50"
    assert fmt_duration(13.75) == "13.8 min" and fmt_duration(125.2) == "2 h 06 min"


def test_charts_are_well_formed_and_labelled(demo_report: dict) -> None:
    html = report_html(demo_report).decode()
    parsed = svgs(html)
    with_latency = sum(s["latency_seconds"] is not None for s in demo_report["services"].values())
    assert len(parsed) == 2 * len(demo_report["services"]) + with_latency
    for svg in parsed:
        assert svg.get("role") == "img" and svg.get("aria-label")
        assert svg.get("width") == "100%" and svg.get("viewBox", "").startswith("0 0 ")
    daily_charts = [s for s in parsed if "ch-daily" in s.get("class", "")]
    assert [len(day_groups(s)) for s in daily_charts] == [31] * len(demo_report["services"])
    for svg in svgs(report_html(hostile_report()).decode()):
        assert svg.get("aria-label")
    assert "<svg" not in report_markdown(demo_report).decode()


def test_one_bar_per_day_with_a_title(demo_report: dict) -> None:
    auth = demo_report["services"]["auth"]
    svg = ET.fromstring(
        str(charts.daily_uptime_bars(auth["daily"], auth["objective"], month_days=31))
    )
    groups = day_groups(svg)
    assert len(groups) == 31
    titles = [g.find(f"{SVG}title").text for g in groups]
    assert titles[0] == "2026-01-01: 100.000% uptime"
    assert titles[29].startswith("2026-01-30: 98.541% uptime, 21 min down")
    assert sum("ch-miss" in (r.get("class") or "") for r in svg.iter(f"{SVG}rect")) == 1
    # The worst day is a bar of its own height: the axis goes below 98.54%, not stop at 99%.
    worst = [r for r in groups[29].findall(f"{SVG}rect") if "ch-miss" in (r.get("class") or "")][0]
    best = [r for r in groups[0].findall(f"{SVG}rect") if "ch-ok" in (r.get("class") or "")][0]
    assert float(worst.get("height")) < float(best.get("height")) - 20
    assert charts.uptime_floor(99.99, 98.54) < 98.54 and charts.uptime_floor(99.99, 99.7) == 99.0

    ratio = hostile_report()["services"][EVIL]
    svg = ET.fromstring(
        str(charts.daily_uptime_bars(ratio["daily"], ratio["objective"], month_days=31))
    )
    groups = day_groups(svg)
    assert len(groups) == 15
    assert groups[12].find(f"{SVG}title").text == "2026-01-13: no data"
    assert "ch-nodata" in groups[12].findall(f"{SVG}rect")[-1].get("class")
    assert "120 min maintenance" in groups[13].find(f"{SVG}title").text
    future = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "ch-future"]
    assert len(future) == 16


def test_budget_and_latency_charts(demo_report: dict) -> None:
    auth = demo_report["services"]["auth"]
    allowed, used = charts.budget_minutes(auth["daily"], auth["objective"])
    assert allowed == 4.464 and used == 21  # exact: 0.01% of 44640, no float noise
    burn = str(charts.budget_burn(auth["daily"], auth["objective"]))
    assert "470.5% used" in burn and "100% budget" in burn and "of 4.4 allowed" in burn
    api = demo_report["services"]["api"]
    assert "No budget" in str(charts.budget_burn(api["daily"], 100.0))
    lat = ET.fromstring(
        str(
            charts.latency_chart(
                api["latency_seconds"], api["latency_bounds_seconds"], api["latency_targets"]
            )
        )
    )
    label = lat.get("aria-label")
    assert "P95: 198.6 ms" in label and "target 200 ms: within bucket 100–250 ms" in label
    assert "P50: 48.2 ms" in label and "target 50 ms: met" in label
    assert len(list(lat.iter(f"{SVG}circle"))) == 3
    odd = str(charts.latency_chart({"<p>": 0.1}, {"<p>": [0.05, None]}, {"<p>": 0.2}))
    assert "<p>" not in odd and "&lt;P&gt;" in odd
    ET.fromstring(odd)
    assert "No latency histogram" in str(charts.latency_chart(None, None, None))


def test_output_is_deterministic(demo_report: dict) -> None:
    twin = copy.deepcopy(demo_report)
    assert report_html(demo_report) == report_html(twin)
    assert report_markdown(demo_report) == report_markdown(twin)
    assert to_json(demo_report) == to_json(twin)
    hostile = hostile_report()
    assert report_html(hostile) == report_html(hostile_report())


def test_page_is_self_contained(demo_report: dict) -> None:
    html = report_html(demo_report).decode()
    assert '<html lang="en">' in html and "<script" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "@media print" in html and "prefers-color-scheme:dark" in html
    levels = [int(h) for h in re.findall(r"<h([1-6])\b", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))


def _png_width(png: Path) -> int:
    return struct.unpack(">I", png.read_bytes()[16:20])[0]


@pytest.fixture(scope="module")
def chromium() -> None:
    reason = browser.missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("which", ["demo", "hostile"])
def test_page_in_chromium(
    chromium: None, axe_js: Path, demo_report: dict, tmp_path: Path, which: str, width: int, dark: bool  # noqa: F811
) -> None:
    report = demo_report if which == "demo" else hostile_report()
    page = tmp_path / f"report-{which}.html"
    page.write_bytes(report_html(report))
    png = tmp_path / f"report-{which}-{width}-{'dark' if dark else 'light'}.png"
    check = browser.render(page, png, width=width, dark=dark, axe_js=axe_js)
    if os.environ.get("SLACTL_ARTIFACTS"):
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        shutil.copy(png, artifacts / png.name)
    assert check.console_errors == [] and check.page_errors == [] and check.outside_requests == []
    assert check.title == ("Generic Corp · " if which == "demo" else "") + "SLA report January 2026"
    assert (
        _png_width(png) == width
    )  # nothing wider than the screen: the page never scrolls sideways
    assert "SLA report · January 2026" in check.text
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in check.violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    if which == "demo":
        assert "Historical uptime" in check.text and "Performance under load" in check.text
        assert "within bucket 100–250 ms" in check.text and "Generic Corp" in check.text
    if which == "hostile":
        assert EVIL in check.text and QUOTE in check.text  # shown as text, never run
        assert "Month in progress." in check.text


def test_report_pdf_renders_with_pdftoppm(tmp_path: Path) -> None:
    """The checked-in demo report PDF is a real document: pdftoppm draws its first page."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm is not installed (Debian's poppler-utils)")
        pytest.skip("pdftoppm is not installed")
    import subprocess

    pdf = ROOT / "reports" / "report-2026-01.pdf"
    subprocess.run([pdftoppm, "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
                   check=True, timeout=120)  # fmt: skip
    [png] = list(tmp_path.glob("p*.png"))
    assert png.stat().st_size > 5_000 and 300 < _png_width(png) < 400  # A4 at 40 dpi: 331 px wide


def test_history_platform_and_certainty_in_every_format(demo_report: dict) -> None:
    html = report_html(demo_report).decode()
    md = report_markdown(demo_report).decode()
    months = [h["month"] for h in demo_report["history"]]
    assert len(months) == 7 and months[-1] == "2026-01"
    for text in (html, md):
        assert "Historical uptime" in text and "7-month average" in text and "Jul 2025" in text
        assert "Performance under load" in text and "req/s" in text
        assert "Generic Corp" in text and "Platform" in text and "minor" in text
        assert "Objective 99.99%: the enterprise tier (99.99%) of Globex GmbH" in text
    for name, s in demo_report["services"].items():
        for key, t in (s["latency_targets"] or {}).items():
            lo, hi = s["latency_bounds_seconds"][key]
            assert t["certain"] == ((hi is not None and hi <= t["target"]) or lo > t["target"]), (name, key)
    # A stored document from before history existed still renders (missing keys read as unknown).
    old = copy.deepcopy(demo_report)
    for key in ("platform", "history", "company", "incident_severity"):
        old.pop(key)
    assert "SLA report · January 2026" in report_html(old).decode()
