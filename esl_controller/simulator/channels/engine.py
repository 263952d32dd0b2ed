"""Channel lifecycle with FreeSWITCH's events: create, ring, answer, hold, hang up.

Each channel that runs applications has its own greenlet (FreeSWITCH's session thread);
``hangup`` ends it, which interrupts whatever blocking application it was in (park,
sleep, endless playback). Event order and the functions/lines reported in
Event-Calling-* follow the recorded FreeSWITCH 1.10.12 sessions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event as GeventEvent

from esl_controller.simulator.channels.channel import (
    CALLSTATE_NUMBERS,
    STATE_NUMBERS,
    Channel,
    Header,
    Profile,
)
from esl_controller.simulator.sim_event import SimEvent

CREATE = ("switch_core_state_machine.c", "switch_core_session_run", 626)
CALLSTATE = ("switch_channel.c", "switch_channel_perform_set_callstate", 301)
ANSWER = ("switch_channel.c", "switch_channel_perform_mark_answered", 3846)
HANGUP = ("switch_channel.c", "switch_channel_perform_hangup", 3445)
HANGUP_COMPLETE = ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943)
DESTROY = ("switch_core_session.c", "switch_core_session_perform_destroy", 1584)
HOLD = ("switch_channel.c", "switch_channel_perform_mark_hold", 1436)
UNBRIDGE = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879)
UNHOLD = ("switch_channel.c", "switch_channel_perform_mark_hold", 1436)
UNBRIDGE = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879)


class Hangup(Exception):
    """Raised inside a channel's greenlet when the channel is hung up."""


class ChannelEngine:
    def __init__(
        self,
        fire: Callable[[SimEvent], Any],
        clock: Callable[[], float] = time.time,
        hostname: str = "sim",
    ) -> None:
        self.fire = fire
        self.clock = clock
        self.hostname = hostname
        self.channels: dict[str, Channel] = {}
        self.sessions_since_startup = 0
        self.peak = 0
        self._done: dict[str, GeventEvent] = {}
        self._unbridge: dict[str, GeventEvent] = {}
        self._greenlets: dict[str, gevent.Greenlet] = {}
        self.on_hangup: list[Callable[[Channel], None]] = []

    def now_us(self) -> int:
        return int(self.clock() * 1_000_000)

    # -- events ----------------------------------------------------------------------

    def emit(
        self,
        name: str,
        channel: Channel,
        calling: tuple[str, str, int],
        prefix: list[Header] | None = None,
    ) -> None:
        headers = list(prefix or []) + channel.headers(name)
        self.fire(SimEvent(name, headers, calling=calling))

    # -- lifecycle -------------------------------------------------------------------

    def create(
        self,
        name: str,
        direction: str,
        profile: Profile,
        variables: dict[str, str] | None = None,
        *,
        channel_uuid: str | None = None,
        announce: bool = True,
    ) -> Channel:
        now = self.now_us()
        profile.created_us = now
        channel = Channel(name=name, direction=direction, profile=profile)
        if channel_uuid:
            channel.uuid = channel_uuid
        channel.created_us = now
        v = channel.variables
        v["direction"] = direction
        if direction == "outbound":
            v["is_outbound"] = "true"
        v["uuid"] = channel.uuid
        v["call_uuid"] = channel.uuid
        v["session_id"] = str(self.sessions_since_startup + 1)
        if direction == "inbound":
            v["channel_name"] = name
        v["read_codec"], v["read_rate"] = channel.codec[0], channel.codec[1]
        v["write_codec"], v["write_rate"] = channel.codec[0], channel.codec[1]
        if direction == "outbound":
            v["channel_name"] = name
        for key, value in (variables or {}).items():
            channel.variables[key] = value
        self.channels[channel.uuid] = channel
        self._done[channel.uuid] = GeventEvent()
        self.sessions_since_startup += 1
        self.peak = max(self.peak, len(self.channels))
        if announce:
            self.emit("CHANNEL_CREATE", channel, CREATE)
        return channel

    def announce(self, channel: Channel) -> None:
        """CHANNEL_CREATE for a channel made with ``announce=False`` (a leg pair whose
        variables must be in place before either CREATE fires)."""
        self.emit("CHANNEL_CREATE", channel, CREATE)

    def set_state(self, channel: Channel, state: str) -> None:
        channel.state = state
        channel.state_number = STATE_NUMBERS[state]

    def set_callstate(self, channel: Channel, callstate: str) -> None:
        original = channel.callstate
        channel.callstate = callstate
        prefix = [
            ("Original-Channel-Call-State", original),
            ("Channel-Call-State-Number", str(CALLSTATE_NUMBERS[callstate])),
        ]
        self.emit("CHANNEL_CALLSTATE", channel, CALLSTATE, prefix)

    def ring(self, channel: Channel) -> None:
        if channel.callstate in ("DOWN", "DIALING"):
            self.set_callstate(channel, "RINGING")

    def early(self, channel: Channel) -> None:
        channel.answer_state = "early"
        self.set_callstate(channel, "EARLY")

    def answer(self, channel: Channel) -> None:
        """Mark answered: CHANNEL_ANSWER, then the call state goes ACTIVE."""
        if channel.answered or channel.gone:
            return
        channel.answer_state = "answered"
        channel.answered_us = self.now_us()
        self.emit("CHANNEL_ANSWER", channel, ANSWER)
        self.set_callstate(channel, "ACTIVE")

    def hold(self, channel: Channel) -> bool:
        if channel.held or channel.gone:
            return False
        channel.held = True
        channel.last_hold_us = self.now_us()
        self.set_callstate(channel, "HELD")
        self.emit("CHANNEL_HOLD", channel, HOLD)
        return True

    def unhold(self, channel: Channel) -> bool:
        if not channel.held or channel.gone:
            return False
        channel.held = False
        channel.hold_accum_us += self.now_us() - channel.last_hold_us
        self.set_callstate(channel, "UNHELD")
        self.set_callstate(channel, "ACTIVE")
        self.emit("CHANNEL_UNHOLD", channel, UNHOLD)
        return True

    def hangup(self, channel: Channel, cause: str = "NORMAL_CLEARING") -> None:
        """HANGUP, CALLSTATE HANGUP, HANGUP_COMPLETE, DESTROY; ends the session."""
        if channel.gone:
            return
        channel.hangup_cause = cause
        channel.hangup_us = self.now_us()
        channel.answer_state = "hangup"
        self.set_state(channel, "CS_HANGUP")
        self.emit("CHANNEL_HANGUP", channel, HANGUP)
        partner = channel.partner
        if partner is not None and channel.other_type == "originatee":
            # The bridging side hears of the end of its bridge while hanging up:
            # UNBRIDGE comes between its HANGUP and its CALLSTATE HANGUP.
            ids = [("Bridge-A-Unique-ID", channel.uuid), ("Bridge-B-Unique-ID", partner.uuid)]
            self.emit("CHANNEL_UNBRIDGE", channel, UNBRIDGE, ids)
        self.set_callstate(channel, "HANGUP")
        channel.variables["hangup_cause"] = cause
        answered = channel.answered_us
        end = channel.hangup_us
        channel.variables["duration"] = str((end - channel.created_us) // 1_000_000)
        channel.variables["billsec"] = str((end - answered) // 1_000_000 if answered else 0)
        self.set_state(channel, "CS_REPORTING")
        self.emit("CHANNEL_HANGUP_COMPLETE", channel, HANGUP_COMPLETE, [("Hangup-Cause", cause)])
        for hook in list(self.on_hangup):
            hook(channel)
        self.set_state(channel, "CS_DESTROY")
        self.emit("CHANNEL_DESTROY", channel, DESTROY)
        self.channels.pop(channel.uuid, None)
        self._unbridge.pop(channel.uuid, None)
        done = self._done.pop(channel.uuid, None)
        if done is not None:
            done.set()
        greenlet = self._greenlets.pop(channel.uuid, None)
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=False)

    def drop_all(self) -> None:
        """The process is gone (a restart): every channel vanishes at once, with no
        event and no hangup hook; sessions are stopped and waiters released."""
        channels = list(self.channels.values())
        self.channels.clear()
        self._unbridge.clear()
        for channel in channels:
            channel.hangup_cause = channel.hangup_cause or "SYSTEM_SHUTDOWN"
            channel.answer_state = "hangup"
        greenlets = list(self._greenlets.values())
        self._greenlets.clear()
        for greenlet in greenlets:
            if greenlet is not gevent.getcurrent():
                greenlet.kill(block=False)
        done = list(self._done.values())
        self._done.clear()
        for event in done:
            event.set()

    # -- sessions --------------------------------------------------------------------

    def run_session(self, channel: Channel, body: Callable[[Channel], None]) -> None:
        """Run ``body`` as the channel's session thread; hang up when it returns."""

        def session() -> None:
            try:
                body(channel)
            except Hangup:
                return
            except gevent.GreenletExit:
                return
            if not channel.gone:
                self.hangup(channel, "NORMAL_CLEARING")

        self._greenlets[channel.uuid] = gevent.spawn(session)

    def done_event(self, channel: Channel) -> GeventEvent:
        """Set when the channel is destroyed (already set for one that is gone)."""
        event = self._done.get(channel.uuid)
        if event is None:
            event = GeventEvent()
            event.set()
        return event

    def unbridge_event(self, channel: Channel) -> GeventEvent:
        """Set to pull a channel out of its bridge without hanging it up (transfer)."""
        return self._unbridge.setdefault(channel.uuid, GeventEvent())

    def wait_hangup(self, channel: Channel, timeout: float | None = None) -> bool:
        """Block until the channel is gone (True) or ``timeout`` passes (False)."""
        done = self._done.get(channel.uuid)
        if done is None:
            return True
        return bool(done.wait(timeout=timeout))

    def get(self, uuid: str) -> Channel | None:
        return self.channels.get(uuid.strip().lower()) or self.channels.get(uuid.strip())

    # -- show ------------------------------------------------------------------------

    def rows(self, what: str) -> list[dict[str, str]]:
        out = []
        for channel in sorted(self.channels.values(), key=lambda c: c.created_us):
            epoch = channel.created_us // 1_000_000
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
            row = channel.show_row(created, epoch, self.hostname)
            if what == "calls":
                partner = channel.partner
                if partner is not None and channel.other_type == "originatee":
                    continue  # the B leg shows up in its A leg's row
                row["call_created_epoch"] = str(epoch)
                for key, value in (partner.show_row(created, epoch, self.hostname)
                                   if partner is not None else {}).items():  # fmt: skip
                    if key in ("uuid", "direction", "name", "state", "cid_name", "cid_num",
                               "callstate", "dest"):  # fmt: skip
                        row[f"b_{key}"] = value
            out.append(row)
        return out
