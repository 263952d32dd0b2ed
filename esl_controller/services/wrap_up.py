"""After-call work: an agent whose page is open stays out of offers after a call until a
disposition is saved (at most ``limit`` seconds), and the disposition lands on the call
it names — never on another, and never over one already saved.

mod_callcenter's own ``wrap_up_time`` is a fixed gate after every bridge; a product wants
"until the agent has filled in the form". The service sets the agent's ``ready_time`` in
the future when a call ends and back to 0 once no call of the agent is owed a disposition
any more. A call that ended is *owed* until its disposition is saved, the agent or a
supervisor closes it, or the hold runs out; owed calls are listed for the agent's page.

The floor's change records arrive in the floor's owner greenlet: :meth:`on_changes` only
notes the owed call (so a request that follows sees it) and queues the FreeSWITCH command
for this service's own greenlet, so neither the floor nor a request waits on the switch.

Which call: a request names it (``call_uuid``). Without a name it is the one call owed or
in progress; with several, the request is refused (409 ``call_uuid_required``) rather than
guessed — a wrap-up sent right after a hang-up whose event is not applied yet would
otherwise land on the previous call.

Owed calls are the product's, not the switch's: they are kept in ``cc_wrap_ups``
(:class:`WrapUpStore`, written off the hub in order), read back when the service starts
(the one-process ``serve`` restarted, or a controller began its lease term), and the hold
is put back on the switch with the same deadline after every resync (the switch restarted
and forgot ``ready_time``, or this process just connected). A hold whose deadline passed
while no controller ran is over: it is dropped at start, so the agent takes calls again in
the status they chose, as when a hold runs out while running; the call can still be given
a disposition by naming it.

After-call work: when a call's wrap-up ends — its disposition saved, closed, its hold run
out (at its deadline, also for one read back after it ran out while stopped), or the
agent's next call answered first — the seconds from the call's end to then go to its
history row (``after_call_seconds``, through the recorder, so off the hub), once, kept
between 0 and the wrap-up limit. A call no wrap-up was owed for keeps NULL.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gevent
from sqlalchemy import delete, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.bounded import bounded_record
from esl_controller.domain.model import CallView, Change
from esl_controller.errors import CallCenterError, CommandFailed, NotFound
from esl_controller.services.agents import MAX_WRAP_UP, AgentService
from esl_controller.services.floor_service import FloorService
from esl_controller.services.history import HistoryService
from esl_controller.services.recorder import Recorder
from esl_controller.services.worker import QueueWorker
from esl_controller.store.engine import session_scope
from esl_controller.store.models import OwedWrapUp

log = logging.getLogger(__name__)


class HistoryUnavailable(CallCenterError):
    """The database cannot be read, so whether a call already has a disposition is
    unknown: refused rather than risk replacing one."""

    code = "history_unavailable"
    http_status = 503


KEPT_CALLS = 20  # finished calls remembered per agent
KEPT_DISPOSITIONS = 10_000  # dispositions saved through this process, remembered


@dataclass(frozen=True, slots=True)
class Owed:
    """A finished call awaiting its disposition; offers are held until ``until``."""

    call_uuid: str
    agent: str
    direction: str
    cid_name: str
    cid_number: str
    outcome: str | None
    ended_at: float | None
    until: float


@dataclass(frozen=True, slots=True)
class _Hold:
    agent: str
    call_uuid: str | None  # the call that ended; None: release the hold
    again: bool = False  # put back on the switch (already stored)


def _moment(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, tz=UTC)


def _epoch(moment: datetime) -> float:
    # SQLite gives back what was written (UTC) without its zone.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


LIMITS = {column.key: getattr(column.type, "length", None)
          for column in OwedWrapUp.__table__.columns
          if isinstance(getattr(column.type, "length", None), int)}  # fmt: skip


def _row(owed: Owed) -> dict[str, Any]:
    """The columns of ``owed``, with text from FreeSWITCH bounded to the column sizes."""
    return bounded_record({
        "call_uuid": owed.call_uuid, "agent": owed.agent, "direction": owed.direction,
        "cid_name": owed.cid_name or "", "cid_number": owed.cid_number or "",
        "outcome": owed.outcome, "ended_at": _moment(owed.ended_at),
        "until": _moment(owed.until),
    }, LIMITS)  # fmt: skip


def _owed(row: OwedWrapUp) -> Owed:
    ended = _epoch(row.ended_at) if row.ended_at is not None else None
    return Owed(call_uuid=row.call_uuid, agent=row.agent, direction=row.direction,
                cid_name=row.cid_name, cid_number=row.cid_number, outcome=row.outcome,
                ended_at=ended, until=_epoch(row.until))  # fmt: skip


class WrapUpStore(QueueWorker[tuple[str, Any]]):
    """``cc_wrap_ups``: owed calls written in the order they were noted and settled, in a
    thread (never on the hub). While the database cannot be reached a write is retried;
    one it refuses is logged and dropped (the call stays owed in memory)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self.sessions = sessions
        self.written = 0

    def put(self, owed: Owed) -> None:
        self.submit(("put", owed))

    def drop(self, call_uuids: list[str]) -> None:
        if call_uuids:
            self.submit(("drop", list(call_uuids)))

    def load(self) -> list[Owed]:
        """Every stored owed call (blocking: call off the hub or at start)."""
        with session_scope(self.sessions) as session:
            return [_owed(row) for row in session.scalars(select(OwedWrapUp))]

    def handle(self, item: tuple[str, Any]) -> None:
        # Retried while the database is unreachable; a row it refuses is given up.
        if self.write_until_stored(lambda: self._write(item), f"owed wrap-up {item[0]}",
                                   retry=(OperationalError, InterfaceError)):  # fmt: skip
            self.written += 1

    def _write(self, item: tuple[str, Any]) -> None:
        kind, value = item
        with session_scope(self.sessions) as session:
            if kind == "put":
                session.merge(OwedWrapUp(**_row(value)))
            else:
                uuids = [_row_uuid(u) for u in value]
                session.execute(delete(OwedWrapUp).where(OwedWrapUp.call_uuid.in_(uuids)))


def _row_uuid(call_uuid: str) -> str:
    return str(bounded_record({"call_uuid": call_uuid}, LIMITS)["call_uuid"])


class WrapUpService(QueueWorker[_Hold]):
    def __init__(
        self,
        agents: AgentService,
        recorder: Recorder,
        *,
        history: HistoryService | None = None,
        floor: FloorService | None = None,
        limit: int = 120,
        wanted: Callable[[str], bool] = lambda agent: True,
        clock: Callable[[], float] = time.time,
        run_blocking: Callable[[Callable[[], Any]], Any] | None = None,
        sessions: sessionmaker[Session] | None = None,
    ) -> None:
        super().__init__()
        # Without a database (unit tests), owed calls live in memory only.
        self.store = WrapUpStore(sessions) if sessions is not None else None
        self._loaded = False
        self.agents = agents
        self.recorder = recorder
        self.history = history
        self.floor = floor
        self.limit = limit
        self.wanted = wanted  # which agents get the wrap-up hold (those with a page open)
        self.clock = clock
        self._run_blocking = run_blocking or (
            lambda fn: gevent.get_hub().threadpool.spawn(fn).get()
        )
        self.owed: dict[str, dict[str, Owed]] = {}  # agent -> call uuid -> owed call
        self.recent: dict[str, collections.deque[str]] = {}  # agent -> finished call uuids
        # call uuid -> disposition saved through this process (the database may not have
        # it yet: the recorder writes behind).
        self.saved: collections.OrderedDict[str, tuple[str, str | None]] = collections.OrderedDict()
        self._saving: set[str] = set()
        # Calls whose after-call work was recorded (once per call).
        self._worked: collections.OrderedDict[str, None] = collections.OrderedDict()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Read back the calls owed before this process (or this lease term) began, then
        start the greenlets; the holds go back on the switch at the first resync."""
        if self.store is not None and not self._loaded:
            self._loaded = True
            self._load(self.store)
            self.store.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        if self.store is not None:
            self.store.stop()

    def problem(self) -> str | None:
        return super().problem() or (self.store.problem() if self.store else None)

    def _load(self, store: WrapUpStore) -> None:
        try:
            rows = self._run_blocking(store.load)
        except SQLAlchemyError as exc:
            log.error("wrap-ups owed before the restart cannot be read (%s): their agents "
                      "are not held", exc)  # fmt: skip
            return
        now = self.clock()
        over = [o for o in rows if o.until <= now]
        for owed in rows:
            if owed.until <= now:
                continue
            self.owed.setdefault(owed.agent, {}).setdefault(owed.call_uuid, owed)
            self.recent.setdefault(owed.agent, collections.deque(maxlen=KEPT_CALLS)).append(
                owed.call_uuid
            )
        for owed in over:
            # Its deadline passed while nothing ran: over, as if it had run out here (the
            # switch's ready_time passed too; a switch that restarted has none).
            log.warning("wrap-up of %s for call %s ran out while stopped; %s takes calls "
                        "again", owed.agent, owed.call_uuid, owed.agent)  # fmt: skip
            self._worked_until(owed, owed.until)
        store.drop([o.call_uuid for o in over])
        if rows:
            log.warning("wrap-up: %d owed call(s) read back, %d ran out meanwhile",
                        len(rows) - len(over), len(over))  # fmt: skip

    def _hold_again(self) -> None:
        """After a resync and the restore of signed-in agents (services/restore.py): every
        agent still owing a disposition is held again until its deadline (FreeSWITCH that
        restarted forgot ``ready_time``; one that did not keeps the same value). Never
        blocks: the commands go from this service's greenlet."""
        for agent in list(self.owed):
            owed = self.owed_calls(agent)
            if owed:
                self.submit(_Hold(agent, owed[-1].call_uuid, again=True))

    # -- from the floor's greenlet: never blocks ---------------------------------------

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.kind == "call_ended" and isinstance(change.view, CallView):
                call = change.view
                if call.agent and call.answered_at is not None:
                    self._ended(call)
            elif change.kind == "call" and isinstance(change.view, CallView):
                call = change.view
                if call.agent and call.answered_at is not None and call.agent in self.owed:
                    self._next_call(call.agent, call.uuid, call.answered_at)

    def _next_call(self, agent: str, call_uuid: str, answered_at: float) -> None:
        """The agent answered another call: the after-call work of the calls still owed
        ended there (they stay owed: the disposition is still awaited)."""
        for owed in list(self.owed.get(agent, {}).values()):
            if owed.call_uuid != call_uuid and (owed.ended_at or 0.0) <= answered_at:
                self._worked_until(owed, min(answered_at, owed.until))

    def _ended(self, call: CallView) -> None:
        agent = call.agent or ""
        calls = self.recent.setdefault(agent, collections.deque(maxlen=KEPT_CALLS))
        if call.uuid not in calls:
            calls.append(call.uuid)
        if call.uuid in self.saved:
            return  # the agent saved the disposition before the hang-up reached us
        until = self.clock() + self.limit
        self.owed.setdefault(agent, {})[call.uuid] = Owed(
            call_uuid=call.uuid, agent=agent, direction=call.direction,
            cid_name=call.cid_name, cid_number=call.cid_number, outcome=call.outcome,
            ended_at=call.ended_at, until=until,
        )  # fmt: skip
        self.submit(_Hold(agent, call.uuid))

    def handle(self, hold: _Hold) -> None:
        """In this service's greenlet: the checks that may block (which agents have a
        page) and the FreeSWITCH commands."""
        agent = hold.agent
        if hold.call_uuid is not None:
            if not self.wanted(agent):  # a desk-phone agent keeps mod_callcenter's gate
                self.owed.get(agent, {}).pop(hold.call_uuid, None)
                if hold.again and self.store is not None:
                    self.store.drop([hold.call_uuid])
                return
            owed = self.owed.get(agent, {}).get(hold.call_uuid)
            if owed is None:
                return  # saved or closed meanwhile: nothing to hold for
            if self.store is not None and not hold.again:
                self.store.put(owed)
        self._command(agent, hold=hold.call_uuid is not None)

    def _command(self, agent: str, *, hold: bool) -> None:
        try:
            if hold:
                # Until the newest owed call's deadline (mod_callcenter's ready_time is
                # whole seconds): the same value for a call that just ended and for one
                # read back after a restart or put back after the switch restarted.
                owed = self.owed_calls(agent)
                if not owed:
                    return  # ran out meanwhile
                left = math.ceil(owed[-1].until) - int(self.clock())
                self.agents.hold_wrap_up(agent, max(1, min(MAX_WRAP_UP, left)))
            else:
                self.agents.end_wrap_up(agent)
        except CallCenterError as exc:
            log.warning("wrap-up %s for %s failed: %s", "hold" if hold else "release",
                        agent, exc)  # fmt: skip

    def _worked_until(self, owed: Owed, end: float) -> None:
        """The wrap-up of ``owed`` ended at ``end``: its after-call work goes to the
        history once (never blocks: the recorder writes it)."""
        if owed.call_uuid in self._worked:
            return
        self._worked[owed.call_uuid] = None
        while len(self._worked) > KEPT_DISPOSITIONS:
            self._worked.popitem(last=False)
        # From the call's end (else from when the hold began), within 0..limit: the
        # switch's clock and ours may differ a little.
        began = owed.ended_at if owed.ended_at is not None else owed.until - self.limit
        seconds = max(0.0, min(float(self.limit), end - began))
        self.recorder.after_call_work(owed.call_uuid, seconds)

    # -- reading -----------------------------------------------------------------------

    def owed_calls(self, agent: str) -> list[Owed]:
        """The agent's calls awaiting a disposition whose hold has not run out, oldest
        first (a hold that ran out no longer keeps offers away: FreeSWITCH's ready_time
        passed too; the call can still be given a disposition by naming it)."""
        now = self.clock()
        calls = self.owed.get(agent, {})
        over = [u for u, owed in calls.items() if owed.until <= now]
        for uuid in over:
            owed = calls.pop(uuid)
            self._worked_until(owed, owed.until)  # the hold ran out at its deadline
        if over and self.store is not None:
            self.store.drop(over)
        return sorted(calls.values(), key=lambda o: o.until)

    def waiting_for(self, agent: str) -> tuple[str, float] | None:
        """The newest call whose disposition is awaited, and until when offers are held."""
        owed = self.owed_calls(agent)
        return (owed[-1].call_uuid, owed[-1].until) if owed else None

    def last_call(self, agent: str) -> str | None:
        calls = self.recent.get(agent)
        return calls[-1] if calls else None

    # -- saving ------------------------------------------------------------------------

    def _live_calls(self, agent: str) -> list[str]:
        """The agent's answered calls still on the floor (one may be ending right now)."""
        if self.floor is None:
            return []
        snap = self.floor.snapshot()
        return [c.uuid for c in snap.calls.values()
                if c.agent == agent and c.answered_at is not None]  # fmt: skip

    def _target(self, agent: str, call_uuid: str | None) -> str:
        owed = [o.call_uuid for o in self.owed_calls(agent)]
        live = self._live_calls(agent)
        if call_uuid is not None:
            if call_uuid in owed or call_uuid in live or call_uuid in self.recent.get(agent, ()):
                return call_uuid
            record = self._lookup(call_uuid)
            if record is not None and record.agent == agent:
                return call_uuid
            raise NotFound(f"{agent} has no call {call_uuid}", code="no_call")
        candidates = list(dict.fromkeys(owed + live))
        if len(candidates) > 1:
            raise CommandFailed(
                f"{len(candidates)} calls await a disposition: name one with call_uuid",
                code="call_uuid_required",
            )
        if candidates:
            return candidates[0]
        last = self.last_call(agent)
        if last is None:
            raise NotFound(f"{agent} has no finished call", code="no_call")
        return last

    def _lookup(self, call_uuid: str) -> Any:
        if self.history is None:
            return None
        history = self.history
        try:
            return self._run_blocking(lambda: history.call(call_uuid))
        except SQLAlchemyError as exc:
            # Without the history we cannot tell whether a disposition would be replaced.
            reason = type(exc).__name__
            raise HistoryUnavailable(f"the call history cannot be read now ({reason})") from exc

    def _saved_disposition(self, agent: str, call_uuid: str) -> tuple[str | None, str | None]:
        """The call's disposition and notes as saved so far (by this process, else in
        the history), or (None, None). While the database cannot be read, a call this
        process saw end (or still runs) counts as having none — a disposition saved
        since the process started would be known here — so an outage does not stop the
        wrap-up of the call just finished (the recorder keeps it until written)."""
        if call_uuid in self.saved:
            return self.saved[call_uuid]
        try:
            record = self._lookup(call_uuid)
        except HistoryUnavailable:
            if call_uuid in self.recent.get(agent, ()) or call_uuid in self._live_calls(agent):
                return None, None
            raise
        if record is None:
            return None, None
        return record.disposition, record.notes

    def save(
        self,
        agent: str,
        disposition: str,
        notes: str,
        call_uuid: str | None,
        *,
        edit: bool = False,
        actor: str | None = None,
    ) -> str:
        """Record the disposition on the agent's call and let offers come again once no
        call is owed. A call that already has one is refused (409
        ``already_dispositioned``) unless ``edit``: then the old one is kept in the audit
        log. Returns the call's uuid."""
        target = self._target(agent, call_uuid)
        if target in self._saving:
            raise CommandFailed(f"a disposition for {target} is being saved",
                                code="already_dispositioned")  # fmt: skip
        self._saving.add(target)
        try:
            old, old_notes = self._saved_disposition(agent, target)
            if old is not None and not edit:
                raise CommandFailed(
                    f"call {target} already has the disposition {old!r}; send edit: true to "
                    "change it", code="already_dispositioned",
                )  # fmt: skip
            self.recorder.annotate_call(target, disposition=disposition, notes=notes)
            self.saved[target] = (disposition, notes or None)
            while len(self.saved) > KEPT_DISPOSITIONS:
                self.saved.popitem(last=False)
            if old is not None:
                self.recorder.audit(actor or agent, "disposition_edit", target, {
                    "agent": agent, "old": {"disposition": old, "notes": old_notes},
                    "new": {"disposition": disposition, "notes": notes or None},
                })  # fmt: skip
        finally:
            self._saving.discard(target)
        self._settle(agent, [target])
        return target

    def close(self, agent: str, call_uuid: str | None, *, actor: str) -> list[str]:
        """Stop waiting for a disposition: the named owed call, or every call owed by the
        agent. Offers come again once nothing is owed; the hold is released even when
        nothing is owed here (a hold this process no longer knows about, e.g. after a
        restart). Audited with who closed it. Returns the closed calls."""
        owed = [o.call_uuid for o in self.owed_calls(agent)]
        if call_uuid is not None and call_uuid not in owed:
            raise NotFound(f"no disposition is awaited for call {call_uuid}",
                           code="no_wrap_up")  # fmt: skip
        closed = [call_uuid] if call_uuid is not None else owed
        self.recorder.audit(actor, "wrap_up_close", agent, {"calls": closed})
        self._settle(agent, closed)
        return closed

    def _settle(self, agent: str, done: list[str]) -> None:
        """Forget the calls; once nothing is owed, offers may come again (at once, from
        the request: a hold still queued for a call no longer owed is skipped)."""
        calls = self.owed.get(agent, {})
        now = self.clock()
        for uuid in done:
            owed = calls.pop(uuid, None)
            if owed is not None:
                self._worked_until(owed, min(now, owed.until))
        if self.store is not None:
            self.store.drop(done)
        if not self.owed_calls(agent):
            self._command(agent, hold=False)
