"""Database tables (SQLAlchemy 2): configuration, history and audit.

FreeSWITCH owns live state; these tables own what must outlive it: users and roles, the
agents and tiers the call center wants, pause reasons and dispositions, customers, the
call history (``cc_calls``, one row per call, unique by call uuid so the recorder can
write the same call twice without doubling it), agent activity and the audit log.
Portable across SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("agent", "supervisor", "engineer")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # agent < supervisor < engineer
    display_name: Mapped[str] = mapped_column(String(128), default="")
    extension: Mapped[str | None] = mapped_column(String(32), unique=True)
    # md5(user:realm:password) for SIP.js authorizationHa1; never the password itself.
    sip_ha1: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Agent(Base):
    """A mod_callcenter agent the product provisions (``callcenter_config agent add/set``).

    ``contact`` empty means "built from the user's extension and the SIP domain"
    (``user/<extension>@<SIP_DOMAIN>``). ``adopted`` is set once the product has seen the
    agent on the switch or put it there: an agent that already existed in
    ``callcenter.conf.xml`` has its settings and tiers taken into the database at that
    first sight, after which the database wins."""

    __tablename__ = "cc_agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)  # mod_callcenter's name
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact: Mapped[str] = mapped_column(String(512), default="")
    agent_type: Mapped[str] = mapped_column(String(16), default="Callback")
    wrap_up_time: Mapped[int] = mapped_column(Integer, default=10)
    max_no_answer: Mapped[int] = mapped_column(Integer, default=3)
    reject_delay_time: Mapped[int] = mapped_column(Integer, default=10)
    busy_delay_time: Mapped[int] = mapped_column(Integer, default=60)
    no_answer_delay_time: Mapped[int] = mapped_column(Integer, default=10)
    adopted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The FreeSWITCH node (ESL_NODES name) the agent lives on; NULL: the first node.
    node: Mapped[str | None] = mapped_column(String(32), default=None)


class Queue(Base):
    """A mod_callcenter queue: every ``<param>`` of its ``<queue>`` element in
    ``callcenter.conf`` (served to FreeSWITCH through mod_xml_curl, or written as static
    XML), plus the product's own service-level threshold (seconds)."""

    __tablename__ = "cc_queues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    strategy: Mapped[str] = mapped_column(String(32), default="longest-idle-agent")
    moh_sound: Mapped[str] = mapped_column(String(256), default="local_stream://moh")
    announce_sound: Mapped[str] = mapped_column(String(256), default="")
    announce_frequency: Mapped[int] = mapped_column(Integer, default=0)
    record_template: Mapped[str] = mapped_column(String(256), default="")
    time_base_score: Mapped[str] = mapped_column(String(16), default="system")
    max_wait_time: Mapped[int] = mapped_column(Integer, default=0)
    max_wait_time_with_no_agent: Mapped[int] = mapped_column(Integer, default=0)
    max_wait_time_with_no_agent_time_reached: Mapped[int] = mapped_column(Integer, default=5)
    tier_rules_apply: Mapped[bool] = mapped_column(Boolean, default=False)
    tier_rule_wait_second: Mapped[int] = mapped_column(Integer, default=300)
    tier_rule_wait_multiply_level: Mapped[bool] = mapped_column(Boolean, default=True)
    tier_rule_no_agent_no_wait: Mapped[bool] = mapped_column(Boolean, default=False)
    discard_abandoned_after: Mapped[int] = mapped_column(Integer, default=60)
    abandoned_resume_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    ring_progressively_delay: Mapped[int] = mapped_column(Integer, default=10)
    agent_no_answer_status: Mapped[str] = mapped_column(String(32), default="On Break")
    skip_agents_with_external_calls: Mapped[bool] = mapped_column(Boolean, default=True)
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=20)
    # The FreeSWITCH node (ESL_NODES name) the queue lives on; NULL: the first node.
    node: Mapped[str | None] = mapped_column(String(32), default=None)


class Tier(Base):
    """An agent's place in a queue (mod_callcenter's tier): the level and position the
    product wants; provisioning adds, sets and deletes tiers on the switch to match."""

    __tablename__ = "cc_tiers"
    __table_args__ = (UniqueConstraint("queue", "agent"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str] = mapped_column(String(128))
    level: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=1)


class Call(Base):
    __tablename__ = "cc_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(128), index=True)
    member_uuid: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(128), index=True)
    agent_leg: Mapped[str | None] = mapped_column(String(64))
    cid_name: Mapped[str] = mapped_column(String(128), default="")
    cid_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    offered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Indexed: the agents report picks calls by answer time (joined_at: the queues report).
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    transferred: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_destination: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    disposition: Mapped[str | None] = mapped_column(String(64))
    # The FreeSWITCH node that carried the call (ESL_NODES); NULL with one node.
    node: Mapped[str | None] = mapped_column(String(32), default=None)
    notes: Mapped[str | None] = mapped_column(Text)
    # After-call work: seconds from the call's end to the end of its wrap-up (disposition
    # saved, wrap-up closed, hold ran out, or the agent's next call answered), at most the
    # wrap-up limit; NULL when no wrap-up was owed (a desk-phone agent, an unanswered call).
    after_call_seconds: Mapped[float | None] = mapped_column(Float)


class AgentActivity(Base):
    __tablename__ = "cc_agent_activities"
    __table_args__ = (UniqueConstraint("agent", "started_at", "status", "state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    # Indexed: the reports pick the periods overlapping a day or a range by their ends.
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    seconds: Mapped[float] = mapped_column(Float)


class PauseReason(Base):
    __tablename__ = "pause_reasons"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(128))
    productive: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Disposition(Base):
    __tablename__ = "dispositions"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(128))
    company: Mapped[str | None] = mapped_column(String(128))
    notes: Mapped[str | None] = mapped_column(Text)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32), default="ok")


class AgentPresence(Base):
    """What the product knows about a signed-in agent and FreeSWITCH may forget (it
    restarted with ``truncate-agents-on-load``, or someone changed the agent by hand): who
    signed in, the status and pause reason they (or a supervisor) last chose, and the
    sequence of that choice, so a restart puts the agent back exactly as they left it."""

    __tablename__ = "cc_agent_presence"
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    signed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default="Logged Out")
    reason: Mapped[str | None] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OwedWrapUp(Base):
    """A finished call whose disposition the agent still owes (after-call work): offers
    stay away from the agent until ``until``, the disposition is saved or a supervisor
    closes it. Kept so a restart or a controller take-over still shows the wrap-up form
    and keeps the same deadline (services/wrap_up.py)."""

    __tablename__ = "cc_wrap_ups"
    call_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    cid_name: Mapped[str] = mapped_column(String(128), default="")
    cid_number: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeadLetter(Base):
    """A history record the database refused even after the recorder bounded its values:
    kept here with the reason, so the rest of the batch is written and nothing is lost."""

    __tablename__ = "cc_dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # call | activity | audit
    key: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class NodeMove(Base):
    """An agent or queue given another FreeSWITCH node (ESL_NODES) that its old node's
    switch still has: the old node's provisioner deletes the agent (``agent del``, its
    tiers with it) or unloads the queue there, then drops the row. Kept while that node
    is down or the agent is on a call, so the removal is never lost."""

    __tablename__ = "cc_node_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # agent | queue
    name: Mapped[str] = mapped_column(String(128), index=True)
    # The node it left (ESL_NODES name); NULL: the first node.
    node: Mapped[str | None] = mapped_column(String(32), default=None)
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
