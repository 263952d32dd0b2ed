"""Supervisor endpoints: the whole floor, forcing an agent's status or state, tiers, and
listen / whisper / barge from the supervisor's own phone. Every action is audited."""

from __future__ import annotations

from dashboard.api import schemas as s
from dashboard.api.context import deps, now
from dashboard.api.registry import Api
from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands import validate as v
from esl_controller.services.users import UserRecord

ERRORS = (404, 409, 503, 504)


def floor_out() -> s.FloorOut:
    snap = deps().floor.snapshot()
    t = now()
    return s.FloorOut(
        agents=[s.AgentOut.of(a, t) for a in sorted(snap.agents.values(), key=lambda a: a.name)],
        calls=[s.CallOut.of(c) for c in snap.calls.values()],
        queues=[s.QueueOut.of(q) for q in sorted(snap.queues.values(), key=lambda q: q.name)],
    )


def register(api: Api) -> None:
    @api.endpoint("GET", "/floor", summary="Every agent, call and queue, live",
                  tag="supervisor", role="supervisor", response=s.FloorOut)  # fmt: skip
    def floor(user: UserRecord) -> s.FloorOut:
        return floor_out()

    @api.endpoint("GET", "/queues", summary="Queue numbers: waiting, offered, answered, "
                  "abandoned, service level, speed of answer, handle time", tag="supervisor",
                  role="supervisor", response=s.FloorOut)  # fmt: skip
    def queues(user: UserRecord) -> s.FloorOut:
        out = floor_out()
        return s.FloorOut(agents=[], calls=[], queues=out.queues)

    @api.endpoint("POST", "/supervisor/agent/<agent>/status", summary="Force an agent's "
                  "status", tag="supervisor", role="supervisor", body=s.AgentStatusBody,
                  response=s.Ok, errors=ERRORS)  # fmt: skip
    def force_status(user: UserRecord, agent: str, body: s.AgentStatusBody) -> s.Ok:
        deps().supervisor.force_status(
            v.name("agent", agent), body.status, by=user.username, reason=body.reason
        )
        return s.Ok()

    @api.endpoint("POST", "/supervisor/agent/<agent>/state", summary="Force an agent's "
                  "state", tag="supervisor", role="supervisor", body=s.AgentStateBody,
                  response=s.Ok, errors=ERRORS)  # fmt: skip
    def force_state(user: UserRecord, agent: str, body: s.AgentStateBody) -> s.Ok:
        deps().supervisor.force_state(v.name("agent", agent), body.state, by=user.username)
        return s.Ok()

    @api.endpoint("POST", "/supervisor/tier", summary="Put an agent in a queue (tier add)",
                  tag="supervisor", role="supervisor", body=s.TierBody, response=s.Ok,
                  errors=ERRORS)  # fmt: skip
    def tier_add(user: UserRecord, body: s.TierBody) -> s.Ok:
        deps().supervisor.add_tier(
            body.queue, body.agent, body.level, body.position, by=user.username
        )
        return s.Ok()

    @api.endpoint("POST", "/supervisor/tier/remove", summary="Take an agent out of a queue",
                  tag="supervisor", role="supervisor", body=s.TierRemoveBody, response=s.Ok,
                  errors=ERRORS)  # fmt: skip
    def tier_remove(user: UserRecord, body: s.TierRemoveBody) -> s.Ok:
        deps().supervisor.remove_tier(body.queue, body.agent, by=user.username)
        return s.Ok()

    @api.endpoint("POST", "/supervisor/eavesdrop", summary="Ring the supervisor's phone to "
                  "listen to, whisper to or barge in on an agent's call", tag="supervisor",
                  role="supervisor", body=s.EavesdropBody, response=s.DialOut,
                  errors=ERRORS)  # fmt: skip
    def eavesdrop(user: UserRecord, body: s.EavesdropBody) -> s.DialOut:
        if not user.extension:
            raise InvalidArgument("this supervisor has no extension to ring",
                                  code="no_extension")  # fmt: skip
        domain = deps().settings.sip_domain
        endpoint = og.user(user.extension, domain) if domain else og.user(user.extension)
        uuid = deps().supervisor.eavesdrop(
            endpoint, v.name("agent", body.agent), body.mode, by=user.username
        )
        return s.DialOut(call_uuid=uuid)
