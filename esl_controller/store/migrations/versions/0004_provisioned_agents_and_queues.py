"""cc_agents: every mod_callcenter agent setting and ``adopted``; cc_queues: the queues the
product provisions (every mod_callcenter queue parameter and a service-level threshold)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 01:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

AGENT_NUMBERS = (
    ("max_no_answer", "3"),
    ("reject_delay_time", "10"),
    ("busy_delay_time", "60"),
    ("no_answer_delay_time", "10"),
)


def upgrade() -> None:
    with op.batch_alter_table("cc_agents") as batch:
        for name, default in AGENT_NUMBERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=default))
        batch.add_column(
            sa.Column("adopted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "cc_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("moh_sound", sa.String(length=256), nullable=False),
        sa.Column("announce_sound", sa.String(length=256), nullable=False),
        sa.Column("announce_frequency", sa.Integer(), nullable=False),
        sa.Column("record_template", sa.String(length=256), nullable=False),
        sa.Column("time_base_score", sa.String(length=16), nullable=False),
        sa.Column("max_wait_time", sa.Integer(), nullable=False),
        sa.Column("max_wait_time_with_no_agent", sa.Integer(), nullable=False),
        sa.Column("max_wait_time_with_no_agent_time_reached", sa.Integer(), nullable=False),
        sa.Column("tier_rules_apply", sa.Boolean(), nullable=False),
        sa.Column("tier_rule_wait_second", sa.Integer(), nullable=False),
        sa.Column("tier_rule_wait_multiply_level", sa.Boolean(), nullable=False),
        sa.Column("tier_rule_no_agent_no_wait", sa.Boolean(), nullable=False),
        sa.Column("discard_abandoned_after", sa.Integer(), nullable=False),
        sa.Column("abandoned_resume_allowed", sa.Boolean(), nullable=False),
        sa.Column("ring_progressively_delay", sa.Integer(), nullable=False),
        sa.Column("agent_no_answer_status", sa.String(length=32), nullable=False),
        sa.Column("skip_agents_with_external_calls", sa.Boolean(), nullable=False),
        sa.Column("service_level_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("cc_queues")
    with op.batch_alter_table("cc_agents") as batch:
        batch.drop_column("adopted")
        for name, _ in reversed(AGENT_NUMBERS):
            batch.drop_column(name)
