"""The Prometheus source: per-minute SLI inputs built from PromQL over the HTTP API.

Every query is built here from the user's selectors, so minute boundaries are
exact (SPEC 2.1–2.2): each minute ``[t, t+60s)`` is read by a range function
evaluated at ``t + 59.999 s`` over a window of exactly 60 s, sized for the
server's range semantics, never by plain instant selectors, whose 5-minute
lookback would paint the first minutes of a gap with a stale value.

Selectors are not queried one service at a time: :mod:`slactl.sources.prometheus.plan`
fuses every selector of one metric name into one query per range function, and
each returned series is handed to every service whose selector matches it.
Counters (``errors``, ``total``, histogram buckets) are pulled as the last
sample of each minute plus a sparse flag query that marks the rare minutes
where a restart hides inside; only those minutes are read raw.  See
:mod:`slactl.sli.counters` for the arithmetic.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from slactl.config import Config, PrometheusSource
from slactl.errors import SourceError
from slactl.model import GroupKey, MinuteSeries
from slactl.sources.base import FetchRequest, FetchResult, Injected, group_key, register
from slactl.sources.prometheus import plan as promplan
from slactl.sources.prometheus.client import PromAPI, Semantics, gather, window, without_credentials
from slactl.sources.prometheus.counters import pull_counter

PullKey = tuple[str, str, int, int, int]  # (function, metric or selector, start, end, part)
T = TypeVar("T")


@dataclass
class _Role:
    """One selector of one request, and the fused pull that answers it."""

    selector: promplan.Selector
    pull: PullKey


class PrometheusAdapter:
    """A :class:`~slactl.sources.base.Source` and :class:`~slactl.sources.base.RangeQuerier` over one Prometheus-API server."""

    # fetch() may run in another thread while the previous fetch's answers are read:
    # each fetch has its own event loop and client, and shares only dictionaries.
    prefetch = True

    def __init__(
        self, name: str, cfg: PrometheusSource, config: Config, injected: Injected
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.config = config
        self.injected = injected
        self.queries: dict[PullKey, str] = {}  # what was asked, for each minute's provenance
        self.semantics: Semantics | None = None
        # The pulls behind each fetched request, by (service, start, end): kept across
        # fetches, since the ingest saves one slice while the next is being pulled.
        self._pulls_of: dict[tuple[str, int, int], set[PullKey]] = {}
        self._series_seen: dict[str, int] = {}  # a sliced pull's later slices skip the series probe

    def fetch(self, requests: list[FetchRequest]) -> FetchResult:
        roles, unions = _plan(requests)
        for req, mine in zip(requests, roles, strict=True):
            self._pulls_of[(req.service, req.start, req.end)] = {r.pull for r in mine.values()}
        answers = asyncio.run(self._pull_all(unions))
        return _assemble(requests, roles, unions, answers)

    def close(self) -> None:  # connections live only inside fetch() and query_range()
        return None

    def query_range(
        self, queries: Sequence[tuple[str, str]], start: int, end: int
    ) -> list[list[tuple[dict[str, str], np.ndarray]]]:
        """Each ``(expression, context)`` at the last millisecond of every minute of ``[start, end)``, concurrently."""

        async def ask(api: PromAPI) -> list[list[tuple[dict[str, str], np.ndarray]]]:
            answers = await gather(*(api.range_dense(expr, start, end, ctx) for expr, ctx in queries))
            return [[(d.labels, d.values) for d in answer.values()] for answer in answers]

        return asyncio.run(self._within_deadline(ask))

    def provenance(self, req: FetchRequest) -> dict[str, Any]:
        """What a stored minute of ``req`` came from: enough to ask for it again."""
        av = req.spec.availability
        selectors = [str(av.total), str(av.errors)] if av.kind == "ratio" else [str(av.probe)]
        if req.spec.latency is not None and req.spec.latency.histogram:
            selectors.append(req.spec.latency.histogram)
        keys = self._pulls_of.pop((req.service, req.start, req.end), set())
        return {
            "source": self.name,
            "type": "prometheus",
            "url": without_credentials(self.cfg.url),
            "range_semantics": self.semantics,
            "selectors": selectors,
            "queries": sorted(self.queries[k] for k in keys if k in self.queries),
        }

    def _api(self) -> PromAPI:
        return PromAPI(
            self.name,
            self.cfg,
            base_dir=self.config.base_dir,
            transport=self.injected.http_transport,
            environ=self.injected.environ,
            deadline=self.injected.deadline,
            series_seen=self._series_seen,
        )

    async def _pull_all(self, unions: dict[PullKey, promplan.Union]) -> dict[PullKey, Any]:
        async def pull(api: PromAPI) -> dict[PullKey, Any]:
            # Asked once per adapter: a sliced pull fetches several times.
            sem = self.semantics = self.semantics or await api.semantics()
            keys = list(unions)
            results = await gather(*(self._pull(api, sem, k, unions[k]) for k in keys))
            return dict(zip(keys, results, strict=True))

        return await self._within_deadline(pull)

    async def _within_deadline(self, work: Callable[[PromAPI], Awaitable[T]]) -> T:
        """``work`` with a client of its own, failing with a SourceError once the pull's deadline passes."""
        deadline = self.injected.deadline
        budget = None if deadline is None else deadline - time.monotonic()
        try:
            async with asyncio.timeout(budget), self._api() as api:
                return await work(api)
        except TimeoutError:
            total = self.injected.timeout_seconds
            raise SourceError(
                f"source '{self.name}' ({without_credentials(self.cfg.url)}): the pull did not finish within "
                f"{total if total is not None else budget:g}s; give it longer with --timeout "
                "or check that the server answers quickly"
            ) from None

    async def _pull(self, api: PromAPI, sem: Semantics, key: PullKey, union: promplan.Union) -> Any:
        function, _metric, start, end, _part = key
        selector, ctx = union.selector(), union.context()
        if function == "avg_over_time":
            self.queries[key] = expr = f"avg_over_time({selector}{window(sem, 60)})"
            return await api.range_dense(expr, start, end, ctx)
        self.queries[key] = f"last_over_time({selector}{window(sem, 60)})"
        return await pull_counter(api, sem, selector, start, end, ctx)


@register("prometheus")
def _factory(name: str, cfg: Any, config: Config, injected: Injected) -> PrometheusAdapter:
    return PrometheusAdapter(name, cfg, config, injected)


def _pull_key(sel: promplan.Selector, counter: bool, req: FetchRequest) -> PullKey:
    function = "last_over_time" if counter else "avg_over_time"
    return (function, sel.metric if sel.metric is not None else "\0" + sel.text, req.start, req.end, 0)


def _plan(
    requests: list[FetchRequest],
) -> tuple[list[dict[str, _Role]], dict[PullKey, promplan.Union]]:
    """Per request its roles (total/errors/probe/latency), and the fused pulls they need."""
    roles: list[dict[str, _Role]] = []
    unions: dict[PullKey, promplan.Union] = {}
    members: dict[PullKey, set[promplan.Selector]] = defaultdict(set)
    for req in requests:
        av = req.spec.availability
        wanted: dict[str, tuple[str, bool]] = {}
        if av.kind == "ratio":
            wanted["total"] = (str(av.total), True)
            wanted["errors"] = (str(av.errors), True)
        else:
            wanted["probe"] = (str(av.probe), False)
        if req.spec.latency is not None and req.spec.latency.histogram:
            wanted["latency"] = (req.spec.latency.histogram, True)
        mine: dict[str, _Role] = {}
        for role, (text, counter) in wanted.items():
            sel = promplan.parse(text)
            key = _pull_key(sel, counter, req)
            union = unions.setdefault(key, promplan.Union(sel.metric))
            if sel not in members[key]:  # a set: a list's `in` made planning quadratic
                members[key].add(sel)
                union.members.append(sel)
            union.users.append((req.service, role, sel))
            mine[role] = _Role(sel, key)
        roles.append(mine)
    parts: dict[PullKey, promplan.Union] = {}
    moved: dict[tuple[PullKey, promplan.Selector], PullKey] = {}
    for key, union in unions.items():
        for i, part in enumerate(promplan.partition(union)):
            parts[(*key[:4], i)] = part
            for sel in part.members:
                moved[(key, sel)] = (*key[:4], i)
    for mine in roles:
        for placed in mine.values():
            placed.pull = moved[(placed.pull, placed.selector)]
    return roles, parts


def _assemble(
    requests: list[FetchRequest],
    roles: list[dict[str, _Role]],
    unions: dict[PullKey, promplan.Union],
    answers: dict[PullKey, Any],
) -> Iterator[dict[GroupKey, MinuteSeries]]:
    """Each request's groups, built one at a time so the caller can save and drop each."""
    indexes = {k: promplan.Index({key: (a[key].labels) for key in a}) for k, a in answers.items()}
    for req, mine in zip(requests, roles, strict=True):
        yield _service(req, mine, unions, answers, indexes)


def _service(
    req: FetchRequest,
    mine: dict[str, _Role],
    unions: dict[PullKey, promplan.Union],
    answers: dict[PullKey, Any],
    indexes: dict[PullKey, promplan.Index],
) -> dict[GroupKey, MinuteSeries]:
    spec = req.spec
    n = req.end - req.start
    kind = spec.availability.kind
    groups: dict[GroupKey, MinuteSeries] = {}

    def get(labels: dict[str, str]) -> MinuteSeries:
        g = group_key(labels, spec.group_by)
        if g not in groups:
            groups[g] = MinuteSeries.empty(kind, req.start, n)
        return groups[g]

    def matched(role: str) -> list[Any]:
        r = mine[role]
        return [answers[r.pull][k] for k in indexes[r.pull].select(unions[r.pull], r.selector)]

    if kind == "ratio":
        for c in matched("total"):
            ms = get(c.labels)
            assert ms.total is not None
            ms.total += c.increases
            ms.has_data |= c.present
        for c in matched("errors"):
            ms = get(c.labels)
            assert ms.errors is not None
            ms.errors += c.increases
    else:
        for series in matched("probe"):
            ms = get(series.labels)
            assert ms.probe_sum is not None and ms.probe_count is not None
            ok = ~np.isnan(series.values)
            np.add(ms.probe_sum, series.values, out=ms.probe_sum, where=ok)
            ms.probe_count += ok
            ms.has_data |= ok
    if "latency" in mine:
        for c in matched("latency"):
            le = _bound(c.labels.get("le"))
            if le is None:
                continue
            ms = get(c.labels)
            if le in ms.buckets:
                ms.buckets[le] = ms.buckets[le] + c.increases
            else:
                ms.buckets[le] = c.increases.copy()
    if not spec.group_by and not groups:
        groups[()] = MinuteSeries.empty(kind, req.start, n)
    return groups


def _bound(le: str | None) -> float | None:
    """``le`` as a number: "1" and "1.0" are the same bucket."""
    if le is None:
        return None
    try:
        value = float(le)
    except ValueError:
        return None
    return math.inf if value == math.inf else value

