"""Checking a 5-field crontab line when the config loads, not when the job first fires.

Weekdays are numbered as cron numbers them (0 and 7 are Sunday).  The scheduler's
library counts from Monday, so :func:`normalise` spells weekday numbers as names,
which both read the same way.
"""

from __future__ import annotations

import re

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


def normalise(expr: str) -> str:
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
