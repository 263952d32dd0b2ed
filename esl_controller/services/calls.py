"""Call operations for an agent's current call: answer, drop, hold, DTMF, transfers, dial.

The floor says which legs are the agent's. Telephony choices made here:
* hold targets the *agent's* leg: FreeSWITCH then plays music to its partner, the caller;
* a blind transfer moves the *caller's* leg (uuid_transfer); mod_callcenter ends the queue
  call and the agent is free again (README quirk 18);
* an attended transfer runs ``att_xfer`` on the agent's leg: the caller is held, the target
  rung. Completing is ``*`` on the agent's leg, which att_xfer reads only once the target
  answered (so Complete is refused before). Cancelling ends the consult leg itself
  (``uuid_kill``): before the answer ``#`` would be lost (att_xfer is still in its
  originate), while a consult leg that goes away is a cancel at every stage — FreeSWITCH
  abandons the originate, or ends the inner bridge, and the caller is back with the agent;
* answering remotely works for phones that accept it (the simulator's, auto-answer
  softphones): ``uuid_answer`` on the leg mod_callcenter is ringing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import gevent

from esl_controller.domain.model import CallView
from esl_controller.errors import CallCenterError, CommandFailed, InvalidArgument, NotFound
from esl_controller.esl import replies
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands.base import ApiCall, ApiCommand
from esl_controller.services.floor_service import FloorService

log = logging.getLogger(__name__)


class CallService:
    def __init__(
        self,
        api: ApiCall,
        floor: FloorService,
        *,
        bgapi: ApiCall | None = None,
        outbound_dial: Callable[[str], str] = lambda number: og.loopback(number, "default"),
    ) -> None:
        self.api = api
        self.bgapi = bgapi or api
        self.floor = floor
        self.outbound_dial = outbound_dial

    def current_call(self, agent: str) -> CallView:
        for call in self.floor.snapshot().calls.values():
            if call.agent == agent and call.agent_leg and call.answered_at is not None:
                return call
        raise NotFound(f"{agent} has no call", code="no_call")

    def _leg(self, agent: str) -> str:
        leg = self.current_call(agent).agent_leg
        assert leg is not None
        return leg

    def ringing_leg(self, agent: str) -> str:
        leg = self.floor.ringing_leg(agent)
        if leg is None:
            raise NotFound(f"no call is ringing for {agent}", code="no_ringing_call")
        return leg

    def answer(self, agent: str) -> None:
        replies.expect_ok(self.api(ch.uuid_answer(self.ringing_leg(agent))))

    def drop(self, agent: str) -> None:
        """Hang up the agent's call, or cancel a dial-out still ringing the agent's phone."""
        try:
            leg = self._leg(agent)
        except NotFound:
            leg = self.floor.ringing_leg(agent) or ""
            call = self.floor.snapshot().calls.get(leg)
            if call is None or call.direction != "outbound":
                raise
        replies.expect_ok(self.api(ch.uuid_kill(leg)))

    def hold(self, agent: str) -> None:
        replies.expect_ok(self.api(ch.uuid_hold(self._leg(agent))))

    def unhold(self, agent: str) -> None:
        replies.expect_ok(self.api(ch.uuid_hold(self._leg(agent), "off")))

    def dtmf(self, agent: str, digits: str) -> None:
        replies.expect_ok(self.api(ch.uuid_send_dtmf(self._leg(agent), digits)))

    def transfer_blind(self, agent: str, destination: str) -> None:
        call = self.current_call(agent)
        # Marked first, so the queue call's end (which follows at once) reads "transferred".
        command = ch.uuid_transfer(call.uuid, destination)
        self.floor.mark_transferred(call.uuid, destination)
        try:
            replies.expect_ok(self.api(command))
        except CallCenterError:
            self.floor.unmark_transferred(call.uuid)
            raise

    def transfer_attended(self, agent: str, destination: str, context: str = "default") -> None:
        """Consult: the caller is held and the destination rung through the dialplan
        (complete / cancel next). The consult leg carries the call's uuid so the floor
        can show the consultation and whether the other side answered."""
        call = self.current_call(agent)
        if call.consult_leg is not None:
            raise CommandFailed("a consultation is already in progress", code="consulting")
        target = og.dial_string(og.loopback(destination, context), {
            "consult_call_uuid": call.uuid, "consult_destination": destination,
        })  # fmt: skip
        replies.expect_ok(self.api(ch.att_xfer(self._leg(agent), target)))

    def transfer_complete(self, agent: str) -> None:
        """Join the caller and the consulted party; only once the latter has answered
        (att_xfer reads ``*`` only then: earlier it would be lost)."""
        call = self.current_call(agent)
        if call.consult_leg is None or call.consult_answered_at is None:
            raise CommandFailed("the consulted party has not answered yet",
                                code="consult_not_answered")  # fmt: skip
        replies.expect_ok(self.api(ch.uuid_recv_dtmf(self._leg(agent), "*")))

    def transfer_cancel(self, agent: str) -> None:
        """Drop the consulted party, ringing or answered: the caller is back with the
        agent, off hold (att_xfer's own ending when its target leg goes away)."""
        consult_leg = self.current_call(agent).consult_leg
        if consult_leg is None:
            raise CommandFailed("no consultation is in progress", code="not_consulting")
        replies.expect_ok(self.api(ch.uuid_kill(consult_leg)))

    def dial(
        self, agent: str, extension: str | None, number: str, domain: str | None = None
    ) -> str:
        """Click-to-call: ring the agent's phone (``user/<extension>[@domain]``), then the
        number; while the call lasts callcenter_track keeps the queues from offering the
        agent a caller. The extension is also the caller ID the number sees."""
        if not extension:
            raise InvalidArgument("this agent has no extension to ring", code="no_extension")
        number = number.removeprefix("+")
        if not (number.isascii() and number.isdigit()) or len(number) > 20:
            raise InvalidArgument("number must be digits")
        agent_endpoint = og.user(extension, domain) if domain else og.user(extension)
        caller_id = extension
        call_uuid = str(uuid.uuid4())
        command = og.click_to_call(
            call_uuid=call_uuid, agent=agent, agent_endpoint=agent_endpoint,
            destination_dial=og.dial_string(self.outbound_dial(number)),
            caller_id_number=caller_id, number=number,
        )  # fmt: skip
        # originate only answers once the agent's phone is answered (or gives up): the
        # call shows on the floor meanwhile; the outcome is logged, not waited for.
        gevent.spawn(self._originate, agent, command)
        return call_uuid

    def _originate(self, agent: str, command: ApiCommand) -> None:
        try:
            replies.originate(self.bgapi(command))
        except CallCenterError as exc:
            log.info("click-to-call for %s did not connect: %s", agent, exc)
