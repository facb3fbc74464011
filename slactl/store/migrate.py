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
from typing import TYPE_CHECKING

import sqlalchemy as sa

from slactl.errors import StoreError
from slactl.store.engine import WRITE, lock_key

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

VERSION_TABLE = "slactl_alembic_version"
BASELINE = "0001"
LEGACY_TABLES = {"slactl_service", "slactl_chunk", "slactl_coverage"}
SCRIPTS = Path(__file__).with_name("migrations")


def _config(conn: sa.Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision this slactl knows."""
    from alembic.script import ScriptDirectory

    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current(conn: sa.Connection) -> str | None:
    """The store's revision; None for an empty or pre-migration store."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: sa.Engine, target: str = "head") -> None:
    """Migrate to ``target`` (default: the newest); a no-op when already there."""
    want = newest_file_revision() if target == "head" else target
    with engine.connect() as conn:
        have = stored_revision(conn)
    if have == want:
        return  # the common case, without loading Alembic (a tenth of a second per command)
    if have is not None and have not in file_revisions():
        raise StoreError(
            f"the store is at schema revision {have}, written by a newer slactl (this one knows up to "
            f"{newest_file_revision()}): upgrade slactl, or open a backup made before the upgrade"
        )
    from alembic import command

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


def file_revisions() -> set[str]:
    """The revisions of the migration files (``NNNN_what.py``)."""
    return {p.name.split("_", 1)[0] for p in (SCRIPTS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")}


def newest_file_revision() -> str:
    """The newest revision by file name: Alembic's head while they are a chain."""
    return max(file_revisions())


def stored_revision(conn: sa.Connection) -> str | None:
    """The store's revision read with one query; None when it has none (or cannot tell)."""
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    except sa.exc.DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None
