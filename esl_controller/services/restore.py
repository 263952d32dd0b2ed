"""Restore after a FreeSWITCH restart: signed-in agents put back as they left them.

mod_callcenter with ``truncate-agents-on-load`` (the shipped ``freeswitch_conf/`` sets it)
reloads its agents and tiers from ``callcenter.conf.xml`` on start: every agent comes
back ``Logged Out`` and tiers changed at runtime are gone, while the agents' pages stay
signed in and would never get a call again. After every resync the floor lists the
signed-in agents the switch forgot (:meth:`Floor.to_restore`); this worker sets each one's
status and reason back (state ``Waiting``), re-adds the tiers the product changed
(``cc_tiers``), logs every repair and tells the agent's page in a short notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.model import Change, Presence
from esl_controller.errors import CallCenterError
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.services.agents import AgentService
from esl_controller.services.floor_service import FloorService
from esl_controller.services.worker import QueueWorker
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Tier

log = logging.getLogger(__name__)
ApiCall = Callable[[object], str]
TierRow = tuple[str, str, int, int]  # queue, agent, level, position


def wanted_tiers(sessions: sessionmaker[Session]) -> list[TierRow]:
    """The tiers the product set (blocking)."""
    with session_scope(sessions) as session:
        rows = session.scalars(select(Tier)).all()
        return [(t.queue, t.agent, t.level, t.position) for t in rows]


class RestoreService(QueueWorker[list[Presence]]):
    def __init__(
        self,
        api: ApiCall,
        floor: FloorService,
        agents: AgentService,
        *,
        tiers: Callable[[], list[TierRow]] = list,
    ) -> None:
        super().__init__()
        self.api = api
        self.floor = floor
        self.agents = agents
        self.tiers = tiers
        self.restored: list[str] = []
        self.last_duration: float | None = None

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.kind == "resynced" and isinstance(change.view, list) and change.view:
                self.submit(change.view)

    def handle(self, item: list[Presence]) -> None:
        started = time.monotonic()
        self._restore_tiers({p.agent for p in item})
        done = []
        for presence in item:
            try:
                done_now = self.agents.restore(presence.agent, presence.status,
                                               presence.reason, presence.seq)  # fmt: skip
            except CallCenterError as exc:
                log.error("restore: could not put %s back %s: %s", presence.agent,
                          presence.status, exc.message)  # fmt: skip
                continue
            if not done_now:
                continue  # changed since the lists were read: nothing to repair
            done.append(presence.agent)
            shown = presence.status + (f" ({presence.reason})" if presence.reason else "")
            log.warning("restore: FreeSWITCH had %s Logged Out while signed in; put back %s",
                        presence.agent, shown)  # fmt: skip
            self.floor.notice(presence.agent, f"FreeSWITCH restarted: you are back {shown}.")
        self.restored += done
        self.last_duration = time.monotonic() - started
        if done:
            log.warning("restore: %d signed-in agent(s) back in %.2fs", len(done),
                        self.last_duration)  # fmt: skip

    def _restore_tiers(self, agents: set[str]) -> None:
        try:
            wanted = [t for t in gevent.get_hub().threadpool.spawn(self.tiers).get()
                      if t[1] in agents]  # fmt: skip
        except Exception as exc:
            log.error("restore: tiers unreadable from the database: %s", exc)
            return
        if not wanted:
            return
        try:
            rows = replies.json_api(self.api(cc.json_query("tier list")))
        except CallCenterError as exc:
            log.error("restore: tier list failed: %s", exc.message)
            return
        have = {(r.get("queue"), r.get("agent")): r for r in rows}
        for queue, agent, level, position in wanted:
            row = have.get((queue, agent))
            commands: list[object] = []
            if row is None:
                commands.append(cc.tier_add(queue, agent, level, position))
            else:
                if str(row.get("level")) != str(level):
                    commands.append(cc.tier_set("level", queue, agent, level))
                if str(row.get("position")) != str(position):
                    commands.append(cc.tier_set("position", queue, agent, position))
            try:
                for command in commands:
                    replies.expect_ok(self.api(command))
            except CallCenterError as exc:
                log.error("restore: tier %s in %s: %s", agent, queue, exc.message)
                continue
            if commands:
                log.warning("restore: tier %s in %s put back (level %s, position %s)",
                            agent, queue, level, position)  # fmt: skip
