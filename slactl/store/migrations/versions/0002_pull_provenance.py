"""Provenance of stored minutes: which source, URL and queries each range came from, and when.

Ranges stored before this revision have no record; they keep their minutes and
gain one the next time they are pulled.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slactl_pull",
        sa.Column("service", sa.String(200), primary_key=True),
        sa.Column("start", sa.BigInteger, primary_key=True),
        sa.Column("end", sa.BigInteger, nullable=False),
        sa.Column("pulled_at", sa.BigInteger, nullable=False),
        sa.Column("provenance", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slactl_pull")
