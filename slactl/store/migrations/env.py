"""Alembic's entry point for slactl's store: always called from :mod:`slactl.store.migrate`.

slactl hands over an open connection, already inside the transaction (and
holding the lock) the whole upgrade runs in; nothing here opens its own.
"""

from alembic import context

from slactl.store.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
