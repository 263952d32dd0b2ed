"""Supervisor endpoints: the whole floor and what the console page needs around it (names,
queue settings, tiers, thresholds), forcing an agent's status or state, tiers (add,
remove, move between queues, level and position), listen / whisper / barge from the
supervisor's own phone and switching between them, and short messages to an agent's page.

Every action is audited with the supervisor's name (``GET audit``) and answers with
FreeSWITCH's own reason when it refuses. Only supervisors and engineers get in: an agent
is answered 403. Tier changes are pushed to every supervisor page (``tiers``), messages to
the agent's page (``agent_message``), so nothing polls.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from dashboard import events as ev
from dashboard.api import schemas as s
from dashboard.api.context import deps, now
from dashboard.api.registry import Api
from dashboard.db import off_hub
from dashboard.realtime import Publisher
from esl_controller.errors import CallCenterError, InvalidArgument, NotFound
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands import validate as v
from esl_controller.services import supervisor as sup
from esl_controller.services.users import UserRecord

log = logging.getLogger(__name__)

ERRORS = (404, 409, 503, 504)


def floor_out() -> s.FloorOut:
    snap = deps().floor.snapshot()
    t = now()
    return s.FloorOut(
        agents=[s.AgentOut.of(a, t) for a in sorted(snap.agents.values(), key=lambda a: a.name)],
        calls=[s.CallOut.of(c) for c in snap.calls.values()],
        queues=[s.QueueOut.of(q) for q in sorted(snap.queues.values(), key=lambda q: q.name)],
    )


def publisher() -> Publisher:
    found: Publisher = current_app.extensions["callcenter.publisher"]
    return found


def known_agent(agent: str) -> str:
    """An agent the floor knows (FreeSWITCH reported it), else 404."""
    name = v.name("agent", agent)
    if name not in deps().floor.snapshot().agents:
        raise NotFound(f"no agent {name}", code="no_agent")
    return name


def tiers_out() -> s.TiersOut:
    """Every tier as FreeSWITCH has it now, pushed to every supervisor page too. A change
    FreeSWITCH accepted stays accepted when the list cannot be read right after it."""
    try:
        rows = deps().supervisor.tier_rows()
    except CallCenterError as exc:
        log.warning("supervisor: tiers unreadable after a change: %s", exc.message)
        return s.TiersOut(items=None)
    out = s.TiersOut(items=[s.TierOut(**row) for row in rows])
    publisher().socketio.emit(ev.TIERS, out.model_dump(mode="json"), to=ev.SUPERVISORS)
    return out


def eavesdrop_out(item: sup.Eavesdrop) -> s.EavesdropOut:
    return s.EavesdropOut(uuid=item.uuid, agent=item.agent, call_uuid=item.call_uuid,
                          mode=item.mode, started_at=item.started_at)  # fmt: skip


def queue_settings(rows: list[dict[str, Any]], levels: dict[str, float],
                   default: float) -> list[s.QueueSettingsOut]:  # fmt: skip
    out = []
    for row in rows:
        name = str(row.get("name", ""))
        if not name:
            continue
        wait = str(row.get("max_wait_time", "")).strip()
        out.append(s.QueueSettingsOut(
            name=name, strategy=str(row.get("strategy", "")),
            service_level_seconds=levels.get(name, default),
            max_wait_time=int(wait) if wait.isdigit() else None,
        ))  # fmt: skip
    return sorted(out, key=lambda q: q.name)


def console_out(user: UserRecord) -> s.SupervisorConsoleOut:
    d = deps()
    levels = off_hub(lambda: sup.service_levels(d.sessions))
    d.floor.set_service_levels(levels)  # a queue changed on /admin since: counted right
    d.recorder.drained(timeout=1)  # calls that just ended are in the day's count
    today = off_hub(lambda: sup.answered_today(d.sessions, now()))
    # Read after the history: a call that ended meanwhile is counted there, not twice.
    snap = d.floor.snapshot()
    midnight = sup.start_of_day(now()).timestamp()
    offset: dict[str, int] = {}
    live: dict[str, int] = {}
    for call in snap.calls.values():
        if call.agent and call.queue and call.answered_at and call.answered_at >= midnight:
            live[call.agent] = live.get(call.agent, 0) + 1
    for name, agent in snap.agents.items():
        offset[name] = today.get(name, 0) + live.get(name, 0) - agent.calls_answered
    try:
        tiers = [s.TierOut(**row) for row in d.supervisor.tier_rows()]
        queue_rows = d.supervisor.queue_rows()
    except CallCenterError as exc:  # FreeSWITCH away: the page still draws the floor
        log.warning("supervisor console: tiers and queues unreadable: %s", exc.message)
        tiers, queue_rows = [], [{"name": q} for q in snap.queues]
    reasons = off_hub(d.history.pause_reasons)
    mine = d.supervisor.eavesdrops(user.username, set(snap.calls))
    return s.SupervisorConsoleOut(
        long_call_seconds=d.settings.supervisor_long_call,
        long_pause_seconds=d.settings.supervisor_long_pause,
        people=[s.PersonOut(**p) for p in off_hub(lambda: sup.people(d.sessions))],
        queues=queue_settings(queue_rows, levels, d.floor.service_level_seconds),
        tiers=tiers, answered_offset=offset,
        pause_reasons=[s.Choice(code=c.code, label=c.label) for c in reasons],
        eavesdrops=[eavesdrop_out(e) for e in mine],
    )  # fmt: skip


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

    @api.endpoint("GET", "/supervisor/console", summary="What the supervisor console draws "
                  "around the live floor: people's names, queue settings, tiers, thresholds, "
                  "today's answered calls, pause reasons, one's own eavesdrops",
                  tag="supervisor", role="supervisor", response=s.SupervisorConsoleOut)  # fmt: skip
    def console(user: UserRecord) -> s.SupervisorConsoleOut:
        return console_out(user)

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

    @api.endpoint("POST", "/supervisor/agent/<agent>/message", summary="A short message "
                  "popped up on the agent's page (one line, 280 characters); audited",
                  tag="supervisor", role="supervisor", body=s.MessageBody,
                  response=s.MessageOut, errors=(404,))  # fmt: skip
    def message(user: UserRecord, agent: str, body: s.MessageBody) -> s.MessageOut:
        name = known_agent(agent)
        pub = publisher()

        def deliver(payload: dict[str, Any]) -> bool:
            pub.socketio.emit(ev.AGENT_MESSAGE, payload, to=ev.agent_room(name))
            return pub.page_open(name)

        delivered = deps().supervisor.send_message(name, body.text, by=user.username,
                                                   by_name=user.display_name,
                                                   deliver=deliver)  # fmt: skip
        return s.MessageOut(delivered=delivered)

    @api.endpoint("POST", "/supervisor/tier", summary="Put an agent in a queue (tier add)",
                  tag="supervisor", role="supervisor", body=s.TierBody, response=s.TiersOut,
                  errors=ERRORS)  # fmt: skip
    def tier_add(user: UserRecord, body: s.TierBody) -> s.TiersOut:
        deps().supervisor.add_tier(
            body.queue, body.agent, body.level, body.position, by=user.username
        )
        return tiers_out()

    @api.endpoint("POST", "/supervisor/tier/remove", summary="Take an agent out of a queue",
                  tag="supervisor", role="supervisor", body=s.TierRemoveBody,
                  response=s.TiersOut, errors=ERRORS)  # fmt: skip
    def tier_remove(user: UserRecord, body: s.TierRemoveBody) -> s.TiersOut:
        deps().supervisor.remove_tier(body.queue, body.agent, by=user.username)
        return tiers_out()

    @api.endpoint("POST", "/supervisor/tier/move", summary="Move an agent from one queue to "
                  "another (added to the new one first), with its level and position there",
                  tag="supervisor", role="supervisor", body=s.TierMoveBody,
                  response=s.TiersOut, errors=ERRORS)  # fmt: skip
    def tier_move(user: UserRecord, body: s.TierMoveBody) -> s.TiersOut:
        deps().supervisor.move_tier(body.agent, body.from_queue, body.to_queue, body.level,
                                    body.position, by=user.username)  # fmt: skip
        return tiers_out()

    @api.endpoint("POST", "/supervisor/tier/set", summary="Change an agent's level and/or "
                  "position in a queue", tag="supervisor", role="supervisor",
                  body=s.TierSetBody, response=s.TiersOut, errors=ERRORS)  # fmt: skip
    def tier_set(user: UserRecord, body: s.TierSetBody) -> s.TiersOut:
        deps().supervisor.set_tier(body.queue, body.agent, level=body.level,
                                   position=body.position, by=user.username)  # fmt: skip
        return tiers_out()

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

    @api.endpoint("GET", "/supervisor/eavesdrop", summary="The supervisor's own eavesdrops "
                  "still on a call", tag="supervisor", role="supervisor",
                  response=s.EavesdropsOut)  # fmt: skip
    def eavesdrops(user: UserRecord) -> s.EavesdropsOut:
        live = set(deps().floor.snapshot().calls)
        items = deps().supervisor.eavesdrops(user.username, live)
        return s.EavesdropsOut(items=[eavesdrop_out(e) for e in items])

    @api.endpoint("POST", "/supervisor/eavesdrop/<leg>/mode", summary="Switch one's running "
                  "eavesdrop to listen, whisper (the agent hears you) or barge (both hear "
                  "you): a DTMF digit on one's own leg", tag="supervisor", role="supervisor",
                  body=s.EavesdropModeBody, response=s.EavesdropOut, errors=ERRORS)  # fmt: skip
    def eavesdrop_mode(user: UserRecord, leg: str, body: s.EavesdropModeBody) -> s.EavesdropOut:
        item = deps().supervisor.eavesdrop_mode(v.uuid("leg", leg), body.mode, by=user.username)
        return eavesdrop_out(item)

    @api.endpoint("POST", "/supervisor/eavesdrop/<leg>/stop", summary="Hang up one's "
                  "eavesdrop (the agent's call goes on)", tag="supervisor", role="supervisor",
                  response=s.Ok, errors=ERRORS)  # fmt: skip
    def eavesdrop_stop(user: UserRecord, leg: str) -> s.Ok:
        deps().supervisor.eavesdrop_stop(v.uuid("leg", leg), by=user.username)
        return s.Ok()
