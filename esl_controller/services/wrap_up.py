"""After-call work: an agent whose page is open stays out of offers after a call until a
disposition is saved (at most ``limit`` seconds), and the disposition lands on the call's
record.

mod_callcenter's own ``wrap_up_time`` is a fixed gate after every bridge; a product wants
"until the agent has filled in the form". The service sets the agent's ``ready_time`` in
the future when a call ends and back to 0 when the disposition is saved. It listens to the
floor's change records through a queue and talks to FreeSWITCH from its own greenlet, so
neither the floor nor a request waits on it.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable

from esl_controller.domain.model import CallView, Change
from esl_controller.errors import CallCenterError, NotFound
from esl_controller.services.agents import AgentService
from esl_controller.services.recorder import Recorder
from esl_controller.services.worker import QueueWorker

log = logging.getLogger(__name__)
KEPT_CALLS = 20


class WrapUpService(QueueWorker[CallView]):
    def __init__(
        self,
        agents: AgentService,
        recorder: Recorder,
        *,
        limit: int = 120,
        wanted: Callable[[str], bool] = lambda agent: True,
    ) -> None:
        super().__init__()
        self.agents = agents
        self.recorder = recorder
        self.limit = limit
        self.wanted = wanted  # which agents get the wrap-up hold (those with a page open)
        self.pending: dict[str, tuple[str, float]] = {}  # agent -> (call uuid, hold until)
        self.recent: dict[str, collections.deque[str]] = {}

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.kind == "call_ended" and isinstance(change.view, CallView):
                call = change.view
                if call.agent and call.answered_at is not None:
                    self.submit(call)

    def handle(self, call: CallView) -> None:
        agent = call.agent or ""
        self.recent.setdefault(agent, collections.deque(maxlen=KEPT_CALLS)).append(call.uuid)
        if not self.wanted(agent):
            return
        self.pending[agent] = (call.uuid, time.time() + self.limit)
        try:
            self.agents.hold_wrap_up(agent, self.limit)
        except CallCenterError as exc:
            log.warning("wrap-up hold for %s failed: %s", agent, exc)

    def waiting_for(self, agent: str) -> tuple[str, float] | None:
        """The call whose disposition is awaited, and until when offers are held."""
        entry = self.pending.get(agent)
        if entry is None or entry[1] <= time.time():
            return None
        return entry

    def last_call(self, agent: str) -> str | None:
        calls = self.recent.get(agent)
        return calls[-1] if calls else None

    def save(self, agent: str, disposition: str, notes: str, call_uuid: str | None) -> str:
        """Record the disposition on the agent's call (the last one by default) and let
        offers come again. Returns the call's uuid."""
        target = call_uuid or self.last_call(agent)
        if target is None or target not in self.recent.get(agent, ()):
            raise NotFound(f"{agent} has no finished call {call_uuid or ''}".strip(),
                           code="no_call")  # fmt: skip
        self.recorder.annotate_call(target, disposition=disposition, notes=notes)
        if self.pending.get(agent, ("",))[0] == target:
            del self.pending[agent]
        self.agents.end_wrap_up(agent)
        return target
