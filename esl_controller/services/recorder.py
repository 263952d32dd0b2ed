"""The recorder: finished calls and agent activities from the floor, into the database.

It never blocks the floor's greenlet: :meth:`on_changes` only appends to an in-memory
queue. A writer greenlet takes batches and runs the database work in gevent's thread pool
(so neither SQLite nor a slow PostgreSQL can stall the hub). A batch leaves the queue only
after its transaction committed; while the database is unreachable the records wait and
are retried with capped backoff. Writes are idempotent (by call uuid, by activity key), so
a batch retried after a half-seen commit never doubles a row.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event as GeventEvent
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.model import Activity, CallView, Change
from esl_controller.store.engine import session_scope
from esl_controller.store.models import AuditEntry
from esl_controller.store.repositories import record_activity, upsert_call, when

log = logging.getLogger(__name__)
BATCH = 200


def call_record(call: CallView) -> dict[str, Any]:
    talk = None
    if call.answered_at is not None and call.ended_at is not None:
        talk = max(0.0, call.ended_at - call.answered_at - call.hold_seconds)
    return {
        "call_uuid": call.uuid,
        "direction": call.direction,
        "queue": call.queue,
        "member_uuid": call.member_uuid,
        "agent": call.agent,
        "agent_leg": call.agent_leg,
        "cid_name": call.cid_name,
        "cid_number": call.cid_number,
        "joined_at": when(call.joined_at),
        "offered_at": when(call.offered_at),
        "answered_at": when(call.answered_at),
        "ended_at": when(call.ended_at),
        "wait_seconds": call.wait_seconds,
        "talk_seconds": talk,
        "hold_seconds": call.hold_seconds,
        "transferred": call.transferred_at is not None,
        "outcome": call.outcome,
        "hangup_cause": call.cause,
    }


def activity_record(act: Activity) -> dict[str, Any]:
    return {
        "agent": act.agent,
        "status": act.status,
        "state": act.state,
        "reason": act.reason,
        "started_at": when(act.started_at),
        "ended_at": when(act.ended_at),
        "seconds": act.seconds,
    }


class Recorder:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        retry_initial: float = 0.2,
        retry_max: float = 5.0,
        run_blocking: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        self.sessions = sessions
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.pending: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        self.written = 0
        self.failures = 0
        self._wake = GeventEvent()
        self._idle = GeventEvent()
        self._idle.set()
        self._writer: gevent.Greenlet | None = None
        self._run_blocking = run_blocking or (
            lambda fn: gevent.get_hub().threadpool.spawn(fn).get()
        )

    # -- from the floor's greenlet: never blocks -------------------------------------

    def on_changes(self, changes: list[Change]) -> None:
        added = False
        for change in changes:
            if change.kind == "call_ended" and isinstance(change.view, CallView):
                self.pending.append(("call", call_record(change.view)))
                added = True
            elif change.kind == "activity" and isinstance(change.view, Activity):
                self.pending.append(("activity", activity_record(change.view)))
                added = True
        if added:
            self._idle.clear()
            self._wake.set()

    def audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Queue one audit entry (who did what to whom, and how it went)."""
        self.pending.append(("audit", {
            "at": when(time.time()), "actor": actor, "action": action, "target": target,
            "details": details, "outcome": outcome,
        }))  # fmt: skip
        self._idle.clear()
        self._wake.set()

    def annotate_call(self, call_uuid: str, *, disposition: str, notes: str) -> None:
        """Queue the agent's disposition and notes for a call's record (after its own
        record, which the queue already holds or has written)."""
        self.pending.append(("call", {"call_uuid": call_uuid, "disposition": disposition,
                                      "notes": notes or None}))  # fmt: skip
        self._idle.clear()
        self._wake.set()

    # -- the writer ------------------------------------------------------------------

    def start(self) -> None:
        if self._writer is None:
            self._writer = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.kill(block=False)
            self._writer = None

    def drained(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is in the database."""
        return bool(self._idle.wait(timeout))

    def _run(self) -> None:
        delay = self.retry_initial
        while True:
            if not self.pending:
                self._idle.set()
                self._wake.clear()
                self._wake.wait()
                continue
            batch = [self.pending[i] for i in range(min(BATCH, len(self.pending)))]
            try:
                self._run_blocking(lambda b=batch: self._write(b))  # type: ignore[misc]
            except Exception as exc:  # the database is down or refusing: keep, retry
                self.failures += 1
                log.warning("recorder: database write failed (%s); %d records waiting",
                            type(exc).__name__, len(self.pending))  # fmt: skip
                gevent.sleep(delay)
                delay = min(self.retry_max, delay * 2)
                continue
            delay = self.retry_initial
            for _ in batch:
                self.pending.popleft()
            self.written += len(batch)

    def _write(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        with session_scope(self.sessions) as session:
            for kind, record in batch:
                if kind == "call":
                    upsert_call(session, record)
                elif kind == "audit":
                    session.add(AuditEntry(**record))
                else:
                    record_activity(session, record)
                session.flush()
