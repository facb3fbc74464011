"""The store's tables as the code queries them (the schema at the newest migration).

The tables themselves are created and changed only by the Alembic migrations in
``migrations/versions``: a change here needs a new migration file beside them.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

services_t = sa.Table(
    "slactl_service",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
)
chunks_t = sa.Table(
    "slactl_chunk",
    metadata,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("grp", sa.Text, primary_key=True),
    sa.Column("field", sa.String(60), primary_key=True),
    sa.Column("day", sa.BigInteger, primary_key=True),  # epoch minute of the UTC day's start
    sa.Column("data", sa.LargeBinary, nullable=False),
)
coverage_t = sa.Table(
    "slactl_coverage",
    metadata,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True),
    sa.Column("end", sa.BigInteger, nullable=False),
)

# Where each stored range of minutes came from.  Ranges pulled the same way are
# merged (the scheduler adds a few minutes at a time); ``pulled_at`` is the
# latest pull in the range, epoch seconds.
pulls_t = sa.Table(
    "slactl_pull",
    metadata,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True),
    sa.Column("end", sa.BigInteger, nullable=False),
    sa.Column("pulled_at", sa.BigInteger, nullable=False),
    sa.Column("provenance", sa.Text, nullable=False),  # JSON: source, url, selectors, queries
)
