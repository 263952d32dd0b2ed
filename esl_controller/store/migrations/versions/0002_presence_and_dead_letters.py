"""agent presence (product-owned sign-in, status and reason) and dead letters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 01:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cc_agent_presence",
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("signed_in", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("agent"),
    )
    op.create_table(
        "cc_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cc_dead_letters_at"), "cc_dead_letters", ["at"], unique=False)
    op.create_index(op.f("ix_cc_dead_letters_key"), "cc_dead_letters", ["key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cc_dead_letters_key"), table_name="cc_dead_letters")
    op.drop_index(op.f("ix_cc_dead_letters_at"), table_name="cc_dead_letters")
    op.drop_table("cc_dead_letters")
    op.drop_table("cc_agent_presence")
