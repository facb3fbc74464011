"""Opening a store's database: the driver check, SQLite's locking, and how a URL is shown.

A missing driver is a configuration problem with a known fix, so it is a
ConfigError naming the extra to install, never a ModuleNotFoundError.  SQLite
gets explicit transactions (``BEGIN IMMEDIATE`` for writers) so two processes
writing the same file wait for each other instead of failing on a lock upgrade,
and a write-ahead log so readers never wait for a writer.

Every PostgreSQL session slactl opens is bounded, so no process can hold a lock
for ever: TCP keepalives both ways (a vanished peer is noticed in about half a
minute, not the operating system's two hours), ``lock_timeout`` (a writer waits
at most 15 s for another's lock), ``statement_timeout`` (120 s) and
``idle_in_transaction_session_timeout`` (30 s: the server ends the session of a
process stalled in the middle of a write, which frees its locks).  Parameters
given in the store URL (``?keepalives_idle=…``, ``?options=-c lock_timeout=…``)
win over these defaults.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from slactl.errors import ConfigError
from slactl.redact import redact, remember_url

SQLITE_TIMEOUT_S = 30
WRITE = "slactl_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)

# Every PostgreSQL session (docs/operating.md, "Sessions that cannot hold a lock for ever").
LOCK_TIMEOUT_S = 15  # the longest a statement waits for a lock another session holds
STATEMENT_TIMEOUT_S = 120  # the longest one statement runs
IDLE_IN_TRANSACTION_S = 30  # a session idle this long inside a transaction is ended by the server
KEEPALIVE = {"idle": 10, "interval": 5, "count": 3}  # probe after 10 s idle, every 5 s, 3 tries: ~25 s
CONNECT_TIMEOUT_S = 10
SERVER_SETTINGS = {
    "lock_timeout": f"{LOCK_TIMEOUT_S}s",
    "statement_timeout": f"{STATEMENT_TIMEOUT_S}s",
    "idle_in_transaction_session_timeout": f"{IDLE_IN_TRANSACTION_S}s",
    # The server's side of the keepalives: it ends the session of a client that vanished.
    **{f"tcp_keepalives_{k}": str(v) for k, v in KEEPALIVE.items()},
}
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout
QUERY_CANCELED = "57014"  # SQLSTATE of a statement_timeout (or a cancel)


def shown(url: str) -> str:
    """The URL as every message shows it: slactl.redact's one rule.

    Not SQLAlchemy's ``hide_password``: it shows ``?password=`` and the tail of
    a password holding an unescaped ``@``.
    """
    return redact(url)


def parse_url(url: str) -> sa.URL:
    """The store URL, ``postgres(ql)://`` meaning psycopg 3; ConfigError (exit 2) when it is no URL."""
    remember_url(url)  # a driver's own message may quote a piece of the password (slactl.redact)
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = sa.engine.make_url(url)
        bad = _bad_address(parsed)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number, e.g. from "[::1:5432"
        bad = "it cannot be read"
    if bad:
        what = "the store URL" if "@" in bad else repr(redact(url))  # an '@' in the host: a password's tail
        raise ConfigError(f"{what} is not a database URL like sqlite:///slactl.db "
                          f"or postgresql+psycopg://user@host:5432/db ({bad})", key="store") from None  # fmt: skip
    if parsed.drivername == "postgresql":  # e.g. a URL from a PostgreSQL operator's secret
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``; ConfigError (exit 2) when the URL or its driver cannot work."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_TIMEOUT_S})
    elif backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        kwargs["connect_args"] = {**postgres_connect_args(parsed), **kwargs.get("connect_args", {})}
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        hint = "pip install 'slactl[postgresql]'" if backend == "postgresql" else f"install the {exc.name} driver"
        if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
            hint += " and write the URL as postgresql+psycopg://…"
        elif backend == "postgresql":
            hint = f"{hint} (the PostgreSQL driver, psycopg 3)"
        raise ConfigError(f"the {parsed.drivername} driver is not installed ({exc.name}): {hint}",
                          key="store") from None  # fmt: skip
    except (NoSuchModuleError, ArgumentError, SQLAlchemyError) as exc:
        raise ConfigError(f"cannot use {shown(url)}: {redact(str(exc))}", key="store") from None
    if backend == "sqlite":
        _explicit_transactions(engine)
    elif backend == "postgresql":
        _bounded_sessions(engine, server_settings(parsed))
    return engine


def _bad_address(parsed: sa.URL) -> str:
    """What is wrong with the host or port of a parsed URL; empty when nothing is."""
    host = parsed.host or ""
    if "@" in host:
        return "its host holds an '@': write an '@' in the user name or password as %40"
    if any(ch in host for ch in "[] \t\r\n"):
        return f"the host {host!r} is no host name or address; an IPv6 address goes in brackets: [::1]:5432"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"the port {parsed.port} is not between 1 and 65535"
    return ""


def postgres_connect_args(parsed: sa.URL) -> dict[str, Any]:
    """libpq parameters of every session: keepalives from the client's side and a connect timeout.

    A parameter in the URL's query (``?keepalives_idle=30``) wins over the default.
    """
    out: dict[str, Any] = {"keepalives": 1, "connect_timeout": CONNECT_TIMEOUT_S}
    out.update({f"keepalives_{k}": v for k, v in KEEPALIVE.items()})
    return {k: v for k, v in out.items() if k not in parsed.query}


def server_settings(parsed: sa.URL) -> dict[str, str]:
    """The settings each new session gets (:data:`SERVER_SETTINGS`), but for those the URL sets itself.

    They are set once the session is open rather than sent in libpq's ``options``, which
    connection poolers such as PgBouncer refuse; a ``-c name=value`` in the URL's own
    ``options`` parameter wins.
    """
    given = parsed.query.get("options") or ()
    text = " ".join((given,) if isinstance(given, str) else given)
    theirs = {m.replace("-", "_") for m in re.findall(r"(?:-c\s*|--)([A-Za-z_.-]+)=", text)}
    return {k: v for k, v in SERVER_SETTINGS.items() if k not in theirs}


def _bounded_sessions(engine: sa.Engine, settings: dict[str, str]) -> None:
    """Apply ``settings`` to every new session, in one statement committed at once."""
    if not settings:
        return
    sql = "SELECT " + ", ".join(f"set_config('{k}', '{v}', false)" for k, v in settings.items())

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()
        dbapi_conn.commit()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _rearm(_conn: Any, cursor: Any, _stmt: Any, _params: Any, _context: Any, executemany: bool) -> None:
        # psycopg runs executemany in pipeline mode, which ends with a flush request: the
        # server then waits for the client without arming idle_in_transaction_session_timeout,
        # and a client that stalls right there would keep its locks.  Any plain statement
        # after it arms the timer again.
        if executemany:
            cursor.connection.execute("SELECT 1")


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a driver error (or of the error it was raised from); empty when there is none."""
    seen: BaseException | None = exc
    for _ in range(5):  # StoreError <- SQLAlchemy error <- psycopg error
        if seen is None:
            break
        state = getattr(seen, "sqlstate", None) or getattr(getattr(seen, "orig", None), "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = seen.__cause__
    return ""


def waited_for_lock(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement given up after ``lock_timeout``: another writer held the lock."""
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


def _explicit_transactions(engine: sa.Engine) -> None:
    """pysqlite's own transaction handling defers the write lock; take it up front instead."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        _sqlite_pragmas(dbapi_conn)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def _sqlite_pragmas(dbapi_conn: Any) -> None:
    """Write-ahead log, synced at checkpoints: a month's saves stop paying one fsync each.

    A crash still leaves every transaction whole (the log is replayed or dropped);
    at worst the last saves before a power cut are pulled again.  Writers still
    take turns through ``BEGIN IMMEDIATE``; readers no longer wait for them.
    """
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from names."""
    digest = hashlib.sha256("\x1f".join(("slactl", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def reason(exc: BaseException) -> str:
    """The first line of the driver's own message, with any URL password masked.

    The timeouts every PostgreSQL session has get words saying what happened.
    """
    state = sqlstate(exc)
    if state == LOCK_NOT_AVAILABLE:
        return (f"another process held the lock for more than {LOCK_TIMEOUT_S} s (a slow or stalled slactl "
                "writing the same service, or a migration); nothing was changed, run again")  # fmt: skip
    if state == QUERY_CANCELED:
        return f"a statement ran longer than {STATEMENT_TIMEOUT_S} s (or was cancelled); nothing was changed"
    orig = getattr(exc, "orig", None)
    return redact(str(orig or exc).splitlines()[0] if str(orig or exc) else type(exc).__name__)
