"""Reading the call history and the reference tables (pause reasons, dispositions).

The dashboard's views translate HTTP; the queries they need live here. Every method is
blocking database work: callers on the gevent hub run it in the thread pool (the
dashboard's ``off_hub``), never on the hub itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.store.engine import session_scope
from esl_controller.store.models import Call, Disposition, PauseReason


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call of the history, as the agent's page shows it."""

    call_uuid: str
    agent: str | None
    direction: str
    queue: str | None
    cid_name: str
    cid_number: str
    joined_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    talk_seconds: float | None
    hold_seconds: float
    outcome: str | None
    transferred: bool
    transfer_destination: str | None
    disposition: str | None
    notes: str | None
    node: str | None = None  # the FreeSWITCH node that carried it (ESL_NODES)


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    label: str


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _record(row: Call) -> CallRecord:
    return CallRecord(
        call_uuid=row.call_uuid, agent=row.agent, direction=row.direction, queue=row.queue,
        cid_name=row.cid_name, cid_number=row.cid_number, joined_at=utc(row.joined_at),
        answered_at=utc(row.answered_at), ended_at=utc(row.ended_at),
        talk_seconds=row.talk_seconds, hold_seconds=row.hold_seconds or 0.0,
        outcome=row.outcome, transferred=bool(row.transferred),
        transfer_destination=row.transfer_destination, disposition=row.disposition,
        notes=row.notes, node=row.node,
    )  # fmt: skip


class HistoryService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def recent_calls(self, agent: str, limit: int = 20) -> list[CallRecord]:
        """The agent's calls, newest first."""
        with session_scope(self.sessions) as session:
            query = select(Call).where(Call.agent == agent).order_by(Call.id.desc()).limit(limit)
            return [_record(row) for row in session.scalars(query)]

    def call(self, call_uuid: str) -> CallRecord | None:
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Call).where(Call.call_uuid == call_uuid))
            return None if row is None else _record(row)

    def pause_reason(self, text: str) -> Choice | None:
        """An active pause reason named by its code or its label, in any case."""
        wanted = text.strip().lower()
        with session_scope(self.sessions) as session:
            query = select(PauseReason.code, PauseReason.label).where(
                PauseReason.active.is_(True),
                (func.lower(PauseReason.code) == wanted)
                | (func.lower(PauseReason.label) == wanted),
            )
            rows = list(session.execute(query.order_by(PauseReason.code)))
        # A code wins over another reason's label that happens to read the same.
        for code, label in rows:
            if code.lower() == wanted:
                return Choice(code, label)
        return Choice(rows[0][0], rows[0][1]) if rows else None

    def disposition_exists(self, code: str) -> bool:
        with session_scope(self.sessions) as session:
            row = session.get(Disposition, code)
            return row is not None and row.active

    def pause_reasons(self) -> list[Choice]:
        return self._choices(PauseReason)

    def dispositions(self) -> list[Choice]:
        return self._choices(Disposition)

    def _choices(self, model: type[PauseReason] | type[Disposition]) -> list[Choice]:
        """The active codes of a reference table, by label."""
        with session_scope(self.sessions) as session:
            query = select(model.code, model.label).where(model.active.is_(True))
            return [
                Choice(code, label) for code, label in session.execute(query.order_by(model.label))
            ]
