"""Who runs the scheduler's jobs: one leader per store.

PostgreSQL: the leader is the replica whose own session holds a session-level
advisory lock (``pg_try_advisory_lock``).  The lock lives exactly as long as
that session: when the leader dies, is SIGKILLed or loses its connection, the
server ends the session and frees the lock, and the next standby that asks gets
it.  A leader checks its session before each job, so one that lost it stops
running jobs; its writes would fail anyway, since the store is the same server.
Keepalives on the session bound how long a silently vanished peer keeps it.

SQLite: one scheduler per store file.  An exclusive ``flock`` on a file beside
the database refuses a second scheduler with a clear message, instead of two
writers meeting as "database is locked" later.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from slactl.errors import StoreError
from slactl.store.engine import lock_key, make_engine, parse_url, reason, shown

log = logging.getLogger("slactl.scheduler")

# Server side: probe an idle leader session after 10 s, every 5 s, 3 times (~25 s worst case).
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3, "connect_timeout": 10}
_SESSION_SETTINGS = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3",
                     "SET application_name = 'slactl scheduler'")  # fmt: skip


class Leadership(Protocol):
    """The scheduler's view of the lock: ask before each job whether this process leads."""

    def poll(self) -> bool:
        """True while this process leads (taking the lock if it is free)."""
        ...

    def release(self) -> None: ...

    def describe(self) -> str: ...


class PostgresLeader:
    """A dedicated session holding ``pg_try_advisory_lock`` while leading."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.key = lock_key("scheduler")
        self._engine = make_engine(url, poolclass=sa.pool.NullPool, connect_args=_KEEPALIVES)
        self._conn: sa.Connection | None = None
        self._mutex = threading.Lock()

    def poll(self) -> bool:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.exec_driver_sql("SELECT 1")  # the session lives: its lock is still ours
                    return True
                except SQLAlchemyError as exc:
                    log.error("lost the leader session on %s: %s; no longer leading", shown(self.url), reason(exc))
                    self._drop()
            try:
                conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except SQLAlchemyError as exc:
                log.warning("cannot reach %s to take the lead: %s", shown(self.url), reason(exc))
                return False
            try:
                for stmt in _SESSION_SETTINGS:
                    conn.exec_driver_sql(stmt)
                got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            except SQLAlchemyError as exc:
                log.warning("cannot take the lead on %s: %s", shown(self.url), reason(exc))
                conn.close()
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                    self._conn.close()
                except SQLAlchemyError:
                    self._drop()
                self._conn = None
        self._engine.dispose()

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key} on {shown(self.url)}"


class SqliteSoleScheduler:
    """An exclusive lock file beside the SQLite store, held for the scheduler's life."""

    def __init__(self, db_path: str | None) -> None:
        self.db = db_path
        self.path = Path(f"{db_path}.scheduler.lock") if db_path else None
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise StoreError naming the other scheduler."""
        if self.path is None or self._fd is not None:
            return  # an in-memory store has no second process to fear
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the scheduler lock {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreError(
                f"another slactl scheduler (pid {other}) is already running on the SQLite store "
                f"{self.db}; an SQLite store takes one scheduler: stop the other one, "
                "or move the store to PostgreSQL to run several replicas"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def poll(self) -> bool:
        self.acquire()
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def describe(self) -> str:
        return f"lock file {self.path}" if self.path else "in-memory store"


def leadership_for(url: str) -> PostgresLeader | SqliteSoleScheduler:
    """The right kind of lock for the store at ``url``."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresLeader(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        return SqliteSoleScheduler(db if db and db != ":memory:" else None)
    raise StoreError(f"replicas need a PostgreSQL store; {shown(url)} has no lock slactl knows")
