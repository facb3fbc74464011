"""Every figure's text form, in one place for the report, charts, status page and statements.

Figures are rounded against the reader: uptime down, latency, durations and
budget use up, so a printed figure never looks better than the measurement
(99.9896% must not read as a 99.99% that was met).  Decimal arithmetic on the
float's shortest spelling avoids float noise (57.300000000000004 ms).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import wraps
from typing import Any, TypeVar

from slactl.model import minute_to_iso

MONTHS = (
    "January February March April May June July August September October November December".split()
)

F = TypeVar("F", bound=Callable[..., str])


def remembered(fn: F) -> F:
    """Cache a formatter's text per number: a report prints the same few figures thousands of times.

    Days of 1440 minutes take few distinct uptimes, and Decimal rounding is the
    costly part of rendering them.  Only ``int`` and ``float`` arguments are
    cached, each type apart (1 and 1.0 are equal keys), and zero never is,
    since -0.0 equals 0.0 yet prints as "-0.000".
    """
    caches: dict[type, dict[Any, str]] = {float: {}, int: {}}

    @wraps(fn)
    def cached(value: Any, *rest: Any, **named: Any) -> str:
        cache = caches.get(type(value))
        if cache is None or not value or named:
            return fn(value, *rest, **named)
        key = (value, *rest) if rest else value
        text = cache.get(key)
        if text is None:
            if len(cache) >= 8192:
                cache.clear()
            text = cache[key] = fn(value, *rest)
        return text

    return cached  # type: ignore[return-value]


def dec(value: float) -> Decimal:
    """The decimal a float prints as, so 0.0573 s × 1000 is 57.3 ms, not 57.300000000000004."""
    return Decimal(repr(float(value)))


def _fixed(value: Decimal, places: int, rounding: str) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=rounding):f}"


def fixed(value: float, places: int, *, up: bool) -> str:
    """``value`` with ``places`` decimals, rounded up or down as its reader's safe side asks."""
    return _fixed(dec(value), places, ROUND_CEILING if up else ROUND_FLOOR)


@remembered
def fmt_uptime(value: float | None, places: int = 3) -> str:
    """Uptime in percent, rounded down: a shown figure never overstates availability."""
    return "—" if value is None else _fixed(dec(value), places, ROUND_FLOOR) + "%"


@remembered
def fmt_latency(seconds: float | None, places: int = 1) -> str:
    """Seconds as milliseconds, rounded up: a shown latency never understates the wait."""
    return "—" if seconds is None else _fixed(dec(seconds) * 1000, places, ROUND_CEILING) + " ms"


def fmt_ms_plain(seconds: float | None) -> str:
    """A bucket bound in milliseconds as written (100, 250, 2.5)."""
    return "∞" if seconds is None else fmt_plain(seconds, 1000)


@remembered
def fmt_plain(value: float | Decimal | None, scale: int = 1) -> str:
    """A configured target as written (99.9, 50 ms), without float noise or trailing zeros."""
    if value is None:
        return "—"
    d = value if isinstance(value, Decimal) else dec(value)
    text = f"{(d * scale).normalize():f}"
    return text[:-2] if text.endswith(".0") else text


def fmt_rps(value: float | None) -> str:
    """Requests per second, one decimal below 100, whole above."""
    if value is None:
        return "—"
    return f"{value:,.1f} req/s" if value < 100 else f"{value:,.0f} req/s"


@remembered
def fmt_duration(minutes: float | None) -> str:
    """Minutes as "4 min", "19.5 min" or "1 h 05 min": incident lengths and MTTR.

    A mean (MTTR) is rounded up, like every figure where more is worse.
    """
    if minutes is None:
        return "—"
    if minutes < 60:
        return fixed(minutes, 1, up=True).removesuffix(".0") + " min"
    hours, rest = divmod(math.ceil(minutes), 60)
    return f"{hours} h {rest:02d} min"


def fmt_month(month: str) -> str:
    """Month "2026-01" as "January 2026", in English whatever the locale, for stable bytes."""
    year, mon = month.split("-")
    return f"{MONTHS[int(mon) - 1]} {year}"


def fmt_month_short(month: str) -> str:
    """Month "2026-01" as "Jan 2026"."""
    year, mon = month.split("-")
    return f"{MONTHS[int(mon) - 1][:3]} {year}"


def fmt_utc(iso: str | None) -> str:
    """A UTC timestamp "2026-01-05T15:14:00Z" as "2026-01-05 15:14" (headers say UTC)."""
    if iso is None:
        return "—"
    text = iso.replace("T", " ").removesuffix("Z")
    return text[:-3] if text.endswith(":00") and len(text) == 19 else text


def fmt_minute(minute: int | None) -> str:
    """An epoch minute as "2026-01-05 15:14" (UTC)."""
    return "—" if minute is None else fmt_utc(minute_to_iso(minute))


def fmt_when(iso: str) -> str:
    """``2026-01-04T00:10:00Z`` → ``2026-01-04 00:10 UTC``: shorter, still unambiguous."""
    if not iso.endswith("Z"):
        return iso
    return fmt_utc(iso) + " UTC"


def fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_ceil_pct(value: float | Decimal | None, places: int = 1) -> str:
    """A share of budget used, rounded up (never reads as less used than it was)."""
    if value is None:
        return "—"
    d = value if isinstance(value, Decimal) else dec(value)
    return _fixed(d, places, ROUND_CEILING) + "%"


def fmt_ratio(value: float | None) -> str:
    """An error ratio as a percentage, rounded up."""
    return "—" if value is None else _fixed(dec(value) * 100, 3, ROUND_CEILING) + "%"


def fmt_allowed(minutes: float | None, places: int = 1) -> str:
    """An allowance (error budget minutes), rounded down: never reads as more room than there is."""
    return "—" if minutes is None else fixed(minutes, places, up=False)


def fmt_uptime_short(value: float | None) -> str:
    """Uptime for the status page: two places, rounded down, so downtime never shows as 100%."""
    if value is None:
        return "no data"
    if value >= 100:
        return "100%"
    return fmt_uptime(value, 2)


def within_bucket(bounds: Sequence[float | None] | None) -> str:
    """ "within bucket 100–250 ms": what an uncertain latency verdict honestly says."""
    if not bounds:
        return "within its bucket"
    lo, hi = bounds[0], bounds[1]
    lo_txt = "0" if lo is None else fmt_plain(lo, 1000)
    return f"within bucket {lo_txt}–{'∞' if hi is None else fmt_plain(hi, 1000)} ms"
