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

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from slactl.config import Config
from slactl.errors import UsageError
from slactl.model import DOWN, UP, Period, minute_of
from slactl.pipeline.ingest import ingest, last_settled_minute
from slactl.pipeline.report import ServiceMinutes, service_minutes
from slactl.publish.folder import publish_folder
from slactl.render.posts import Post, load_posts
from slactl.render.statuspage import site_files
from slactl.sli import states
from slactl.sli.severity import severity
from slactl.sources.base import Injected
from slactl.store.sql import Store

RECENT = 5
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


def stable_id(*parts: object) -> str:
    """A short id from names and times, so ids stay the same from build to build."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return digest[:12]


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


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


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
    end = sm.combined.end
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


def _detected(cfg: Config, minutes: dict[str, ServiceMinutes], start: int, end: int) -> list[dict[str, Any]]:
    """Runs of down minutes of every service, overlapping runs of several services made one."""
    runs = []
    for name, sm in minutes.items():
        for a, b in states.incidents(sm.states, start, cfg.services[name].incident_merge_gap_minutes):
            runs.append((a, b, name))
    clusters: list[dict[str, Any]] = []
    for a, b, name in sorted(runs):
        if clusters and a <= clusters[-1]["end"]:
            c = clusters[-1]
            c["end"] = max(c["end"], b)
            c["runs"].append((name, a, b))
        else:
            clusters.append({"start": a, "end": b, "runs": [(name, a, b)]})
    for c in clusters:
        c["services"] = sorted({r[0] for r in c["runs"]}, key=list(cfg.services).index)
        c["ongoing"] = c["end"] >= end
    return clusters


def _what(cfg: Config, services: list[str]) -> str:
    probes = all(cfg.services[s].availability.kind == "probe" for s in services)
    names = ", ".join(cfg.display_name(s) for s in services)
    return f"{'failing health checks' if probes else 'elevated error rates'} on {names}"


def _auto_updates(cfg: Config, c: dict[str, Any], end: int) -> list[dict[str, Any]]:
    """A detected incident's updates: found at its first down minute, recovered at its end."""
    names, mins = ", ".join(cfg.display_name(s) for s in c["services"]), c["end"] - c["start"]
    ups = [{"status": "investigating", "at": _at(c["start"]), "body": f"Automated monitoring detected {_what(cfg, c['services'])}."}]
    if not c["ongoing"]:
        done = c["end"] <= end - RECENT  # recovered minutes ago: still watching
        body = f"{names} recovered after {mins} minute{'s' if mins != 1 else ''}." + ("" if done else " We are monitoring.")
        ups.append({"status": "resolved" if done else "monitoring", "at": _at(c["end"]), "body": body})
    return ups


def _visible(post: Post, at: datetime) -> tuple[list[dict[str, Any]], datetime | None]:
    """A post's updates published by ``at``, and when it was resolved as of ``at``."""
    ups = [{"status": u.status, "at": u.at, "body": u.text, "html": u.html} for u in post.updates if u.at <= at]
    resolved = post.resolved if post.resolved is not None and post.resolved <= at else None
    if resolved is None and ups and ups[-1]["status"] in ("resolved", "postmortem"):
        resolved = next(u["at"] for u in ups if u["status"] in ("resolved", "postmortem"))
    return ups, resolved


def _incident(
    cfg: Config, at: datetime, end: int, post: Post | None, found: list[dict[str, Any]]
) -> dict[str, Any]:
    """One incident: a post with the detected runs it overlaps, or a detected run alone."""
    runs = [r for c in found for r in c["runs"]]
    services = {r[0] for r in runs}
    starts = [_at(c["start"]) for c in found]
    if post is not None:
        updates, resolved = _visible(post, at)
        if not updates:  # a post with only a body: say what its times say
            updates = [{"status": "investigating", "at": post.started, "body": post.title, "html": ""}]
            if resolved is not None:
                updates.append({"status": "resolved", "at": resolved, "body": "This incident has been resolved."})
        services |= set(post.services)
        status = updates[-1]["status"]
        if resolved is not None and status not in ("resolved", "postmortem"):
            status = "resolved"
        ident, name, impact = stable_id("post", post.slug), post.title, post.severity
        started = min([post.started, *starts])
    else:
        c = found[0]
        updates = _auto_updates(cfg, c, end)
        status = updates[-1]["status"]
        resolved = _at(c["end"]) if status == "resolved" else None
        sev = cfg.incidents.severity
        impact = severity(c["end"] - c["start"], sev.major_minutes, sev.critical_minutes)
        ident, started = stable_id("detected", c["start"]), starts[0]
        what = _what(cfg, c["services"])
        name = what[0].upper() + what[1:]
    for i, u in enumerate(updates):
        u["id"] = stable_id(ident, i, u["at"].isoformat(), u["status"])
    monitoring = next((u["at"] for u in updates if u["status"] == "monitoring"), None)
    return {
        "id": ident,
        "name": name,
        "status": status,
        "impact": impact,
        "file": post.file if post else None,
        "detected": bool(found),
        "services": [s for s in cfg.services if s in services],
        "service_names": [cfg.display_name(s) for s in cfg.services if s in services],
        # what an open post may set the state of: the services it names (all it touches if none)
        "post_services": list(post.services) if post is not None and post.services else None,
        "down": [{"service": s, "start": _at(a), "end": _at(b), "minutes": b - a} for s, a, b in runs],
        "started_at": started,
        "created_at": min(started, updates[0]["at"]),
        "updated_at": max(u["at"] for u in updates),
        "monitoring_at": monitoring,
        "resolved_at": resolved,
        "updates": sorted(updates, key=lambda u: u["at"], reverse=True),
        "body_html": post.body_html if post else "",
    }


def merge_incidents(
    cfg: Config, posts: list[Post], detected: list[dict[str, Any]], at: datetime, start: int, end: int
) -> list[dict[str, Any]]:
    """Posts absorb the detected incidents they overlap (in time and service); the rest stand alone."""
    claimed: set[int] = set()
    out = []
    at_minute = minute_of(at)
    for post in sorted(posts, key=lambda p: (p.started, p.file)):
        if post.started > at:
            continue  # not written yet at ``at``
        _, resolved = _visible(post, at)
        p_start = minute_of(post.started)
        p_end = max(-(-int(resolved.timestamp()) // 60) if resolved else at_minute + 1, p_start + 1)
        if p_end <= start:
            continue  # resolved before the window
        found = []
        for i, c in enumerate(detected):
            if i in claimed or not (c["start"] < p_end and p_start < c["end"]):
                continue
            if post.services and not set(post.services) & set(c["services"]):
                continue
            claimed.add(i)
            if post.services and not set(c["services"]) <= set(post.services):
                # The post speaks for the services it names; the other services'
                # runs in the same cluster stay a detected incident of their own.
                mine, rest = _split_cluster(cfg, c, set(post.services), end)
                found.append(mine)
                detected.append(rest)
                continue
            found.append(c)
        out.append(_incident(cfg, at, end, post, found))
    out += [_incident(cfg, at, end, None, [c]) for i, c in enumerate(detected) if i not in claimed]
    return sorted(out, key=lambda x: (x["started_at"], x["id"]), reverse=True)


def _split_cluster(
    cfg: Config, c: dict[str, Any], named: set[str], end: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A detected cluster cut into the runs of ``named`` services and the rest."""
    parts = []
    for runs in ([r for r in c["runs"] if r[0] in named], [r for r in c["runs"] if r[0] not in named]):
        a, b = min(r[1] for r in runs), max(r[2] for r in runs)
        svcs = sorted({r[0] for r in runs}, key=list(cfg.services).index)
        parts.append({"start": a, "end": b, "runs": runs, "services": svcs, "ongoing": b >= end})
    return parts[0], parts[1]


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
    minutes = {name: service_minutes(cfg, store, name, period) for name in cfg.services}
    maint = maintenances(cfg, at, _at(start))
    running = {s for m in maint if m["status"] == "in_progress" for s in m["services"]}
    services = []
    # Services of one ``group`` sit together (first appearance order), as Statuspage groups them.
    order = list(cfg.services)
    firsts = {}
    for n in order:
        firsts.setdefault(cfg.services[n].group, order.index(n))
    ordered = sorted(minutes, key=lambda n: (firsts[cfg.services[n].group], order.index(n)))
    for pos, name in enumerate(ordered, start=1):
        sm = minutes[name]
        status, note = current_status(cfg, sm, name in running)
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
    incidents = merge_incidents(cfg, posts, _detected(cfg, minutes, start, end), at, start, end)
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
        "as_of": _at(end),
        "window_start": _at(start),
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
