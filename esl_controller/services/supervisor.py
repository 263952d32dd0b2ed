"""Supervisor operations: force an agent's status or state, log an agent out, manage tiers,
and listen / whisper / barge on an agent's call (eavesdrop on the agent's leg from the
supervisor's own phone)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import gevent

from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.agents import AgentService, check_reason
from esl_controller.services.calls import CallService
from esl_controller.services.provisioning import ProvisioningStore

AuditCall = Callable[..., None]


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
    ) -> None:
        self.agents = agents
        self.tiers = tiers
        self.api = api
        self.bgapi = bgapi or api
        self.calls = calls
        self.audit = audit

    def _audited(self, actor: str, action: str, target: str, details: dict[str, Any],
                 run: Callable[[], Any]) -> Any:  # fmt: skip
        try:
            result = run()
        except Exception as exc:
            if self.audit is not None:
                self.audit(actor, action, target, details, f"failed: {exc}")
            raise
        if self.audit is not None:
            self.audit(actor, action, target, details, "ok")
        return result

    def force_status(
        self, agent: str, status: str, *, by: str = "supervisor", reason: str | None = None
    ) -> None:
        """The agent sees why: the reason the supervisor picked, or "Supervisor: <name>".
        Forcing Logged Out signs the agent out as far as the product is concerned (a
        restart of FreeSWITCH will not put them back)."""
        default = f"Supervisor: {by}"[:64]
        shown: str | None = check_reason(reason) if reason is not None else default
        if status in ("Available", "Available (On Demand)"):
            shown = None
        signed_in = False if status == "Logged Out" else None
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

    def _remember(self, change: Callable[[ProvisioningStore], object]) -> None:
        """Keep a tier change FreeSWITCH accepted in ``cc_tiers`` (off the hub), so
        provisioning puts it back after a restart."""
        if self.tiers is not None:
            tiers = self.tiers
            gevent.get_hub().threadpool.spawn(change, tiers).get()

    def eavesdrop(self, supervisor_endpoint: str, agent: str, mode: str = "listen", *,
                  by: str = "supervisor") -> str:  # fmt: skip
        """Ring the supervisor's phone; once answered it hears the agent's call. An
        attempt on an agent with no call is audited as failed too."""

        def run() -> str:
            leg = self.calls.current_call(agent).agent_leg or ""
            command = og.eavesdrop(
                call_uuid=str(uuid.uuid4()), supervisor_endpoint=supervisor_endpoint,
                agent_leg_uuid=leg, mode=mode,
            )  # fmt: skip
            return replies.originate(self.bgapi(command))

        details = {"mode": mode, "from": supervisor_endpoint}
        return str(self._audited(by, f"eavesdrop_{mode}", agent, details, run))
