"""Platform, severity and history figures against figures computed here, independently.

Each service's minutes are generated from a list of outage events and written
straight into a real SQLite store; the expected figures are then worked out
minute by minute in plain Python (no numpy, no slactl figure code) and compared
with the report.  The zone is Europe/Berlin, so the history crosses a month
with a DST change (March 2026 has 44,580 minutes there), and some months are
missing from the store for some services: those figures must be null.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from slactl.app.measure import measure_month, months_before
from slactl.config import load
from slactl.figures.doc import report_doc
from slactl.model import MinuteSeries
from slactl.sli.period import month_period
from slactl.sli.severity import severity
from slactl.store.sql import Store

ZONE = "Europe/Berlin"
MONTH = "2026-04"
SERVICES = {"api": 2, "web": 0, "db": 1}  # name: incident_merge_gap_minutes
MISSING = {("web", "2026-01"), ("db", "2026-01"), ("db", "2026-02"), ("api", "2025-12")}
MAJOR, CRITICAL = 10, 45

CONFIG = f"""
timezone: {ZONE}
store: sqlite:///figures.db
sources: {{gen: {{type: sample}}}}
tiers: {{standard: {{uptime_target: 99.9}}}}
services:
""" + "".join(
    f"""  {name}:
    source: gen
    incident_merge_gap_minutes: {gap}
    availability:
      probe: 'up{{service="{name}"}}'
"""
    for name, gap in SERVICES.items()
) + f"""
incidents: {{severity: {{major_minutes: {MAJOR}, critical_minutes: {CRITICAL}}}}}
report: {{history_months: 4}}
"""


def events(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """Outages as (offset, length) inside a month of ``n`` minutes, some close enough to merge."""
    out = []
    for _ in range(rng.randint(0, 5)):
        start, length = rng.randrange(0, n - 100), rng.choice([1, 3, 9, 10, 12, 44, 45, 70])
        out.append((start, length))
        if rng.random() < 0.3:  # a flap right after it
            out.append((start + length + rng.randint(1, 3), rng.randint(1, 4)))
    return out


def down_set(evs: list[tuple[int, int]], n: int) -> set[int]:
    return {m for s, length in evs for m in range(s, min(s + length, n))}


def expected_figures(down: set[int] | None, n: int, gap: int) -> dict | None:
    """Uptime, incidents with severity and MTTR, from the down minutes, by hand."""
    if down is None:
        return None
    runs: list[list[int]] = []
    for m in sorted(down):
        if runs and m - runs[-1][1] <= gap:  # m - end = non-down minutes between + 0
            runs[-1][1] = m + 1
        elif runs and m == runs[-1][1]:
            runs[-1][1] = m + 1
        else:
            runs.append([m, m + 1])
    durations = [b - a for a, b in runs]
    sev = {"minor": 0, "major": 0, "critical": 0}
    for d in durations:
        sev["minor" if d < MAJOR else "major" if d < CRITICAL else "critical"] += 1
    return {
        "uptime_percent": 100 * (n - len(down)) / n,
        "incident_count": len(runs),
        "mttr_minutes": sum(durations) / len(durations) if durations else None,
        "down_minutes": len(down),
        "incidents_by_severity": sev,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("figures")
    (folder / "slactl.yaml").write_text(CONFIG)
    cfg = load(folder / "slactl.yaml")
    store = Store(cfg.store_url)
    rng = random.Random(20260401)
    truth: dict[str, dict[str, set[int] | None]] = {}
    for month in [*months_before(MONTH, 4), MONTH]:
        p = month_period(month, ZONE)
        truth[month] = {}
        for name in SERVICES:
            if (name, month) in MISSING:
                truth[month][name] = None
                continue
            down = down_set(events(rng, p.minutes), p.minutes)
            truth[month][name] = down
            ms = MinuteSeries.empty("probe", p.start, p.minutes)
            ms.has_data[:] = True
            ms.probe_count[:] = 1.0
            ms.probe_sum[:] = 1.0
            ms.probe_sum[sorted(down)] = 0.0
            store.save(name, "fp", "probe", p.start, p.end, {(): ms})
    report, _ = measure_month(cfg, store, month_period(MONTH, ZONE))
    yield cfg, store, truth, report_doc(report)
    store.close()


def test_march_in_berlin_is_an_hour_short():
    assert month_period("2026-03", ZONE).minutes == 31 * 1440 - 60
    assert month_period("2025-10", ZONE).minutes == 31 * 1440 + 60


def test_history_matches_hand_computed_figures(world):
    cfg, _, truth, doc = world
    assert [h["month"] for h in doc["history"]] == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    for h in doc["history"]:
        n = month_period(h["month"], ZONE).minutes
        for name, gap in SERVICES.items():
            want = expected_figures(truth[h["month"]][name], n, gap)
            got = h["services"][name]
            if want is None:
                assert got is None, (h["month"], name)  # the store lacks it: null, never pulled
                continue
            assert got["incident_count"] == want["incident_count"], (h["month"], name)
            assert got["incidents_by_severity"] == want["incidents_by_severity"], (h["month"], name)
            assert got["down_minutes"] == want["down_minutes"]
            assert got["uptime_percent"] == pytest.approx(want["uptime_percent"], abs=1e-12)
            assert got["mttr_minutes"] == pytest.approx(want["mttr_minutes"]) if want["mttr_minutes"] else True


def test_platform_combines_the_stored_services(world):
    _, _, truth, doc = world
    gap = min(SERVICES.values())
    for h in doc["history"]:
        n = month_period(h["month"], ZONE).minutes
        stored = [d for d in truth[h["month"]].values() if d is not None]
        want = expected_figures(set().union(*stored), n, gap) if stored else None
        got = h["platform"]
        assert (got is None) == (want is None)
        if want is None:
            continue
        assert got["incident_count"] == want["incident_count"], h["month"]
        assert got["incidents_by_severity"] == want["incidents_by_severity"], h["month"]
        assert got["uptime_percent"] == pytest.approx(want["uptime_percent"], abs=1e-12)


def test_reported_month_equals_its_history_entry(world):
    _, _, truth, doc = world
    last = doc["history"][-1]
    assert last["month"] == MONTH
    for name, s in doc["services"].items():
        assert last["services"][name]["uptime_percent"] == s["uptime_percent"]
        assert last["services"][name]["incident_count"] == s["incident_count"]
        assert last["services"][name]["mttr_minutes"] == s["mttr_minutes"]
        for i in s["incidents"]:
            assert i["severity"] == severity(i["duration_minutes"], MAJOR, CRITICAL)
    p = doc["platform"]
    assert p["minutes"]["total"] == month_period(MONTH, ZONE).minutes
    assert sum(p["minutes"][k] for k in ("up", "down", "no_data", "excluded")) == p["minutes"]["total"]
    assert last["platform"]["uptime_percent"] == p["uptime_percent"]
    assert p["incident_merge_gap_minutes"] == 0
    assert [i["duration_minutes"] for i in p["incidents"]] == [
        (datetime.fromisoformat(i["end"]) - datetime.fromisoformat(i["start"])).seconds // 60 for i in p["incidents"]
    ]


@pytest.mark.parametrize("minutes", [0, 1, 9, 10, 44, 45, 10_000])
def test_severity_thresholds(minutes):
    got = severity(minutes, MAJOR, CRITICAL)
    assert got == ("minor" if minutes < MAJOR else "major" if minutes < CRITICAL else "critical")
    assert severity(14) == "minor" and severity(15) == "major" and severity(59) == "major" and severity(60) == "critical"


def test_history_never_pulls_from_a_source(world):
    """The sample source would invent data for the missing months; the store must still lack them."""
    cfg, store, _, _ = world
    report, _ = measure_month(cfg, store, month_period(MONTH, ZONE))
    assert report.history[1].services["web"] is None and report.history[0].services["api"] is None
    p = month_period("2026-01", ZONE)
    assert store.missing("web", "fp", p.start, p.end) == [(p.start, p.end)]


def test_one_tenants_outage_shows_in_its_group_not_in_the_sum(tmp_path: Path):
    """50 tenants, one of them fully failing for 30 minutes: the service stays up, that group does not."""
    (tmp_path / "slactl.yaml").write_text(
        "sources: {gen: {type: sample}}\n"
        "tiers: {standard: {uptime_target: 99.9}}\n"
        "services:\n  api:\n    source: gen\n    group_by: [tenant]\n"
        "    availability: {errors: 'e', total: 't'}\n"
    )
    cfg = load(tmp_path / "slactl.yaml")
    store = Store(cfg.store_url)
    p = month_period("2026-01", "UTC")
    groups = {}
    for i in range(50):
        ms = MinuteSeries.empty("ratio", p.start, p.minutes)
        ms.has_data[:] = True
        ms.total[:] = 100.0
        if i == 7:
            ms.errors[600:630] = 100.0
        groups[(("tenant", f"t{i:02d}"),)] = ms
    store.save("api", "fp", "ratio", p.start, p.end, groups)
    report, _ = measure_month(cfg, store, p)
    store.close()
    api = report.services["api"]
    assert api.uptime.uptime_percent == 100.0 and api.uptime.incident_count == 0
    by_tenant = {g.label: g.uptime for g in api.groups}
    assert len(by_tenant) == 50
    assert by_tenant["tenant=t07"].minutes.down == 30 and by_tenant["tenant=t07"].incident_count == 1
    assert by_tenant["tenant=t07"].incidents[0].severity == "major"
    assert all(u.uptime_percent == 100.0 for k, u in by_tenant.items() if k != "tenant=t07")


def test_peak_load_spreads_a_scrape_gap_like_rate():
    """The minute after a gap holds the gap's requests; it is not the month's peak."""
    from slactl.app.measure import throughput

    ms = MinuteSeries.empty("ratio", 1000, 60)
    ms.has_data[:] = True
    ms.total[:] = 600.0  # 10 req/s
    ms.has_data[20:26] = False
    ms.total[20:26] = 0.0
    ms.total[26] = 7 * 600.0  # six missed minutes seen at the next scrape
    ms.total[40] = 1200.0  # a real burst: 20 req/s
    t = throughput(ms, np.zeros(60, dtype=bool))
    assert t.peak_rps == 20.0 and t.peak_at == 1040
    assert t.mean_rps == pytest.approx((600 * 52 + 7 * 600 + 1200) / (54 * 60))
