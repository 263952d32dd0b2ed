"""Registration drives agent state: an Available agent whose phone goes offline (SIP
unregister or registration expiry, e.g. the browser tab closed or the network dropped) is
paused at once with the reason "Phone offline", so mod_callcenter stops ringing a phone
that cannot answer. The agent goes Ready again by hand once the phone is back.

The reconcile loop catches the same condition later if an event was missed; this reacts
to the sofia::unregister / sofia::expire event itself. It listens to the floor's change
records through a queue and talks to FreeSWITCH from its own greenlet.
"""

from __future__ import annotations

import logging

from esl_controller.domain.model import AgentView, Change
from esl_controller.errors import CallCenterError
from esl_controller.services.agents import AgentService
from esl_controller.services.worker import QueueWorker

log = logging.getLogger(__name__)
PHONE_OFFLINE = "Phone offline"
TAKING_CALLS = ("Available", "Available (On Demand)")


class PhoneWatch(QueueWorker[str]):
    def __init__(self, agents: AgentService) -> None:
        super().__init__()
        self.agents = agents
        self.online: dict[str, bool | None] = {}
        self.paused: list[str] = []

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            view = change.view
            if change.kind != "agent" or not isinstance(view, AgentView):
                continue
            was = self.online.get(view.name)
            self.online[view.name] = view.phone_online
            if was is True and view.phone_online is False and view.status in TAKING_CALLS:
                self.submit(view.name)

    def handle(self, agent: str) -> None:
        try:
            self.agents.not_ready(agent, PHONE_OFFLINE, by="phone watch")
        except CallCenterError as exc:
            log.warning("could not pause %s after its phone went offline: %s", agent, exc)
            return
        self.paused.append(agent)
        log.info("paused %s: its phone went offline while Available", agent)
