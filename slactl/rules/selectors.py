"""Concrete label sets that a user's selectors do (or do not) match, for rule unit tests.

A generated unit test must feed series the rules will actually select, and the
rules are built from whatever selectors the user wrote.  Each matcher concerns
one label, so a label set is found label by label: candidate values come from the
matchers themselves (equality values, strings generated from regexes) plus a few
common ones, and every choice is checked against the real matchers (``re`` full
match, as Prometheus anchors regexes).  "Absent" is the empty value, as in PromQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import promql_parser

from slactl.config import Service
from slactl.promql.numbers import exact

try:  # the regex parser of the standard library (private, stable since 3.11)
    import re._constants as _c
    import re._parser as _p
except ImportError:  # pragma: no cover
    _p = None
    _c = None

_COMMON = ("200", "500", "ok", "x", "1", "0", "true", "slactl-test", "")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    def accepts(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        try:
            hit = re.fullmatch(self.value, value, re.DOTALL) is not None
        except re.error:
            return False
        return hit if self.op == "=~" else not hit


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def matchers(selector: str) -> list[Matcher] | None:
    """The matchers of a plain vector selector, the metric name as ``__name__``; None if unusable."""
    expr = promql_parser.parse(selector)
    if not isinstance(expr, promql_parser.VectorSelector) or expr.matchers.or_matchers:
        return None
    out = [Matcher("__name__", "=", expr.name)] if expr.name else []
    for m in expr.matchers.matchers:
        op = _OPS.get(str(m.op).rsplit(".", 1)[-1])
        if op is None:
            return None
        out.append(Matcher(m.name, op, m.value))
    return out


def _candidates(label: str, found: Sequence[Matcher]) -> list[str]:
    values: list[str] = []
    for m in found:
        if m.name != label:
            continue
        if m.op in ("=", "!="):
            values.append(m.value)
        else:
            values.extend(regex_samples(m.value))
    values.extend(_COMMON)
    seen: list[str] = []
    for v in values:
        if v not in seen and not (label == "__name__" and v == ""):
            seen.append(v)
    return seen


def solve(must: Sequence[Sequence[Matcher]], must_not: Sequence[Matcher] | None = None) -> dict[str, str] | None:
    """Labels matched by every selector in ``must`` and, if given, not by ``must_not``."""
    every = [m for sel in must for m in sel] + list(must_not or [])
    labels = sorted({m.name for m in every}, key=lambda n: (n != "__name__", n))
    chosen: dict[str, str] = {}
    options: dict[str, list[str]] = {}
    for label in labels:
        mine = [m for sel in must for m in sel if m.name == label]
        ok = [v for v in _candidates(label, every) if all(m.accepts(v) for m in mine)]
        if not ok:
            return None
        options[label] = ok
        chosen[label] = ok[0]
    if must_not is not None:
        for label in labels:
            theirs = [m for m in must_not if m.name == label]
            breaking = [v for v in options[label] if not all(m.accepts(v) for m in theirs)]
            if breaking:
                chosen[label] = breaking[0]
                break
        else:
            return None
    return {k: v for k, v in chosen.items() if v != ""}


def series_text(labels: dict[str, str], extra: dict[str, str] | None = None) -> str:
    """The labels as promtool's series notation: ``name{a="1",b="2"}``."""
    merged = {**labels, **(extra or {})}
    name = merged.pop("__name__", "")
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(merged.items()))
    return f"{name}{{{body}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# --------------------------------------------------------------------------- test series

PER_MINUTE = Decimal(1000)  # requests per minute in ratio-form tests


@dataclass(frozen=True)
class RatioSeries:
    """An errors series and a good-requests series for a ratio service's selectors."""

    errors: str
    good: str
    errors_in_total: bool  # the errors series is also selected by `total`

    def inputs(self, ratio: Decimal, n: int, *, traffic: bool = True, with_errors: bool = True) -> list[dict[str, str]]:
        total = PER_MINUTE if traffic else Decimal(0)
        err = total * ratio
        good = total - err if self.errors_in_total else total
        out = [{"series": self.good, "values": f"0+{exact(good)}x{n}"}]
        if with_errors:
            out.insert(0, {"series": self.errors, "values": f"0+{exact(err)}x{n}"})
        return out


def ratio_series(svc: Service) -> RatioSeries | None:
    """Series for a ratio service's selectors, or None if no label set can be found."""
    e_m, t_m = matchers(str(svc.availability.errors)), matchers(str(svc.availability.total))
    if e_m is None or t_m is None:
        return None
    errors, inside = solve([e_m, t_m]), True
    if errors is None:
        errors, inside = solve([e_m], t_m), False
    good = solve([t_m], e_m)
    if errors is None or good is None:
        return None
    return RatioSeries(series_text(errors), series_text(good), inside)


def probe_series(svc: Service, **extra: str) -> str | None:
    found = matchers(str(svc.availability.probe))
    labels = solve([found]) if found is not None else None
    return None if labels is None else series_text(labels, extra)


# --------------------------------------------------------------------------- regex samples


class _Unsupported(Exception):
    pass


def regex_samples(pattern: str) -> list[str]:
    """A few strings the regex fully matches: one per top-level alternative (``5..|429`` → 500, 429)."""
    if _p is None:
        return []
    try:
        parsed = _p.parse(pattern)
    except (re.error, RecursionError):
        return []
    items = list(parsed)
    branches = [items]
    if len(items) == 1 and items[0][0] is _c.BRANCH:
        branches = [list(b) for b in items[0][1][1]]
    out = []
    for branch in branches:
        try:
            text = _gen(branch)
        except _Unsupported:
            continue
        if re.fullmatch(pattern, text, re.DOTALL):
            out.append(text)
    return out


def _gen(items: list) -> str:
    parts = []
    for op, av in items:
        if op is _c.LITERAL:
            parts.append(chr(av))
        elif op is _c.NOT_LITERAL:
            parts.append("a" if chr(av) != "a" else "b")
        elif op is _c.ANY:
            parts.append("0")
        elif op is _c.IN:
            parts.append(_in(av))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            parts.append(_gen(list(sub)) * max(int(low), 0))
        elif op is _c.SUBPATTERN:
            parts.append(_gen(list(av[-1])))
        elif op is _c.BRANCH:
            parts.append(_gen(list(av[1][0])))
        elif op is _c.AT:
            continue
        else:
            raise _Unsupported(str(op))
    return "".join(parts)


_CATEGORY = {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " "}


def _in(av: list) -> str:
    if av and av[0][0] is _c.NEGATE:
        return "\x00"  # checked by the caller's full match; rarely wanted
    for op, arg in av:
        if op is _c.LITERAL:
            return chr(arg)
        if op is _c.RANGE:
            return chr(arg[0])
        if op is _c.CATEGORY and str(arg) in _CATEGORY:
            return _CATEGORY[str(arg)]
    raise _Unsupported("character class")
