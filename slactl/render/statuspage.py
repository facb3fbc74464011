"""The status page's files: HTML, Atom and the Statuspage v2 JSON API, from its typed figures.

The JSON mirrors Atlassian Statuspage's public ``/api/v2`` so existing widgets
and chat bots read it unchanged; ids are stable hashes and times come from the
data and ``--at`` only, so the same inputs give the same bytes.  The stylesheet
is a content-hashed asset (cacheable forever); everything else is short-lived.
Templates run with autoescape always on: titles and texts come from posts
written by people, whose Markdown :mod:`slactl.render.posts` makes safe HTML.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from slactl.figures.status import DayStatus, PageIncident, ServiceStatus, StatusPage
from slactl.render import formats
from slactl.render.env import make_env
from slactl.render.formats import fmt_uptime_short
from slactl.render.jsonout import to_json
from slactl.render.posts import post_html, render_inline

API = "api/v2/"
STATUS_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}
UPDATE_LABELS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "postmortem": "Postmortem",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
}
_IMPACT_STATUS = {"minor": "degraded_performance", "major": "partial_outage", "critical": "major_outage"}
_DONE = ("resolved", "postmortem", "completed")

_env = make_env()


# --------------------------------------------------------------------------- JSON API


def api_time(dt: datetime | None) -> str | None:
    """Statuspage's timestamp form: UTC with milliseconds and ``Z``."""
    if dt is None:
        return None
    u = dt.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def page_obj(page: StatusPage) -> dict[str, Any]:
    return {
        "id": page.id,
        "name": page.title,
        "url": page.url,
        "time_zone": page.timezone,
        "updated_at": api_time(page.at),
    }


def group_id(page: StatusPage, group: str) -> str:
    return hashlib.sha256(f"group\x1f{page.id}\x1f{group}".encode()).hexdigest()[:12]


def component_obj(page: StatusPage, s: ServiceStatus) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "status": s.status,
        "created_at": api_time(page.window_start),
        "updated_at": api_time(page.as_of),
        "position": s.position,
        "description": s.description,
        "showcase": True,
        "start_date": page.window_start.astimezone(ZoneInfo(page.timezone)).date().isoformat(),
        "group_id": group_id(page, s.group) if s.group else None,
        "page_id": page.id,
        "group": False,
        "only_show_if_degraded": False,
    }


_STATUS_ORDER = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")


def group_objs(page: StatusPage, components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statuspage component groups: one per ``group``, its status the worst of its members'."""
    out: dict[str, dict[str, Any]] = {}
    for s, c in zip(page.services, components, strict=True):
        g = s.group
        if not g:
            continue
        if g not in out:
            out[g] = {
                "id": group_id(page, g), "name": g, "status": "operational",
                "created_at": c["created_at"], "updated_at": c["updated_at"], "position": c["position"],
                "description": None, "showcase": False, "start_date": c["start_date"], "group_id": None,
                "page_id": page.id, "group": True, "only_show_if_degraded": False, "components": [],
            }  # fmt: skip
        grp = out[g]
        grp["components"].append(c["id"])
        grp["status"] = max(grp["status"], c["status"], key=_STATUS_ORDER.index)
    return list(out.values())


def _updates(item: PageIncident, comps: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Incident updates, each saying how the affected components changed."""
    old = "operational"
    out = []
    for u in sorted(item.updates, key=lambda u: u.at):
        if u.status in _DONE:
            new = "operational"
        elif item.impact == "maintenance":
            new = "under_maintenance" if u.status in ("in_progress", "verifying") else "operational"
        else:
            new = _IMPACT_STATUS.get(item.impact, "major_outage")
        affected = [
            {"code": comps[s]["id"], "name": comps[s]["name"], "old_status": old, "new_status": new}
            for s in item.services
        ]
        old = new
        out.append(
            {
                "id": u.id,
                "status": u.status,
                "body": u.body,
                "incident_id": item.id,
                "created_at": api_time(u.at),
                "updated_at": api_time(u.at),
                "display_at": api_time(u.at),
                "affected_components": affected,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        )
    return list(reversed(out))


def incident_obj(page: StatusPage, item: PageIncident, comps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An incident or scheduled maintenance in Statuspage's shape."""
    out = {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "created_at": api_time(item.created_at),
        "updated_at": api_time(item.updated_at),
        "monitoring_at": api_time(item.monitoring_at),
        "resolved_at": api_time(item.resolved_at),
        "impact": item.impact,
        "shortlink": f"{page.url}#incident-{item.id}",
        "started_at": api_time(item.started_at),
        "page_id": page.id,
        "incident_updates": _updates(item, comps),
        "components": [comps[s] for s in item.services],
    }
    if item.impact == "maintenance":
        out["scheduled_for"] = api_time(item.scheduled_for)
        out["scheduled_until"] = api_time(item.scheduled_until)
    return out


def api(page: StatusPage) -> dict[str, dict[str, Any]]:
    """The JSON files under ``api/v2/`` by name."""
    p = page_obj(page)
    status = {"indicator": page.status.indicator, "description": page.status.description}
    members = [component_obj(page, s) for s in page.services]
    comps = {s.key: c for s, c in zip(page.services, members, strict=True)}
    components = members + group_objs(page, members)
    incidents = [incident_obj(page, i, comps) for i in page.incidents]
    unresolved = [i for i in incidents if i["status"] not in _DONE]
    maint = [incident_obj(page, m, comps) for m in page.maintenances]
    upcoming = [m for m in maint if m["status"] == "scheduled"]
    active = [m for m in maint if m["status"] in ("in_progress", "verifying")]
    return {
        "summary.json": {
            "page": p,
            "components": components,
            "incidents": unresolved,
            "scheduled_maintenances": active + upcoming,
            "status": status,
        },
        "status.json": {"page": p, "status": status},
        "components.json": {"page": p, "components": components},
        "incidents.json": {"page": p, "incidents": incidents},
        "incidents/unresolved.json": {"page": p, "incidents": unresolved},
        "scheduled-maintenances.json": {"page": p, "scheduled_maintenances": maint},
        "scheduled-maintenances/upcoming.json": {"page": p, "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active.json": {"page": p, "scheduled_maintenances": active},
    }


def html_safe_json(doc: dict[str, Any]) -> bytes:
    """JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes: the same data, but inert if a
    widget pastes it into HTML or a browser sniffs it as a page (titles come from people)."""
    return to_json(doc).replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


# --------------------------------------------------------------------------- HTML and Atom


fmt_pct = fmt_uptime_short  # the page's figures, formatted as everywhere else
fmt_duration = formats.fmt_duration


class _View:
    """Formatting in the page's zone, for the templates."""

    def __init__(self, page: StatusPage) -> None:
        self.page = page
        self.zone: tzinfo = ZoneInfo(page.timezone)

    def local(self, dt: datetime, with_date: bool = True) -> str:
        d = dt.astimezone(self.zone)
        return d.strftime("%-d %b %Y, %H:%M %Z" if with_date else "%H:%M %Z")

    def day(self, dt: datetime) -> str:
        return dt.astimezone(self.zone).date().isoformat()

    @staticmethod
    def minutes(a: datetime, b: datetime) -> int:
        return int((b - a).total_seconds() // 60)

    def day_label(self, day: DayStatus) -> str:
        d = datetime.fromisoformat(day.date).strftime("%a %-d %b %Y")
        if day.uptime_percent is None:
            text = "no data"
        else:
            text = f"{fmt_pct(day.uptime_percent)} uptime"
            text += f", {fmt_duration(day.down)} down" if day.down else ", no downtime"
        if day.excluded:
            text += f", {fmt_duration(day.excluded)} maintenance"
        return f"{d}: {text}"

    def months(self) -> list[tuple[str, list[PageIncident]]]:
        """History by local month, newest first; every month of the window is listed."""
        items = list(self.page.incidents) + [m for m in self.page.maintenances if m.status != "scheduled"]
        start = self.page.window_start.astimezone(self.zone)
        y, m = (a := self.page.at.astimezone(self.zone)).year, a.month
        out = []
        while (y, m) >= (start.year, start.month):
            key = f"{y:04d}-{m:02d}"
            here = [i for i in items if i.started_at.astimezone(self.zone).strftime("%Y-%m") == key]
            out.append((datetime(y, m, 1).strftime("%B %Y"), sorted(here, key=lambda i: i.started_at, reverse=True)))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        return out


def _css() -> tuple[str, bytes]:
    data = _env.get_template("status/status.css.j2").render().encode("utf-8")
    return f"assets/status.{hashlib.sha256(data).hexdigest()[:8]}.css", data


def site_files(page: StatusPage) -> dict[str, bytes]:
    """Every file of the site by its path relative to the site's root."""
    css_path, css = _css()
    view = _View(page)
    ctx = {
        "p": page,
        "v": view,
        "css": css_path,
        "labels": STATUS_LABELS,
        "update_labels": UPDATE_LABELS,
        "pct": fmt_pct,
        "duration": fmt_duration,
        "iso": api_time,
        "inline": render_inline,  # a post's update text (``u.markdown``)
        "post_html": post_html,  # a post's body
        "uuid": lambda ident: str(uuid.uuid5(uuid.NAMESPACE_URL, f"slactl:status:{ident}")),
    }
    files = {css_path: css}
    files["index.html"] = _env.get_template("status/index.html.j2").render(**ctx).encode("utf-8")
    files["history.atom"] = _env.get_template("status/history.atom.j2").render(**ctx).encode("utf-8")
    for name, doc in api(page).items():
        files[API + name] = html_safe_json(doc)
    return files
