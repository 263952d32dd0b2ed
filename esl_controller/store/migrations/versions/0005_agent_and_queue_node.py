"""cc_agents.node, cc_queues.node: the FreeSWITCH node (an ESL_NODES name) each
provisioned agent and queue lives on; NULL means the first node, so existing rows and
single-node installations need nothing

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("cc_agents", "cc_queues"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("node", sa.String(length=32), nullable=True))


def downgrade() -> None:
    for table in ("cc_queues", "cc_agents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("node")
