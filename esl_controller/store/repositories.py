"""Repositories: the few ways the product reads and writes its tables.

Writes of history are idempotent: a call is keyed by its uuid and an activity by
(agent, start, status, state), so writing the same record twice — after a resync, or when
the recorder retries a batch the database half-accepted — never doubles a row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl_controller.store.models import AgentActivity, Call, Disposition, PauseReason

DEFAULT_PAUSE_REASONS = (
    ("login", "Login", False), ("lunch", "Lunch", False), ("break", "Break", False),
    ("training", "Training", True), ("meeting", "Meeting", True),
    ("phone_offline", "Phone offline", False), ("missed_calls", "Missed calls", False),
)  # fmt: skip
DEFAULT_DISPOSITIONS = (
    ("resolved", "Resolved"), ("callback", "Callback requested"), ("escalated", "Escalated"),
    ("wrong_number", "Wrong number"), ("sale", "Sale"),
)  # fmt: skip
STAGES = ("joined_at", "offered_at", "answered_at", "ended_at")


def when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def upsert_call(session: Session, record: dict[str, Any]) -> Call:
    """Insert or update by ``call_uuid``; a stage already recorded is never unset."""
    row = session.scalar(select(Call).where(Call.call_uuid == record["call_uuid"]))
    if row is None:
        row = Call(call_uuid=record["call_uuid"], direction=record.get("direction", "inbound"))
        session.add(row)
    for key, value in record.items():
        if key == "call_uuid":
            continue
        if key in STAGES and value is None and getattr(row, key) is not None:
            continue  # forward only: an ended call never goes back to "not ended"
        setattr(row, key, value)
    return row


def record_activity(session: Session, record: dict[str, Any]) -> bool:
    """Store one closed activity once; False when it was already there."""
    exists = session.scalar(
        select(AgentActivity.id).where(
            AgentActivity.agent == record["agent"],
            AgentActivity.started_at == record["started_at"],
            AgentActivity.status == record["status"],
            AgentActivity.state == record["state"],
        )
    )
    if exists is not None:
        return False
    session.add(AgentActivity(**record))
    return True


def seed_defaults(session: Session) -> None:
    for code, label, productive in DEFAULT_PAUSE_REASONS:
        if session.get(PauseReason, code) is None:
            session.add(PauseReason(code=code, label=label, productive=productive))
    for code, label in DEFAULT_DISPOSITIONS:
        if session.get(Disposition, code) is None:
            session.add(Disposition(code=code, label=label))


def recent_calls(session: Session, agent: str, limit: int = 20) -> list[Call]:
    query = select(Call).where(Call.agent == agent).order_by(Call.joined_at.desc()).limit(limit)
    return list(session.scalars(query))
