"""The reconcile loop: repair what mod_callcenter is known to leave behind.

Every ``interval`` seconds it reads FreeSWITCH's agents and members and fixes:

* an agent left ``Receiving`` or ``Reserved`` while no caller of its queues is being
  offered (an offer thread that died), or ``In a queue call`` with no caller served by it:
  its state is set back to ``Waiting``;
* an ``Available`` agent whose phone went offline (sofia unregister/expire): paused
  ``On Break`` with the reason "Phone offline", so callers are not offered to a dead phone;
* an ``Available`` agent who missed ``missed_limit`` offers in a row: paused with the reason
  "Missed calls" (mod_callcenter's own max-no-answer may be off or set higher).

A suspect must look stuck on two passes in a row before it is repaired (an offer that is
just starting looks the same for an instant). Every repair is logged with what was wrong.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent

from esl_controller.errors import CallCenterError
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.agents import AgentService
from esl_controller.services.floor_service import FloorService

log = logging.getLogger(__name__)

PHONE_OFFLINE = "Phone offline"
MISSED_CALLS = "Missed calls"


class Reconciler:
    def __init__(
        self,
        api: ApiCall,
        floor: FloorService,
        *,
        interval: float = 30.0,
        missed_limit: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.floor = floor
        self.interval = interval
        self.missed_limit = missed_limit
        self.clock = clock
        self.agents = AgentService(api, floor)
        self.suspects: dict[str, float] = {}
        self.repairs: list[str] = []
        self._loop: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._loop is None:
            self._loop = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
            self._loop = None

    def _run(self) -> None:
        while True:
            gevent.sleep(self.interval)
            try:
                self.run_once()
            except CallCenterError as exc:
                log.warning("reconcile skipped: %s", exc.message)

    def run_once(self) -> list[str]:
        """One pass; returns what it repaired (also logged)."""
        done: list[str] = []
        agents = replies.json_api(self.api(cc.json_query("agent list")))
        tiers = replies.json_api(self.api(cc.json_query("tier list")))
        members = []
        for queue in {t.get("queue", "") for t in tiers if t.get("queue")}:
            members += replies.json_api(self.api(cc.json_query("queue list members", queue)))
        queues_of: dict[str, set[str]] = {}
        for tier in tiers:
            queues_of.setdefault(tier.get("agent", ""), set()).add(tier.get("queue", ""))
        trying = {m.get("queue") for m in members if m.get("state") in ("Waiting", "Trying")}
        serving = {m.get("serving_agent") for m in members if m.get("state") == "Answered"}
        now = self.clock()
        stuck_now: set[str] = set()
        for row in agents:
            name, state = row.get("name", ""), row.get("state", "")
            stuck = (
                state in ("Receiving", "Reserved") and not (queues_of.get(name, set()) & trying)
            ) or (state == "In a queue call" and name not in serving)
            if not stuck:
                continue
            stuck_now.add(name)
            first = self.suspects.setdefault(name, now)
            if now - first < self.interval * 0.9 or now == first:
                continue
            self.api(cc.agent_set_state(name, "Waiting"))
            done.append(
                f"agent {name} was '{state}' for {now - first:.0f}s with no caller "
                f"{'being offered' if state != 'In a queue call' else 'served'}: set Waiting"
            )
        self.suspects = {k: v for k, v in self.suspects.items() if k in stuck_now}
        done += self._pause_unreachable()
        for message in done:
            log.warning("reconcile: %s", message)
        self.repairs += done
        return done

    def _pause_unreachable(self) -> list[str]:
        done = []
        for agent in self.floor.snapshot().agents.values():
            if agent.status != "Available":
                continue
            reason = None
            if agent.phone_online is False:
                reason = PHONE_OFFLINE
            elif agent.missed_in_a_row >= self.missed_limit:
                reason = MISSED_CALLS
            if reason is None:
                continue
            self.agents.not_ready(agent.name, reason, by="reconcile")
            done.append(f"agent {agent.name} paused ({reason})")
        return done
