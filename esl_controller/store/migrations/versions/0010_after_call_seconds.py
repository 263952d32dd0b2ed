"""cc_calls.after_call_seconds: the after-call work of a call (seconds from its end to the
end of its wrap-up), NULL when no wrap-up was owed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.add_column(sa.Column("after_call_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cc_calls") as batch:
        batch.drop_column("after_call_seconds")
