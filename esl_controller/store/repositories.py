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
LOST = "lost"  # outcome of a call whose end the product did not see


def when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def upsert_call(session: Session, record: dict[str, Any]) -> Call:
    """Insert or update by ``call_uuid``; a stage already recorded is never unset.

    Two processes may write the same call (a controller that took over records ``lost``
    a call the one before it saw end; a spill file replayed later brings the real end):
    ``lost`` is the product's word for "the end was not seen", so it never replaces an
    outcome that was seen, while a seen outcome replaces ``lost``. Whichever order the
    writes come in, the call is one row with what was known. (Two inserts racing on the
    unique uuid: the loser's transaction fails, the recorder writes its batch again one
    record at a time, and this finds the row.)"""
    row = session.scalar(select(Call).where(Call.call_uuid == record["call_uuid"]))
    if row is None:
        row = Call(call_uuid=record["call_uuid"], direction=record.get("direction", "inbound"))
        session.add(row)
    guess = record.get("outcome") == LOST and row.outcome not in (None, LOST)
    for key, value in record.items():
        if key == "call_uuid":
            continue
        if key in STAGES and value is None and getattr(row, key) is not None:
            continue  # forward only: an ended call never goes back to "not ended"
        if guess and getattr(row, key) is not None:
            continue  # a guess fills gaps only
        if key == "after_call_seconds" and getattr(row, key) is not None:
            continue  # written once: the first end of the wrap-up counts
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
