"""Initial ledger: wallets, append-only entries, servers being charged.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("wallet", sa.String(300), sa.ForeignKey("wallets.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("server", sa.String(300), nullable=False),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("key", sa.String(400), nullable=True, unique=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("lot_id", _ID, sa.ForeignKey("entries.id"), nullable=True, unique=True),
    )
    op.create_index("ix_entries_wallet_time", "entries", ["wallet", "time"])
    op.create_index("ix_entries_expires_at", "entries", ["expires_at"])
    op.create_table(
        "running_servers",
        sa.Column("server", sa.String(400), primary_key=True),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("server_name", sa.String(200), nullable=False),
        sa.Column("wallet", sa.String(300), nullable=False),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("ready_since", sa.DateTime(), nullable=False),
        sa.Column("charged_until", sa.DateTime(), nullable=False),
        sa.Column("empty_since", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_running_servers_user", "running_servers", ["user"])
    op.create_index("ix_running_servers_wallet", "running_servers", ["wallet"])


def downgrade() -> None:
    op.drop_table("running_servers")
    op.drop_table("entries")
    op.drop_table("wallets")
