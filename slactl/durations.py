"""Durations as the config and the alert rules write them: ``30s``, ``5m``, ``1h30m``, ``1d``.

One parser for every duration slactl reads, in Prometheus' spelling (whole
numbers, units s/m/h/d/w, largest first), so a value that works in one place
works in all.
"""

from __future__ import annotations

import re

UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)(w|d|h|m|s)")


def seconds(text: str) -> int:
    """``"1h30m"`` → 5400; ValueError (saying what is expected) for anything else or for 0."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration: write it with a unit, like 30s, 5m, 1h or 1h30m")
    s = text.strip()
    parts = _PART.findall(s)
    units = [u for _, u in parts]
    if not s or "".join(n + u for n, u in parts) != s or units != sorted(set(units), key=list(UNITS).index):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1h30m")
    total = sum(int(n) * UNITS[u] for n, u in parts)
    if total <= 0:
        raise ValueError(f"{text!r} must be longer than 0s")
    return total


def spell(total: int) -> str:
    """5400 → ``"1h30m"``: the shortest spelling :func:`seconds` reads back."""
    if total <= 0:
        return "0s"
    out = []
    for unit, size in UNITS.items():
        n, total = divmod(total, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
