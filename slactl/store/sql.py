"""The per-minute store (SQLAlchemy; an SQLite file by default, PostgreSQL works too).

It keeps every service's per-minute SLI inputs so a month can be recomputed after
Prometheus' retention has dropped the raw data.  Minutes are kept as float64
arrays of one UTC day each (1,440 minutes) per service, group and field: a month
is a few hundred rows, so a warm report reads its data in milliseconds.

Writes are idempotent and atomic: :meth:`Store.save` replaces the minutes
``[start, end)`` of a service and records them as covered in one transaction, so
a killed run leaves either the old minutes or the new ones, never a mix.
A service's *fingerprint* (its selectors and source) is stored too: when the
definition changes, the old minutes no longer describe it and are dropped.
Each stored range also records where it was pulled from and when (the source,
its URL, the queries), so any minute can be asked for again and checked.

The tables are in :mod:`.schema`, created and upgraded by the migrations of
:mod:`.migrate` on open; engines (drivers, SQLite locking) in :mod:`.engine`;
how a day's row is packed in :mod:`.days`; the scheduler's leader lock in
:mod:`.lease`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from slactl.errors import StoreError
from slactl.model import GroupKey, Kind, MinuteSeries
from slactl.store import migrate, write
from slactl.store.days import CHUNK_BYTES, DAY, corrupt_day, day_values, pack_day, unpack_day
from slactl.store.engine import WRITE, lock_key, make_engine, reason, shown
from slactl.store.lease import LeaderLost
from slactl.store.schema import chunks_t, coverage_t, pulls_t, services_t
from slactl.store.write import Saving, encode_group, fields_of

__all__ = [
    "CHUNK_BYTES", "DAY", "Saving", "Store", "chunks_t", "coverage_t", "encode_group", "pack_day", "pulls_t",
    "services_t", "unpack_day",
]

class Store:
    """Per-minute SLI inputs by service, group and minute."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Called first in every write transaction (the scheduler's leader lock, see store.lease):
        # it raises LeaderLost to refuse the write.
        self.fence: Callable[[sa.Connection], None] | None = None
        self.engine = make_engine(url)
        try:
            migrate.upgrade(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open store {self._shown()}: {reason(exc)}") from exc
        except StoreError:
            self.engine.dispose()
            raise

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _shown(self) -> str:
        return shown(self.url)

    @contextmanager
    def _tx(self, what: str, *, write: bool = False) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect().execution_options(**{WRITE: write}) as conn, conn.begin():
                fence = self.fence if write else None
                if fence is not None:
                    fence(conn)  # refused before any work
                yield conn
                if fence is not None:
                    fence(conn)  # and again just before the commit: a lock lost meanwhile rolls it all back
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self._shown()}: cannot {what}: {reason(exc)}") from exc
        except LeaderLost as exc:
            raise StoreError(f"store {self._shown()}: did not {what}: {exc}") from exc

    def _lock_service(self, conn: sa.Connection, service: str) -> None:
        """Writers of one service take turns (PostgreSQL; SQLite's write lock already serialises)."""
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("service", service)})

    def close(self) -> None:
        self.engine.dispose()

    def after_fork(self) -> None:
        """In a forked child: leave the parent's pooled connections alone and open new ones."""
        self.engine.dispose(close=False)

    # ------------------------------------------------------------------ coverage

    def missing(self, service: str, fingerprint: str, start: int, end: int) -> list[tuple[int, int]]:
        """The sub-ranges of ``[start, end)`` the store does not hold for this definition."""
        return self.missing_many({service: fingerprint}, start, end)[service]

    def missing_many(self, prints: dict[str, str], start: int, end: int) -> dict[str, list[tuple[int, int]]]:
        """:meth:`missing` of many services (name → fingerprint), in two queries per few hundred."""
        out: dict[str, list[tuple[int, int]]] = {}
        names = list(prints)
        s, c = services_t.c, coverage_t.c
        for i in range(0, len(names), write.MAX_SERVICES):
            part = names[i : i + write.MAX_SERVICES]
            spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
            with self._tx("read coverage") as conn:
                stored = dict(conn.execute(sa.select(s.name, s.fingerprint).where(s.name.in_(part))).all())
                query = (
                    sa.select(c.service, c.start, c.end)
                    .where(c.service.in_(part), c.end > start, c.start < end)
                    .order_by(c.service, c.start)
                )
                for name, a, b in conn.execute(query):
                    spans[name].append((a, b))
            for name in part:
                out[name] = _gaps(spans[name], start, end) if stored.get(name) == prints[name] else [(start, end)] if start < end else []
        return out

    def covered(self, start: int, end: int) -> dict[str, int]:
        """How many minutes of ``[start, end)`` the store holds, per service (any definition).

        A report's history asks this to tell a month the store never saw
        (``null`` figures) from one it saw without data: one query for every service.
        """
        c = coverage_t.c
        with self._tx("read coverage") as conn:
            spans = conn.execute(sa.select(c.service, c.start, c.end).where(c.end > start, c.start < end)).all()
        out: dict[str, int] = defaultdict(int)
        for service, a, b in spans:
            out[service] += min(b, end) - max(a, start)
        return dict(out)

    # ------------------------------------------------------------------ writing

    def save(
        self,
        service: str,
        fingerprint: str,
        kind: Kind,
        start: int,
        end: int,
        groups: dict[GroupKey, MinuteSeries],
        provenance: dict | None = None,
        pulled_at: int = 0,
    ) -> None:
        """Replace the minutes ``[start, end)`` of ``service`` with ``groups``, atomically."""
        self.save_many([Saving(service, fingerprint, kind, start, end, groups, provenance, pulled_at)])

    def save_many(self, items: list[Saving]) -> None:
        """Save several services' ranges in one transaction: all of them, or none."""
        items = [it for it in items if it.end > it.start]
        if not items:
            return
        names = sorted({it.service for it in items})
        what = f"save service '{names[0]}'" if len(names) == 1 else f"save {len(names)} services"
        with self._tx(what, write=True) as conn:
            write.save_many(conn, items)

    # ------------------------------------------------------------------ reading

    def pulls(self, service: str, start: int, end: int) -> list[tuple[int, int, int, dict]]:
        """``(start, end, pulled_at, provenance)`` of the stored ranges overlapping ``[start, end)``."""
        c = pulls_t.c
        with self._tx(f"read provenance of '{service}'") as conn:
            rows = conn.execute(
                sa.select(c.start, c.end, c.pulled_at, c.provenance)
                .where(c.service == service, c.end > start, c.start < end)
                .order_by(c.start)
            ).all()
        return [(a, b, when, json.loads(text)) for a, b, when, text in rows]

    def lacks_data(self, service: str, start: int, end: int) -> bool:
        """Whether some stored minute of ``[start, end)`` is without data in some group.

        Minutes never stored count too (a day with no row at all lacks data).
        """
        return service in self.lacking([service], start, end)

    def lacking(self, services: list[str], start: int, end: int) -> set[str]:
        """The services of ``services`` for which :meth:`lacks_data` holds, in one query per few hundred."""
        if end <= start:
            return set()
        c = chunks_t.c
        out: set[str] = set()
        for i in range(0, len(services), write.MAX_SERVICES):
            part = services[i : i + write.MAX_SERVICES]
            days: dict[str, dict[int, list[bytes]]] = {name: defaultdict(list) for name in part}
            with self._tx("read stored minutes") as conn:
                query = sa.select(c.service, c.day, c.data).where(
                    c.service.in_(part), c.field == "has_data", c.day > start - DAY, c.day < end
                )
                for service, day, data in conn.execute(query):
                    days[service][day].append(data)
            out.update(name for name in part if _lacks(days[name], name, start, end))
        return out

    def load(self, service: str, start: int, end: int) -> dict[GroupKey, MinuteSeries]:
        """Every group's minutes over ``[start, end)``; minutes never saved read as no data."""
        with self._tx(f"read service '{service}'") as conn:
            row = conn.execute(sa.select(services_t.c.kind).where(services_t.c.name == service)).first()
            if row is None:
                return {}
            kind: Kind = row[0]
            if kind not in ("ratio", "probe"):
                raise corrupt_day(service, start, f"the store records its kind as {kind!r}, not ratio or probe")
            rows = conn.execute(
                sa.select(chunks_t.c.grp, chunks_t.c.field, chunks_t.c.day, chunks_t.c.data)
                .where(chunks_t.c.service == service, chunks_t.c.day > start - DAY, chunks_t.c.day < end)
                .order_by(chunks_t.c.grp, chunks_t.c.field, chunks_t.c.day)
            ).all()
        n = end - start
        by_group: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
        allowed = fields_of(kind)
        decoded: dict[str, GroupKey] = {}
        for g, f, day, data in rows:
            if g not in decoded:
                decoded[g] = _group(g, service, day)
            if f not in allowed and _bucket(f) is None:
                raise corrupt_day(service, day, f"a field {f!r} that a {kind} service does not keep")
            arr = by_group[g].get(f)
            if arr is None:
                arr = by_group[g][f] = np.zeros(n)
            lo, hi = max(start, day), min(end, day + DAY)
            arr[lo - start : hi - start] = day_values(data, service, day)[lo - day : hi - day]
        out: dict[GroupKey, MinuteSeries] = {}
        for g, fields in sorted(by_group.items()):
            ms = MinuteSeries.empty(kind, start, n)
            ms.has_data = fields.pop("has_data", np.zeros(n)) > 0
            for f, arr in fields.items():
                le = _bucket(f)
                if le is not None:
                    ms.buckets[le] = arr
                else:
                    setattr(ms, f, arr)
            out[decoded[g]] = ms
        return out

    # ------------------------------------------------------------------ repair

    def forget(self, service: str, start: int, end: int) -> tuple[int, int]:
        """Drop what is stored of ``service`` on the UTC days touching ``[start, end)``.

        The next report or ingest pulls those days again from the source.  Whole
        days go, because a corrupt chunk cannot be cut; returns the minutes
        ``(first, end)`` that were forgotten.
        """
        lo, hi = start - start % DAY, -(-end // DAY) * DAY
        with self._tx(f"forget minutes of service '{service}'", write=True) as conn:
            self._lock_service(conn, service)
            conn.execute(sa.delete(chunks_t).where(chunks_t.c.service == service, chunks_t.c.day >= lo, chunks_t.c.day < hi))
            spans = conn.execute(
                sa.select(coverage_t.c.start, coverage_t.c.end).where(
                    coverage_t.c.service == service, coverage_t.c.end > lo, coverage_t.c.start < hi
                )
            ).all()
            conn.execute(
                sa.delete(coverage_t).where(coverage_t.c.service == service, coverage_t.c.end > lo, coverage_t.c.start < hi)
            )
            keep = [(a, lo) for a, _ in spans if a < lo] + [(hi, b) for _, b in spans if b > hi]
            for a, b in keep:
                conn.execute(sa.insert(coverage_t).values(service=service, start=a, end=b))
            self._forget_pulls(conn, service, lo, hi)
        return lo, hi

    def _forget_pulls(self, conn: sa.Connection, service: str, lo: int, hi: int) -> None:
        """Cut ``[lo, hi)`` out of the provenance records: those minutes are no longer stored."""
        c = pulls_t.c
        where = (c.service == service) & (c.end > lo) & (c.start < hi)
        touching = conn.execute(sa.select(c.start, c.end, c.pulled_at, c.provenance).where(where)).all()
        conn.execute(sa.delete(pulls_t).where(where))
        rows = [
            {"service": service, "start": a, "end": b, "pulled_at": when, "provenance": text}
            for start, end, when, text in touching
            for a, b in ((start, lo), (hi, end))
            if a < b
        ]
        if rows:
            conn.execute(sa.insert(pulls_t), rows)



def _group(text: str, service: str, day: int) -> GroupKey:
    """A stored group key (JSON pairs of label and value); StoreError naming the repair when it is not one."""
    try:
        pairs = json.loads(text)
    except (ValueError, RecursionError):
        pairs = None
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
    ):
        cut = text if len(text) <= 40 else text[:40] + "…"
        raise corrupt_day(service, day, f"a series group {cut!r} that is not a list of label pairs")
    return tuple((k, v) for k, v in pairs)


def _bucket(field: str) -> float | None:
    """The upper bound of a histogram bucket field (``le:0.25``, ``le:inf``); None for any other field."""
    if not field.startswith("le:"):
        return None
    try:
        le = float(field[3:])
    except ValueError:
        return None
    return None if le != le else le  # NaN bounds nothing


def _gaps(spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """What of ``[start, end)`` the sorted ``spans`` leave uncovered."""
    gaps, cursor = [], start
    for a, b in spans:
        if a > cursor:
            gaps.append((cursor, min(a, end)))
        cursor = max(cursor, b)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def _lacks(days: dict[int, list[bytes]], service: str, start: int, end: int) -> bool:
    """Whether a day of ``[start, end)`` has no row, or a group without data in some minute of it."""
    for day in range(start - start % DAY, end, DAY):
        lo, hi = max(start, day) - day, min(end, day + DAY) - day
        if not days.get(day):
            return True
        if any(not day_values(d, service, day)[lo:hi].all() for d in days[day]):
            return True
    return False
