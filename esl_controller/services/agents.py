"""Agent operations: log in, ready, not ready with a reason, log out, wrap-up.

mod_callcenter keeps an agent's *status* (chosen) and *state* (what it is doing) apart, so
logging in writes both: status ``On Break`` with the reason "Login" and state ``Waiting``
— the agent is signed in but takes no call until Ready. Pause reasons are the product's:
FreeSWITCH only knows ``On Break``. Wrap-up beyond mod_callcenter's fixed
``wrap_up_time`` (until a disposition is saved) is a ``ready_time`` in the future.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from esl_controller.errors import InvalidArgument
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.services.floor_service import FloorService

ApiCall = Callable[[object], str]
LOGIN_REASON = "Login"
MAX_WRAP_UP = 3600


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("a pause reason is required")
    text = reason.strip()
    if len(text) > 64 or any(ord(c) < 32 for c in text):
        raise InvalidArgument("a pause reason is one line of at most 64 characters")
    return text


class AgentService:
    def __init__(
        self, api: ApiCall, floor: FloorService, clock: Callable[[], float] = time.time
    ) -> None:
        self.api = api
        self.floor = floor
        self.clock = clock

    def _run(self, command: object) -> None:
        replies.expect_ok(self.api(command))

    def login(self, agent: str) -> None:
        """Signed in, not ready: On Break ("Login") and Waiting."""
        self.floor.set_pause_reason(agent, LOGIN_REASON)
        self._run(cc.agent_set_status(agent, "On Break"))
        self._run(cc.agent_set_state(agent, "Waiting"))

    def ready(self, agent: str) -> None:
        """Available; an On Demand agent parked in Idle after a call is made Waiting."""
        self._run(cc.agent_set_status(agent, "Available"))
        if self.floor.snapshot().agents.get(agent) and (
            self.floor.snapshot().agents[agent].state == "Idle"
        ):
            self._run(cc.agent_set_state(agent, "Waiting"))

    def not_ready(self, agent: str, reason: str) -> None:
        text = check_reason(reason)
        cc.agent_set_status(agent, "On Break")  # validate the name before recording anything
        self.floor.set_pause_reason(agent, text)
        self._run(cc.agent_set_status(agent, "On Break"))

    def logout(self, agent: str) -> None:
        self._run(cc.agent_set_status(agent, "Logged Out"))

    def hold_wrap_up(self, agent: str, seconds: int) -> None:
        """Keep the agent out of offers for ``seconds`` (until a disposition is saved)."""
        if not isinstance(seconds, int) or not 0 < seconds <= MAX_WRAP_UP:
            raise InvalidArgument(f"wrap-up must be 1 to {MAX_WRAP_UP} seconds")
        self._run(cc.agent_set_number(agent, "ready_time", int(self.clock()) + seconds))

    def end_wrap_up(self, agent: str) -> None:
        """The disposition is saved: offers may come again (after the queue's own gate)."""
        self._run(cc.agent_set_number(agent, "ready_time", 0))
