"""Bringing a store's schema to the newest migration, on SQLite and PostgreSQL alike.

slactl runs this itself each time it opens a store, so an upgrade of slactl never
needs a separate step and never loses stored months.  The whole upgrade is one
transaction holding a lock (PostgreSQL: an advisory lock; SQLite: the write
lock), so replicas starting together migrate once and the others wait and find
nothing to do.  A store made before migrations existed holds exactly revision
0001's tables: it is stamped 0001 and then upgraded like any other.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from slactl.store.engine import WRITE, lock_key

VERSION_TABLE = "slactl_alembic_version"
BASELINE = "0001"
LEGACY_TABLES = {"slactl_service", "slactl_chunk", "slactl_coverage"}
SCRIPTS = Path(__file__).with_name("migrations")


def _config(conn: sa.Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision this slactl knows."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current(conn: sa.Connection) -> str | None:
    """The store's revision; None for an empty or pre-migration store."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: sa.Engine, target: str = "head") -> None:
    """Migrate to ``target`` (default: the newest); a no-op when already there."""
    want = head() if target == "head" else target
    with engine.connect() as conn:
        if current(conn) == want:
            return
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("migrate")})
        names = set(sa.inspect(conn).get_table_names())
        cfg = _config(conn)
        if VERSION_TABLE not in names and LEGACY_TABLES <= names:
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, target)
