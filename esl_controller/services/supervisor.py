"""Supervisor operations: force an agent's status or state, log an agent out, manage tiers
(add, remove, move between queues, level and position), listen / whisper / barge on an
agent's call from the supervisor's own phone (and switch between them while on it), and
short messages to an agent's page.

Every action is audited with who did it, what, on whom and how it went: ``ok``, or
``failed: <code>`` with FreeSWITCH's (or the product's) message in the details.

Reading helpers for the supervisor console (the product's people and queue settings from
the database, calls answered today) are plain functions over a session factory: callers
run them off the gevent hub.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gevent
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.errors import CallCenterError, InvalidArgument, NotFound
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.agents import AgentService, check_reason
from esl_controller.services.calls import CallService
from esl_controller.services.provisioning import ProvisioningStore
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Agent, Call, Queue, User

AuditCall = Callable[..., None]
Deliver = Callable[[dict[str, Any]], bool]

MAX_MESSAGE = 280  # a message to an agent is a short line, read at a glance
EAVESDROP_MODES = ("listen", "whisper", "barge")


@dataclass(frozen=True, slots=True)
class Eavesdrop:
    """A supervisor's phone on an agent's call: its leg, whose call, and the mode on."""

    uuid: str  # the supervisor's leg (it runs the eavesdrop application)
    supervisor: str
    agent: str
    call_uuid: str
    mode: str
    started_at: float


def check_message(text: object) -> str:
    """One line of at most :data:`MAX_MESSAGE` printable characters (outer spaces cut)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument("a message needs some text", code="empty_message")
    value = text.strip()
    if len(value) > MAX_MESSAGE:
        raise InvalidArgument(f"a message is at most {MAX_MESSAGE} characters",
                              code="message_too_long")  # fmt: skip
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in value):
        raise InvalidArgument("a message is one line without control characters",
                              code="message_control_characters")  # fmt: skip
    return value


class SupervisorService:
    """Every action is audited (who, what, on whom, outcome) when ``audit`` is given."""

    def __init__(
        self,
        api: ApiCall,
        calls: CallService,
        *,
        agents: AgentService,
        bgapi: ApiCall | None = None,
        audit: AuditCall | None = None,
        tiers: ProvisioningStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.agents = agents
        self.tiers = tiers
        self.api = api
        self.bgapi = bgapi or api
        self.calls = calls
        self.audit = audit
        self.clock = clock
        self._eavesdrops: dict[str, Eavesdrop] = {}

    def _audited(self, actor: str, action: str, target: str, details: dict[str, Any],
                 run: Callable[[], Any]) -> Any:  # fmt: skip
        try:
            result = run()
        except CallCenterError as exc:
            self._record(actor, action, target, {**details, "error": exc.message},
                         f"failed: {exc.code}")  # fmt: skip
            raise
        except Exception as exc:
            self._record(actor, action, target, {**details, "error": str(exc)[:200]},
                         f"failed: {type(exc).__name__}")  # fmt: skip
            raise
        self._record(actor, action, target, details, "ok")
        return result

    def _record(self, actor: str, action: str, target: str, details: dict[str, Any],
                outcome: str) -> None:  # fmt: skip
        if self.audit is not None:
            self.audit(actor, action, target, details, outcome)

    # -- status and state --------------------------------------------------------------

    def force_status(
        self, agent: str, status: str, *, by: str = "supervisor", reason: str | None = None
    ) -> None:
        """The agent sees why: the reason the supervisor picked, or "Supervisor: <name>".
        The forced status is the product's chosen status for the agent, as if the agent
        had picked it: any status but Logged Out counts as signed in (a restart of
        FreeSWITCH puts the agent back so, even one who never opened the agent page and
        works from a desk phone); forcing Logged Out signs the agent out (a restart will
        not put them back)."""
        default = f"Supervisor: {by}"[:64]
        shown: str | None = check_reason(reason) if reason is not None else default
        if status in ("Available", "Available (On Demand)"):
            shown = None
        signed_in = status != "Logged Out"
        self._audited(
            by, "force_status", agent, {"status": status, "reason": shown},
            lambda: self.agents.set_status(agent, status, shown, by=by, signed_in=signed_in),
        )  # fmt: skip

    def force_state(self, agent: str, state: str, *, by: str = "supervisor") -> None:
        command = cc.agent_set_state(agent, state)
        self._audited(
            by, "force_state", agent, {"state": state},
            lambda: replies.expect_ok(self.api(command)),
        )  # fmt: skip

    def log_out(self, agent: str, *, by: str = "supervisor") -> None:
        self.force_status(agent, "Logged Out", by=by)

    # -- tiers ---------------------------------------------------------------------------

    def add_tier(self, queue: str, agent: str, level: int = 1, position: int = 1, *,
                 by: str = "supervisor") -> None:  # fmt: skip
        command = cc.tier_add(queue, agent, level, position)
        self._audited(by, "tier_add", agent, {"queue": queue, "level": level,
                                               "position": position},
                      lambda: replies.expect_ok(self.api(command)))  # fmt: skip
        self._remember(lambda t: t.set_tier(queue, agent, level, position))

    def remove_tier(self, queue: str, agent: str, *, by: str = "supervisor") -> None:
        command = cc.tier_del(queue, agent)
        self._audited(by, "tier_remove", agent, {"queue": queue},
                      lambda: replies.expect_ok(self.api(command)))  # fmt: skip
        self._remember(lambda t: t.del_tier(queue, agent, missing_ok=True))

    def set_level(self, queue: str, agent: str, level: int, *, by: str = "supervisor") -> None:
        command = cc.tier_set("level", queue, agent, level)
        self._audited(by, "tier_level", agent, {"queue": queue, "level": level},
                      lambda: replies.expect_ok(self.api(command)))  # fmt: skip
        self._remember(lambda t: t.set_tier(queue, agent, level))

    def set_tier(self, queue: str, agent: str, *, level: int | None = None,
                 position: int | None = None, by: str = "supervisor") -> None:  # fmt: skip
        """Change an agent's level and/or position in a queue it is already in."""
        if level is None and position is None:
            raise InvalidArgument("give a level, a position or both")
        commands = []
        if level is not None:
            commands.append(cc.tier_set("level", queue, agent, level))
        if position is not None:
            commands.append(cc.tier_set("position", queue, agent, position))

        def run() -> None:
            for command in commands:
                replies.expect_ok(self.api(command))

        details = {"queue": queue, "level": level, "position": position}
        self._audited(by, "tier_set", agent, details, run)
        self._remember(lambda t: t.set_tier(queue, agent, level, position, create=False))

    def move_tier(self, agent: str, from_queue: str, to_queue: str, level: int = 1,
                  position: int = 1, *, by: str = "supervisor") -> None:  # fmt: skip
        """Take the agent out of ``from_queue`` and put it in ``to_queue`` (added there
        first, so the agent is never in no queue at all). When the removal is refused
        after the add, the agent is in both and the error says so."""
        if from_queue == to_queue:
            self.set_tier(to_queue, agent, level=level, position=position, by=by)
            return
        add = cc.tier_add(to_queue, agent, level, position)
        remove = cc.tier_del(from_queue, agent)

        def run() -> None:
            replies.expect_ok(self.api(add))
            try:
                replies.expect_ok(self.api(remove))
            except CallCenterError as exc:
                exc.message = (f"{agent} was added to {to_queue} but FreeSWITCH kept it in "
                               f"{from_queue}: {exc.message}")  # fmt: skip
                self._remember(lambda t: t.set_tier(to_queue, agent, level, position))
                raise

        details = {"from": from_queue, "to": to_queue, "level": level, "position": position}
        self._audited(by, "tier_move", agent, details, run)
        self._remember(lambda t: t.set_tier(to_queue, agent, level, position))
        self._remember(lambda t: t.del_tier(from_queue, agent, missing_ok=True))

    def tier_rows(self) -> list[dict[str, Any]]:
        """Every tier FreeSWITCH has loaded: queue, agent, level, position, state."""
        rows = replies.json_api(self.api(cc.json_query("tier list")))
        out = []
        for row in rows:
            out.append({
                "queue": str(row.get("queue", "")), "agent": str(row.get("agent", "")),
                "level": _int(row.get("level"), 1), "position": _int(row.get("position"), 1),
                "state": str(row.get("state", "")),
            })  # fmt: skip
        return sorted(out, key=lambda r: (r["queue"], r["level"], r["position"], r["agent"]))

    def queue_rows(self) -> list[dict[str, Any]]:
        """Every queue FreeSWITCH has loaded, with its settings as it lists them."""
        return replies.json_api(self.api(cc.json_query("queue list")))

    def _remember(self, change: Callable[[ProvisioningStore], object]) -> None:
        """Keep a tier change FreeSWITCH accepted in ``cc_tiers`` (off the hub), so
        provisioning puts it back after a restart."""
        if self.tiers is not None:
            tiers = self.tiers
            gevent.get_hub().threadpool.spawn(change, tiers).get()

    # -- listen / whisper / barge --------------------------------------------------------

    def eavesdrop(self, supervisor_endpoint: str, agent: str, mode: str = "listen", *,
                  by: str = "supervisor") -> str:  # fmt: skip
        """Ring the supervisor's phone; once answered it hears the agent's call. An
        attempt on an agent with no call is audited as failed too."""

        def run() -> str:
            call = self.calls.current_call(agent)
            command = og.eavesdrop(
                call_uuid=str(uuid.uuid4()), supervisor_endpoint=supervisor_endpoint,
                agent_leg_uuid=call.agent_leg or "", mode=mode,
            )  # fmt: skip
            leg = replies.originate(self.bgapi(command))
            self._eavesdrops[leg] = Eavesdrop(leg, by, agent, call.uuid, mode, self.clock())
            return leg

        details = {"mode": mode, "from": supervisor_endpoint}
        return str(self._audited(by, f"eavesdrop_{mode}", agent, details, run))

    def eavesdrop_mode(self, leg: str, mode: str, *, by: str = "supervisor") -> Eavesdrop:
        """Switch the supervisor's running eavesdrop to ``mode``: a DTMF digit queued on
        the supervisor's own leg, read by FreeSWITCH's eavesdrop (0 / 2 / 3)."""
        session = self._own(leg, by)
        command = ch.eavesdrop_mode(leg, mode)

        def run() -> Eavesdrop:
            try:
                replies.expect_ok(self.api(command))
            except NotFound:
                self._eavesdrops.pop(leg, None)
                raise NotFound("your phone is no longer on that call",
                               code="eavesdrop_gone") from None  # fmt: skip
            changed = replace(session, mode=mode)
            self._eavesdrops[leg] = changed
            return changed

        details = {"mode": mode, "was": session.mode, "leg": leg}
        result: Eavesdrop = self._audited(by, "eavesdrop_mode", session.agent, details, run)
        return result

    def eavesdrop_stop(self, leg: str, *, by: str = "supervisor") -> None:
        """Hang up the supervisor's eavesdrop leg (the agent's call goes on)."""
        session = self._own(leg, by)

        def run() -> None:
            with contextlib.suppress(NotFound):  # already gone: what was asked for
                replies.expect_ok(self.api(ch.uuid_kill(leg)))
            self._eavesdrops.pop(leg, None)

        self._audited(by, "eavesdrop_stop", session.agent, {"leg": leg}, run)

    def eavesdrops(self, by: str, live_calls: set[str]) -> list[Eavesdrop]:
        """The supervisor's eavesdrops on calls still in ``live_calls`` (the others
        ended with their call and are forgotten)."""
        for leg, session in list(self._eavesdrops.items()):
            if session.call_uuid not in live_calls:
                self._eavesdrops.pop(leg, None)
        return [e for e in self._eavesdrops.values() if e.supervisor == by]

    def _own(self, leg: str, by: str) -> Eavesdrop:
        session = self._eavesdrops.get(leg)
        if session is None or session.supervisor != by:
            raise NotFound("no eavesdrop of yours with that id (it may have ended)",
                           code="no_eavesdrop")  # fmt: skip
        return session

    # -- messages ------------------------------------------------------------------------

    def send_message(self, agent: str, text: str, *, by: str, by_name: str,
                     deliver: Deliver) -> bool:  # fmt: skip
        """A short message popped up on the agent's page; True when a page of the agent
        was open to receive it. Audited with its text."""
        body = check_message(text)
        payload = {"agent": agent, "from": by_name, "text": body, "at": self.clock()}
        delivered: bool = self._audited(by, "message", agent, {"text": body},
                                        lambda: deliver(payload))  # fmt: skip
        return delivered


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


# -- reads for the console (blocking: run off the hub) ----------------------------------


def people(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """The product's users that are mod_callcenter agents: agent, user name, display name
    and extension (the console shows names, not ``1000@default``)."""
    with session_scope(sessions) as session:
        rows = session.execute(
            select(Agent.name, User.username, User.display_name, User.extension)
            .join(User, Agent.user_id == User.id)
            .order_by(Agent.name)
        )
        return [{"agent": a, "username": u, "display_name": d or u, "extension": e}
                for a, u, d, e in rows]  # fmt: skip


def service_levels(sessions: sessionmaker[Session]) -> dict[str, float]:
    """Each product queue's service-level threshold in seconds."""
    with session_scope(sessions) as session:
        return {name: float(seconds) for name, seconds in
                session.execute(select(Queue.name, Queue.service_level_seconds))}  # fmt: skip


def start_of_day(now: float) -> dt.datetime:
    """Local midnight of ``now`` (the server's time zone), as an aware UTC datetime."""
    local = dt.datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def answered_today(sessions: sessionmaker[Session], now: float) -> dict[str, int]:
    """Recorded queue calls each agent answered since local midnight (finished calls only:
    the history is written as calls end)."""
    since = start_of_day(now)
    with session_scope(sessions) as session:
        rows = session.execute(
            select(Call.agent, func.count())
            .where(Call.agent.is_not(None), Call.queue.is_not(None),
                   Call.answered_at.is_not(None), Call.answered_at >= since)
            .group_by(Call.agent)
        )  # fmt: skip
        return {str(agent): int(count) for agent, count in rows}
