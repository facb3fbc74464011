"""Writing minutes: many services' ranges in one transaction, in a fixed number of statements.

A month of 700 services saved one service per transaction spent more time in
statement round trips and commits than in packing the minutes: about ten
statements each, and ten times that when a large pull is saved slice by slice.
Here a call saves any number of ranges with about a dozen statements in all
(``executemany`` for the rows), and is still atomic: every range of the call is
stored, with its coverage and provenance, or none is.

A range replaces the minutes ``[start, end)`` of its service and records them as
covered.  When a service's fingerprint (its selectors and source) changed, its
old minutes no longer describe it and are dropped first.  Ranges of one
service in the same call are applied in their order.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from slactl.model import GroupKey, Kind, MinuteSeries
from slactl.store.days import DAY, day_values, pack_days
from slactl.store.engine import lock_key
from slactl.store.schema import chunks_t, coverage_t, pulls_t, services_t

MAX_SERVICES = 400  # per round of statements: IN lists stay far below any driver's limit
PARALLEL_PACK = 2000  # day rows from which packing is split over two threads


@dataclass
class Saving:
    """One service's minutes ``[start, end)`` to store, and where they came from."""

    service: str
    fingerprint: str
    kind: Kind
    start: int
    end: int
    groups: dict[GroupKey, MinuteSeries]
    provenance: dict | None = None
    pulled_at: int = 0


def encode_group(key: GroupKey) -> str:
    return json.dumps([list(p) for p in key], separators=(",", ":"), ensure_ascii=False)


def decode_group(text: str) -> GroupKey:
    return tuple((k, v) for k, v in json.loads(text))


def fields_of(kind: str) -> frozenset[str]:
    """The fields a service of ``kind`` stores, besides its histogram buckets (``le:…``)."""
    return frozenset({"has_data", *MinuteSeries.empty("ratio" if kind == "ratio" else "probe", 0, 0).arrays()})


def _fields(ms: MinuteSeries) -> dict[str, np.ndarray]:
    fields = {"has_data": ms.has_data.astype(np.float64)}
    fields.update(ms.arrays())
    for le, arr in ms.buckets.items():
        fields[f"le:{le!r}"] = arr
    return fields


def save_many(conn: sa.Connection, items: list[Saving]) -> None:
    """Store every range of ``items`` inside the caller's transaction."""
    rounds: dict[int, list[Saving]] = defaultdict(list)
    seen: Counter[str] = Counter()
    for it in items:  # a service's n-th range goes in round n, so each round names a service once
        if it.end > it.start:
            rounds[seen[it.service]].append(it)
            seen[it.service] += 1
    for k in sorted(rounds):
        batch = rounds[k]
        for i in range(0, len(batch), MAX_SERVICES):
            _save_round(conn, batch[i : i + MAX_SERVICES])


def _save_round(conn: sa.Connection, items: list[Saving]) -> None:
    """Ranges of distinct services."""
    names = [it.service for it in items]
    if conn.dialect.name == "postgresql":  # writers of one service take turns
        for name in sorted(names):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("service", name)})
    s = services_t.c
    query = sa.select(s.name, s.fingerprint, s.kind).where(s.name.in_(names))
    stored = {name: (fp, kind) for name, fp, kind in conn.execute(query)}
    # Another fingerprint, or a kind that is not the one saved (a damaged row): the old minutes go.
    changed = [it for it in items if stored.get(it.service) != (it.fingerprint, it.kind)]
    if changed:
        gone = [it.service for it in changed]
        for table in (chunks_t, coverage_t, pulls_t):
            conn.execute(sa.delete(table).where(table.c.service.in_(gone)))
        conn.execute(sa.delete(services_t).where(s.name.in_(gone)))
        conn.execute(sa.insert(services_t), [{"name": it.service, "fingerprint": it.fingerprint, "kind": it.kind} for it in changed])
    _days(conn, items)
    _coverage(conn, items)
    _pulls(conn, [it for it in items if it.provenance is not None])


def _day_span(it: Saving) -> tuple[int, int]:
    """The first and last UTC day (epoch minute of its start) that ``[start, end)`` touches."""
    return it.start - it.start % DAY, it.end - 1 - (it.end - 1) % DAY


def _days(conn: sa.Connection, items: list[Saving]) -> None:
    """Rewrite the day rows each range touches, keeping the minutes outside it."""
    c = chunks_t.c
    spans = {it.service: _day_span(it) for it in items}
    lo, hi = min(a for a, _ in spans.values()), max(b for _, b in spans.values())
    existing: dict[tuple[str, int, str, str], np.ndarray] = {}
    query = sa.select(c.service, c.day, c.grp, c.field, c.data).where(
        c.service.in_(list(spans)), c.day >= lo, c.day <= hi
    )
    for service, day, g, f, data in conn.execute(query):
        first, last = spans[service]
        if first <= day <= last:
            existing[(service, day, g, f)] = day_values(data, service, day).copy()
    by_service = {it.service: it for it in items}
    for (service, day, _g, _f), arr in existing.items():
        it = by_service[service]
        arr[max(it.start, day) - day : min(it.end, day + DAY) - day] = 0.0
    for it in items:
        first, _ = spans[it.service]
        new = {encode_group(g): _fields(_exactly(ms, it.start, it.end)) for g, ms in it.groups.items()}
        for day in range(first, it.end, DAY):
            a, b = max(it.start, day), min(it.end, day + DAY)
            for g, fields in new.items():
                for f, values in fields.items():
                    key = (it.service, day, g, f)
                    part = values[a - it.start : b - it.start]
                    if b - a == DAY and key not in existing:
                        existing[key] = part  # a whole new day: packed from the pulled array itself
                        continue
                    arr = existing.setdefault(key, np.zeros(DAY))
                    arr[a - day : b - day] = part
    conn.execute(
        sa.delete(chunks_t).where(c.service == sa.bindparam("b_s"), c.day >= sa.bindparam("b_a"), c.day <= sa.bindparam("b_b")),
        [{"b_s": name, "b_a": a, "b_b": b} for name, (a, b) in spans.items()],
    )
    keep = [(k, arr) for k, arr in sorted(existing.items()) if arr.any() or k[3] == "has_data"]
    packed = _pack_all([arr for _, arr in keep])
    rows = [(service, g, f, day, data) for ((service, day, g, f), _), data in zip(keep, packed, strict=True)]
    if not rows:
        return
    if conn.dialect.name == "sqlite":  # tens of thousands of rows: SQLAlchemy's per-row work was half the insert
        conn.exec_driver_sql(f"INSERT INTO {chunks_t.name} (service, grp, field, day, data) VALUES (?, ?, ?, ?, ?)", rows)
    else:
        conn.execute(sa.insert(chunks_t), [dict(zip(("service", "grp", "field", "day", "data"), r, strict=True)) for r in rows])


def _exactly(ms: MinuteSeries, start: int, end: int) -> MinuteSeries:
    """``ms`` over ``[start, end)``: itself when it is exactly that range (a pull always is)."""
    return ms if (ms.start, len(ms)) == (start, end - start) else ms.window(start, end)


def _pack_all(arrays: list[np.ndarray]) -> list[bytes]:
    """:func:`pack_day` of each array, by :func:`pack_days`; a large batch on two threads
    (zlib and numpy's loops over whole blocks let go of the GIL)."""
    if len(arrays) < PARALLEL_PACK or (os.cpu_count() or 1) < 2:
        return pack_days(arrays)
    half = len(arrays) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(pack_days, (arrays[:half], arrays[half:]))
    return first + second


def _touching(conn: sa.Connection, table: sa.Table, items: list[Saving], *cols: sa.Column) -> dict[str, list[tuple]]:
    """Per service, the rows of ``table`` whose span touches (or adjoins) the range being saved."""
    c = table.c
    bounds = {it.service: (it.start, it.end) for it in items}
    lo, hi = min(a for a, _ in bounds.values()), max(b for _, b in bounds.values())
    out: dict[str, list[tuple]] = defaultdict(list)
    query = sa.select(c.service, c.start, c.end, *cols).where(c.service.in_(list(bounds)), c.end >= lo, c.start <= hi)
    for service, a, b, *rest in conn.execute(query):
        start, end = bounds[service]
        if b >= start and a <= end:
            out[service].append((a, b, *rest))
    return out


def _replace(conn: sa.Connection, table: sa.Table, drop: list[dict], add: list[dict]) -> None:
    c = table.c
    if drop:
        conn.execute(sa.delete(table).where(c.service == sa.bindparam("b_s"), c.start == sa.bindparam("b_a")), drop)
    if add:
        conn.execute(sa.insert(table), add)


def _coverage(conn: sa.Connection, items: list[Saving]) -> None:
    touching = _touching(conn, coverage_t, items)
    drop, add = [], []
    for it in items:
        spans = touching.get(it.service, [])
        drop += [{"b_s": it.service, "b_a": a} for a, _b in spans]
        lo = min([it.start, *(a for a, _b in spans)])
        hi = max([it.end, *(b for _a, b in spans)])
        add.append({"service": it.service, "start": lo, "end": hi})
    _replace(conn, coverage_t, drop, add)


def _pulls(conn: sa.Connection, items: list[Saving]) -> None:
    """Record where each range came from, trimming the older records it replaces."""
    if not items:
        return
    c = pulls_t.c
    touching = _touching(conn, pulls_t, items, c.pulled_at, c.provenance)
    drop, add = [], []
    for it in items:
        text = json.dumps(it.provenance, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        lo, hi = it.start, it.end
        for a, b, when, old in touching.get(it.service, []):
            drop.append({"b_s": it.service, "b_a": a})
            if old == text:  # pulled the same way: one record
                lo, hi = min(lo, a), max(hi, b)
                continue
            if a < it.start:
                add.append({"service": it.service, "start": a, "end": it.start, "pulled_at": when, "provenance": old})
            if b > it.end:
                add.append({"service": it.service, "start": it.end, "end": b, "pulled_at": when, "provenance": old})
        add.append({"service": it.service, "start": lo, "end": hi, "pulled_at": it.pulled_at, "provenance": text})
    _replace(conn, pulls_t, drop, add)
