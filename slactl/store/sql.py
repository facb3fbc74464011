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
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from slactl.errors import StoreError
from slactl.model import GroupKey, Kind, MinuteSeries

DAY = 1440

_meta = sa.MetaData()
services_t = sa.Table(
    "slactl_service",
    _meta,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
)
chunks_t = sa.Table(
    "slactl_chunk",
    _meta,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("grp", sa.Text, primary_key=True),
    sa.Column("field", sa.String(60), primary_key=True),
    sa.Column("day", sa.BigInteger, primary_key=True),  # epoch minute of the UTC day's start
    sa.Column("data", sa.LargeBinary, nullable=False),
)
coverage_t = sa.Table(
    "slactl_coverage",
    _meta,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True),
    sa.Column("end", sa.BigInteger, nullable=False),
)


# Where each stored range of minutes came from.  Ranges pulled the same way are
# merged (the scheduler adds a few minutes at a time); ``pulled_at`` is the
# latest pull in the range, epoch seconds.
pulls_t = sa.Table(
    "slactl_pull",
    _meta,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True),
    sa.Column("end", sa.BigInteger, nullable=False),
    sa.Column("pulled_at", sa.BigInteger, nullable=False),
    sa.Column("provenance", sa.Text, nullable=False),  # JSON: source, url, selectors, queries
)


def pack_day(arr: np.ndarray) -> bytes:
    """A day's 1,440 float64 values: zlib-compressed, or raw when that is no smaller.

    Minutes repeat (all up, one sample each), so a day packs to a few dozen bytes
    instead of 11,520: a 200-service month writes and reads megabytes, not hundreds.
    """
    raw = arr.astype("<f8").tobytes()
    packed = zlib.compress(raw, 1)
    return packed if len(packed) < len(raw) else raw


def unpack_day(data: bytes) -> np.ndarray:
    """Inverse of :func:`pack_day`; a row of exactly 11,520 bytes is raw (as older stores wrote)."""
    if len(data) != DAY * 8:
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise StoreError(f"a stored day of minutes is corrupt ({exc}); delete the store's rows of it to pull it again") from None
        if len(data) != DAY * 8:
            raise StoreError(f"a stored day of minutes is corrupt ({len(data)} bytes, expected {DAY * 8})")
    return np.frombuffer(data, dtype="<f8")


def encode_group(key: GroupKey) -> str:
    return json.dumps([list(p) for p in key], separators=(",", ":"), ensure_ascii=False)


def decode_group(text: str) -> GroupKey:
    return tuple((k, v) for k, v in json.loads(text))


def _field_names(ms: MinuteSeries) -> dict[str, np.ndarray]:
    fields = {"has_data": ms.has_data.astype(np.float64)}
    fields.update(ms.arrays())
    for le, arr in ms.buckets.items():
        fields[f"le:{le!r}"] = arr
    return fields


class Store:
    """Per-minute SLI inputs by service, group and minute."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            kwargs: dict = {}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 30}
            self.engine = sa.create_engine(url, **kwargs)
            if url.startswith("sqlite"):
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            _meta.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open store {self._shown()}: {_reason(exc)}") from exc

    def _shown(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def _tx(self, what: str) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self._shown()}: cannot {what}: {_reason(exc)}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ coverage

    def missing(self, service: str, fingerprint: str, start: int, end: int) -> list[tuple[int, int]]:
        """The sub-ranges of ``[start, end)`` the store does not hold for this definition."""
        with self._tx("read coverage") as conn:
            row = conn.execute(sa.select(services_t.c.fingerprint).where(services_t.c.name == service)).first()
            if row is None or row[0] != fingerprint:
                return [(start, end)] if start < end else []
            spans = conn.execute(
                sa.select(coverage_t.c.start, coverage_t.c.end)
                .where(coverage_t.c.service == service, coverage_t.c.end > start, coverage_t.c.start < end)
                .order_by(coverage_t.c.start)
            ).all()
        gaps, cursor = [], start
        for a, b in spans:
            if a > cursor:
                gaps.append((cursor, min(a, end)))
            cursor = max(cursor, b)
        if cursor < end:
            gaps.append((cursor, end))
        return gaps

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
        if end <= start:
            return
        with self._tx(f"save service '{service}'") as conn:
            row = conn.execute(sa.select(services_t.c.fingerprint).where(services_t.c.name == service)).first()
            if row is None or row[0] != fingerprint:
                for table in (chunks_t, coverage_t, pulls_t):
                    conn.execute(sa.delete(table).where(table.c.service == service))
                conn.execute(sa.delete(services_t).where(services_t.c.name == service))
                conn.execute(sa.insert(services_t).values(name=service, fingerprint=fingerprint, kind=kind))
            new = {encode_group(g): _field_names(ms.window(start, end)) for g, ms in groups.items()}
            self._save_days(conn, service, start, end, new)
            self._add_coverage(conn, service, start, end)
            if provenance is not None:
                self._add_pull(conn, service, start, end, pulled_at, provenance)

    def _save_days(
        self, conn: sa.Connection, service: str, start: int, end: int, new: dict[str, dict[str, np.ndarray]]
    ) -> None:
        """Rewrite the day rows ``[start, end)`` touches: three statements, whatever the length."""
        first, last = start - start % DAY, end - 1 - (end - 1) % DAY
        where = (chunks_t.c.service == service) & (chunks_t.c.day >= first) & (chunks_t.c.day <= last)
        existing = {
            (day, g, f): unpack_day(d).copy()
            for day, g, f, d in conn.execute(
                sa.select(chunks_t.c.day, chunks_t.c.grp, chunks_t.c.field, chunks_t.c.data).where(where)
            )
        }
        for (day, _g, _f), arr in existing.items():
            arr[max(start, day) - day : min(end, day + DAY) - day] = 0.0
        for day in range(first, end, DAY):
            lo, hi = max(start, day), min(end, day + DAY)
            for g, fields in new.items():
                for f, values in fields.items():
                    arr = existing.setdefault((day, g, f), np.zeros(DAY))
                    arr[lo - day : hi - day] = values[lo - start : hi - start]
        conn.execute(sa.delete(chunks_t).where(where))
        rows = [
            {"service": service, "grp": g, "field": f, "day": day, "data": pack_day(arr)}
            for (day, g, f), arr in sorted(existing.items())
            if arr.any() or f == "has_data"
        ]
        if rows:
            conn.execute(sa.insert(chunks_t), rows)

    def _add_coverage(self, conn: sa.Connection, service: str, start: int, end: int) -> None:
        touching = conn.execute(
            sa.select(coverage_t.c.start, coverage_t.c.end).where(
                coverage_t.c.service == service, coverage_t.c.end >= start, coverage_t.c.start <= end
            )
        ).all()
        lo = min([start, *(a for a, _ in touching)])
        hi = max([end, *(b for _, b in touching)])
        conn.execute(
            sa.delete(coverage_t).where(
                coverage_t.c.service == service, coverage_t.c.end >= start, coverage_t.c.start <= end
            )
        )
        conn.execute(sa.insert(coverage_t).values(service=service, start=lo, end=hi))

    def _add_pull(self, conn: sa.Connection, service: str, start: int, end: int, at: int, prov: dict) -> None:
        """Record where ``[start, end)`` came from, trimming older records it replaces."""
        text = json.dumps(prov, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        c = pulls_t.c
        touching = conn.execute(
            sa.select(c.start, c.end, c.pulled_at, c.provenance).where(
                c.service == service, c.end >= start, c.start <= end
            )
        ).all()
        conn.execute(sa.delete(pulls_t).where(c.service == service, c.end >= start, c.start <= end))
        lo, hi, rows = start, end, []
        for a, b, when, old in touching:
            if old == text:  # pulled the same way: one record
                lo, hi = min(lo, a), max(hi, b)
                continue
            if a < start:
                rows.append({"service": service, "start": a, "end": start, "pulled_at": when, "provenance": old})
            if b > end:
                rows.append({"service": service, "start": end, "end": b, "pulled_at": when, "provenance": old})
        rows.append({"service": service, "start": lo, "end": hi, "pulled_at": at, "provenance": text})
        conn.execute(sa.insert(pulls_t), rows)

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
        if end <= start:
            return False
        c = chunks_t.c
        with self._tx(f"read service '{service}'") as conn:
            rows = conn.execute(
                sa.select(c.grp, c.day, c.data).where(
                    c.service == service, c.field == "has_data", c.day > start - DAY, c.day < end
                )
            ).all()
        days: dict[int, list[bytes]] = defaultdict(list)
        for _g, day, data in rows:
            days[day].append(data)
        for day in range(start - start % DAY, end, DAY):
            lo, hi = max(start, day) - day, min(end, day + DAY) - day
            if not days.get(day):
                return True
            if any(not unpack_day(d)[lo:hi].all() for d in days[day]):
                return True
        return False


    def load(self, service: str, start: int, end: int) -> dict[GroupKey, MinuteSeries]:
        """Every group's minutes over ``[start, end)``; minutes never saved read as no data."""
        with self._tx(f"read service '{service}'") as conn:
            row = conn.execute(sa.select(services_t.c.kind).where(services_t.c.name == service)).first()
            if row is None:
                return {}
            kind: Kind = row[0]
            rows = conn.execute(
                sa.select(chunks_t.c.grp, chunks_t.c.field, chunks_t.c.day, chunks_t.c.data)
                .where(chunks_t.c.service == service, chunks_t.c.day > start - DAY, chunks_t.c.day < end)
                .order_by(chunks_t.c.grp, chunks_t.c.field, chunks_t.c.day)
            ).all()
        n = end - start
        by_group: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
        for g, f, day, data in rows:
            arr = by_group[g].get(f)
            if arr is None:
                arr = by_group[g][f] = np.zeros(n)
            lo, hi = max(start, day), min(end, day + DAY)
            arr[lo - start : hi - start] = unpack_day(data)[lo - day : hi - day]
        out: dict[GroupKey, MinuteSeries] = {}
        for g, fields in sorted(by_group.items()):
            ms = MinuteSeries.empty(kind, start, n)
            ms.has_data = fields.pop("has_data", np.zeros(n)) > 0
            for f, arr in fields.items():
                if f.startswith("le:"):
                    ms.buckets[float(f[3:])] = arr
                else:
                    setattr(ms, f, arr)
            out[decode_group(g)] = ms
        return out


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    """Write-ahead log, synced at checkpoints: a month's saves stop paying one fsync each.

    A crash still leaves every transaction whole (the log is replayed or dropped);
    at worst the last saves before a power cut are pulled again.
    """
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0]
