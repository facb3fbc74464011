"""Day rows may be kept in the narrow forms: a whole-number day as its minimum and small offsets.

No table changes; the revision marks that ``slactl_chunk.data`` may hold rows
an older slactl cannot read (see ``slactl/store/days.py``), so that an older
slactl refuses this store at once instead of calling those rows corrupt and
advising to drop them.  Going back to revision 0002 rewrites every narrow row
as zlib of its float64 values, the form older versions read.
"""

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def upgrade() -> None:
    pass  # rows are written in the new forms from now on; existing rows stay as they are


def downgrade() -> None:
    from slactl.store.days import CHUNK_BYTES, NARROW, unpack_day

    conn = op.get_bind()
    chunk = sa.table("slactl_chunk", sa.column("service"), sa.column("grp"), sa.column("field"),
                     sa.column("day"), sa.column("data"))  # fmt: skip
    c = chunk.c
    update = (
        sa.update(chunk)
        .where(c.service == sa.bindparam("s"), c.grp == sa.bindparam("g"), c.field == sa.bindparam("f"),
               c.day == sa.bindparam("d"))  # fmt: skip
        .values(data=sa.bindparam("wide"))
    )
    for (service,) in conn.execute(sa.select(c.service).distinct()).all():  # a service's rows at a time
        rows = conn.execute(sa.select(c.grp, c.field, c.day, c.data).where(c.service == service)).all()
        wide = [
            {"s": service, "g": g, "f": f, "d": d, "wide": zlib.compress(unpack_day(data).astype("<f8").tobytes(), 1)}
            for g, f, d, data in rows
            if len(data) != CHUNK_BYTES and data[:1] and data[0] in NARROW
        ]
        if wide:
            conn.execute(update, wide)
