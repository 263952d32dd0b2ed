"""cc_calls.transfer_destination: where a transferred call went (attended transfers)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.add_column(sa.Column("transfer_destination", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.drop_column("transfer_destination")
