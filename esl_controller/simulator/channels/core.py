"""The simulated switch core: channels, their sessions, the dialplan and applications.

Other simulated modules (mod_callcenter, phones) use this object: they register
applications (``callcenter``), replace the phone directory, create legs through
:attr:`outbound`, and listen for hangups.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import AsyncResult

from esl_controller.simulator.channels import apps
from esl_controller.simulator.channels.channel import Channel
from esl_controller.simulator.channels.dialplan import Dialplan, expand
from esl_controller.simulator.channels.engine import ChannelEngine
from esl_controller.simulator.channels.hold_music import HoldMusic, LocalStreams, LogFn
from esl_controller.simulator.channels.outbound import Outbound
from esl_controller.simulator.sim_event import SimEvent

Application = Callable[["CallCore", Channel, str], None]


class Transfer(Exception):  # noqa: N818 - a control-flow signal, as in FreeSWITCH's core
    """Raised in a session to restart routing at a new destination."""


class CallCore:
    def __init__(
        self,
        fire: Callable[[SimEvent], Any],
        *,
        conf_dir: pathlib.Path | None = None,
        global_vars: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        speed: float = 1.0,
        hostname: str = "sim",
        log: LogFn | None = None,
    ) -> None:
        self.global_vars = global_vars if global_vars is not None else {}
        self.engine = ChannelEngine(fire, clock, hostname)
        # mod_local_stream's streams and the music a held leg's partner plays.
        self.hold_music = HoldMusic(self.engine, LocalStreams.load(conf_dir, self.global_vars),
                                    self.global_vars, *([log] if log else []))  # fmt: skip
        self.dialplan = Dialplan(self.global_vars).load(conf_dir)
        self.outbound = Outbound(self)
        self.speed = speed
        self.applications: dict[str, Application] = dict(apps.BUILTIN)
        self._pairs: dict[str, str] = {}
        self._answer_waiters: dict[str, AsyncResult] = {}
        self.engine.on_hangup.append(self._after_hangup)
        self.dtmf_listeners: list[Callable[[Channel, str], None]] = []

    # -- time ------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        gevent.sleep(max(0.0, seconds) / self.speed)

    # -- legs ------------------------------------------------------------------------

    def pair(self, a_leg: Channel, b_leg: Channel) -> None:
        """Two legs that live and die together (a loopback pair)."""
        self._pairs[a_leg.uuid] = b_leg.uuid
        self._pairs[b_leg.uuid] = a_leg.uuid

    def other_leg(self, channel: Channel) -> Channel | None:
        other = self._pairs.get(channel.uuid)
        return self.engine.channels.get(other) if other else None

    def watch_answer(self, channel: Channel, result: AsyncResult) -> None:
        self._answer_waiters[channel.uuid] = result

    def answer(self, channel: Channel) -> None:
        """Answer a channel; a loopback -b leg answers its -a leg first."""
        other = self.other_leg(channel)
        if other is not None and channel.variables.get("loopback_leg") == "B":
            self._answer_one(other)
        self._answer_one(channel)

    def _answer_one(self, channel: Channel) -> None:
        if channel.answered:
            return
        self.engine.answer(channel)
        waiter = self._answer_waiters.pop(channel.uuid, None)
        if waiter is not None and not waiter.ready():
            waiter.set(True)
        # FreeSWITCH runs ``execute_on_answer`` ("app args") on the channel once it is
        # answered (switch_channel_execute_on); click-to-call uses it for callcenter_track.
        on_answer = channel.variables.get("execute_on_answer")
        if on_answer:
            app, _, data = on_answer.strip().partition(" ")
            gevent.spawn(self.execute, channel, app, data)

    def early(self, channel: Channel) -> None:
        """Early media; a loopback -b leg passes it to its -a leg first."""
        other = self.other_leg(channel)
        for leg in (other, channel) if channel.variables.get("loopback_leg") == "B" else (channel,):
            if leg is not None and leg.answer_state == "ringing" and not leg.gone:
                self.engine.early(leg)

    def bow_out(self, a_leg: Channel) -> Channel | None:
        """mod_loopback's bow-out: if ``a_leg``'s -b twin is bridged to a real channel,
        the loopback pair leaves (NORMAL_CLEARING) and that channel takes its place.
        Returns the far channel, or None when there is nothing to bow out to."""
        b_leg = self.other_leg(a_leg)
        far = b_leg.partner if b_leg is not None else None
        if b_leg is None or far is None or far.gone:
            return None
        far.survives_bridge = True
        self.engine.unbridge_event(b_leg).set()  # ends the -b leg's bridge, far survives
        gevent.sleep(0)
        self.engine.hangup(b_leg, "NORMAL_CLEARING")
        gevent.sleep(0)
        far.survives_bridge = False
        return far

    def hangup_pair(self, channel: Channel, cause: str) -> None:
        self.engine.hangup(channel, cause)

    def shut_down(self) -> None:
        """The process is gone (a restart): every channel vanishes without an event, and
        whoever still waits for a leg to answer (an offer, a caller, an originate) hears
        SYSTEM_SHUTDOWN, so no greenlet of the old switch is left waiting forever."""
        self.engine.drop_all()
        waiters, self._answer_waiters = self._answer_waiters, {}
        for waiter in waiters.values():
            if not waiter.ready():
                waiter.set("SYSTEM_SHUTDOWN")
        self._pairs.clear()

    def _after_hangup(self, channel: Channel) -> None:
        waiter = self._answer_waiters.pop(channel.uuid, None)
        if waiter is not None and not waiter.ready():
            waiter.set(channel.hangup_cause or "NORMAL_CLEARING")
        other_uuid = self._pairs.pop(channel.uuid, None)
        if other_uuid:
            self._pairs.pop(other_uuid, None)
            other = self.engine.channels.get(other_uuid)
            if other is not None and not other.gone:
                gevent.spawn(self.engine.hangup, other, channel.hangup_cause or "NORMAL_CLEARING")

    # -- sessions --------------------------------------------------------------------

    def start_dialplan(self, channel: Channel) -> None:
        self.engine.run_session(channel, self.run_dialplan)

    def start_app(self, channel: Channel, app: str, data: str) -> None:
        def body(ch: Channel) -> None:
            self.execute(ch, app, data)

        self.engine.run_session(channel, body)

    def run_dialplan(self, channel: Channel) -> None:
        channel.set_var("call_uuid", channel.call_uuid or channel.uuid)
        for _ in range(32):  # transfers are bounded: a loop in the dialplan ends here
            channel.hit_dialplan = True
            if channel.state in ("CS_INIT", "CS_ROUTING"):
                self.engine.set_state(channel, "CS_EXECUTE")
            try:
                for action in self.dialplan.route(channel):
                    self.execute(channel, action.application, action.data)
                return
            except Transfer:
                continue

    def execute(self, channel: Channel, app: str, data: str) -> None:
        expanded = expand(data, channel, self.global_vars)
        channel.set_var("current_application_data", expanded)
        channel.set_var("current_application", app)
        handler = self.applications.get(app)
        if handler is None:
            return  # FreeSWITCH logs "Invalid Application" and goes on
        handler(self, channel, expanded)

    def dtmf(self, channel: Channel, digits: str) -> None:
        """Digits received on a channel (from its phone, or uuid_recv_dtmf)."""
        channel.set_var("last_dtmf", digits[-1:])
        for listener in list(self.dtmf_listeners):
            listener(channel, digits)

    def transfer(self, channel: Channel, destination: str, context: str | None = None) -> None:
        channel.profile.destination = destination
        if context:
            channel.profile.context = context
        channel.transfer_us = self.engine.now_us()
        # Stop what the channel was running first (it must not finish and hang up),
        # then pull it out of its bridge and let the bridge end before routing again.
        greenlet = self.engine._greenlets.pop(channel.uuid, None)
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=True)
        if channel.partner is not None:
            self.engine.unbridge_event(channel).set()
            gevent.sleep(0)
        if channel.answered:
            # Re-entering the dialplan: RINGING then ACTIVE, no new CHANNEL_ANSWER.
            self.engine.set_callstate(channel, "RINGING")
            self.engine.set_callstate(channel, "ACTIVE")
        self.engine.run_session(channel, self.run_dialplan)
