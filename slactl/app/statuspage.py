"""The status page's content (SPEC sections 3 and 7), from the same minutes as the monthly report.

``status_page(cfg, store, at, now)`` pulls what the store lacks up to ``at``,
then fills the page's typed figures (:mod:`slactl.figures.status`, where the
rules are) for the last ``status_page.days`` local days in ``timezone``: each
service's daily uptime, its uptime over the window and its current state;
incidents detected from runs of down minutes, merged with hand-written posts
(read by :mod:`slactl.inputs.posts`); and maintenance from the config.
:mod:`slactl.render.statuspage` turns the figures into files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from slactl.app.incidents import RECENT, detected, merge_incidents, minute_time, stable_id
from slactl.app.ingest import ingest, last_settled_minute
from slactl.app.measure import ServiceMinutes, service_minutes
from slactl.config import Config
from slactl.errors import UsageError
from slactl.figures import status as rules
from slactl.figures.status import (
    PageIncident,
    ServiceState,
    ServiceStatus,
    StatusPage,
    StatusUpdate,
)
from slactl.inputs.posts import load_posts
from slactl.model import Period, minute_of
from slactl.publish.folder import publish_folder
from slactl.render.statuspage import site_files
from slactl.sli import states
from slactl.sources.base import Injected
from slactl.store.sql import Store

MOBILE_DAYS = 30  # the bars a narrow screen shows (the page says so beside its figure)


@dataclass
class StatusPageResult:
    page: StatusPage
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


def current_status(cfg: Config, sm: ServiceMinutes, in_maintenance: bool) -> ServiceState:
    """The service's state now (the rule: :func:`slactl.figures.status.current_status`)."""
    svc = cfg.services[sm.name]
    recent, excluded = sm.states[-RECENT:], sm.excluded[-RECENT:]
    first, end = sm.end - len(recent), sm.end
    groups = (
        states.minute_states(g.window(first, end).good_ratio(), excluded, svc.slice_threshold, svc.no_data)
        for g in sm.groups.values()
    )
    return rules.current_status(
        recent, groups, lambda: rules.good_share(sm.combined.window(first, end), excluded), svc.slice_threshold,
        in_maintenance,
    )  # fmt: skip


def maintenances(cfg: Config, at: datetime, window_start: datetime) -> list[PageIncident]:
    """Configured windows that are upcoming, running, or ended inside the window."""
    out = []
    for m in cfg.maintenance:
        start, end = m.start.astimezone(UTC), m.end.astimezone(UTC)
        if end < window_start:
            continue
        services = tuple(m.services) if m.services else tuple(cfg.services)
        names = tuple(cfg.display_name(s) for s in services)
        status = "scheduled" if at < start else ("in_progress" if at < end else "completed")
        ident = stable_id("maintenance", start.isoformat(), end.isoformat(), ",".join(services))
        affects = f"{', '.join(names)} may be unavailable."
        drafts = [(status if status == "scheduled" else "in_progress", start, affects)]
        if status == "completed":
            drafts.append(("completed", end, "Maintenance has been completed."))
        updates = [StatusUpdate(stable_id(ident, i, st), st, when, body) for i, (st, when, body) in enumerate(drafts)]
        out.append(
            PageIncident(
                id=ident, name=m.reason or "Scheduled maintenance", status=status, impact="maintenance",
                services=services, service_names=names, started_at=start, created_at=start,
                updated_at=updates[-1].at, resolved_at=end if status == "completed" else None,
                updates=tuple(reversed(updates)), scheduled_for=start, scheduled_until=end,
            )
        )  # fmt: skip
    return sorted(out, key=lambda m: (m.scheduled_for or m.started_at, m.id), reverse=True)


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
    running = {s for m in maint if m.status == "in_progress" for s in m.services}
    minutes: dict[str, ServiceMinutes] = {}
    current: dict[str, ServiceState] = {}
    for name in cfg.services:
        # The groups' float minutes are needed only for the current status: one service at a time.
        sm = minutes[name] = service_minutes(cfg, store, name, period)
        current[name] = current_status(cfg, sm, name in running)
        sm.release()
    services: list[ServiceStatus] = []
    # Services of one ``group`` sit together (first appearance order), as Statuspage groups them.
    order = list(cfg.services)
    firsts: dict[str | None, int] = {}
    for n in order:
        firsts.setdefault(cfg.services[n].group, order.index(n))
    ordered = sorted(minutes, key=lambda n: (firsts[cfg.services[n].group], order.index(n)))
    for pos, name in enumerate(ordered, start=1):
        sm = minutes[name]
        counts = states.count_states(sm.states[: max(end - start, 0)])
        entries = tuple(rules.day_status(d, sm.states[max(a - start, 0) : max(b - start, 0)]) for d, a, b in days)
        recent = entries[-MOBILE_DAYS:]
        services.append(
            ServiceStatus(
                key=name,
                name=cfg.display_name(name),
                group=cfg.services[name].group,
                id=stable_id("component", name),
                description=cfg.services[name].description,
                position=pos,
                status=current[name].status,
                note=current[name].note,
                uptime_percent=states.uptime_percent(counts),
                down_minutes=counts["down"],
                recent_days=len(recent),
                recent_uptime_percent=states.uptime_percent({"up": sum(d.up for d in recent), "down": sum(d.down for d in recent)}),
                days=entries,
            )
        )
    posts, warnings = load_posts(cfg.path(cfg.status_page.incidents_dir), zone=zone, services=set(cfg.services))
    incidents = merge_incidents(cfg, posts, detected(cfg, minutes, start, end), at, start, end)
    for inc in incidents:  # an open post says how bad it is for its services, as on Statuspage
        if inc.file and inc.resolved_at is None:
            for i, s in enumerate(services):
                if s.key in (inc.post_services or inc.services):
                    services[i] = replace(s, status=rules.with_open_post(s.status, inc.impact))
    page = StatusPage(
        title=cfg.status_page.title,
        id=stable_id("page", cfg.status_page.title),
        url=cfg.status_page.url,
        timezone=cfg.timezone,
        at=at,
        as_of=minute_time(end),
        window_start=minute_time(start),
        days=cfg.status_page.days,
        mobile_days=MOBILE_DAYS,
        status=rules.overall([s.status for s in services], [i.impact for i in incidents if i.resolved_at is None]),
        services=tuple(services),
        incidents=tuple(incidents),
        maintenances=tuple(maint),
    )
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
