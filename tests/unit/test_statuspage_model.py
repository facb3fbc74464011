"""What the status page says, on hand-made minutes: current states, incidents, posts, maintenance, days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slactl.app.ingest import fingerprint, last_settled_minute
from slactl.app.statuspage import parse_at, status_page
from slactl.config import load
from slactl.errors import UsageError
from slactl.figures.status import Overall, StatusPage
from slactl.model import MinuteSeries
from slactl.render.statuspage import api
from slactl.store.sql import Store

AT = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
END = last_settled_minute(AT)  # the minute after the last settled one (11:58)
ACME, INTERNAL = (("tenant", "acme"),), (("tenant", "internal"),)

CONFIG = """\
timezone: {tz}
store: sqlite:///s.db
sources: {{sample: {{type: sample, seed: 1}}}}
tiers: {{standard: {{uptime_target: 99.9}}}}
services:
  api:
    source: sample
    availability: {{errors: 'req{{code="500"}}', total: req}}
    group_by: [tenant]
  auth:
    source: sample
    availability: {{probe: up}}
customers:
  acme: {{tier: standard, monthly_fee: "1", services: [api], match: {{tenant: acme}}}}
maintenance: {maintenance}
status_page: {{title: Test Status, days: {days}}}
"""


def page_for(
    tmp_path: Path,
    *,
    acme: dict[int, float] | None = None,
    internal: dict[int, float] | None = None,
    auth: dict[int, float | None] | None = None,
    maintenance: str = "[]",
    days: int = 3,
    tz: str = "UTC",
    at: datetime = AT,
    posts: dict[str, str] | None = None,
) -> dict:
    """Seed the store with exact minutes (errors by minute; auth probe values, None = no data) and compute."""
    (tmp_path / "slactl.yaml").write_text(CONFIG.format(tz=tz, maintenance=maintenance, days=days))
    (tmp_path / "incidents").mkdir(exist_ok=True)
    for name, text in (posts or {}).items():
        (tmp_path / "incidents" / name).write_text(text)
    cfg = load(tmp_path / "slactl.yaml")
    end = last_settled_minute(at)
    start = end - (days + 2) * 1440
    n = end - start
    groups = {}
    for key, total, errors in ((ACME, 40.0, acme), (INTERNAL, 960.0, internal)):
        ms = MinuteSeries.empty("ratio", start, n)
        ms.has_data[:] = True
        assert ms.total is not None and ms.errors is not None
        ms.total[:] = total
        for minute, e in (errors or {}).items():
            ms.errors[minute - start] = e
        groups[key] = ms
    probe = MinuteSeries.empty("probe", start, n)
    assert probe.probe_sum is not None and probe.probe_count is not None
    probe.has_data[:] = True
    probe.probe_sum[:] = 1.0
    probe.probe_count[:] = 1.0
    for minute, value in (auth or {}).items():
        probe.has_data[minute - start] = value is not None
        probe.probe_sum[minute - start] = value or 0.0
        probe.probe_count[minute - start] = 0.0 if value is None else 1.0
    store = Store(cfg.store_url)
    try:
        store.save("api", fingerprint(cfg, "api"), "ratio", start, end, groups)
        store.save("auth", fingerprint(cfg, "auth"), "probe", start, end, {(): probe})
        result = status_page(cfg, store, at, AT + timedelta(days=300))
    finally:
        store.close()
    return result.page


def states(page: StatusPage) -> dict[str, str]:
    return {s.name: s.status for s in page.services}


def down(minutes: range, both: bool = True) -> tuple[dict[int, float], dict[int, float]]:
    return {m: 40.0 for m in minutes}, ({m: 960.0 for m in minutes} if both else {})


def test_all_good_is_operational(tmp_path):
    page = page_for(tmp_path)
    assert states(page) == {"api": "operational", "auth": "operational"}
    assert page.status == Overall("none", "All Systems Operational")
    assert page.incidents == ()
    assert [d.level for d in page.services[0].days] == ["ok"] * 3


def test_most_recent_minutes_down_is_a_major_outage_and_an_open_incident(tmp_path):
    acme, internal = down(range(END - 3, END))
    page = page_for(tmp_path, acme=acme, internal=internal)
    assert states(page)["api"] == "major_outage"
    assert page.status.indicator == "major"
    [inc] = page.incidents
    assert (inc.status, inc.resolved_at, inc.services) == ("investigating", None, ("api",))
    assert inc.name == "Elevated error rates on api"
    summary = api(page)["summary.json"]
    assert [i["id"] for i in summary["incidents"]] == [inc.id]


def test_one_recent_down_minute_is_a_partial_outage_then_monitoring(tmp_path):
    acme, internal = down(range(END - 4, END - 3))
    page = page_for(tmp_path, acme=acme, internal=internal)
    assert states(page)["api"] == "partial_outage"
    [inc] = page.incidents
    assert inc.status == "monitoring" and inc.monitoring_at is not None and inc.resolved_at is None


def test_one_customer_down_is_a_partial_outage(tmp_path):
    acme, _ = down(range(END - 5, END), both=False)  # acme fails, the service as a whole stays above 0.95
    page = page_for(tmp_path, acme=acme)
    assert states(page)["api"] == "partial_outage"
    assert page.services[0].note == "some customers affected"
    assert page.incidents == ()  # incidents are service-level runs (SPEC 2.5)


def test_errors_under_the_threshold_are_degraded_performance(tmp_path):
    page = page_for(tmp_path, internal={m: 20.0 for m in range(END - 5, END)})  # 2% errors
    assert states(page)["api"] == "degraded_performance"
    assert page.status == Overall("minor", "Minor Service Outage")


def test_no_recent_data_is_operational_with_a_note(tmp_path):
    page = page_for(tmp_path, auth={m: None for m in range(END - 5, END)})
    assert states(page)["auth"] == "operational"
    assert page.services[1].note == "no recent data"


def test_everything_down_is_critical(tmp_path):
    acme, internal = down(range(END - 5, END))
    page = page_for(tmp_path, acme=acme, internal=internal, auth={m: 0.0 for m in range(END - 5, END)})
    assert page.status == Overall("critical", "Major System Outage")
    assert len(page.incidents) == 1 and page.incidents[0].services == ("api", "auth")


def test_maintenance_running_upcoming_and_done(tmp_path):
    maintenance = (
        "[{start: 2026-01-20T11:00:00Z, end: 2026-01-20T13:00:00Z, services: [auth], reason: Upgrade},"
        " {start: 2026-01-25T01:00:00Z, end: 2026-01-25T02:00:00Z, reason: Network work},"
        " {start: 2026-01-19T01:00:00Z, end: 2026-01-19T03:00:00Z, services: [api], reason: Old}]"
    )
    page = page_for(tmp_path, maintenance=maintenance, auth={m: 0.0 for m in range(END - 5, END)})
    assert states(page) == {"api": "operational", "auth": "under_maintenance"}  # down minutes are excluded
    assert page.status == Overall("none", "Service Under Maintenance")
    by_name = {m.name: m for m in page.maintenances}
    assert by_name["Upgrade"].status == "in_progress"
    assert by_name["Network work"].status == "scheduled" and by_name["Network work"].services == ("api", "auth")
    assert by_name["Old"].status == "completed"
    summary = api(page)["summary.json"]
    assert [m["name"] for m in summary["scheduled_maintenances"]] == ["Upgrade", "Network work"]
    assert summary["components"][1]["status"] == "under_maintenance"
    api_days = page.services[0].days
    assert api_days[1].level == "maintenance" and api_days[1].excluded == 120


POST = """---
title: {title}
severity: critical
services: [{service}]
started: {started}
{resolved}updates:
  - {{at: {started}, status: investigating, text: Looking.}}
  - {{at: 2026-01-20T11:00:00Z, status: resolved, text: Published later {late}}}
---
Body.
"""


def test_a_post_attaches_to_the_outage_it_overlaps_and_an_unmatched_post_still_shows(tmp_path):
    run = range(END - 300, END - 290)  # 07:00-07:10 UTC
    acme, internal = down(run)
    posts = {
        "a.md": POST.format(title="API down", service="api", started="2026-01-20T06:58:00Z",
                            resolved="resolved: 2026-01-20T07:15:00Z\n", late="no"),
        "b.md": POST.format(title="Auth hiccup", service="auth", started="2026-01-20T06:59:00Z",
                            resolved="resolved: 2026-01-20T07:05:00Z\n", late="no"),
        "future.md": POST.format(title="Not yet", service="api", started="2026-01-20T12:30:00Z", resolved="", late="x"),
    }
    page = page_for(tmp_path, acme=acme, internal=internal, posts=posts)
    names = [i.name for i in page.incidents]
    assert sorted(names) == ["API down", "Auth hiccup"]  # the outage was absorbed, the future post is hidden
    a = next(i for i in page.incidents if i.name == "API down")
    assert a.detected and a.file == "a.md" and a.impact == "critical"
    assert a.down[0].minutes == 10 and a.status == "resolved"
    b = next(i for i in page.incidents if i.name == "Auth hiccup")
    assert not b.detected and b.down == ()


def test_at_hides_updates_published_later(tmp_path):
    posts = {"a.md": POST.format(title="Ongoing", service="api", started="2026-01-20T10:00:00Z", resolved="", late="x")}
    page = page_for(tmp_path, posts=posts, at=datetime(2026, 1, 20, 10, 30, tzinfo=UTC))
    [inc] = page.incidents
    assert inc.status == "investigating" and inc.resolved_at is None
    assert states(page)["api"] == "major_outage"  # an open critical post marks its services
    assert [u.status for u in inc.updates] == ["investigating"]
    page = page_for(tmp_path, posts=posts)  # at 12:00 the resolved update is out
    assert page.incidents[0].status == "resolved" and states(page)["api"] == "operational"


def test_days_follow_the_local_calendar_across_dst(tmp_path):
    at = datetime(2025, 11, 3, 17, 0, tzinfo=UTC)  # New York left DST on 2 Nov
    page = page_for(tmp_path, tz="America/New_York", at=at)
    days = page.services[0].days
    assert [d.date for d in days] == ["2025-11-01", "2025-11-02", "2025-11-03"]
    assert [d.total for d in days[:2]] == [1440, 1500]
    assert days[2].total == last_settled_minute(at) - int(datetime(2025, 11, 3, 5, tzinfo=UTC).timestamp() // 60)


def test_day_levels_by_uptime(tmp_path):
    day_start = END - 718 - 1440  # yesterday 00:00
    internal = {m: 960.0 for m in range(day_start, day_start + 10)}  # 10 down minutes: 99.3%
    internal |= {m: 960.0 for m in range(day_start - 1440, day_start - 1440 + 100)}  # 100: 93.1%
    page = page_for(tmp_path, acme={m: 40.0 for m in internal}, internal=internal)
    assert [d.level for d in page.services[0].days] == ["critical", "minor", "ok"]
    assert page.services[0].days[1].down == 10


def test_parse_at():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    zone = ZoneInfo("Europe/Berlin")
    assert parse_at("2026-01-12T14:00:00Z", zone, now) == datetime(2026, 1, 12, 14, tzinfo=UTC)
    assert parse_at("2026-01-12T15:00:00", zone, now) == datetime(2026, 1, 12, 14, tzinfo=UTC)
    assert parse_at(None, zone, now) == now
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_at("yesterday", zone, now)
    with pytest.raises(UsageError, match="future"):
        parse_at("2026-03-02T00:00:00Z", zone, now)


def test_detected_incidents_take_their_severity_from_their_length(tmp_path):
    short_a, short_i = down(range(END - 300, END - 297))  # 3 min: minor
    long_a, long_i = down(range(END - 200, END - 180))  # 20 min: major
    page = page_for(tmp_path, acme=short_a | long_a, internal=short_i | long_i)
    impacts = {i.down[0].minutes: i.impact for i in page.incidents}
    assert impacts == {3: "minor", 20: "major"}
    assert {i["impact"] for i in api(page)["incidents.json"]["incidents"]} == {"minor", "major"}


OPEN_POST = """---
title: API on fire
severity: critical
services: [api]
started: 2026-01-20T11:40:00Z
updates:
  - {at: 2026-01-20T11:40:00Z, status: investigating, text: Looking.}
---
"""


def test_an_open_post_affects_only_the_services_it_names(tmp_path):
    """A critical api post overlapping an api+auth outage must not mark auth as a major outage."""
    minutes = range(END - 10, END - 7)  # api and auth down together, recovered since
    acme, internal = down(minutes)
    auth = {m: 0.0 for m in minutes}
    page = page_for(tmp_path, acme=acme, internal=internal, auth=auth, posts={"fire.md": OPEN_POST})
    assert states(page) == {"api": "major_outage", "auth": "operational"}
    post = next(i for i in page.incidents if i.file == "fire.md")
    assert post.services == ("api",) and [d.service for d in post.down] == ["api"]
    [rest] = [i for i in page.incidents if i.file is None]
    assert rest.services == ("auth",) and rest.impact == "minor"
