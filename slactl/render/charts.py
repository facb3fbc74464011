"""Inline SVG charts for the monthly report, written out as text by slactl.

The report must be one self-contained file (no scripts, fonts or stylesheets
from elsewhere) that prints and scales to a phone, and the same report must
give the same bytes, so the charts are plain SVG strings: every coordinate is
formatted with fixed decimals and every piece of text is XML-escaped.  Colours
are presentation attributes (so a chart stands alone) plus ``ch-*`` classes
that the page's stylesheet overrides for dark mode; text uses ``currentColor``.

The display helpers round figures against the reader: uptime down and latency
or budget use up, so a printed figure never looks better than the measurement
(99.9896% must not read as a 99.99% that was met).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from slactl.render.formats import dec, fixed, fmt_latency, fmt_plain, fmt_uptime, within_bucket
from slactl.render.svg import attributes as _attrs
from slactl.render.svg import coord as _n
from slactl.render.svg import el as _el
from slactl.render.svg import line as _line
from slactl.render.svg import svg as _svg
from slactl.render.svg import text as _text
from slactl.render.svg import title as _title
from slactl.sla import verdicts

OK, MISS, NODATA, ACCENT = "#1a7f37", "#cf222e", "#8c959f", "#0969da"
VERDICT_STYLE: dict[bool | None, tuple[str, str]] = {True: ("ch-ok", OK), False: ("ch-miss", MISS)}
# A met (True), missed (False) or unknown (None) verdict, as a mark and as words.
_MARKS: dict[bool | None, str] = {True: " ✓", False: " ✗"}
_OUTCOMES: dict[bool | None, str] = {True: ": met", False: ": missed"}
HALO = {"stroke": "#fff", "stroke_width": "3", "stroke_linejoin": "round", "paint_order": "stroke"}


def budget_minutes(
    daily: Sequence[Mapping[str, Any]], objective: float | None
) -> tuple[float | None, int]:
    """Allowed down minutes ((100 − objective)% of counted up+down minutes) and down minutes used."""
    counted = sum(d["minutes"]["up"] + d["minutes"]["down"] for d in daily)
    used = sum(int(d["minutes"]["down"]) for d in daily)
    if objective is None:
        return None, used
    return float(verdicts.budget_minutes(objective, counted)), used


def budget_used_percent(allowed: float | None, used: int) -> float | None:
    """Down minutes as a share of the budget; None when there is no budget to share."""
    if allowed is None or allowed <= 0:
        return None
    return float(Decimal(used) * 100 / dec(allowed))


def _message(cls: str, label: str, text: str) -> Markup:
    return _svg(360, 60, label, cls, [_text(180, 34, text, "ch-muted", "middle", opacity="0.75")])


def _day_ticks(
    daily: Sequence[Mapping[str, Any]], slots: int, x: Callable[[int], float], y: float
) -> list[str]:
    """Day-of-month labels every seven days, under bars or points."""
    labels = _tick_labels(daily[0]["date"] if daily else None, slots)
    return [
        _text(x(i), y, text, anchor="middle")
        for i, text in zip(range(0, slots, 7), labels, strict=True)
    ]


@lru_cache(maxsize=64)
def _tick_labels(first: str | None, slots: int) -> tuple[str, ...]:
    """The tick texts of :func:`_day_ticks`: every service of a month shares them."""
    if not first:
        return tuple(str(i + 1) for i in range(0, slots, 7))
    return tuple(str(int(_day_label(first, i)[8:10])) for i in range(0, slots, 7))


def _day_label(first: str | None, index: int) -> str:
    """The ISO date ``index`` days after ``first`` (days not measured yet have no entry)."""
    if first is None:
        return f"day {index + 1}"
    return str(date.fromisoformat(first) + timedelta(index))


def uptime_floor(target: float, lowest: float | None = None) -> float:
    """Lowest uptime the bars resolve: 99% for the usual objectives, lower for lax ones.

    With ``lowest`` (the worst day's uptime) the floor drops below it, so the
    worst day is a bar of its own height rather than a stub cut at the axis.
    """
    floor = 99.0 if target > 99.0 else max(0.0, math.floor(target) - 1.0)
    if lowest is not None and lowest < floor + 0.1 * (100.0 - floor):
        span = _nice_ceiling(max(100.0 - lowest, 0.1) * 1.25)
        floor = max(0.0, 100.0 - span)
    return floor


def lowest_uptime(daily: Sequence[Mapping[str, Any]]) -> float | None:
    """The worst measured day's uptime, None when no day was measured."""
    return min(
        (d["uptime_percent"] for d in daily if d["uptime_percent"] is not None), default=None
    )


def _day_title(day: Mapping[str, Any]) -> str:
    m = day["minutes"]
    if day["uptime_percent"] is None:
        parts = [f"{day['date']}: no data"]
    else:
        parts = [f"{day['date']}: {fmt_uptime(day['uptime_percent'])} uptime"]
        if m["down"]:
            parts.append(f"{m['down']} min down")
    if m["no_data"] and day["uptime_percent"] is not None:
        parts.append(f"{m['no_data']} min without data")
    if m["excluded"]:
        parts.append(f"{m['excluded']} min maintenance")
    return ", ".join(parts)


def daily_uptime_bars(
    daily: Sequence[Mapping[str, Any]], target: float, *, month_days: int | None = None
) -> Markup:
    """One bar per local day, as tall as its uptime above a floor, green if it met ``target``.

    Days without data are grey; with ``month_days`` the days not measured yet
    (a month in progress) are dashed outlines so the month keeps its shape.
    """
    slots = max(len(daily), month_days or 0)
    if slots == 0:
        return _message("ch-daily", "Daily uptime: no days measured", "No days measured")
    width, height, left, right, top, bottom = 360, 150, 38, 4, 8, 22
    pw, ph = width - left - right, height - top - bottom
    floor = uptime_floor(target, lowest_uptime(daily))
    step = pw / slots
    gap = min(2.0, step * 0.2)
    bw = step - gap

    def y(u: float) -> float:
        return top + ph * (100.0 - min(100.0, max(floor, u))) / (100.0 - floor)

    body = [
        _line(left, y(100), width - right, y(100), "ch-grid", stroke_opacity="0.25"),
        _line(left, y(floor), width - right, y(floor), "ch-grid", stroke_opacity="0.45"),
        _text(left - 4, y(100) + 4, "100%", anchor="end"),
        _text(left - 4, y(floor) + 4, f"{fmt_plain(floor)}%", anchor="end"),
    ]
    met = missed = nodata = 0
    # This loop runs for every day of every service, so what _el would write
    # the same in every column is written once, before it.
    w_, h_, bottom_y = _n(bw), _n(ph), top + ph
    column = f' y="{_n(top)}" width="{w_}" height="{h_}" fill="transparent"'
    bar_style = {
        verdict: _attrs({"cls": f"ch-bar {cls}", "fill": fill})
        for verdict, (cls, fill) in {None: ("ch-nodata", NODATA), **VERDICT_STYLE}.items()
    }
    maint_style = _attrs({"height": "3", "cls": "ch-maint", "fill": ACCENT})
    maint = f' y="{_n(top + ph + 2.0)}" width="{w_}"{maint_style}/>'
    future = _attrs({"cls": "ch-future", "stroke": NODATA, "stroke_dasharray": "2 2"})
    for i in range(slots):
        xs = _n(left + i * step + gap / 2)
        # A transparent full-height rect makes the whole column hoverable for its title.
        if i >= len(daily):
            label = f"{_day_label(daily[0]['date'] if daily else None, i)}: not measured yet"
            body.append(f'<g>{_title(label)}<rect x="{xs}"{column}{future}/></g>')
            continue
        day = daily[i]
        u = day["uptime_percent"]
        if u is None:
            nodata += 1
            ok, top_y = None, float(top)
        else:
            ok = bool(verdicts.meets(u, target))
            met, missed = met + ok, missed + (not ok)
            top_y = min(y(u), top + ph - 8.0)  # the worst days stay visible
        bar = f'<rect x="{xs}" y="{_n(top_y)}" width="{w_}" height="{_n(bottom_y - top_y)}"{bar_style[ok]}/>'
        mark = f'<rect x="{xs}"{maint}' if day["minutes"]["excluded"] else ""
        body.append(
            f'<g class="ch-day">{_title(_day_title(day))}<rect x="{xs}"{column}/>{bar}{mark}</g>'
        )
    if floor < target < 100:
        dash = {"stroke_dasharray": "4 3"}
        body.append(_line(left, y(target), width - right, y(target), "ch-target", **dash))
    body += _day_ticks(daily, slots, lambda i: left + (i + 0.5) * step, height - 6)
    label = f"Daily uptime: {met} days met the {fmt_plain(target)}% objective, {missed} missed"
    if nodata:
        label += f", {nodata} without data"
    measured = [d for d in daily if d["uptime_percent"] is not None]
    if measured:
        worst = min(measured, key=lambda d: d["uptime_percent"])
        label += f"; lowest {fmt_uptime(worst['uptime_percent'])} on {worst['date']}"
    return _svg(width, height, label + ".", "ch-daily", body)


def _target_of(spec: object) -> tuple[float | None, bool | None]:
    """A latency target as ``(target, met)``: ``met`` None unless the whole bucket agrees.

    Given as ``{"target", "met", "certain"}`` (the report's shape) or a bare
    number.  A verdict whose bucket straddles the target is not shown as ✓/✗.
    """
    if isinstance(spec, Mapping):
        met = spec.get("met") if spec.get("certain", True) is not False else None
        return spec.get("target"), met
    if isinstance(spec, int | float):
        return float(spec), None
    return None, None


def _ticks(lo: float, hi: float, pixels: float) -> list[float]:
    """Ticks within ``[lo, hi]`` ms: decades first, then 5s and 2s where labels have room."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    room = 30.0 * (math.log10(hi) - math.log10(lo)) / pixels  # 30 px as a log10 distance
    chosen: list[float] = []
    for m in (1, 5, 2):
        for k in decades:
            t = m * 10.0**k
            if lo <= t <= hi and all(abs(math.log10(t / c)) >= room for c in chosen):
                chosen.append(t)
    return sorted(chosen)


def latency_chart(
    latency_seconds: Mapping[str, float | None] | None,
    bounds: Mapping[str, Sequence[float | None] | None] | None,
    targets: Mapping[str, object] | None,
) -> Markup:
    """Each percentile as a point inside its histogram bucket's range, with its target as a tick.

    Log scale in milliseconds, since P50 and P99 are often an order of magnitude apart.
    """
    values = dict(latency_seconds or {})
    if not values:
        return _message("ch-latency", "Latency: no histogram", "No latency histogram")
    bounds, targets = bounds or {}, targets or {}
    width, row_h, top, left, plot_r = 360, 36, 6, 40, 246
    height = top + len(values) * row_h + 24
    seen = [v for v in values.values() if v is not None and v > 0]
    for key in values:
        seen += [b for b in (bounds.get(key) or ()) if b is not None and b > 0]
        t, _ = _target_of(targets.get(key))
        seen += [t] if t is not None and t > 0 else []
    lo_ms = min(seen) * 1000 / 1.3 if seen else 1.0
    hi_ms = max(seen) * 1000 * 1.3 if seen else 1000.0
    hi_ms = max(hi_ms, lo_ms * 10)
    span = math.log10(hi_ms) - math.log10(lo_ms)

    def x(seconds: float | None, default: float) -> float:
        if seconds is None or seconds <= 0:
            return default
        ms = min(hi_ms, max(lo_ms, seconds * 1000))
        return left + (plot_r - left) * (math.log10(ms) - math.log10(lo_ms)) / span

    body: list[str] = []
    notes = []
    for i, (key, v) in enumerate(values.items()):
        cy = top + i * row_h + row_h / 2
        name, b = key.upper(), bounds.get(key)
        t, met = _target_of(targets.get(key))
        parts = [_line(left, cy, plot_r, cy, "ch-grid", stroke_opacity="0.2")]
        if b is not None and v is not None:
            bx1, bx2 = x(b[0], left), x(b[1], plot_r)
            band = {
                "height": "8",
                "cls": "ch-range",
                "fill": "currentColor",
                "fill_opacity": "0.18",
            }
            parts.append(_el("rect", x=bx1, y=cy - 4, width=max(1.0, bx2 - bx1), **band))
            parts += [
                _line(bx, cy - 6, bx, cy + 6, "ch-range", stroke_opacity="0.6") for bx in (bx1, bx2)
            ]
        if t is not None:
            tx = x(t, left)
            parts.append(_line(tx, cy - 12, tx, cy + 12, "ch-target", stroke_width="2"))
        detail = f"{name}: {'no data' if v is None else fmt_latency(v)}"
        if v is None:
            mid = (left + plot_r) / 2
            parts.append(_text(mid, cy + 4, "no data", "ch-muted", "middle", opacity="0.75"))
        else:
            cls, fill = VERDICT_STYLE.get(met, ("ch-point", ACCENT))
            parts.append(_el("circle", cx=x(v, left), cy=cy, r="4.5", cls=cls, fill=fill))
            if b is not None:
                lo_txt = "−∞" if b[0] is None else fmt_plain(b[0], 1000)
                detail += f" (bucket {lo_txt}–{'∞' if b[1] is None else fmt_plain(b[1], 1000)} ms)"
        parts.append(_text(left - 6, cy + 4, name, "ch-key", "end", font_weight="600"))
        vy = cy - 2 if t is not None else cy + 4
        parts.append(_text(plot_r + 10, vy, fmt_latency(v), "ch-value", font_weight="600"))
        if t is not None:
            said = f"target {fmt_plain(t, 1000)} ms"
            mark = _MARKS.get(met, " ~" if v is not None else "")
            parts.append(_text(plot_r + 10, cy + 11, said + mark, "ch-muted", font_size="10.5"))
            unsure = f": {within_bucket(b)}" if v is not None else ""
            detail += f", {said}" + _OUTCOMES.get(met, unsure)
        notes.append(detail)
        body.append(f"<g>{_title(detail)}{''.join(parts)}</g>")
    axis_y = top + len(values) * row_h + 2
    body.append(_line(left, axis_y, plot_r, axis_y, "ch-axis", stroke_opacity="0.5"))
    for tick in _ticks(lo_ms, hi_ms, plot_r - left):
        tx = x(tick / 1000, left)
        body.append(_line(tx, axis_y, tx, axis_y + 3, "ch-axis", stroke_opacity="0.5"))
        body.append(_text(tx, axis_y + 14, fmt_plain(tick), anchor="middle", font_size="11"))
    unit = {"font_size": "10.5", "opacity": "0.75"}
    body.append(_text(plot_r + 10, axis_y + 14, "ms (log)", "ch-muted", **unit))
    label = "Latency percentiles against targets: " + "; ".join(notes) + "."
    return _svg(width, height, label, "ch-latency", body)


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (for the budget axis)."""
    exp = 10.0 ** math.floor(math.log10(value))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= value - 1e-9)


def budget_burn(
    daily: Sequence[Mapping[str, Any]], objective: float | None, *, month_days: int | None = None
) -> Markup:
    """Cumulative down minutes as a share of the month's error budget, day by day.

    The budget is (100 − objective)% of the counted (up + down) minutes; the
    dashed diagonal is an even burn that spends exactly the budget by month end.
    """
    allowed, used = budget_minutes(daily, objective)
    if allowed is None:
        return _message("ch-budget", "Error budget: no objective", "No objective set")
    if allowed <= 0:
        text = "No budget (100% objective)" if objective == 100 else "No counted minutes"
        return _message("ch-budget", f"Error budget: {text}", text)
    slots = max(len(daily), month_days or 0)
    width, height, left, right, top, bottom = 360, 160, 40, 10, 14, 22
    pw, ph = width - left - right, height - top - bottom
    cum, points = 0, []
    for i, day in enumerate(daily):
        cum += int(day["minutes"]["down"])
        points.append((i + 1, 100.0 * cum / allowed))
    y_max = _nice_ceiling(max([100.0] + [p for _, p in points]))

    def px(d: float) -> float:
        return left + pw * d / slots

    def py(p: float) -> float:
        return top + ph * (1 - p / y_max)

    body = []
    for tick in sorted({0.0, y_max / 2, y_max}):
        body.append(_line(left, py(tick), width - right, py(tick), "ch-grid", stroke_opacity="0.2"))
        body.append(_text(left - 4, py(tick) + 4, f"{fmt_plain(tick)}%", anchor="end"))
    pace = {"stroke_dasharray": "4 3", "stroke_opacity": "0.6"}
    body.append(_line(px(0), py(0), px(slots), py(100), "ch-pace", **pace))
    body.append(_line(left, py(100), width - right, py(100), "ch-limit", MISS, stroke_width="1.5"))
    if y_max > 100:
        limit = {"font_size": "10.5", **HALO}
        body.append(_text(left + 4, py(100) - 4, "100% budget", "ch-limit-label ch-halo", **limit))
    line = [(px(0), py(0))] + [(px(d), py(p)) for d, p in points]
    coords = " ".join(f"{_n(a)},{_n(b)}" for a, b in line)
    if points:
        area = coords + f" {_n(px(points[-1][0]))},{_n(py(0))}"
        fill = {"fill": ACCENT, "fill_opacity": ".12"}
        body.append(_el("polygon", points=area, cls="ch-burn-area", **fill))
    burn = {"fill": "none", "stroke": ACCENT, "stroke_width": "2"}
    body.append(_el("polyline", points=coords, cls="ch-burn", **burn))
    end_text = f"{fixed(points[-1][1] if points else 0.0, 1, up=True)}% used"
    ex, ey = line[-1]
    anchor = "end" if ex > left + pw * 0.6 else "start"
    ty = ey - 6 if ey > top + 12 else ey + 14
    tx = ex - 4 if anchor == "end" else ex + 4
    body.append(_text(tx, ty, end_text, "ch-end ch-halo", anchor, font_weight="600", **HALO))
    body.append(_el("circle", cx=ex, cy=ey, r="3", cls="ch-burn-end", fill=ACCENT))
    body += _day_ticks(daily, slots, px, height - 6)
    label = (
        f"Error budget used: {end_text} of {fixed(allowed, 1, up=False)} allowed down minutes "
        f"({used} min down) after {len(daily)} of {slots} days."
    )
    return _svg(width, height, label, "ch-budget", body)
