"""Registration drives agent state: an Available agent whose phone goes offline (SIP
unregister or registration expiry, e.g. the browser tab closed or the network dropped) is
paused at once with the reason "Phone offline", so mod_callcenter stops ringing a phone
that cannot answer. The agent goes Ready again by hand once the phone is back.

Every such drop is also told to whoever listens (``dropped``): the agent's page, whose
browser softphone may still believe it is registered. Without ``multiple-registrations``
FreeSWITCH removes *every* registration of a user when one of its devices un-REGISTERs
(a desk phone going away takes the browser's binding with it), and a registration the
switch forgot (restart, ``sofia profile ... flush_inbound_reg``) is only noticed by the
phone at its next refresh; the page re-registers at once instead.

The reconcile loop catches the same condition later if an event was missed; this reacts
to the sofia::unregister / sofia::expire event itself. It listens to the floor's change
records through a queue and talks to FreeSWITCH from its own greenlet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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
        # Called with the agent's name when FreeSWITCH reports its phone gone (from the
        # floor's greenlet: a listener must only enqueue).
        self.dropped: list[Callable[[str], None]] = []

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            view = change.view
            if change.kind != "agent" or not isinstance(view, AgentView):
                continue
            was = self.online.get(view.name)
            self.online[view.name] = view.phone_online
            if view.phone_online is False and was is not False:
                # None before: the registration predates this process, the drop is news.
                for listener in self.dropped:
                    try:
                        listener(view.name)
                    except Exception:  # one bad listener must not stop the floor's
                        log.exception("phone drop listener failed for %s", view.name)
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
