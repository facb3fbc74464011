"""Opening a store's database: the driver check, SQLite's locking, and how a URL is shown.

A missing driver is a configuration problem with a known fix, so it is a
ConfigError naming the extra to install, never a ModuleNotFoundError.  SQLite
gets explicit transactions (``BEGIN IMMEDIATE`` for writers) so two processes
writing the same file wait for each other instead of failing on a lock upgrade,
and a write-ahead log so readers never wait for a writer.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from slactl.errors import ConfigError
from slactl.redact import redact, remember_url

SQLITE_TIMEOUT_S = 30
WRITE = "slactl_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)


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
    except ArgumentError:
        raise ConfigError(f"{redact(url)!r} is not a database URL like sqlite:///slactl.db "
                          "or postgresql+psycopg://user@host/db", key="store") from None  # fmt: skip
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
    return engine


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
    """The first line of the driver's own message, with any URL password masked."""
    orig = getattr(exc, "orig", None)
    return redact(str(orig or exc).splitlines()[0] if str(orig or exc) else type(exc).__name__)
