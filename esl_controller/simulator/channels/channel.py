"""A simulated channel and the headers FreeSWITCH puts on its events.

Header order is ``switch_channel_event_set_basic_data``'s: state block, Unique-ID,
directions, Channel-Call-UUID, Answer-State, Hangup-Cause (once there is one), codecs,
the caller profile as ``Caller-*``, the bridged partner's profile as ``Other-Type`` +
``Other-Leg-*``, then ``variable_*`` in the order they were set — only for the event
types that carry variables (CHANNEL_CALLSTATE does not, unless verbose events are on).
``Channel-Call-UUID`` is the channel's own uuid, or the A leg's while bridged.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field

STATE_NUMBERS = {
    "CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
    "CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12,
}  # fmt: skip
CALLSTATE_NUMBERS = {
    "DOWN": 0, "DIALING": 1, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HELD": 5,
    "RING_WAIT": 6, "HANGUP": 7, "UNHELD": 8,
}  # fmt: skip
# Events that carry variable_* headers (CHANNEL_CALLSTATE is not among them).
WITH_VARIABLES = frozenset(
    {
        "CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "CHANNEL_HOLD", "CHANNEL_UNHOLD",
        "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
        "PLAYBACK_START", "PLAYBACK_STOP", "CUSTOM",
    }
)  # fmt: skip

Header = tuple[str, str]


@dataclass
class Profile:
    """The caller profile (``Caller-*``; ``Other-Leg-*`` when seen from the partner)."""

    caller_id_name: str = ""
    caller_id_number: str = ""
    callee_id_name: str = ""
    callee_id_number: str = ""
    destination: str = ""
    context: str = "default"
    dialplan: str = "XML"
    source: str = "mod_loopback"
    direction: str = "inbound"
    logical_direction: str = "inbound"
    created_us: int = 0


@dataclass
class Channel:
    name: str
    direction: str
    profile: Profile
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    state: str = "CS_INIT"
    state_number: int = 2
    callstate: str = "DOWN"
    answer_state: str = "ringing"
    hit_dialplan: bool = False
    codec: tuple[str, str, str] = ("L16", "8000", "128000")
    variables: dict[str, str] = field(default_factory=dict)
    call_uuid: str | None = None
    partner: Channel | None = None
    other_type: str | None = None
    hangup_cause: str | None = None
    held: bool = False
    # Not a variable: set on the far channel of a loopback pair that is bowing out, so
    # the end of the -b leg's bridge does not hang it up (it moves to the new bridge).
    survives_bridge: bool = False
    created_us: int = 0
    answered_us: int = 0
    progress_us: int = 0
    progress_media_us: int = 0
    hangup_us: int = 0
    transfer_us: int = 0
    bridged_us: int = 0
    last_hold_us: int = 0
    hold_accum_us: int = 0

    @property
    def answered(self) -> bool:
        return self.answer_state == "answered"

    @property
    def gone(self) -> bool:
        return self.hangup_cause is not None

    def set_var(self, name: str, value: str | None) -> None:
        """Setting a variable re-adds it at the end; empty or None removes it (as
        switch_channel_set_variable does), which is the order events show."""
        self.variables.pop(name, None)
        if value:
            self.variables[name] = value

    # -- headers ---------------------------------------------------------------------

    def profile_headers(self, prefix: str, *, with_index: bool = True) -> list[Header]:
        p = self.profile
        headers = [
            (f"{prefix}-Direction", p.direction),
            (f"{prefix}-Logical-Direction", p.logical_direction),
            (f"{prefix}-Dialplan", p.dialplan.lower()),
            (f"{prefix}-Caller-ID-Name", p.caller_id_name),
            (f"{prefix}-Caller-ID-Number", p.caller_id_number),
            (f"{prefix}-Orig-Caller-ID-Name", p.caller_id_name),
            (f"{prefix}-Orig-Caller-ID-Number", p.caller_id_number),
        ]
        if p.callee_id_name or p.callee_id_number:
            headers += [
                (f"{prefix}-Callee-ID-Name", p.callee_id_name),
                (f"{prefix}-Callee-ID-Number", p.callee_id_number),
            ]
        headers += [
            (f"{prefix}-ANI", p.caller_id_number),
            (f"{prefix}-Destination-Number", p.destination),
            (f"{prefix}-Unique-ID", self.uuid),
            (f"{prefix}-Source", p.source),
            (f"{prefix}-Context", p.context),
            (f"{prefix}-Channel-Name", self.name),
        ]
        if with_index:
            headers.append((f"{prefix}-Profile-Index", "1"))
        headers += [
            (f"{prefix}-Profile-Created-Time", str(p.created_us)),
            (f"{prefix}-Channel-Created-Time", str(self.created_us)),
            (f"{prefix}-Channel-Answered-Time", str(self.answered_us)),
            (f"{prefix}-Channel-Progress-Time", str(self.progress_us)),
            (f"{prefix}-Channel-Progress-Media-Time", str(self.progress_media_us)),
            (f"{prefix}-Channel-Hangup-Time", str(self.hangup_us)),
            (f"{prefix}-Channel-Transfer-Time", str(self.transfer_us)),
            (f"{prefix}-Channel-Resurrect-Time", "0"),
            (f"{prefix}-Channel-Bridged-Time", str(self.bridged_us)),
            (f"{prefix}-Channel-Last-Hold", str(self.last_hold_us)),
            (f"{prefix}-Channel-Hold-Accum", str(self.hold_accum_us)),
            (f"{prefix}-Screen-Bit", "true"),
            (f"{prefix}-Privacy-Hide-Name", "false"),
            (f"{prefix}-Privacy-Hide-Number", "false"),
        ]
        return headers

    def headers(self, event_name: str) -> list[Header]:
        """The channel part of an event: basic data, profiles, variables."""
        headers: list[Header] = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(self.state_number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.call_uuid or self.uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause is not None:
            headers.append(("Hangup-Cause", self.hangup_cause))
        name, rate, bits = self.codec
        headers += [
            ("Channel-Read-Codec-Name", name),
            ("Channel-Read-Codec-Rate", rate),
            ("Channel-Read-Codec-Bit-Rate", bits),
            ("Channel-Write-Codec-Name", name),
            ("Channel-Write-Codec-Rate", rate),
            ("Channel-Write-Codec-Bit-Rate", bits),
        ]
        headers += self.profile_headers("Caller")
        if self.partner is not None and self.other_type is not None:
            headers.append(("Other-Type", self.other_type))
            headers += self.partner.profile_headers("Other-Leg", with_index=False)
        if event_name in WITH_VARIABLES:
            headers += [(f"variable_{k}", v) for k, v in self.variables.items()]
        return headers

    def show_row(self, created: str, created_epoch: int, hostname: str) -> dict[str, str]:
        """A ``show channels as json`` row (every value a string, FreeSWITCH's keys)."""
        p = self.profile
        return {
            "uuid": self.uuid,
            "direction": self.direction,
            "created": created,
            "created_epoch": str(created_epoch),
            "name": self.name,
            "state": self.state,
            "cid_name": p.caller_id_name,
            "cid_num": p.caller_id_number,
            "ip_addr": "",
            "dest": p.destination,
            "application": self.variables.get("current_application", ""),
            "application_data": self.variables.get("current_application_data", ""),
            "dialplan": p.dialplan,
            "context": p.context,
            "read_codec": self.codec[0],
            "read_rate": self.codec[1],
            "read_bit_rate": self.codec[2],
            "write_codec": self.codec[0],
            "write_rate": self.codec[1],
            "write_bit_rate": self.codec[2],
            "secure": "",
            "hostname": hostname,
            "presence_id": "",
            "presence_data": "",
            "accountcode": "",
            "callstate": self.callstate,
            "callee_name": p.callee_id_name,
            "callee_num": p.callee_id_number,
            "callee_direction": "",
            "call_uuid": self.call_uuid or "",
            "sent_callee_name": "",
            "sent_callee_num": "",
            "initial_cid_name": p.caller_id_name,
            "initial_cid_num": p.caller_id_number,
            "initial_ip_addr": "",
            "initial_dest": p.destination,
            "initial_dialplan": p.dialplan,
            "initial_context": p.context,
        }
