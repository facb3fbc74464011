"""Bring the store up to date: pull from the sources only the minutes it lacks.

Minutes are final only once the sources have seen them: a minute is pulled when
it ended at least the source's ``settle_seconds`` ago, so a scrape or
remote-write delay does not freeze a half-filled minute into the store.  Some
backends (Mimir, Thanos Receive, VictoriaMetrics behind remote write) show
samples later still, so minutes stored without data are pulled again on every
ingest while they are younger than the source's ``late_window_minutes``.
Every pull also stops at the real present (the system clock), whatever ``now``
the caller passes: a minute stored while it was still in the future would be
kept as a minute without data for good (see :mod:`slactl.app.clock`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from slactl.app.clock import not_after_clock
from slactl.config import Config
from slactl.sources import base
from slactl.sources.base import FetchRequest, Injected
from slactl.store.sql import Saving, Store

SETTLE_SECONDS = 120
# CloudWatch datapoints (ALB, ELB) can land several minutes after their minute.
SETTLE_BY_TYPE = {"cloudwatch": 600}
LATE_WINDOW_MINUTES = 0  # for source types without the option
# A fetch holds every answer of its range until its services are saved: about
# 50 bytes per service-minute.  A larger pull is cut into slices of whole UTC
# days, each fetched, saved and let go before the next, so a month of a few
# thousand series stays in a few hundred megabytes.  Slices of a few days keep
# each fused query as large as before (its chunks are cut far shorter anyway).
SERVICE_MINUTES_PER_FETCH = 5_000_000
# Built services are saved together, a transaction per this many service-minutes
# (50 services' months): one transaction per service cost more than the minutes.
SAVE_EVERY_MINUTES = 50 * 44_640
DAY_MINUTES = 1440


class Progress(Protocol):
    """Told what an ingest pulls, as it goes: the CLI draws a bar from it on a terminal."""

    def begin(self, minutes: int) -> None:
        """About to pull this many service-minutes."""

    def advance(self, service: str, minutes: int) -> None:
        """These minutes of ``service`` are pulled and saved."""

    def end(self) -> None:
        """Nothing more to pull in this ingest."""


# Set by the CLI for the length of one command; unset (no reporting) in the
# scheduler and in library use.  A context variable keeps every pipeline step's
# signature free of a presentation concern.
_PROGRESS: ContextVar[Progress | None] = ContextVar("slactl_ingest_progress", default=None)


@contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Report every ingest inside the block to ``progress``."""
    token = _PROGRESS.set(progress)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def fingerprint(cfg: Config, service: str) -> str:
    """What the stored minutes of a service depend on: its selectors and its source's type.

    The source's address is left out on purpose: moving Prometheus behind Thanos
    or to a new host must not throw away months the old server no longer has.
    """
    svc = cfg.services[service]
    src = cfg.sources[svc.source]
    ident: dict[str, Any] = {
        "source": {k: v for k, v in src.model_dump(mode="json").items() if k in ("type", "seed")},
        "availability": svc.availability.model_dump(mode="json"),
        "latency": svc.latency.model_dump(mode="json") if svc.latency else None,
        "group_by": svc.group_by,
    }
    if src.type == "sample":
        # Generated data has one group per customer that uses the service.
        ident["customers"] = sorted(
            (n, sorted(c.match.items())) for n, c in cfg.customers.items() if service in c.services
        )
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def last_settled_minute(now: datetime, settle_seconds: int = SETTLE_SECONDS) -> int:
    """The end (exclusive) of the minutes that can be pulled at ``now``."""
    return int((now.timestamp() - settle_seconds) // 60)


def wanted_ranges(
    store: Store, cfg: Config, prints: dict[str, str], start: int, end: int, now: datetime
) -> dict[str, list[tuple[int, int]]]:
    """Per service (name → fingerprint), the ranges of ``[start, end)`` to pull.

    That is what the store lacks, and the late window: it is asked for whole
    (from its first minute to the settled end) when any minute in it lacks
    data, so every service that needs it shares one range, and therefore one
    fused query per metric.  A few queries for all services, not per service.
    """
    now = not_after_clock(now)
    by_source: dict[str, list[str]] = defaultdict(list)
    for name in prints:
        by_source[cfg.services[name].source].append(name)
    out: dict[str, list[tuple[int, int]]] = {}
    for source, names in by_source.items():
        src = cfg.sources[source]
        settle = getattr(src, "settle_seconds", SETTLE_BY_TYPE.get(src.type, SETTLE_SECONDS))
        settled = last_settled_minute(now, settle)
        stop = min(end, settled)
        gaps = store.missing_many({n: prints[n] for n in names}, start, stop)
        late = getattr(src, "late_window_minutes", LATE_WINDOW_MINUTES)
        lo = max(start, settled - late)
        lacking = store.lacking(names, lo, stop) if late and lo < stop else set()
        for name in names:
            out[name] = _merge([*gaps[name], (lo, stop)]) if name in lacking else gaps[name]
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def slices(requests: list[FetchRequest], budget: int | None = None) -> list[list[FetchRequest]]:
    """``requests`` as few batches as fit ``budget`` service-minutes each, oldest first.

    Every request is cut at the same boundaries (multiples of a whole number of
    UTC days), so services that asked for the same range still share each
    slice's queries.
    """
    budget = SERVICE_MINUTES_PER_FETCH if budget is None else budget
    if sum(r.end - r.start for r in requests) <= budget:
        return [requests]
    span = max(DAY_MINUTES, budget // len(requests) // DAY_MINUTES * DAY_MINUTES)
    pieces: dict[int, list[FetchRequest]] = defaultdict(list)
    for req in requests:
        a = req.start
        while a < req.end:
            b = min(req.end, (a // span + 1) * span)
            pieces[a // span].append(replace(req, start=a, end=b))
            a = b
    return [pieces[k] for k in sorted(pieces)]


def fetched(source: base.Source, batches: list[list[FetchRequest]]) -> Iterator[tuple[list[FetchRequest], base.FetchResult]]:
    """Each batch with its answers; the next batch is pulled while the caller saves this one.

    A sliced pull otherwise leaves the server idle while slactl builds and saves
    each slice.  Only for sources that allow it (``prefetch``), and never more
    than one batch ahead, so at most two slices are held at once.
    """
    if len(batches) < 2 or not getattr(source, "prefetch", False):
        for batch in batches:
            yield batch, source.fetch(batch)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slactl-pull") as pool:
        ahead = pool.submit(source.fetch, batches[0])
        for i, batch in enumerate(batches):
            answers = ahead.result()
            if i + 1 < len(batches):
                ahead = pool.submit(source.fetch, batches[i + 1])
            try:
                yield batch, answers
            except GeneratorExit:
                ahead.cancel()
                raise


def flush(store: Store, pending: list[Saving], pulled: dict[str, int], progress: Progress | None) -> None:
    """Save the built ranges in one transaction, count them, and forget them."""
    store.save_many(pending)
    for it in pending:
        pulled[it.service] += it.end - it.start
        if progress is not None:
            progress.advance(it.service, it.end - it.start)
    pending.clear()


def ingest(
    cfg: Config,
    store: Store,
    start: int,
    end: int,
    now: datetime,
    *,
    services: list[str] | None = None,
    injected: Injected | None = None,
) -> dict[str, int]:
    """Pull ``[start, end)`` (cut at the settled minute, and never past the clock) of each service the store lacks.

    Returns how many minutes were pulled per service.  Built ranges are saved
    a few dozen services per transaction (each service alone when someone
    watches the progress), so an error later leaves what was saved complete
    and consistent.  ``injected.timeout_seconds``
    bounds the whole pull, every source together.
    """
    now = not_after_clock(now)  # never pull (and store as no data) a minute that has not happened
    injected = injected or Injected()
    if injected.timeout_seconds is not None and injected.deadline is None:
        injected = replace(injected, deadline=time.monotonic() + injected.timeout_seconds)
    wanted = services if services is not None else list(cfg.services)
    by_source: dict[str, list[FetchRequest]] = defaultdict(list)
    prints = {name: fingerprint(cfg, name) for name in wanted}
    ranges = wanted_ranges(store, cfg, prints, start, end, now)
    for name in wanted:
        svc = cfg.services[name]
        for a, b in ranges[name]:
            by_source[svc.source].append(FetchRequest(name, svc, a, b))
    pulled: dict[str, int] = defaultdict(int)
    progress = _PROGRESS.get()
    if progress is not None:
        progress.begin(sum(r.end - r.start for reqs in by_source.values() for r in reqs))
    stamp = int(now.timestamp())
    pending: list[Saving] = []
    held = 0  # minutes in pending
    for source_name, requests in by_source.items():
        src_type = cfg.sources[source_name].type
        source = base.build(source_name, cfg, injected)
        # With someone watching, one service at a time so the bar moves (each
        # service's own queries still run concurrently); else all at once.
        batches = [[r] for r in requests] if progress is not None else [requests]
        batches = [piece for batch in batches for piece in slices(batch)]
        try:
            for batch, answers in fetched(source, batches):
                for req, groups in zip(batch, answers, strict=True):
                    kind = cfg.services[req.service].availability.kind
                    prov = base.provenance(source, source_name, src_type, req)
                    pending.append(Saving(req.service, prints[req.service], kind, req.start, req.end, groups, prov, stamp))
                    held += req.end - req.start
                    if held >= SAVE_EVERY_MINUTES:
                        flush(store, pending, pulled, progress)
                        held = 0
                flush(store, pending, pulled, progress)
                held = 0
        finally:
            source.close()
    if progress is not None:
        progress.end()
    return dict(pulled)
