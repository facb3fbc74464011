"""The status page's content (SPEC sections 3 and 7), from the same minutes as the monthly report.

``status_page(cfg, store, at, now)`` pulls what the store lacks up to ``at``,
then computes, for the last ``status_page.days`` local days in ``timezone``:
each service's daily uptime, its uptime over the window and its *current state*;
incidents detected from runs of down minutes, merged with hand-written posts;
and maintenance from the config.  The result is one plain dict (times as aware
datetimes) that :mod:`slactl.render.statuspage` turns into files.

Current state of a service, first match wins (``RECENT`` = the last 5 settled
minutes, after the service's ``no_data`` policy):

- ``under_maintenance``: a maintenance window of the service covers ``at``;
- ``major_outage``: at least half of the recent measured minutes are down;
- ``partial_outage``: some recent minute is down, or one group of its series
  (``group_by``: some customers) is down in at least half of them;
- ``degraded_performance``: the recent good ratio (request-weighted) is below
  ``1 - DEGRADED_SHARE × (1 - slice_threshold)``, i.e. 0.99 for the 0.95 default;
- ``operational`` otherwise, also when no recent minute has data (the page then
  says "no recent data": Statuspage's shape has no "unknown").

Overall indicator: ``critical`` when every service not in maintenance is in
``major_outage`` or an open incident is critical; ``major`` for any outage or an
open major incident; ``minor`` for degraded performance or an open minor
incident; ``none`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from slactl.app.incidents import RECENT, detected, merge_incidents, minute_time, stable_id
from slactl.app.ingest import ingest, last_settled_minute
from slactl.app.measure import ServiceMinutes, service_minutes
from slactl.config import Config
from slactl.errors import UsageError
from slactl.model import DOWN, UP, Period, minute_of
from slactl.publish.folder import publish_folder
from slactl.render.posts import load_posts
from slactl.render.statuspage import site_files
from slactl.sli import states
from slactl.sources.base import Injected
from slactl.store.sql import Store

MOBILE_DAYS = 30  # the bars a narrow screen shows (the page says so beside its figure)
DEGRADED_SHARE = 0.2
IMPACT_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
STATUS_RANK = {"operational": 0, "degraded_performance": 1, "partial_outage": 2, "major_outage": 3}
SEVERITY_STATUS = {"minor": "degraded_performance", "major": "partial_outage", "critical": "major_outage"}


@dataclass
class StatusPageResult:
    page: dict[str, Any]
    warnings: list[str]


def parse_at(text: str | None, zone: tzinfo, now: datetime) -> datetime:
    """``--at`` as an aware UTC time (no offset: the config's zone); default ``now``."""
    if text is None:
        return now.astimezone(UTC)
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at must be an ISO 8601 time like 2026-01-12T14:00:00Z, got {text!r}") from None
    dt = (dt if dt.tzinfo else dt.replace(tzinfo=zone)).astimezone(UTC)
    if dt > now + timedelta(minutes=1):
        raise UsageError(f"--at {text} is in the future; the page can only show what has happened")
    return dt


def _local_midnight(day: date, zone: tzinfo) -> int:
    return minute_of(datetime(day.year, day.month, day.day, tzinfo=zone))


def day_ranges(at: datetime, days: int, zone: tzinfo, end: int) -> list[tuple[str, int, int]]:
    """The last ``days`` local days up to ``at``'s, as ``(date, start, end)``, cut at ``end``."""
    today = at.astimezone(zone).date()
    out = []
    for i in range(days - 1, -1, -1):
        d = today - timedelta(days=i)
        a = _local_midnight(d, zone)
        b = min(_local_midnight(d + timedelta(days=1), zone), end)
        out.append((d.isoformat(), a, max(a, b)))
    return out


def _day_entry(sm: ServiceMinutes, start: int, day: tuple[str, int, int]) -> dict[str, Any]:
    date_s, a, b = day
    counts = states.count_states(sm.states[max(a - start, 0) : max(b - start, 0)])
    uptime = states.uptime_percent(counts)
    if uptime is None:
        level = "maintenance" if counts["excluded"] else "none"
    elif counts["down"] == 0:
        level = "maintenance" if counts["excluded"] else "ok"
    else:
        level = "minor" if uptime >= 99.0 else ("major" if uptime >= 95.0 else "critical")
    return {"date": date_s, "uptime_percent": uptime, "level": level, **{k: counts[k] for k in counts}}


def current_status(cfg: Config, sm: ServiceMinutes, in_maintenance: bool) -> tuple[str, str]:
    """The service's state now and a short note for the page (see the module docstring)."""
    if in_maintenance:
        return "under_maintenance", ""
    svc = cfg.services[sm.name]
    recent = sm.states[-RECENT:]
    up, down = int(np.count_nonzero(recent == UP)), int(np.count_nonzero(recent == DOWN))
    if up + down == 0:
        return "operational", "no recent data"
    if 2 * down >= up + down:
        return "major_outage", ""
    end = sm.end
    excluded = sm.excluded[-RECENT:]
    for group in sm.groups.values():
        w = group.window(end - len(recent), end)
        g = states.minute_states(w.good_ratio(), excluded, svc.slice_threshold, svc.no_data)
        g_up, g_down = int(np.count_nonzero(g == UP)), int(np.count_nonzero(g == DOWN))
        if g_down and 2 * g_down >= g_up + g_down:
            return "partial_outage", "some customers affected"
    if down:
        return "partial_outage", ""
    w = sm.combined.window(end - len(recent), end)
    measured = w.has_data & ~excluded
    if w.kind == "ratio":
        assert w.errors is not None and w.total is not None
        total = float(w.total[measured].sum())
        good = 1.0 - float(w.errors[measured].sum()) / total if total > 0 else 1.0
    else:
        ratios = w.good_ratio()[measured]
        good = float(np.nanmean(ratios)) if ratios.size else 1.0
    if good < 1.0 - DEGRADED_SHARE * (1.0 - svc.slice_threshold):
        return "degraded_performance", f"{100 * (1 - good):.1f}% errors"
    return "operational", ""


def maintenances(cfg: Config, at: datetime, window_start: datetime) -> list[dict[str, Any]]:
    """Configured windows that are upcoming, running, or ended inside the window."""
    out = []
    for m in cfg.maintenance:
        start, end = m.start.astimezone(UTC), m.end.astimezone(UTC)
        if end < window_start:
            continue
        services = list(m.services) if m.services else list(cfg.services)
        names = [cfg.display_name(s) for s in services]
        status = "scheduled" if at < start else ("in_progress" if at < end else "completed")
        ident = stable_id("maintenance", start.isoformat(), end.isoformat(), ",".join(services))
        name = m.reason or "Scheduled maintenance"
        affects = f"{', '.join(names)} may be unavailable."
        updates = [{"status": status if status == "scheduled" else "in_progress", "at": start, "body": affects}]
        if status == "completed":
            updates.append({"status": "completed", "at": end, "body": "Maintenance has been completed."})
        for i, u in enumerate(updates):
            u["id"] = stable_id(ident, i, u["status"])
        out.append(
            {
                "id": ident, "name": name, "status": status, "impact": "maintenance", "services": services,
                "service_names": names, "post_services": None,
                "scheduled_for": start, "scheduled_until": end, "started_at": start, "created_at": start,
                "updated_at": updates[-1]["at"], "monitoring_at": None,
                "resolved_at": end if status == "completed" else None,
                "updates": list(reversed(updates)), "down": [], "body_html": "",
            }
        )
    return sorted(out, key=lambda m: (m["scheduled_for"], m["id"]), reverse=True)


def overall(services: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> dict[str, str]:
    """Statuspage's ``status``: the worst of the services' states and open incidents' impact."""
    level = max([IMPACT_RANK[i["impact"]] for i in incidents if i["resolved_at"] is None] or [0])
    live = [s["status"] for s in services if s["status"] != "under_maintenance"]
    if live and all(s == "major_outage" for s in live):
        level = 3
    elif any(s in ("major_outage", "partial_outage") for s in live):
        level = max(level, 2)
    elif "degraded_performance" in live:
        level = max(level, 1)
    indicator = next(k for k, v in IMPACT_RANK.items() if v == level)
    desc = DESCRIPTIONS[indicator]
    if indicator == "none" and any(s["status"] == "under_maintenance" for s in services):
        desc = "Service Under Maintenance"
    return {"indicator": indicator, "description": desc}


def status_page(
    cfg: Config, store: Store, at: datetime, now: datetime, injected: Injected | None = None
) -> StatusPageResult:
    """Everything the page shows as of ``at``, pulling what the store lacks first."""
    zone = cfg.zone
    end = last_settled_minute(at)
    days = day_ranges(at, cfg.status_page.days, zone, end)
    start = days[0][1]
    ingest(cfg, store, start, end, min(at, now), injected=injected)
    period = Period(month="", timezone=cfg.timezone, start=start, end=max(end, start + 1))
    maint = maintenances(cfg, at, minute_time(start))
    running = {s for m in maint if m["status"] == "in_progress" for s in m["services"]}
    minutes: dict[str, ServiceMinutes] = {}
    current: dict[str, tuple[str, str]] = {}
    for name in cfg.services:
        # The groups' float minutes are needed only for the current status: one service at a time.
        sm = minutes[name] = service_minutes(cfg, store, name, period)
        current[name] = current_status(cfg, sm, name in running)
        sm.release()
    services: list[dict[str, Any]] = []
    # Services of one ``group`` sit together (first appearance order), as Statuspage groups them.
    order = list(cfg.services)
    firsts: dict[str | None, int] = {}
    for n in order:
        firsts.setdefault(cfg.services[n].group, order.index(n))
    ordered = sorted(minutes, key=lambda n: (firsts[cfg.services[n].group], order.index(n)))
    for pos, name in enumerate(ordered, start=1):
        sm = minutes[name]
        status, note = current[name]
        counts = states.count_states(sm.states[: max(end - start, 0)])
        entries = [_day_entry(sm, start, d) for d in days]
        recent = entries[-MOBILE_DAYS:]
        recent_counts = {k: sum(d[k] for d in recent) for k in ("up", "down")}
        services.append(
            {
                "key": name,
                "name": cfg.display_name(name),
                "group": cfg.services[name].group,
                "id": stable_id("component", name),
                "description": cfg.services[name].description,
                "position": pos,
                "status": status,
                "note": note,
                "uptime_percent": states.uptime_percent(counts),
                "down_minutes": counts["down"],
                "recent_days": len(recent),
                "recent_uptime_percent": states.uptime_percent(recent_counts),
                "days": entries,
            }
        )
    posts, warnings = load_posts(cfg.path(cfg.status_page.incidents_dir), zone=zone, services=set(cfg.services))
    incidents = merge_incidents(cfg, posts, detected(cfg, minutes, start, end), at, start, end)
    for inc in incidents:  # an open post says how bad it is for its services, as on Statuspage
        if inc["file"] and inc["resolved_at"] is None:
            for s in services:
                if s["key"] in (inc["post_services"] or inc["services"]) and s["status"] != "under_maintenance":
                    s["status"] = max(s["status"], SEVERITY_STATUS[inc["impact"]], key=STATUS_RANK.__getitem__)
    page = {
        "title": cfg.status_page.title,
        "id": stable_id("page", cfg.status_page.title),
        "url": cfg.status_page.url,
        "timezone": cfg.timezone,
        "at": at,
        "as_of": minute_time(end),
        "window_start": minute_time(start),
        "days": cfg.status_page.days,
        "mobile_days": MOBILE_DAYS,
        "status": overall(services, incidents),
        "services": services,
        "incidents": incidents,
        "maintenances": maint,
    }
    return StatusPageResult(page, warnings)


def build_site(
    cfg: Config, store: Store, at: datetime, now: datetime, injected: Injected | None = None
) -> tuple[dict[str, bytes], list[str]]:
    """Every file of the page as of ``at`` (path → bytes), and warnings about posts left out."""
    result = status_page(cfg, store, at, now, injected)
    return site_files(result.page), result.warnings


def publish_site(cfg: Config, files: dict[str, bytes], *, out: Path | None = None, s3_client: Any = None) -> str:
    """Switch ``out`` (``build --out``) or ``publish.status_page`` to ``files``; say where."""
    target = cfg.publish.status_page
    if out is None and target.s3 is not None:
        from slactl.publish.s3 import publish_s3  # boto3 is imported only when S3 is used

        publish_s3(files, target.s3, s3_client)
        return f"s3://{target.s3.bucket}/{target.s3.prefix.strip('/')}"
    folder = out if out is not None else cfg.path(target.dir or "public")
    publish_folder(files, folder)
    return str(folder)
