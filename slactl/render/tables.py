"""Parts of the monthly report that repeat for every service, written in Python, not jinja.

A month of hundreds of services has tens of thousands of daily and incident
rows and thousands of verdict marks and badges; through jinja each cell costs
an attribute lookup, a filter call and an escape, and each macro call a frame,
which made these most of the report's rendering time.  What they write is byte
for byte what the templates wrote: user text and dates are escaped as HTML
autoescape did, while the number formatters' output (digits, separators, "%",
"—", "ms") needs no escaping.  The Markdown rows, like the template, escape nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from slactl.render.formats import (
    fmt_duration,
    fmt_int,
    fmt_latency,
    fmt_plain,
    fmt_uptime,
    fmt_utc,
    within_bucket,
)


def daily_rows(daily: Sequence[Mapping[str, Any]]) -> Markup:
    """The HTML "Daily figures" table body: one ``<tr>`` line per day."""
    out = []
    for d in daily:
        m = d["minutes"]
        out.append(
            f"<tr><td>{escape(d['date'])}</td><td>{fmt_uptime(d['uptime_percent'])}</td>"
            f"<td>{fmt_int(m['up'])}</td><td>{fmt_int(m['down'])}</td>"
            f"<td>{fmt_int(m['no_data'])}</td><td>{fmt_int(m['excluded'])}</td></tr>\n"
        )
    return Markup("".join(out))


def incident_rows(incidents: Sequence[Mapping[str, Any]]) -> Markup:
    """The HTML incidents table body; an end on the start's day shows only its time."""
    out = []
    for n, i in enumerate(incidents, 1):
        start, end = i["start"], i["end"]
        shown = fmt_utc(end)[11:] if end[:10] == start[:10] else fmt_utc(end)
        out.append(
            f'<tr><td>{n}</td><td class="l">{escape(fmt_utc(start))}</td><td class="l">{escape(shown)}</td>'
            f'<td>{fmt_duration(i["duration_minutes"])}</td><td class="l">{escape(i["severity"])}</td></tr>\n'
        )
    return Markup("".join(out))


def md_incident_rows(incidents: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown incidents table body, one line per incident (the template never escaped these)."""
    return "".join(
        f"| {n} | {fmt_utc(i['start'])} | {fmt_utc(i['end'])} | {fmt_duration(i['duration_minutes'])} | {i['severity']} |\n"
        for n, i in enumerate(incidents, 1)
    )


_MARKS = {
    True: Markup('<span class="mark ok" aria-hidden="true">✓</span><span class="sr"> met</span>'),
    False: Markup(
        '<span class="mark miss" aria-hidden="true">✗</span><span class="sr"> missed</span>'
    ),
}


def mark(met: bool | None) -> Markup:
    """✓ or ✗ after a figure, with words for screen readers; nothing when there is no verdict."""
    return Markup("") if met is None else _MARKS[bool(met)]


_BADGE = {None: ("na", "–", " n/a"), True: ("ok", "✓", " met"), False: ("miss", "✗", " missed")}


def badge(tier: str, v: Mapping[str, Any], full: bool = False) -> Markup:
    """A tier's pill: its verdict, and with ``full`` its target; the words stay for screen readers."""
    cls, sign, said = _BADGE[None if v["met"] is None else bool(v["met"])]
    target, name = fmt_plain(v["target"]), escape(tier)
    shown = f" {target}%" if full else ""
    return Markup(
        f'<span class="badge {cls}" title="{name}: uptime target {target}%"><span aria-hidden="true">{sign}</span>'
        f' {name}{shown}<span class="{"" if full else "sr"}">{said}</span></span>'
    )


def lat_mark(s: Mapping[str, Any], key: str) -> Markup:
    """A latency's verdict: ✓/✗, or "within bucket" when the bucket straddles the target."""
    value = (s["latency_seconds"] or {}).get(key)
    t = (s["latency_targets"] or {}).get(key)
    if not t or value is None:
        return Markup("")
    if t["certain"] == False:  # noqa: E712 - as the template's ``== false`` (0 too)
        return Markup(
            f'<span class="unsure">{escape(within_bucket((s["latency_bounds_seconds"] or {}).get(key)))}</span>'
        )
    return mark(t["met"])


def latency_cell(s: Mapping[str, Any], key: str) -> Markup:
    """An overview cell: the percentile, its verdict, and its target for phones and tooltips."""
    t = (s["latency_targets"] or {}).get(key)
    label: str = escape(key.upper())
    title = ""
    if t:
        target = fmt_plain(t["target"], 1000)
        label, title = f"{label} ≤ {target} ms", f' title="target {target} ms"'
    value = fmt_latency((s["latency_seconds"] or {}).get(key))
    return Markup(f'<td class="lat" data-label="{label}"{title}>{value}{lat_mark(s, key)}</td>')
