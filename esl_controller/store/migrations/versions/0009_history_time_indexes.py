"""Indexes on the history's time columns the reports filter on: cc_calls.answered_at (the
agents report) and cc_agent_activities.started_at / ended_at (status periods overlapping
the chosen days), so a report over a long history does not read every row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:15:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cc_calls_answered_at", "cc_calls", ["answered_at"])
    op.create_index("ix_cc_agent_activities_started_at", "cc_agent_activities", ["started_at"])
    op.create_index("ix_cc_agent_activities_ended_at", "cc_agent_activities", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_cc_agent_activities_ended_at", table_name="cc_agent_activities")
    op.drop_index("ix_cc_agent_activities_started_at", table_name="cc_agent_activities")
    op.drop_index("ix_cc_calls_answered_at", table_name="cc_calls")
