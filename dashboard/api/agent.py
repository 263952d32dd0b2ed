"""Agent endpoints: sign in (web session + queues), sign out, Ready, Not Ready with a
reason, status, wrap-up with a disposition (and closing an owed one), and the agent's own
SIP credentials."""

from __future__ import annotations

from dashboard.api import schemas as s
from dashboard.api.context import agent_of, deps, now, settle
from dashboard.api.registry import Api
from dashboard.auth import NotSignedIn, client_key, sign_in, sign_out
from dashboard.db import off_hub
from esl_controller.domain.model import Snapshot
from esl_controller.errors import InvalidArgument, NotFound
from esl_controller.esl.commands import validate as v
from esl_controller.services.history import Choice
from esl_controller.services.users import UserRecord
from esl_controller.services.wrap_up import Owed


def user_out(user: UserRecord) -> s.UserOut:
    return s.UserOut(username=user.username, role=user.role, display_name=user.display_name,
                     extension=user.extension, agent=user.agent)  # fmt: skip


def agent_out(name: str | None) -> s.AgentOut | None:
    if name is None:
        return None
    view = deps().floor.snapshot().agents.get(name)
    return None if view is None else s.AgentOut.of(view, now())


def current_call_out(agent: str) -> s.CallOut | None:
    for call in deps().floor.snapshot().calls.values():
        if call.agent == agent and call.ended_at is None:
            return s.CallOut.of(call)
    return None


def has_status(snap: Snapshot, agent: str, status: str, reason: str | None = None) -> bool:
    view = snap.agents.get(agent)
    return (
        view is not None
        and view.status == status
        and (reason is None or view.pause_reason == reason)
    )


def owed_out(owed: Owed) -> s.OwedOut:
    return s.OwedOut(call_uuid=owed.call_uuid, direction=owed.direction,
                     cid_name=owed.cid_name, cid_number=owed.cid_number,
                     outcome=owed.outcome, ended_at=owed.ended_at, until=owed.until)  # fmt: skip


def owed_list(agent: str) -> list[s.OwedOut]:
    return [owed_out(o) for o in deps().wrap_up.owed_calls(agent)]


def status_out(agent: str) -> s.AgentStatusOut:
    pending = deps().wrap_up.waiting_for(agent)
    wrap_up = s.WrapUpOut(call_uuid=pending[0], until=pending[1]) if pending else None
    return s.AgentStatusOut(agent=agent_out(agent), call=current_call_out(agent),
                            wrap_up=wrap_up, owed=owed_list(agent))  # fmt: skip


def pause_reason(text: str) -> Choice:
    """The pause reason named by its code or its label (any case)."""
    found = off_hub(lambda: deps().history.pause_reason(text))
    if found is None:
        raise InvalidArgument(f"unknown pause reason {text!r} (see /pause-reasons)",
                              code="unknown_reason")  # fmt: skip
    return found


def check_disposition(code: str) -> None:
    if not off_hub(lambda: deps().history.disposition_exists(code)):
        raise InvalidArgument(f"unknown disposition {code!r} (see /dispositions)",
                              code="unknown_disposition")  # fmt: skip


def choices_out(items: list[Choice]) -> s.ChoicesOut:
    return s.ChoicesOut(items=[s.Choice(code=c.code, label=c.label) for c in items])


def known_agent(name: str) -> str:
    """A supervisor names an agent in the path: checked like any value for FreeSWITCH."""
    agent = v.name("agent", name)
    if agent not in deps().floor.snapshot().agents:
        raise NotFound(f"no agent {agent}", code="no_agent")
    return agent


def register(api: Api) -> None:
    @api.endpoint("POST", "/agent/login", summary="Sign in; agents are also signed in to "
                  "their queues (On Break 'Login' until Ready)", tag="agent", role=None,
                  body=s.LoginBody, response=s.LoginOut, errors=(401, 429, 503))  # fmt: skip
    def agent_login(body: s.LoginBody) -> s.LoginOut:
        d = deps()
        limiter = d.extra["login_limiter"]
        keys = (client_key(), f"user:{body.username.lower()}")
        limiter.check(*keys)  # type: ignore[attr-defined]
        user = off_hub(lambda: d.users.authenticate(body.username, body.password))
        if user is None:
            limiter.failed(*keys)  # type: ignore[attr-defined]
            raise NotSignedIn("wrong user name or password", code="bad_credentials")
        limiter.succeeded(keys[1])  # type: ignore[attr-defined]
        if user.agent is not None:
            d.agents.login(user.agent)  # FreeSWITCH down: 503, and no session is opened
            settle(lambda snap: has_status(snap, user.agent or "", "On Break"))
        token = sign_in(user)
        return s.LoginOut(csrf_token=token, user=user_out(user), agent=agent_out(user.agent))

    @api.endpoint("POST", "/agent/logout", summary="Sign out; an agent is Logged Out of "
                  "the queues", tag="agent", response=s.Ok, errors=(503,))  # fmt: skip
    def agent_logout(user: UserRecord) -> s.Ok:
        if user.agent is not None:
            deps().agents.logout(user.agent)
        sign_out()
        return s.Ok()

    @api.endpoint("POST", "/agent/ready", summary="Available for queue calls", tag="agent",
                  response=s.AgentStatusOut, errors=(404, 409, 503))  # fmt: skip
    def agent_ready(user: UserRecord) -> s.AgentStatusOut:
        agent = agent_of(user)
        deps().agents.ready(agent)
        settle(lambda snap: has_status(snap, agent, "Available"))
        return status_out(agent)

    @api.endpoint("POST", "/agent/not-ready", summary="On Break with a pause reason",
                  tag="agent", body=s.NotReadyBody, response=s.AgentStatusOut,
                  errors=(404, 409, 503))  # fmt: skip
    def agent_not_ready(user: UserRecord, body: s.NotReadyBody) -> s.AgentStatusOut:
        agent = agent_of(user)
        label = pause_reason(body.reason).label
        deps().agents.not_ready(agent, label)
        settle(lambda snap: has_status(snap, agent, "On Break", label))
        return status_out(agent)

    @api.endpoint("GET", "/agent/status", summary="The agent's status, state and call",
                  tag="agent", response=s.AgentStatusOut)  # fmt: skip
    def agent_status(user: UserRecord) -> s.AgentStatusOut:
        agent = agent_of(user)
        return status_out(agent)

    @api.endpoint("POST", "/agent/wrap-up", summary="Save the disposition and notes of a "
                  "call (call_uuid; required when several await one); offers come again "
                  "once none is owed. A saved disposition is changed only with edit: true "
                  "(409 already_dispositioned otherwise)", tag="agent", body=s.WrapUpBody,
                  response=s.WrapUpSavedOut, errors=(404, 409, 503))  # fmt: skip
    def agent_wrap_up(user: UserRecord, body: s.WrapUpBody) -> s.WrapUpSavedOut:
        agent = agent_of(user)
        check_disposition(body.disposition)
        saved = deps().wrap_up.save(agent, body.disposition, body.notes, body.call_uuid,
                                    edit=body.edit, actor=user.username)  # fmt: skip
        return s.WrapUpSavedOut(call_uuid=saved)

    @api.endpoint("POST", "/agent/wrap-up/close", summary="Stop waiting for a disposition "
                  "(one call, or all owed): offers come again; audited", tag="agent",
                  body=s.WrapUpCloseBody, response=s.WrapUpClosedOut,
                  errors=(404, 503))  # fmt: skip
    def agent_wrap_up_close(user: UserRecord, body: s.WrapUpCloseBody) -> s.WrapUpClosedOut:
        agent = agent_of(user)
        closed = deps().wrap_up.close(agent, body.call_uuid, actor=user.username)
        return s.WrapUpClosedOut(closed=closed, owed=owed_list(agent))

    @api.endpoint("GET", "/supervisor/agent/<agent>/wrap-ups", summary="The agent's calls "
                  "awaiting a disposition", tag="supervisor", role="supervisor",
                  response=s.WrapUpClosedOut, errors=(404,))  # fmt: skip
    def supervisor_wrap_ups(user: UserRecord, agent: str) -> s.WrapUpClosedOut:
        name = known_agent(agent)
        return s.WrapUpClosedOut(ok=True, closed=[], owed=owed_list(name))

    @api.endpoint("POST", "/supervisor/agent/<agent>/wrap-up/close", summary="Close an "
                  "agent's owed wrap-up (one call, or all): offers come again; audited",
                  tag="supervisor", role="supervisor", body=s.WrapUpCloseBody,
                  response=s.WrapUpClosedOut, errors=(404, 503))  # fmt: skip
    def supervisor_wrap_up_close(
        user: UserRecord, agent: str, body: s.WrapUpCloseBody
    ) -> s.WrapUpClosedOut:
        name = known_agent(agent)
        closed = deps().wrap_up.close(name, body.call_uuid, actor=user.username)
        return s.WrapUpClosedOut(closed=closed, owed=owed_list(name))

    @api.endpoint("GET", "/agent/sip-credentials", summary="The signed-in agent's own SIP "
                  "account for the browser softphone (HA1, never a password)", tag="agent",
                  response=s.SipCredentialsOut, errors=(404,))  # fmt: skip
    def agent_sip_credentials(user: UserRecord) -> s.SipCredentialsOut:
        settings = deps().settings
        if not (user.extension and user.sip_ha1 and settings.sip_wss_url and settings.sip_domain):
            raise NotFound("no SIP account is set up for this user", code="no_sip_account")
        return s.SipCredentialsOut(
            uri=f"sip:{user.extension}@{settings.sip_domain}", extension=user.extension,
            domain=settings.sip_domain, wss_url=settings.sip_wss_url, ha1=user.sip_ha1,
            display_name=user.display_name,
        )  # fmt: skip

    @api.endpoint("GET", "/pause-reasons", summary="Reasons an agent can give for Not Ready",
                  tag="reference", response=s.ChoicesOut)  # fmt: skip
    def pause_reasons(user: UserRecord) -> s.ChoicesOut:
        return choices_out(off_hub(deps().history.pause_reasons))

    @api.endpoint("GET", "/dispositions", summary="Outcomes an agent can record for a call",
                  tag="reference", response=s.ChoicesOut)  # fmt: skip
    def dispositions(user: UserRecord) -> s.ChoicesOut:
        return choices_out(off_hub(deps().history.dispositions))
