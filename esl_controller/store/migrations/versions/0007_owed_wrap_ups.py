"""cc_wrap_ups: the calls whose disposition an agent still owes, with the deadline of the
hold on offers, so a restart or a controller take-over keeps them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cc_wrap_ups",
        sa.Column("call_uuid", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("cid_name", sa.String(length=128), nullable=False),
        sa.Column("cid_number", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_uuid"),
    )
    op.create_index(op.f("ix_cc_wrap_ups_agent"), "cc_wrap_ups", ["agent"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cc_wrap_ups_agent"), table_name="cc_wrap_ups")
    op.drop_table("cc_wrap_ups")
