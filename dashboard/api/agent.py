"""Agent endpoints: sign in (web session + queues), sign out, Ready, Not Ready with a
reason, status, wrap-up with a disposition, and the agent's own SIP credentials."""

from __future__ import annotations

from sqlalchemy import select

from dashboard.api import schemas as s
from dashboard.api.context import agent_of, deps, now, settle
from dashboard.api.registry import Api
from dashboard.auth import NotSignedIn, client_key, sign_in, sign_out
from dashboard.db import off_hub
from esl_controller.domain.model import Snapshot
from esl_controller.errors import InvalidArgument, NotFound
from esl_controller.services.users import UserRecord
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Disposition, PauseReason


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


def status_out(agent: str) -> s.AgentStatusOut:
    pending = deps().wrap_up.waiting_for(agent)
    wrap_up = s.WrapUpOut(call_uuid=pending[0], until=pending[1]) if pending else None
    return s.AgentStatusOut(agent=agent_out(agent), call=current_call_out(agent), wrap_up=wrap_up)


def pause_label(code: str) -> str:
    def find() -> str | None:
        with session_scope(deps().sessions) as session:
            row = session.get(PauseReason, code)
            return row.label if row is not None and row.active else None

    label = off_hub(find)
    if label is None:
        raise InvalidArgument(f"unknown pause reason {code!r} (see /pause-reasons)",
                              code="unknown_reason")  # fmt: skip
    return label


def check_disposition(code: str) -> None:
    def find() -> bool:
        with session_scope(deps().sessions) as session:
            row = session.get(Disposition, code)
            return row is not None and row.active

    if not off_hub(find):
        raise InvalidArgument(f"unknown disposition {code!r} (see /dispositions)",
                              code="unknown_disposition")  # fmt: skip


def choices(model: type[PauseReason] | type[Disposition]) -> s.ChoicesOut:
    """The active codes of a reference table, by label."""

    def rows() -> list[s.Choice]:
        with session_scope(deps().sessions) as session:
            query = select(model.code, model.label).where(model.active.is_(True))
            rows = session.execute(query.order_by(model.label))
            return [s.Choice(code=code, label=label) for code, label in rows]

    return s.ChoicesOut(items=off_hub(rows))


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
        label = pause_label(body.reason)
        deps().agents.not_ready(agent, label)
        settle(lambda snap: has_status(snap, agent, "On Break", label))
        return status_out(agent)

    @api.endpoint("GET", "/agent/status", summary="The agent's status, state and call",
                  tag="agent", response=s.AgentStatusOut)  # fmt: skip
    def agent_status(user: UserRecord) -> s.AgentStatusOut:
        agent = agent_of(user)
        return status_out(agent)

    @api.endpoint("POST", "/agent/wrap-up", summary="Save the disposition and notes of the "
                  "agent's last call; offers come again", tag="agent", body=s.WrapUpBody,
                  response=s.Ok, errors=(404, 409, 503))  # fmt: skip
    def agent_wrap_up(user: UserRecord, body: s.WrapUpBody) -> s.Ok:
        agent = agent_of(user)
        check_disposition(body.disposition)
        deps().wrap_up.save(agent, body.disposition, body.notes, body.call_uuid)
        return s.Ok()

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
        return choices(PauseReason)

    @api.endpoint("GET", "/dispositions", summary="Outcomes an agent can record for a call",
                  tag="reference", response=s.ChoicesOut)  # fmt: skip
    def dispositions(user: UserRecord) -> s.ChoicesOut:
        return choices(Disposition)
