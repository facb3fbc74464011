"""Turning a report dict into bytes: JSON (exact, deterministic), Markdown and HTML.

JSON keeps every number unrounded; the human formats round for reading (against
the reader, see ``charts``).  The HTML template runs with autoescape on, since
service names and label values come from users' configs and metrics; the
Markdown template escapes the same text with the ``md`` filter, because
Markdown viewers render inline HTML and tables break on ``|``.
"""

from __future__ import annotations

import copy
import re
import weakref
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from slactl.figures.doc import report_doc
from slactl.figures.month import MonthReport
from slactl.render import charts, tables
from slactl.render.env import make_env
from slactl.render.formats import (
    dec,
    fmt_allowed,
    fmt_ceil_pct,
    fmt_duration,
    fmt_int,
    fmt_latency,
    fmt_month,
    fmt_month_short,
    fmt_plain,
    fmt_ratio,
    fmt_rps,
    fmt_uptime,
    fmt_utc,
    within_bucket,
)
from slactl.render.jsonout import to_json as to_json  # the report's JSON; app/ imports it from here
from slactl.sla.verdicts import meets

_env = make_env(markdown_too=True)


SPARK = "▁▂▃▄▅▆▇█"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def overview_summary(report: dict) -> dict:
    """The headline counts above the overview table."""
    services = list(report["services"].values())
    measured = [s for s in services if s["uptime_percent"] is not None]
    meeting = [
        s
        for s in measured
        if s["objective"] is not None and meets(s["uptime_percent"], s["objective"])
    ]
    return {
        "services": len(services),
        "meeting": len(meeting),
        "incidents": sum(s["incident_count"] for s in services),
        "down": sum(s["minutes"]["down"] for s in services),
        "lowest": min((s["uptime_percent"] for s in measured), default=None),
        "latency_targets": {k: _shared_target(services, k) for k in ("p50", "p95", "p99")},
    }


def _shared_target(services: list[dict], key: str) -> float | None:
    """The latency target every service with one has for ``key``, for the column header."""
    found = {
        (s["latency_targets"] or {}).get(key, {}).get("target")
        for s in services
        if s["latency_targets"]
    }
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def md_escape(value: object) -> str:
    """User text made inert for Markdown: HTML entities, backslash-escaped syntax, one line."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def month_days(report: dict) -> int:
    """Local days in the report's month, from its (full-month) period."""
    start, end = (
        datetime.fromisoformat(report["period"][k].replace("Z", "+00:00")) for k in ("start", "end")
    )
    return round((end - start).total_seconds() / 86400)


def sparkline(daily: list[dict], target: float) -> str:
    """Daily uptime as block characters for Markdown (no SVG there): · is a day without data."""
    floor = charts.uptime_floor(target, charts.lowest_uptime(daily))
    out = []
    for d in daily:
        u = d["uptime_percent"]
        if u is None:
            out.append("·")
        else:
            level = (min(100.0, max(floor, u)) - floor) / (100.0 - floor)
            out.append(SPARK[min(len(SPARK) - 1, int(level * (len(SPARK) - 1) + 1e-9))])
    return "".join(out)


_env.filters.update(
    num=fmt_allowed,
    uptime=fmt_uptime,
    latency=fmt_latency,
    plain=fmt_plain,
    rps=fmt_rps,
    month_name=fmt_month,
    month_short=fmt_month_short,
    utc=fmt_utc,
    duration=fmt_duration,
    int=fmt_int,
    md=md_escape,
    ceil_pct=fmt_ceil_pct,
    ratio=fmt_ratio,
)
_env.globals.update(
    daily_uptime_bars=charts.daily_uptime_bars,
    latency_chart=charts.latency_chart,
    budget_burn=charts.budget_burn,
    budget_minutes=charts.budget_minutes,
    budget_used_percent=charts.budget_used_percent,
    month_days=month_days,
    uptime_floor=charts.uptime_floor,
    lowest_uptime=charts.lowest_uptime,
    within_bucket=within_bucket,
    meets=meets,
    budget_share=lambda objective: fmt_plain(Decimal(100) - dec(objective)),
    history_average=lambda h, key=None: history_average(h, key),
    overview_summary=overview_summary,
    sparkline=sparkline,
)
# Each template's own parts written in Python (see ``tables``), under the names the template uses.
_PARTS: dict[str, dict[str, Callable[..., Any]]] = {
    "report.html.j2": {
        "mark": tables.mark,
        "badge": tables.badge,
        "lat_mark": tables.lat_mark,
        "latency_cell": tables.latency_cell,
        "daily_rows": tables.daily_rows,
        "incident_rows": tables.incident_rows,
    },
    "report.md.j2": {"incident_rows": tables.md_incident_rows},
}


def history_average(history: list[dict], service: str | None = None) -> dict | None:
    """The N-month row of the history table: the mean of the months' uptimes, summed incidents.

    Months the store lacks are left out (N counts only months with figures);
    None when no month has one.  MTTR is over all the months' incidents.
    """
    rows = [h["platform"] if service is None else h["services"].get(service) for h in history]
    rows = [x for x in rows if x is not None]
    if not rows:
        return None
    up_down = [
        (x["uptime_percent"], x["down_minutes"]) for x in rows if x["uptime_percent"] is not None
    ]
    incidents = sum(x["incident_count"] for x in rows)
    mttr_total = sum((x["mttr_minutes"] or 0) * x["incident_count"] for x in rows)
    sev = {
        k: sum(x["incidents_by_severity"][k] for x in rows) for k in ("minor", "major", "critical")
    }
    mean_uptime = sum(u for u, _ in up_down) / len(up_down) if up_down else None
    return {
        "months": len(rows),
        "uptime_percent": mean_uptime,
        "incident_count": incidents,
        "incidents_by_severity": sev,
        "mttr_minutes": mttr_total / incidents if incidents else None,
        "down_minutes": sum(x["down_minutes"] for x in rows),
    }


def as_doc(report: MonthReport | dict) -> dict:
    """The report's JSON document, from the typed figures or an already written document.

    A document written by an older slactl (no ``platform``, ``history``, names
    or latency certainty) still renders: the missing keys read as unknown.
    """
    if isinstance(report, MonthReport):
        return report_doc(report)
    doc = copy.deepcopy(report)
    doc.setdefault("platform", None)
    doc.setdefault("history", [])
    doc.setdefault("company", {"name": "", "contact": None})
    doc.setdefault("incident_severity", {"major_minutes": 15, "critical_minutes": 60})
    for key, s in doc["services"].items():
        for field, default in (("name", key), ("description", None), ("group", None), ("objective_source", ""),
                               ("groups", []), ("throughput", None)):  # fmt: skip
            s.setdefault(field, default)
        for i in s["incidents"]:
            i.setdefault("severity", None)
        for t in (s["latency_targets"] or {}).values():
            t.setdefault("certain", None)
    return doc


_last: tuple[weakref.ref[MonthReport], dict] | None = None


def _forget(ref: weakref.ref[MonthReport]) -> None:
    global _last
    if _last is not None and _last[0] is ref:
        _last = None


def _render_doc(report: MonthReport | dict) -> dict:
    """:func:`as_doc`, laid out once for figures rendered twice in a row (HTML, then Markdown).

    Figures are frozen, so the same object gives the same document; the
    templates only read it.  Kept while those figures live, for one at a time.
    """
    global _last
    if not isinstance(report, MonthReport):
        return as_doc(report)
    last = _last
    if last is not None and last[0]() is report:
        return last[1]
    doc = as_doc(report)
    _last = (weakref.ref(report, _forget), doc)
    return doc


def _render(template: str, report: MonthReport | dict) -> bytes:
    doc = _render_doc(report)
    sev = doc["incident_severity"]
    limits = {"major": sev["major_minutes"], "critical": sev["critical_minutes"]}
    parts = _PARTS[template]
    return _env.get_template(template).render(r=doc, sev_limits=limits, **parts).encode("utf-8")


def report_markdown(report: MonthReport | dict) -> bytes:
    return _render("report.md.j2", report)


def report_html(report: MonthReport | dict) -> bytes:
    return _render("report.html.j2", report)
