"""Zones sharing one ledger: the zone of each entry and of each server being charged.

Revision ID: 0002
Revises: 0001

Existing rows get the empty zone, which is what a hub that is not a zone writes, so a single hub
keeps charging its running servers across the upgrade: its row keys do not change.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("entries", "running_servers"):
        op.add_column(table, sa.Column("zone", sa.String(63), nullable=False, server_default=""))
    op.create_index("ix_running_servers_zone", "running_servers", ["zone"])


def downgrade() -> None:
    op.drop_index("ix_running_servers_zone", "running_servers")
    with op.batch_alter_table("running_servers") as batch:
        batch.drop_column("zone")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("zone")
