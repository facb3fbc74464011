"""Time specs as the config and the alert rules write them: durations and crontab lines.

Durations (``30s``, ``5m``, ``1h30m``, ``1d``): one parser for every duration
slactl reads, in Prometheus' spelling (whole numbers, units s/m/h/d/w, largest
first), so a value that works in one place works in all.

Crontab lines are checked when the config loads, not when the job first fires.
Weekdays are numbered as cron numbers them (0 and 7 are Sunday); the scheduler's
library counts from Monday, so :func:`normalise_cron` spells weekday numbers as
names, which both read the same way.
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


# --------------------------------------------------------------------------- crontab lines

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
# name, lowest, highest, names (index = number)
_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
           ("month", 1, 12, ("",) + _MONTHS), ("day of week", 0, 7, _DAYS))  # fmt: skip
_ITEM = re.compile(r"(\*|[0-9a-z]+)(?:-([0-9a-z]+))?(?:/(\d+))?")


def _value(token: str, field: str, lo: int, hi: int, names: tuple[str, ...]) -> int:
    if token.isdigit():
        n = int(token)
    elif token in names:
        n = names.index(token)
    else:
        raise ValueError(f"{token!r} is not a valid {field}")
    if not lo <= n <= hi:
        raise ValueError(f"{field} {n} is outside {lo}-{hi}")
    return n


def _check(text: str, field: str, lo: int, hi: int, names: tuple[str, ...]) -> list[int] | None:
    """The values a field selects (None for ``*``); ValueError when it is malformed."""
    if text == "*":
        return None
    values: list[int] = []
    for item in text.lower().split(","):
        m = _ITEM.fullmatch(item)
        if m is None:
            raise ValueError(f"{item!r} is not a valid {field}")
        first, last, step = m.groups()
        if first == "*" and last:
            raise ValueError(f"{item!r} is not a valid {field}")
        a = lo if first == "*" else _value(first, field, lo, hi, names)
        b = (hi if field != "day of week" else 6) if first == "*" else (_value(last, field, lo, hi, names) if last else (hi if step else a))
        if b < a:
            raise ValueError(f"{item!r}: a range must go upwards")
        if step is not None and int(step) < 1:
            raise ValueError(f"{item!r}: the step must be at least 1")
        values += list(range(a, b + 1, int(step or 1)))
    return values


def normalise_cron(expr: str) -> str:
    """``expr`` checked, with weekday numbers spelled as names; ValueError saying what is wrong."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"{expr!r} has {len(fields)} fields; a crontab line has 5 (minute hour day month weekday)")
    for text, (field, lo, hi, names) in zip(fields, _FIELDS, strict=True):
        _check(text, field, lo, hi, names)
    dow = _check(fields[4], *_FIELDS[4])
    if dow is not None:
        fields[4] = ",".join(dict.fromkeys(_DAYS[d] for d in dow))
    return " ".join(fields)
