"""Call endpoints for the signed-in agent's own call: the ringing call with the caller's
customer record, answer, drop, hold / unhold, DTMF, blind and attended transfer, dial out,
and the agent's recent calls."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from dashboard.api import schemas as s
from dashboard.api.agent import current_call_out
from dashboard.api.context import agent_of, deps, settle
from dashboard.api.registry import Api
from dashboard.db import off_hub
from esl_controller.domain.model import Snapshot
from esl_controller.errors import NotFound
from esl_controller.services.customers import CustomerRecord
from esl_controller.services.history import CallRecord
from esl_controller.services.users import UserRecord

ERRORS = (404, 409, 503, 504)


def customer_out(record: CustomerRecord | None) -> s.CustomerOut | None:
    if record is None:
        return None
    return s.CustomerOut(**asdict(record))


def ringing_call(agent: str) -> s.CallOut:
    view = deps().floor.snapshot().agents.get(agent)
    calls = deps().floor.snapshot().calls
    if view is not None and view.call_uuid in calls:
        call = calls[view.call_uuid]
        if call.answered_at is None or call.agent != agent:
            return s.CallOut.of(call)
    raise NotFound(f"no call is ringing for {agent}", code="no_ringing_call")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def history_item(r: CallRecord) -> s.HistoryItem:
    return s.HistoryItem(
        call_uuid=r.call_uuid, direction=r.direction, queue=r.queue, cid_name=r.cid_name,
        cid_number=r.cid_number, joined_at=iso(r.joined_at), answered_at=iso(r.answered_at),
        ended_at=iso(r.ended_at), talk_seconds=r.talk_seconds, hold_seconds=r.hold_seconds,
        outcome=r.outcome, transferred=r.transferred,
        transfer_destination=r.transfer_destination, disposition=r.disposition, notes=r.notes,
        node=r.node,
    )  # fmt: skip


def held(snap: Snapshot, agent: str, on: bool) -> bool:
    return any(c.agent == agent and (c.held_since is not None) == on
               for c in snap.calls.values() if c.ended_at is None)  # fmt: skip


def consulting(snap: Snapshot, agent: str) -> bool:
    return any(c.agent == agent and c.consult_leg for c in snap.calls.values())


def done(agent: str) -> s.CallActionOut:
    return s.CallActionOut(call=current_call_out(agent))


def register(api: Api) -> None:
    @api.endpoint("POST", "/call/ringing", summary="The call ringing for the agent, with "
                  "the caller's customer record (null: unknown caller)", tag="call",
                  response=s.RingingOut, errors=(404,))  # fmt: skip
    def call_ringing(user: UserRecord) -> s.RingingOut:
        call = ringing_call(agent_of(user))
        customer = deps().customers.lookup(call.cid_number)  # CRM in its own threads
        return s.RingingOut(call=call, customer=customer_out(customer))

    @api.endpoint("POST", "/call/answer", summary="Answer the ringing call (phones that "
                  "answer on request; a softphone answers itself)", tag="call",
                  response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_answer(user: UserRecord) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.answer(agent)
        settle(lambda snap: any(c.agent == agent and c.answered_at for c in snap.calls.values()))
        return done(agent)

    @api.endpoint("POST", "/call/drop", summary="Hang up the agent's call", tag="call",
                  response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_drop(user: UserRecord) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.drop(agent)
        return s.CallActionOut(call=None)

    @api.endpoint("POST", "/call/hold", summary="Put the caller on hold (music)", tag="call",
                  response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_hold(user: UserRecord) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.hold(agent)
        settle(lambda snap: held(snap, agent, True))
        return done(agent)

    @api.endpoint("POST", "/call/unhold", summary="Take the caller off hold", tag="call",
                  response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_unhold(user: UserRecord) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.unhold(agent)
        settle(lambda snap: held(snap, agent, False))
        return done(agent)

    @api.endpoint("POST", "/call/dtmf", summary="Send keypad digits on the call", tag="call",
                  body=s.DtmfBody, response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_dtmf(user: UserRecord, body: s.DtmfBody) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.dtmf(agent, body.digits)
        return done(agent)

    @api.endpoint("POST", "/call/transfer", summary="Blind transfer (the caller goes to the "
                  "destination) or attended (consult first: caller held, destination rung)",
                  tag="call", body=s.TransferBody, response=s.CallActionOut,
                  errors=ERRORS)  # fmt: skip
    def call_transfer(user: UserRecord, body: s.TransferBody) -> s.CallActionOut:
        agent = agent_of(user)
        if body.mode == "blind":
            deps().calls.transfer_blind(agent, body.destination)
        else:
            # The consult leg runs the dialplan like a dialled call: agents, queues and
            # outside numbers alike.
            deps().calls.transfer_attended(agent, body.destination)
            settle(lambda snap: consulting(snap, agent))
        return done(agent)

    @api.endpoint("POST", "/call/transfer/complete", summary="Attended transfer: join the "
                  "caller and the consulted party, the agent leaves", tag="call",
                  response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_transfer_complete(user: UserRecord) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.transfer_complete(agent)
        return done(agent)

    @api.endpoint("POST", "/call/transfer/cancel", summary="Attended transfer: drop the "
                  "consulted party, ringing or answered, and return to the caller (off "
                  "hold)", tag="call", response=s.CallActionOut, errors=ERRORS)  # fmt: skip
    def call_transfer_cancel(user: UserRecord) -> s.CallActionOut:
        agent = agent_of(user)
        deps().calls.transfer_cancel(agent)
        settle(lambda snap: not consulting(snap, agent) and not held(snap, agent, True))
        return done(agent)

    @api.endpoint("POST", "/call/dial", summary="Click-to-call: ring the agent's phone, "
                  "then the number; no queue call is offered meanwhile", tag="call",
                  body=s.DialBody, response=s.DialOut, errors=ERRORS)  # fmt: skip
    def call_dial(user: UserRecord, body: s.DialBody) -> s.DialOut:
        agent = agent_of(user)
        call_uuid = deps().calls.dial(agent, user.extension, body.number,
                                      deps().settings.sip_domain)  # fmt: skip
        return s.DialOut(call_uuid=call_uuid)

    @api.endpoint("GET", "/history", summary="The agent's recent calls, newest first",
                  tag="history", query=s.HistoryQuery, response=s.HistoryOut)  # fmt: skip
    def history(user: UserRecord, query: s.HistoryQuery) -> s.HistoryOut:
        agent = agent_of(user)
        records = off_hub(lambda: deps().history.recent_calls(agent, query.limit))
        return s.HistoryOut(items=[history_item(r) for r in records])
