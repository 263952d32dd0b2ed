"""cc_calls.node: the FreeSWITCH node (an ESL_NODES name) that carried the call; NULL when
the controller links to one node

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.add_column(sa.Column("node", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.drop_column("node")
