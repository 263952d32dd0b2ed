"""Restore after a FreeSWITCH restart: signed-in agents put back as they left them.

mod_callcenter with ``truncate-agents-on-load`` (the shipped ``freeswitch_conf/`` sets it)
reloads its agents and tiers from ``callcenter.conf.xml`` on start: every agent comes
back ``Logged Out`` and tiers changed at runtime are gone, while the agents' pages stay
signed in and would never get a call again. After every resync the floor lists the
signed-in agents the switch forgot (:meth:`Floor.to_restore`). This worker first lets
provisioning (``services/provisioning.py``) put back the agents, queues and tiers the
product owns, then sets each signed-in agent's status and reason back (state
``Waiting``), logs every repair and tells the agent's page in a short notice. Last,
``after`` puts back what else the product holds on the switch (the wrap-up holds of
``services/wrap_up.py``), once the agents exist again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from esl_controller.domain.model import Change, Presence
from esl_controller.errors import CallCenterError
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.agents import AgentService
from esl_controller.services.floor_service import FloorService
from esl_controller.services.worker import QueueWorker

log = logging.getLogger(__name__)


class RestoreService(QueueWorker[list[Presence]]):
    def __init__(
        self,
        api: ApiCall,
        floor: FloorService,
        agents: AgentService,
        *,
        provision: Callable[[str], object] | None = None,
        after: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        self.floor = floor
        self.agents = agents
        self.provision = provision
        self.after = after
        self.restored: list[str] = []
        self.last_duration: float | None = None
        self._moved: dict[str, str] = {}  # agent -> the node it was just moved to

    def moved(self, rows: list[Presence], nodes: dict[str, str]) -> None:
        """Agents given another node (several nodes): the new switch got them Logged Out
        (``agent add``); a signed-in one is put back as they chose, after the pass that
        adds them there."""
        signed_in = [row for row in rows if row.signed_in and row.status != "Logged Out"]
        if signed_in:
            self._moved.update({row.agent: nodes[row.agent] for row in signed_in})
            self.submit(signed_in)

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            wanted = isinstance(change.view, list) and (change.view or self.provision or self.after)
            if change.kind == "resynced" and wanted:
                self.submit(change.view)  # type: ignore[arg-type]

    def handle(self, item: list[Presence]) -> None:
        started = time.monotonic()
        if self.provision is not None:
            # Agents, queues and tiers first (services/provisioning.py): an agent the
            # switch forgot must exist again before its status can be set.
            self.provision("resync")
        done = []
        for presence in item:
            try:
                done_now = self.agents.restore(presence.agent, presence.status,
                                               presence.reason, presence.seq)  # fmt: skip
            except CallCenterError as exc:
                log.error("restore: could not put %s back %s: %s", presence.agent,
                          presence.status, exc.message)  # fmt: skip
                continue
            node = self._moved.pop(presence.agent, None)
            if not done_now:
                continue  # changed since the lists were read: nothing to repair
            done.append(presence.agent)
            shown = presence.status + (f" ({presence.reason})" if presence.reason else "")
            if node is not None:
                log.warning("restore: %s moved to node %s; put back %s", presence.agent,
                            node, shown)  # fmt: skip
                self.floor.notice(presence.agent, f"You now take calls through FreeSWITCH "
                                  f"node {node}: you are back {shown}.")  # fmt: skip
                continue
            log.warning("restore: FreeSWITCH had %s Logged Out while signed in; put back %s",
                        presence.agent, shown)  # fmt: skip
            self.floor.notice(presence.agent, f"FreeSWITCH restarted: you are back {shown}.")
        self.restored += done
        if self.after is not None:
            self.after()
        self.last_duration = time.monotonic() - started
        if done:
            log.warning("restore: %d signed-in agent(s) back in %.2fs", len(done),
                        self.last_duration)  # fmt: skip
