"""The live floor as the product sees it: agents, calls and queues, as immutable views.

The :class:`~esl_controller.domain.floor.Floor` owns mutable records and hands out these
frozen views (snapshots and change records), so readers never see a half-applied event.
Times are epoch seconds (floats).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AgentView:
    name: str
    status: str
    state: str
    status_since: float | None
    state_since: float | None
    pause_reason: str | None
    call_uuid: str | None  # the member session being served or offered
    queue: str | None
    phone_online: bool | None  # None until a registration event says
    missed_in_a_row: int
    calls_answered: int
    last_call_ended_at: float | None
    wrap_up_time: int
    # Several FreeSWITCH nodes (ESL_NODES): the node the agent lives on, and False while
    # the controller has no link to it (its last known state is all there is).
    node: str | None = None
    reachable: bool = True

    def in_wrap_up(self, now: float) -> bool:
        """mod_callcenter has no wrap-up state: after a call the agent is Waiting at
        once and only ``last_bridge_end + wrap_up_time`` keeps offers away."""
        if self.last_call_ended_at is None or self.call_uuid is not None:
            return False
        return now < self.last_call_ended_at + self.wrap_up_time


@dataclass(frozen=True, slots=True)
class CallView:
    uuid: str  # the caller's channel (member session) for queue calls
    direction: str
    queue: str | None
    member_uuid: str | None
    agent: str | None
    agent_leg: str | None
    cid_name: str
    cid_number: str
    joined_at: float | None
    offered_at: float | None
    answered_at: float | None
    held_since: float | None
    hold_seconds: float
    transferred_at: float | None
    ended_at: float | None
    cause: str | None
    outcome: str | None  # answered | abandoned | timeout | no_agent | exit_key | transferred
    # An attended transfer in progress: the consulted party's leg, who, and when it answered.
    consult_leg: str | None = None
    consult_destination: str | None = None
    consult_answered_at: float | None = None
    # Where the call went when it was transferred (attended: the consulted destination).
    transfer_destination: str | None = None
    # What FreeSWITCH reports playing to the far party (not the agent): the path of a
    # PLAYBACK_START without its PLAYBACK_STOP yet. On hold, that is the hold music.
    playing: str | None = None
    node: str | None = None  # the FreeSWITCH node carrying the call (ESL_NODES)

    @property
    def wait_seconds(self) -> float | None:
        if self.joined_at is None:
            return None
        end = self.answered_at or self.ended_at
        return None if end is None else max(0.0, end - self.joined_at)


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: tuple[str, ...]  # call uuids, in arrival order
    offered: int
    answered: int
    abandoned: int
    answered_within_sl: int
    total_answer_wait: float
    total_handle: float
    handled: int
    # Seconds callers of this queue spent on hold in handled calls, and the threshold
    # its service level counts against (the queue's ``service-level-seconds``).
    total_hold: float = 0.0
    service_level_seconds: float = 20.0
    node: str | None = None  # as AgentView's
    reachable: bool = True

    @property
    def service_level(self) -> float | None:
        """Share of offered calls answered within the threshold (None before any)."""
        finished = self.answered + self.abandoned
        return None if finished == 0 else self.answered_within_sl / finished

    @property
    def average_speed_of_answer(self) -> float | None:
        return None if self.answered == 0 else self.total_answer_wait / self.answered

    @property
    def average_handle_time(self) -> float | None:
        return None if self.handled == 0 else self.total_handle / self.handled

    @property
    def average_hold_time(self) -> float | None:
        return None if self.handled == 0 else self.total_hold / self.handled


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that changed, for the Socket.IO fan-out and the recorder."""

    kind: str  # agent | call | queue | call_ended | activity | phone_check | ...
    key: str
    view: object


@dataclass(frozen=True, slots=True)
class Activity:
    """A closed stretch of one agent status/state (for cc_agent_activities)."""

    agent: str
    status: str
    state: str
    reason: str | None
    started_at: float
    ended_at: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended_at - self.started_at)


@dataclass(frozen=True, slots=True)
class Presence:
    """The product's own record of an agent (FreeSWITCH may forget it on a restart):
    whether someone signed in as the agent, and the status and reason last chosen through
    the product (by the agent, a supervisor, or a repair), with that choice's sequence."""

    agent: str
    signed_in: bool
    status: str
    reason: str | None
    seq: int
    by: str | None
    at: float | None


@dataclass(frozen=True, slots=True)
class Notice:
    """A short message for an agent's page (and supervisors): e.g. "FreeSWITCH restarted:
    you are Ready again"."""

    agent: str
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """The floor's question (a ``phone_check`` change): has ``user`` any registration
    left? Asked when one of its registrations went (sofia::unregister / sofia::expire:
    with ``multiple-registrations`` a desk phone leaving does not take the browser's
    binding along) and after a resync for a phone whose state the floor knew. The
    answer comes back as :class:`RegistrationsLeft` with the same ``seq``."""

    agent: str
    user: str
    domain: str
    seq: int
    # Contacts the switch reported gone since the user's last registration: not counted
    # if the switch still lists them (sofia::expire fires before the row is deleted).
    gone: tuple[str, ...]
    cause: str  # unregister | expire | resync


@dataclass(frozen=True, slots=True)
class RegistrationsLeft:
    """The answer to a :class:`PhoneCheck`: how many registrations of ``user`` remain
    (0: none), or None when the switch could not be asked."""

    user: str
    seq: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Intent:
    """A status the product asked FreeSWITCH for and whose agent-status-change event has
    not arrived yet. Events are matched to intents in command order, so the late event of
    an older command takes that command's reason and cannot undo a newer one."""

    seq: int
    status: str
    reason: str | None
    by: str | None
    at: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    agents: dict[str, AgentView]
    calls: dict[str, CallView]
    queues: dict[str, QueueView]
    taken_at: float | None
    presence: dict[str, Presence] = field(default_factory=dict)
    # Each agent's latest notices, oldest first (a page that connects shows them too).
    notices: dict[str, tuple[Notice, ...]] = field(default_factory=dict)
