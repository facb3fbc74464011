"""Who runs the scheduler's jobs: one leader per store, and only the leader writes.

PostgreSQL: the leader is the replica whose own session holds a session-level
advisory lock (``pg_try_advisory_lock``).  The lock lives exactly as long as
that session: when the leader dies, is SIGKILLed or loses its connection, the
server ends the session and frees the lock, and the next standby that asks gets
it.  A leader checks its session before each job and at each election tick, so
one that lost it stops running jobs.  Keepalives on the session bound how long
a silently vanished peer keeps it; ``idle_session_timeout`` (PostgreSQL 14 and
later) how long a stalled one does (a stopped process still answers keepalives,
its kernel does): while leading, a thread pings the session every 10 s, however
long a job runs.

Writes are fenced by the lock.  A leader that lost its session may still be in
the middle of a job; every write transaction of the scheduler's store checks,
inside itself, at its start and again just before its commit, that the leader
session still holds the lock (:meth:`PostgresLeader.fence`), and commits nothing
when it does not.  The last check and the commit are not one step, so writers
also hold a shared *fence* lock for the whole transaction, and a new leader
takes that lock exclusively once before its first job: every write of the old
leader that passed the check is over (committed, or rolled back by the server's
timeouts) before the new leader writes anything.

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

IDLE_SESSION_S = 30  # PostgreSQL ends the leader session after this long without a ping (a stalled leader)
PING_EVERY_S = 10  # while leading, a thread of its own pings the leader session this often
_SESSION_SETTINGS = ("SET application_name = 'slactl scheduler'",)


class LeaderLost(Exception):
    """A fenced write refused; the store raises StoreError from it, for :func:`lost_lead` to tell."""


def lost_lead(exc: BaseException) -> bool:
    """Whether ``exc`` is a write refused because this replica no longer holds the leader lock."""
    return isinstance(exc.__cause__, LeaderLost) or isinstance(exc, LeaderLost)


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
        self.fence_key = lock_key("scheduler", "fence")
        self.pid: int | None = None  # the leader session's backend, while leading
        self._engine = make_engine(url, poolclass=sa.pool.NullPool)
        self._conn: sa.Connection | None = None
        self._mutex = threading.Lock()
        self._released = threading.Event()
        self._keeper: threading.Thread | None = None

    def _ping(self) -> bool:
        """With the mutex held: whether the leader session lives (its lock is still ours); drops it if not."""
        if self._conn is None:
            return False
        try:
            self._conn.exec_driver_sql("SELECT 1")
            return True
        except SQLAlchemyError as exc:
            log.error("lost the leader session on %s: %s; no longer leading", shown(self.url), reason(exc))
            self._drop()
            return False

    def _keep(self) -> None:
        """Ping the session while leading, however long a job runs (``idle_session_timeout`` spares it)."""
        while not self._released.wait(PING_EVERY_S):
            with self._mutex:
                self._ping()

    def poll(self) -> bool:
        with self._mutex:
            if self._conn is not None and self._ping():
                return True
            try:
                conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except SQLAlchemyError as exc:
                log.warning("cannot reach %s to take the lead: %s", shown(self.url), reason(exc))
                return False
            try:
                for stmt in _SESSION_SETTINGS:
                    conn.exec_driver_sql(stmt)
                if int(conn.exec_driver_sql("SHOW server_version_num").scalar() or 0) >= 140000:
                    conn.exec_driver_sql(f"SET idle_session_timeout = '{IDLE_SESSION_S}s'")
                got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
                if got:
                    # The fence: wait (at most lock_timeout) for the writes of a previous leader that
                    # lost its session to end, so that they are over before this one writes.
                    conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.fence_key})
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.fence_key})
                    pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() or 0)
            except SQLAlchemyError as exc:
                log.warning("cannot take the lead on %s: %s", shown(self.url), reason(exc))
                conn.close()  # ends the session: a lock it took goes with it
                return False
            if not got:
                conn.close()
                return False
            self._conn, self.pid = conn, pid
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._keep, name="slactl-leader-ping", daemon=True)
                self._keeper.start()
            return True

    def fence(self, conn: sa.Connection) -> None:
        """In a write transaction of the store: go on only while this replica's session holds the lock.

        Takes the shared fence lock for the rest of the transaction (a new leader waits for it), then
        checks ``pg_locks`` for the leader lock held by this replica's leader session.  Raises
        :class:`LeaderLost` when it is not held: the caller's transaction rolls back.
        """
        conn.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": self.fence_key})
        pid = self.pid
        held = pid is not None and conn.execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid "
                "AND mode = 'ExclusiveLock' AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
            ),
            {"pid": pid, "hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF},
        ).scalar()
        if not held:
            raise LeaderLost(
                "this replica no longer holds the scheduler's leader lock (its session on the server ended), "
                "so it wrote nothing; the replica that leads now pulls these minutes again"
            )

    def _drop(self) -> None:
        self.pid = None
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def release(self) -> None:
        self._released.set()
        with self._mutex:
            self.pid = None
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
