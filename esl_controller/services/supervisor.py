"""Supervisor operations: force an agent's status or state, log an agent out, manage tiers,
and listen / whisper / barge on an agent's call (eavesdrop on the agent's leg from the
supervisor's own phone)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import originate as og
from esl_controller.services.calls import CallService

ApiCall = Callable[[object], str]


class SupervisorService:
    def __init__(self, api: ApiCall, calls: CallService, *, bgapi: ApiCall | None = None) -> None:
        self.api = api
        self.bgapi = bgapi or api
        self.calls = calls

    def force_status(self, agent: str, status: str) -> None:
        replies.expect_ok(self.api(cc.agent_set_status(agent, status)))

    def force_state(self, agent: str, state: str) -> None:
        replies.expect_ok(self.api(cc.agent_set_state(agent, state)))

    def log_out(self, agent: str) -> None:
        self.force_status(agent, "Logged Out")

    def add_tier(self, queue: str, agent: str, level: int = 1, position: int = 1) -> None:
        replies.expect_ok(self.api(cc.tier_add(queue, agent, level, position)))

    def remove_tier(self, queue: str, agent: str) -> None:
        replies.expect_ok(self.api(cc.tier_del(queue, agent)))

    def set_level(self, queue: str, agent: str, level: int) -> None:
        replies.expect_ok(self.api(cc.tier_set("level", queue, agent, level)))

    def eavesdrop(self, supervisor_endpoint: str, agent: str, mode: str = "listen") -> str:
        """Ring the supervisor's phone; once answered it hears the agent's call."""
        leg = self.calls.current_call(agent).agent_leg or ""
        command = og.eavesdrop(
            call_uuid=str(uuid.uuid4()), supervisor_endpoint=supervisor_endpoint,
            agent_leg_uuid=leg, mode=mode,
        )  # fmt: skip
        return replies.originate(self.bgapi(command))
