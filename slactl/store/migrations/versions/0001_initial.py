"""The first schema: services, per-day minute chunks and coverage.

Stores created before slactl managed its schema with Alembic hold exactly these
tables; opening one stamps it at this revision instead of creating anything.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slactl_service",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
    )
    op.create_table(
        "slactl_chunk",
        sa.Column("service", sa.String(200), primary_key=True),
        sa.Column("grp", sa.Text, primary_key=True),
        sa.Column("field", sa.String(60), primary_key=True),
        sa.Column("day", sa.BigInteger, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "slactl_coverage",
        sa.Column("service", sa.String(200), primary_key=True),
        sa.Column("start", sa.BigInteger, primary_key=True),
        sa.Column("end", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("slactl_coverage", "slactl_chunk", "slactl_service"):
        op.drop_table(table)
