"""cc_node_moves: agents and queues given another FreeSWITCH node that their old node's
switch still has (deleted or unloaded there by its provisioner, kept while it is down)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cc_node_moves",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("node", sa.String(length=32), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cc_node_moves_name", "cc_node_moves", ["name"])


def downgrade() -> None:
    op.drop_index("ix_cc_node_moves_name", table_name="cc_node_moves")
    op.drop_table("cc_node_moves")
