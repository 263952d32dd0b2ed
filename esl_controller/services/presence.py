"""Who is signed in, kept in the database: the product's own record of each agent's
chosen status and reason (``cc_agent_presence``), so that a restart of FreeSWITCH *or* of
the controller can put every signed-in agent back as they left it.

The floor emits a ``presence`` change whenever a choice is made; this worker writes it
off the hub (the floor's greenlet only enqueues). At start, :func:`load_presence` reads
the rows back for the floor.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.model import Change, Presence
from esl_controller.services.worker import QueueWorker
from esl_controller.store.engine import session_scope
from esl_controller.store.models import AgentPresence

log = logging.getLogger(__name__)


def _when(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, tz=UTC)


def load_presence(sessions: sessionmaker[Session]) -> list[Presence]:
    """Every agent the product has a record of (blocking: call off the hub or at start)."""
    with session_scope(sessions) as session:
        rows = session.scalars(select(AgentPresence)).all()
        return [
            Presence(
                agent=row.agent,
                signed_in=row.signed_in,
                status=row.status,
                reason=row.reason,
                seq=row.seq,
                by=row.changed_by,
                at=row.changed_at.timestamp() if row.changed_at else None,
            )  # fmt: skip
            for row in rows
        ]


class PresenceStore(QueueWorker[Presence]):
    """Writes presence changes to the database in order, one row per agent."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self.sessions = sessions
        self.written = 0

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.kind == "presence" and isinstance(change.view, Presence):
                self.submit(change.view)

    def handle(self, item: Presence) -> None:
        # The database may be down: retry this row until it is written (later rows of
        # the same agent wait behind it, so the last choice always wins).
        if self.write_until_stored(lambda: self._write(item), f"presence of {item.agent}"):
            self.written += 1

    def _write(self, item: Presence) -> None:
        with session_scope(self.sessions) as session:
            row = session.get(AgentPresence, item.agent)
            if row is None:
                row = AgentPresence(agent=item.agent)
                session.add(row)
            elif row.seq > item.seq:
                return  # an older choice arriving late (after a controller restart)
            row.signed_in = item.signed_in
            row.status = item.status
            row.reason = item.reason
            row.seq = item.seq
            row.changed_by = item.by
            row.changed_at = _when(item.at)
