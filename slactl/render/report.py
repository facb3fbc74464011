"""Turning a report dict into bytes: JSON (exact, deterministic), Markdown and HTML.

JSON keeps every number unrounded; the human formats round for reading (against
the reader, see ``charts``).  The HTML template runs with autoescape on, since
service names and label values come from users' configs and metrics; the
Markdown template escapes the same text with the ``md`` filter, because
Markdown viewers render inline HTML and tables break on ``|``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from slactl.render import charts
from slactl.render.env import make_env

_env = make_env(markdown_too=True)


def to_json(obj: Any) -> bytes:
    """Deterministic JSON: fixed key order as built, no NaN, UTF-8, trailing newline."""
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def fmt_pct(value: float | None, places: int = 3) -> str:
    return "—" if value is None else f"{value:.{places}f}%"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def fmt_num(value: float | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def fmt_verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


MONTHS = (
    "January February March April May June July August September October November December".split()
)
SPARK = "▁▂▃▄▅▆▇█"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def fmt_month(month: str) -> str:
    """Month "2026-01" as "January 2026", in English whatever the locale, for stable bytes."""
    year, mon = month.split("-")
    return f"{MONTHS[int(mon) - 1]} {year}"


def fmt_utc(iso: str | None) -> str:
    """A UTC timestamp "2026-01-05T15:14:00Z" as "2026-01-05 15:14" (headers say UTC)."""
    if iso is None:
        return "—"
    text = iso.replace("T", " ").removesuffix("Z")
    return text[:-3] if text.endswith(":00") and len(text) == 19 else text


def fmt_duration(minutes: float | None) -> str:
    """Minutes as "4 min", "19.5 min" or "1 h 05 min": incident lengths and MTTR."""
    if minutes is None:
        return "—"
    if minutes < 60:  # a mean (MTTR) is rounded up, like every figure where more is worse
        return charts.fixed(minutes, 1, up=True).removesuffix(".0") + " min"
    hours, rest = divmod(math.ceil(minutes), 60)
    return f"{hours} h {rest:02d} min"


def fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_ceil_pct(value: float | None, places: int = 1) -> str:
    """A share of budget used, rounded up (never reads as less used than it was)."""
    return "—" if value is None else charts.fixed(value, places, up=True) + "%"


def fmt_ratio(value: float | None) -> str:
    """An error ratio as a percentage, rounded up."""
    return "—" if value is None else charts.fixed(value * 100, 3, up=True) + "%"


def overview_summary(report: dict) -> dict:
    """The headline counts above the overview table."""
    services = list(report["services"].values())
    measured = [s for s in services if s["uptime_percent"] is not None]
    meeting = [
        s for s in measured if s["objective"] is not None and s["uptime_percent"] >= s["objective"]
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
    floor = charts.uptime_floor(target)
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
    pct=fmt_pct,
    ms=fmt_ms,
    num=fmt_num,
    verdict=fmt_verdict,
    uptime=charts.fmt_uptime,
    latency=charts.fmt_latency,
    plain=charts.fmt_plain,
    month_name=fmt_month,
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
    overview_summary=overview_summary,
    sparkline=sparkline,
)


def report_markdown(report: dict) -> bytes:
    return _env.get_template("report.md.j2").render(r=report).encode("utf-8")


def report_html(report: dict) -> bytes:
    return _env.get_template("report.html.j2").render(r=report).encode("utf-8")
