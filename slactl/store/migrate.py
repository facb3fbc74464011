"""Bringing a store's schema to the newest migration, on SQLite and PostgreSQL alike.

slactl runs this itself each time it opens a store, so an upgrade of slactl never
needs a separate step and never loses stored months.  The whole upgrade is one
transaction holding a lock (PostgreSQL: an advisory lock; SQLite: the write
lock), so replicas starting together migrate once and the others wait and find
nothing to do.  A store made before migrations existed holds exactly revision
0001's tables: it is stamped 0001 and then upgraded like any other; so is a store
whose version table was left empty, at the revision its tables show.  A version
table holding several revisions is refused with one line saying how to repair it.
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
# The store's tables at each revision that changed them, for a store whose revision is not recorded.
TABLES_AT = {"0001": LEGACY_TABLES, "0002": LEGACY_TABLES | {"slactl_pull"}}
MIGRATION_WAIT = "5min"  # PostgreSQL: how long an opening slactl waits for another one's migration


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
        have = stored_revisions(conn)
    _at_most_one(have)
    if have == [want]:
        return  # the common case, without loading Alembic (a tenth of a second per command)
    if have and have[0] not in file_revisions():
        raise StoreError(
            f"the store is at schema revision {have[0]}, written by a newer slactl (this one knows up to "
            f"{newest_file_revision()}): upgrade slactl, or open a backup made before the upgrade"
        )
    from alembic import command
    from alembic.util import CommandError

    want = head() if target == "head" else target
    with engine.connect() as conn:
        if have and current(conn) == want:
            return
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # A migration may rewrite every row, and replicas starting together wait for the first one.
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{MIGRATION_WAIT}'")
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("migrate")})
        versions = stored_revisions(conn)
        _at_most_one(versions)
        names = set(sa.inspect(conn).get_table_names())
        cfg = _config(conn)
        try:
            if not versions:
                base = _revision_of_tables(names, has_version_table=versions is not None)
                if base is not None:
                    command.stamp(cfg, base)
            command.upgrade(cfg, target)
        except CommandError as exc:
            raise StoreError(f"cannot bring the store's schema to revision {want}: {exc}") from exc


def _at_most_one(versions: list[str] | None) -> None:
    """A version table holds one revision; more is a store edited or restored by hand."""
    if versions is not None and len(versions) > 1:
        listed = ", ".join(sorted(versions))
        raise StoreError(
            f"the store's schema version table {VERSION_TABLE} holds {len(versions)} revisions ({listed}) "
            f"where it keeps one: delete every row but the store's real revision (the newest, "
            f"{max(versions)}, when the store was last opened by a slactl that knows it), or restore a backup"
        )


def _revision_of_tables(names: set[str], *, has_version_table: bool) -> str | None:
    """The revision a store without a recorded one is at, told by its tables; None for a new store.

    A store from before migrations has no version table and revision 0001's tables.
    A version table left empty (a restore or a hand edit) with the tables of a known
    revision is at that revision; revisions that changed no table (0003) are reached
    again by the upgrade, which is a no-op for them.
    """
    ours = {n for n in names if n.startswith("slactl_") and n != VERSION_TABLE}
    if not ours:
        return None
    for rev, tables in TABLES_AT.items():
        if ours == tables:
            return rev
    if not has_version_table and LEGACY_TABLES <= names:
        return BASELINE  # as before migrations: tables of others beside revision 0001's
    raise StoreError(
        f"the store has slactl's tables ({', '.join(sorted(ours))}) but no schema revision in {VERSION_TABLE}, "
        "and they match no revision this slactl knows: restore the store from a backup, or insert "
        f"its revision into {VERSION_TABLE}"
    )


def file_revisions() -> set[str]:
    """The revisions of the migration files (``NNNN_what.py``)."""
    return {p.name.split("_", 1)[0] for p in (SCRIPTS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")}


def newest_file_revision() -> str:
    """The newest revision by file name: Alembic's head while they are a chain."""
    return max(file_revisions())


def stored_revisions(conn: sa.Connection) -> list[str] | None:
    """The revisions in the store's version table (one, normally); None when it has no such table."""
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    except sa.exc.DBAPIError:
        return None
    return [r[0] for r in rows]


def stored_revision(conn: sa.Connection) -> str | None:
    """The store's revision read with one query; None when it has none (or cannot tell)."""
    rows = stored_revisions(conn)
    return rows[0] if rows is not None and len(rows) == 1 else None
