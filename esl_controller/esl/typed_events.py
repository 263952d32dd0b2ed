"""Typed, immutable views of the FreeSWITCH events the product uses.

:func:`typed_event` turns a decoded :class:`Event` into one of the classes below (or
``None`` for events the product ignores) through a dispatch table keyed by event name or
``CC-Action``. FreeSWITCH is untrusted input too: numbers are parsed defensively (a bad
value becomes ``None``, never an exception) and statuses stay strings for the domain to
judge.

Things worth knowing when reading these (README quirks):
* ``CC-Hangup-Cause`` on bridge-agent-end and member-queue-end is the *originate* result
  (``SUCCESS``), not why the call ended; CHANNEL_HANGUP_COMPLETE has the real cause.
* ``CC-Agent-UUID`` on bridge-agent-start is the agent's real channel, which for a
  loopback contact is the far channel after the loopback pair bowed out.
* ``members-count`` is unreliable after bridge-agent-start (quirk 15): count members
  yourself from member-queue-start / member-queue-end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from esl_controller.esl.events import Event
from esl_controller.esl.frames import Frame, ascii_int


def to_int(value: str | None) -> int | None:
    """A header as a (possibly negative) int; anything but ASCII digits gives ``None``."""
    return ascii_int(value, signed=True)


def micros_to_seconds(value: str | None) -> float | None:
    """FreeSWITCH's µs timestamps (0 means 'never') as epoch seconds."""
    number = to_int(value)
    if not number:
        return None
    return number / 1_000_000


@dataclass(frozen=True, slots=True)
class Meta:
    """What every event carries: its sequence (the only reliable order) and time."""

    sequence: int | None
    timestamp: float | None  # epoch seconds (Event-Date-Timestamp is not unique)


def meta_of(event: Event) -> Meta:
    return Meta(
        to_int(event.get("Event-Sequence")), micros_to_seconds(event.get("Event-Date-Timestamp"))
    )


# -- mod_callcenter -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentStatusChanged:
    meta: Meta
    agent: str
    status: str


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    meta: Meta
    agent: str
    state: str


@dataclass(frozen=True, slots=True)
class AgentAdded:
    meta: Meta
    agent: str
    agent_type: str


@dataclass(frozen=True, slots=True)
class AgentContactChanged:
    meta: Meta
    agent: str
    contact: str


@dataclass(frozen=True, slots=True)
class AgentSettingsRead:
    """From ``callcenter_config agent list`` (resync): mod_callcenter fires no event when
    ``wrap_up_time`` changes, and its wrap-up gate is ``last_bridge_end + wrap_up_time``."""

    meta: Meta
    agent: str
    wrap_up_time: int
    last_bridge_end: float | None


@dataclass(frozen=True, slots=True)
class AgentValueRead:
    """agent-status-get / agent-state-get / agent-uuid-get (fired by ``agent get``)."""

    meta: Meta
    agent: str
    what: str
    value: str | None


@dataclass(frozen=True, slots=True)
class AgentMaxNoAnswer:
    meta: Meta
    agent: str
    no_answer_count: int | None
    new_status: str
    member_uuid: str | None
    member_session_uuid: str | None


@dataclass(frozen=True, slots=True)
class MemberInfo:
    queue: str
    member_uuid: str
    session_uuid: str
    cid_name: str
    cid_number: str


def member_of(event: Event) -> MemberInfo:
    return MemberInfo(
        queue=event.get("CC-Queue", "") or "",
        member_uuid=event.get("CC-Member-UUID", "") or "",
        session_uuid=event.get("CC-Member-Session-UUID", "") or "",
        cid_name=event.get("CC-Member-CID-Name", "") or "",
        cid_number=event.get("CC-Member-CID-Number", "") or "",
    )


@dataclass(frozen=True, slots=True)
class MemberQueueStart:
    meta: Meta
    member: MemberInfo
    resumed: bool


@dataclass(frozen=True, slots=True)
class MemberQueueEnd:
    meta: Meta
    member: MemberInfo
    cause: str  # Terminated | Cancel
    cancel_reason: str | None  # TIMEOUT, NO_AGENT_TIMEOUT, BREAK_OUT, EXIT_WITH_KEY, NONE
    agent: str | None
    agent_uuid: str | None
    joined_at: float | None
    left_at: float | None
    answered_at: float | None


@dataclass(frozen=True, slots=True)
class MembersCount:
    meta: Meta
    queue: str
    count: int | None


@dataclass(frozen=True, slots=True)
class AgentOffering:
    meta: Meta
    member: MemberInfo
    agent: str


@dataclass(frozen=True, slots=True)
class BridgeAgentStart:
    meta: Meta
    member: MemberInfo
    agent: str
    agent_uuid: str | None
    called_at: float | None
    answered_at: float | None
    joined_at: float | None


@dataclass(frozen=True, slots=True)
class BridgeAgentFail:
    meta: Meta
    member: MemberInfo
    agent: str
    hangup_cause: str
    called_at: float | None
    aborted_at: float | None


@dataclass(frozen=True, slots=True)
class BridgeAgentEnd:
    meta: Meta
    member: MemberInfo
    agent: str
    agent_uuid: str | None
    answered_at: float | None
    ended_at: float | None
    hangup_cause: str | None  # channel's real cause, when present


def _seconds(event: Event, name: str) -> float | None:
    number = to_int(event.get(name))
    return float(number) if number else None


def _cc_agent_status(e: Event) -> AgentStatusChanged:
    return AgentStatusChanged(
        meta_of(e), e.get("CC-Agent", "") or "", e.get("CC-Agent-Status") or ""
    )


def _cc_agent_state(e: Event) -> AgentStateChanged:
    return AgentStateChanged(meta_of(e), e.get("CC-Agent", "") or "", e.get("CC-Agent-State") or "")


def _cc_member_start(e: Event) -> MemberQueueStart:
    return MemberQueueStart(meta_of(e), member_of(e), e.get("CC-Action") == "member-queue-resume")


def _cc_member_end(e: Event) -> MemberQueueEnd:
    return MemberQueueEnd(
        meta=meta_of(e),
        member=member_of(e),
        cause=e.get("CC-Cause", "") or "",
        cancel_reason=e.get("CC-Cancel-Reason"),
        agent=e.get("CC-Agent"),
        agent_uuid=e.get("CC-Agent-UUID"),
        joined_at=_seconds(e, "CC-Member-Joined-Time"),
        left_at=_seconds(e, "CC-Member-Leaving-Time"),
        answered_at=_seconds(e, "CC-Agent-Answered-Time"),
    )


def _cc_bridge_start(e: Event) -> BridgeAgentStart:
    return BridgeAgentStart(
        meta=meta_of(e),
        member=member_of(e),
        agent=e.get("CC-Agent", "") or "",
        agent_uuid=e.get("CC-Agent-UUID"),
        called_at=_seconds(e, "CC-Agent-Called-Time"),
        answered_at=_seconds(e, "CC-Agent-Answered-Time"),
        joined_at=_seconds(e, "CC-Member-Joined-Time"),
    )


def _cc_bridge_fail(e: Event) -> BridgeAgentFail:
    return BridgeAgentFail(
        meta=meta_of(e),
        member=member_of(e),
        agent=e.get("CC-Agent", "") or "",
        hangup_cause=e.get("CC-Hangup-Cause", "") or "",
        called_at=_seconds(e, "CC-Agent-Called-Time"),
        aborted_at=_seconds(e, "CC-Agent-Aborted-Time"),
    )


def _cc_bridge_end(e: Event) -> BridgeAgentEnd:
    return BridgeAgentEnd(
        meta=meta_of(e),
        member=member_of(e),
        agent=e.get("CC-Agent", "") or "",
        agent_uuid=e.get("CC-Agent-UUID"),
        answered_at=_seconds(e, "CC-Agent-Answered-Time"),
        ended_at=_seconds(e, "CC-Bridge-Terminated-Time"),
        hangup_cause=e.get("Hangup-Cause"),
    )


CALLCENTER: dict[str, Callable[[Event], object]] = {
    "agent-status-change": _cc_agent_status,
    "agent-state-change": _cc_agent_state,
    "agent-add": lambda e: AgentAdded(
        meta_of(e), e.get("CC-Agent") or "", e.get("CC-Agent-Type") or ""
    ),
    "agent-contact-change": lambda e: AgentContactChanged(
        meta_of(e), e.get("CC-Agent") or "", e.get("CC-Agent-Contact") or ""
    ),
    "agent-status-get": lambda e: AgentValueRead(
        meta_of(e), e.get("CC-Agent") or "", "status", e.get("CC-Agent-Status")
    ),
    "agent-state-get": lambda e: AgentValueRead(
        meta_of(e), e.get("CC-Agent") or "", "state", e.get("CC-Agent-State")
    ),
    "agent-uuid-get": lambda e: AgentValueRead(
        meta_of(e), e.get("CC-Agent") or "", "uuid", e.get("CC-Agent-UUID")
    ),
    "agent-max-no-answer": lambda e: AgentMaxNoAnswer(
        meta_of(e),
        e.get("CC-Agent") or "",
        to_int(e.get("CC-Agent-No-Answer-Count")),
        e.get("CC-Agent-No-Answer-Status") or "",
        e.get("CC-Member-UUID"),
        e.get("CC-Member-Session-UUID"),
    ),
    "member-queue-start": _cc_member_start,
    "member-queue-resume": _cc_member_start,
    "member-queue-end": _cc_member_end,
    "members-count": lambda e: MembersCount(
        meta_of(e), e.get("CC-Queue") or "", to_int(e.get("CC-Count"))
    ),
    "agent-offering": lambda e: AgentOffering(meta_of(e), member_of(e), e.get("CC-Agent") or ""),
    "bridge-agent-start": _cc_bridge_start,
    "bridge-agent-fail": _cc_bridge_fail,
    "bridge-agent-end": _cc_bridge_end,
}


# -- channels -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """One CHANNEL_* event, reduced to what the floor model reads."""

    meta: Meta
    name: str  # CHANNEL_CREATE, CHANNEL_ANSWER, ...
    uuid: str
    call_uuid: str | None
    channel_name: str
    direction: str
    answer_state: str
    call_state: str
    caller_id_name: str
    caller_id_number: str
    callee_id_name: str
    callee_id_number: str
    destination: str
    other_leg_uuid: str | None
    bridge_a: str | None
    bridge_b: str | None
    hangup_cause: str | None
    cc_side: str | None
    cc_queue: str | None
    cc_agent: str | None
    cc_member_session_uuid: str | None
    cc_tracked_agent: str | None
    click_to_call_agent: str | None  # the product's dial-out legs (see click_to_call)
    click_to_call_number: str | None
    consult_call_uuid: str | None  # an attended transfer's consult leg (see calls service)
    consult_destination: str | None
    billsec: int | None
    duration: int | None


CHANNEL_EVENTS = frozenset(
    {
        "CHANNEL_CREATE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_ANSWER",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "CHANNEL_CALLSTATE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_DESTROY",
    }
)


def _channel(e: Event) -> ChannelEvent:
    get = e.get
    return ChannelEvent(
        meta=meta_of(e),
        name=e.name,
        uuid=get("Unique-ID", "") or "",
        call_uuid=get("Channel-Call-UUID"),
        channel_name=get("Channel-Name", "") or "",
        direction=get("Call-Direction", "") or "",
        answer_state=get("Answer-State", "") or "",
        call_state=get("Channel-Call-State", "") or "",
        caller_id_name=get("Caller-Caller-ID-Name", "") or "",
        caller_id_number=get("Caller-Caller-ID-Number", "") or "",
        callee_id_name=get("Caller-Callee-ID-Name", "") or "",
        callee_id_number=get("Caller-Callee-ID-Number", "") or "",
        destination=get("Caller-Destination-Number", "") or "",
        other_leg_uuid=get("Other-Leg-Unique-ID"),
        bridge_a=get("Bridge-A-Unique-ID"),
        bridge_b=get("Bridge-B-Unique-ID"),
        hangup_cause=get("Hangup-Cause"),
        cc_side=get("variable_cc_side"),
        cc_queue=get("variable_cc_queue"),
        cc_agent=get("variable_cc_agent"),
        cc_member_session_uuid=get("variable_cc_member_session_uuid"),
        cc_tracked_agent=get("variable_cc_tracked_agent"),
        click_to_call_agent=get("variable_click_to_call_agent"),
        click_to_call_number=get("variable_click_to_call_number"),
        consult_call_uuid=get("variable_consult_call_uuid"),
        consult_destination=get("variable_consult_destination"),
        billsec=to_int(get("variable_billsec")),
        duration=to_int(get("variable_duration")),
    )


# -- core, sofia, logs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heartbeat:
    meta: Meta
    uptime_msec: int | None
    session_count: int | None
    version: str


@dataclass(frozen=True, slots=True)
class SwitchShutdown:
    """FreeSWITCH is shutting down (``fsctl shutdown``): on a real 1.10.12 this comes
    first, then every channel's hangup (cause SYSTEM_SHUTDOWN) and mod_callcenter's
    member-queue-end for each caller waiting, then the disconnect notice."""

    meta: Meta


@dataclass(frozen=True, slots=True)
class BackgroundJob:
    meta: Meta
    job_uuid: str
    command: str
    args: str
    body: str

    @property
    def ok(self) -> bool:
        return self.body.startswith("+OK")


@dataclass(frozen=True, slots=True)
class PhoneRegistration:
    """sofia::register / unregister / expire: a softphone came online or went away."""

    meta: Meta
    kind: str  # register | unregister | expire
    profile: str
    user: str
    realm: str
    contact: str
    status: str
    expires: int | None
    network_ip: str
    network_port: int | None
    user_agent: str
    # The host the registration is stored under (sofia's sip_host: ``from-host`` on
    # register/unregister, ``host`` on expire); ``realm`` is the auth realm, "unknown"
    # on an un-REGISTER that was not challenged.
    host: str = ""
    # The registration's SIP Call-ID, and why it went when the switch says: a WebSocket
    # phone whose socket closed (a browser tab closed: no un-REGISTER is sent) fires
    # sofia::unregister with reason "socket-disconnection", a call-id and *no* contact,
    # and mod_sofia deletes the row only later, through the profile's queued SQL.
    call_id: str = ""
    reason: str = ""

    @property
    def online(self) -> bool:
        return self.kind == "register" and (self.expires or 0) > 0


def _sofia(kind: str) -> Callable[[Event], PhoneRegistration]:
    def build(e: Event) -> PhoneRegistration:
        get = e.get
        return PhoneRegistration(
            meta=meta_of(e),
            kind=kind,
            profile=get("profile-name", "") or "",
            user=get("username") or get("from-user") or "",
            realm=get("realm") or get("from-host") or "",
            contact=get("contact", "") or "",
            status=get("status", "") or "",
            expires=to_int(get("expires")),
            network_ip=get("network-ip", "") or "",
            network_port=to_int(get("network-port")),
            user_agent=get("user-agent", "") or "",
            host=get("from-host") or get("host") or "",
            call_id=get("call-id", "") or "",
            reason=get("reason", "") or "",
        )

    return build


@dataclass(frozen=True, slots=True)
class Playback:
    """PLAYBACK_START / PLAYBACK_STOP: a file or stream playing on a channel.

    FreeSWITCH fires PLAYBACK_START only once the file has opened: hold music whose
    ``local_stream`` source is missing ("Unknown source default", silence) fires none. On
    hold, ``hold_music`` is broadcast to the held leg's partner, so the start comes on the
    *caller's* channel; ``partner`` is the channel it is bridged to, when the event says."""

    meta: Meta
    started: bool
    uuid: str
    partner: str | None
    path: str


def _playback(started: bool) -> Callable[[Event], Playback]:
    def build(e: Event) -> Playback:
        get = e.get
        partner = get("Other-Leg-Unique-ID") or get("variable_signal_bond") or None
        return Playback(meta=meta_of(e), started=started, uuid=get("Unique-ID", "") or "",
                        partner=partner, path=get("Playback-File-Path", "") or "")  # fmt: skip

    return build


@dataclass(frozen=True, slots=True)
class LogLine:
    level: int | None
    file: str
    func: str
    line: int | None
    text: str


def log_line(frame: Frame) -> LogLine:
    """A ``log/data`` frame as a log line."""
    h = frame.headers
    return LogLine(
        level=to_int(h.get("Log-Level")),
        file=h.get("Log-File", ""),
        func=h.get("Log-Func", ""),
        line=to_int(h.get("Log-Line")),
        text=frame.text.rstrip("\n"),
    )


BY_KEY: dict[str, Callable[[Event], object]] = {
    "HEARTBEAT": lambda e: Heartbeat(
        meta_of(e),
        to_int(e.get("Uptime-msec")),
        to_int(e.get("Session-Count")),
        e.get("FreeSWITCH-Version", "") or "",
    ),
    "BACKGROUND_JOB": lambda e: BackgroundJob(
        meta_of(e),
        e.get("Job-UUID", "") or "",
        e.get("Job-Command", "") or "",
        e.get("Job-Command-Arg", "") or "",
        e.body,
    ),
    "SHUTDOWN": lambda e: SwitchShutdown(meta_of(e)),
    "sofia::register": _sofia("register"),
    "sofia::unregister": _sofia("unregister"),
    "sofia::expire": _sofia("expire"),
    "PLAYBACK_START": _playback(True),
    "PLAYBACK_STOP": _playback(False),
}
for _name in CHANNEL_EVENTS:
    BY_KEY[_name] = _channel


def typed_event(event: Event) -> object | None:
    """The typed view of ``event``, or None when the product has no use for it."""
    key = event.key
    if key == "callcenter::info":
        build = CALLCENTER.get(event.get("CC-Action") or "")
        return build(event) if build is not None else None
    build = BY_KEY.get(key)
    return build(event) if build is not None else None
