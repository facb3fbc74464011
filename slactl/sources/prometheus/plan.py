"""Fusing many services' selectors into few queries, and handing the answers back.

Asking the server once per service costs far more than reading the answers: a
month of 200 probe services is 200 queries of the same metric.  Selectors that
share a metric name are therefore pulled together, with one query per range
function over the *union* of their series (the matchers every selector shares,
plus ``label=~"a|b|…"`` where every selector pins the same label to one value).
Each returned series then goes to every selector that matches it, judged here
the way Prometheus judges it: a missing label is the empty string, and ``=~`` /
``!~`` are fully anchored.  The matchers come from the parsed selector, never
from its text.

A selector that cannot be judged locally (no metric name, ``or`` alternatives,
``offset``/``@``, a regex Python reads differently) is pulled on its own.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import promql_parser

from slactl.sources.prometheus.matrix import LabelKey

_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
# Beyond this many values an alternation stops being cheaper than the shared matchers alone.
MAX_ALTERNATIVES = 5000


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    def text(self) -> str:
        return f"{self.name}{self.op}{_quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A parsed selector: the metric it reads (None when it must be pulled alone) and its matchers."""

    text: str
    metric: str | None
    matchers: tuple[Matcher, ...]

    def accepts(self, labels: dict[str, str]) -> bool:
        return all(_accepts(m, labels.get(m.name, "")) for m in self.matchers)


def parse(text: str) -> Selector:
    """Read ``text`` into a :class:`Selector`; anything unusual is left to be pulled as written."""
    try:
        expr = promql_parser.parse(text)
    except ValueError:
        return Selector(text, None, ())
    alone = Selector(text, None, ())
    if not isinstance(expr, promql_parser.VectorSelector) or expr.matchers.or_matchers:
        return alone
    if expr.offset or getattr(expr, "at", None) is not None:
        return alone
    name = expr.name
    found: list[Matcher] = []
    for m in expr.matchers.matchers:
        op = _OPS.get(str(m.op).rsplit(".", 1)[-1])
        if op is None:
            return alone
        if m.name == "__name__":
            if op != "=" or (name and name != m.value):
                return alone
            name = m.value
            continue
        if op in ("=~", "!~") and _regex(m.value) is None:
            return alone
        found.append(Matcher(m.name, op, m.value))
    if not name:
        return alone
    return Selector(text, name, tuple(sorted(set(found), key=lambda m: (m.name, m.op, m.value))))


@dataclass
class Union:
    """Selectors of one metric pulled together, and the selector that reads them all."""

    metric: str | None
    members: list[Selector] = field(default_factory=list)
    users: list[tuple[str, str, Selector]] = field(default_factory=list)  # (service, role, selector)

    def context(self) -> str:
        """Who the pull is for, as error messages name it."""
        services = list(dict.fromkeys(s for s, _, _ in self.users))
        if len(self.users) == 1:
            service, role, _ = self.users[0]
            return f"service '{service}' ({role} {self.members[0].text})"
        shown = ", ".join(f"'{s}'" for s in services[:3])
        more = f" and {len(services) - 3} more" if len(services) > 3 else ""
        word = "service" if len(services) == 1 else "services"
        return f"{word} {shown}{more} ({self.selector()})"

    def selector(self) -> str:
        if self.metric is None:
            return self.members[0].text
        shared = set(self.members[0].matchers)
        for s in self.members[1:]:
            shared &= set(s.matchers)
        parts = sorted(m.text() for m in shared)
        pinned = {m.name for m in shared}
        for label in sorted({m.name for s in self.members for m in s.matchers} - pinned):
            values = set()
            for s in self.members:
                vals = [m.value for m in s.matchers if m.name == label and m.op == "="]
                if not vals:
                    break
                values.add(vals[0])
            else:
                if len(values) <= MAX_ALTERNATIVES:
                    parts.append(
                        f"{label}=~{_quote('|'.join(re.escape(v) for v in sorted(values)))}"
                    )
        return f"{self.metric}{{{','.join(parts)}}}" if parts else self.metric

    def assign(self, labels: dict[LabelKey, dict[str, str]], member: Selector) -> list[LabelKey]:
        """The returned series (by key) that ``member`` selects."""
        if self.metric is None:
            return list(labels)
        return [k for k, lab in labels.items() if member.accepts(lab)]


def partition(union: Union) -> list[Union]:
    """Split a metric's selectors so that each query pins one label to the values asked for.

    ``http_requests_total{service="api"}`` and ``http_requests_total{job="batch"}``
    share no matcher: fused as they are, the query would read every series of
    the metric, perhaps thousands that no service wants.  Selectors are grouped
    by the label most of them pin with ``=`` (the largest group first); each
    group becomes one query with that label's values as an alternation.  When
    some group would read the whole metric anyway, everything stays one query.
    """
    if union.metric is None or len(union.members) < 2:
        return [union]
    left, parts = list(union.members), []
    while left:
        counts = Counter(m.name for s in left for m in s.matchers if m.op == "=")
        if counts:
            label = min(counts, key=lambda n: (-counts[n], n))
            group = [s for s in left if any(m.name == label and m.op == "=" for m in s.matchers)]
        else:
            group = left
        chosen = set(group)
        parts.append(Union(union.metric, group, [u for u in union.users if u[2] in chosen]))
        left = [s for s in left if s not in chosen]
    if any(p.selector() == union.metric for p in parts):
        return [union]  # one part reads the whole metric anyway: one query for all
    return parts


class Index:
    """Series of one answer looked up by one equality matcher first, then checked in full.

    With thousands of services over thousands of series, testing every selector
    against every series is millions of regex calls; most selectors pin a label
    to one value, which a dictionary finds at once.
    """

    def __init__(self, labels: dict[LabelKey, dict[str, str]]) -> None:
        self.labels = labels
        self._by: dict[str, dict[str, list[LabelKey]]] = {}
        self._memo: dict[Selector, list[LabelKey]] = {}

    def select(self, union: Union, member: Selector) -> list[LabelKey]:
        if union.metric is None:
            return list(self.labels)
        hit = self._memo.get(member)
        if hit is not None:
            return hit
        eq = next((m for m in member.matchers if m.op == "=" and m.value), None)
        if eq is None:
            hit = union.assign(self.labels, member)
        else:
            table = self._by.get(eq.name)
            if table is None:
                table = defaultdict(list)
                for k, lab in self.labels.items():
                    table[lab.get(eq.name, "")].append(k)
                self._by[eq.name] = table
            hit = [k for k in table.get(eq.value, ()) if member.accepts(self.labels[k])]
        self._memo[member] = hit
        return hit


def _accepts(m: Matcher, value: str) -> bool:
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    rx = _regex(m.value)
    hit = rx is not None and rx.fullmatch(value) is not None
    return hit if m.op == "=~" else not hit


_compiled: dict[str, re.Pattern[str] | None] = {}


def _regex(pattern: str) -> re.Pattern[str] | None:
    """Prometheus' reading of a label regex: anchored at both ends, ``.`` matching newlines.

    None when Python's ``re`` cannot read it the same way (then the selector is
    pulled on its own and the server judges it).
    """
    if pattern not in _compiled:
        try:
            _compiled[pattern] = None if _re2_only(pattern) else re.compile(pattern, re.DOTALL)
        except re.error:
            _compiled[pattern] = None
    return _compiled[pattern]


def _re2_only(pattern: str) -> bool:
    """Constructs RE2 (Go) and Python read differently: leave them to the server."""
    return any(tok in pattern for tok in ("\\z", "\\Q", "\\C", "\\pN", "\\p{", "\\P", "(?U", "[[:"))


def _quote(value: str) -> str:
    """A PromQL string literal (Go escapes, which JSON's are a subset of)."""
    return json.dumps(value, ensure_ascii=False)
