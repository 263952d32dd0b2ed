"""Request and response shapes of the REST API (and of the Socket.IO payloads, which use
the same agent, call and queue models). Requests forbid unknown fields; every string
that may reach an ESL command is also checked by the command builders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from esl_controller.domain.model import AgentView, CallView, QueueView

Short = Field(min_length=1, max_length=64)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorDetail


class Ok(BaseModel):
    ok: bool = True


# -- requests --------------------------------------------------------------------------


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class NotReadyBody(Strict):
    reason: str = Field(
        min_length=1, max_length=128, description="a pause reason: its code or label, any case"
    )


class DtmfBody(Strict):
    digits: str = Field(pattern=r"^[0-9*#A-Da-d]{1,32}$")


class TransferBody(Strict):
    destination: str = Field(pattern=r"^[0-9*#+]{1,32}$", description="extension or number")
    mode: Literal["blind", "attended"] = "blind"


class DialBody(Strict):
    number: str = Field(pattern=r"^\+?[0-9]{2,20}$")


class WrapUpBody(Strict):
    disposition: str = Field(min_length=1, max_length=32, description="a disposition code")
    notes: str = Field(default="", max_length=2000)
    call_uuid: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="the call; required when more than one call awaits a disposition",
    )  # fmt: skip
    edit: bool = Field(default=False, description="replace a disposition already saved "
                       "(the old one stays in the audit log); otherwise that is a 409")  # fmt: skip


class WrapUpCloseBody(Strict):
    call_uuid: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="one owed call; none: every call owed")  # fmt: skip


class HistoryQuery(Strict):
    limit: int = Field(default=20, ge=1, le=200)


class LookupQuery(Strict):
    number: str = Field(pattern=r"^\+?[0-9*#]{1,32}$")


class AgentStatusBody(Strict):
    status: Literal["Logged Out", "Available", "Available (On Demand)", "On Break"]
    # What the agent is shown as the reason; "Supervisor: <name>" when none is given.
    reason: str | None = Field(default=None, min_length=1, max_length=64)


class AgentStateBody(Strict):
    state: Literal["Waiting", "Receiving", "In a queue call", "Idle", "Reserved"]


class EavesdropBody(Strict):
    agent: str = Field(min_length=1, max_length=128)
    mode: Literal["listen", "whisper", "barge"] = "listen"


class TierBody(Strict):
    queue: str = Field(min_length=1, max_length=128)
    agent: str = Field(min_length=1, max_length=128)
    level: int = Field(default=1, ge=1, le=99)
    position: int = Field(default=1, ge=1, le=999)


class TierRemoveBody(Strict):
    queue: str = Field(min_length=1, max_length=128)
    agent: str = Field(min_length=1, max_length=128)


# -- responses -------------------------------------------------------------------------


class AgentOut(BaseModel):
    name: str
    status: str
    state: str
    status_since: float | None
    state_since: float | None
    pause_reason: str | None
    call_uuid: str | None
    queue: str | None
    phone_online: bool | None
    calls_answered: int
    missed_in_a_row: int
    wrap_up_until: float | None
    node: str | None = Field(
        default=None, description="the FreeSWITCH node the agent lives on (ESL_NODES)"
    )
    reachable: bool = Field(
        default=True, description="false while its node is down: status is then "
        "'Unreachable' (the last known state stays in state)")  # fmt: skip
    last_status: str | None = Field(
        default=None, description="while unreachable: its status when last seen"
    )

    @classmethod
    def of(cls, view: AgentView, now: float) -> AgentOut:
        until = None
        if view.in_wrap_up(now) and view.last_call_ended_at is not None:
            until = view.last_call_ended_at + view.wrap_up_time
        return cls(
            name=view.name, status=view.status if view.reachable else "Unreachable",
            state=view.state, node=view.node, reachable=view.reachable,
            last_status=None if view.reachable else view.status,
            status_since=view.status_since, state_since=view.state_since,
            pause_reason=view.pause_reason, call_uuid=view.call_uuid, queue=view.queue,
            phone_online=view.phone_online, calls_answered=view.calls_answered,
            missed_in_a_row=view.missed_in_a_row, wrap_up_until=until,
        )  # fmt: skip


class ConsultOut(BaseModel):
    destination: str | None
    answered: bool
    state: Literal["ringing", "answered"] = Field(
        description="ringing: only Cancel works; answered: Complete or Cancel"
    )


class CallOut(BaseModel):
    uuid: str
    direction: str
    queue: str | None
    agent: str | None
    cid_name: str
    cid_number: str
    joined_at: float | None
    offered_at: float | None
    answered_at: float | None
    held: bool
    held_since: float | None
    hold_seconds: float
    transferred_at: float | None
    ended_at: float | None
    cause: str | None
    outcome: str | None
    consult: ConsultOut | None = Field(
        default=None, description="attended transfer: who is being consulted, answered yet"
    )
    hold_music: str | None = Field(
        default=None, description="while held: what FreeSWITCH reports playing to the "
        "caller (PLAYBACK_START's Playback-File-Path, e.g. local_stream://moh); null when "
        "it reports nothing playing (no hold music, or its source is missing)")  # fmt: skip
    node: str | None = Field(default=None, description="the FreeSWITCH node carrying it")

    @classmethod
    def of(cls, view: CallView) -> CallOut:
        return cls(
            uuid=view.uuid, direction=view.direction, queue=view.queue, agent=view.agent,
            cid_name=view.cid_name, cid_number=view.cid_number, joined_at=view.joined_at,
            offered_at=view.offered_at, answered_at=view.answered_at,
            held=view.held_since is not None, held_since=view.held_since,
            hold_seconds=view.hold_seconds, transferred_at=view.transferred_at,
            ended_at=view.ended_at, cause=view.cause, outcome=view.outcome,
            consult=None if view.consult_leg is None else ConsultOut(
                destination=view.consult_destination,
                answered=view.consult_answered_at is not None,
                state="ringing" if view.consult_answered_at is None else "answered"),
            hold_music=view.playing if view.held_since is not None else None,
            node=view.node,
        )  # fmt: skip


class QueueOut(BaseModel):
    name: str
    waiting: int
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    average_speed_of_answer: float | None
    average_handle_time: float | None
    average_hold_time: float | None = Field(
        default=None, description="seconds on hold per handled call"
    )
    service_level_seconds: float = Field(
        default=20.0, description="the threshold the service level counts against"
    )
    waiting_calls: list[str] = Field(
        default_factory=list, description="the waiting callers' call uuids, first in line first"
    )
    node: str | None = Field(default=None, description="the FreeSWITCH node it lives on")
    reachable: bool = Field(default=True, description="false while its node is down")

    @classmethod
    def of(cls, view: QueueView) -> QueueOut:
        return cls(
            name=view.name, waiting=len(view.waiting), offered=view.offered,
            answered=view.answered, abandoned=view.abandoned,
            service_level=view.service_level,
            average_speed_of_answer=view.average_speed_of_answer,
            average_handle_time=view.average_handle_time,
            average_hold_time=view.average_hold_time,
            service_level_seconds=view.service_level_seconds,
            waiting_calls=list(view.waiting), node=view.node, reachable=view.reachable,
        )  # fmt: skip


class UserOut(BaseModel):
    username: str
    role: str
    display_name: str
    extension: str | None
    agent: str | None


class LoginOut(BaseModel):
    csrf_token: str
    user: UserOut
    agent: AgentOut | None


class WrapUpOut(BaseModel):
    call_uuid: str
    until: float = Field(description="offers are held until then unless a disposition is saved")


class OwedOut(BaseModel):
    """A finished call awaiting its disposition."""

    call_uuid: str
    direction: str
    cid_name: str
    cid_number: str
    outcome: str | None
    ended_at: float | None
    until: float = Field(description="offers are held until then unless saved or closed")


class AgentStatusOut(BaseModel):
    agent: AgentOut | None = Field(description="null until FreeSWITCH has reported the agent")
    call: CallOut | None
    wrap_up: WrapUpOut | None = Field(default=None, description="the newest call awaiting "
                                      "a disposition (see owed for all of them)")  # fmt: skip
    owed: list[OwedOut] = Field(
        default_factory=list, description="every call awaiting a disposition, oldest first"
    )


class WrapUpSavedOut(BaseModel):
    ok: bool = True
    call_uuid: str = Field(description="the call the disposition was saved on")


class WrapUpClosedOut(BaseModel):
    ok: bool = True
    closed: list[str] = Field(description="the calls no longer awaiting a disposition")
    owed: list[OwedOut]


class CustomerOut(BaseModel):
    id: int | None
    name: str
    phone: str
    email: str | None
    company: str | None
    notes: str | None
    vip: bool
    source: str = Field(description="customers table or crm")


class RingingOut(BaseModel):
    call: CallOut
    customer: CustomerOut | None


class CallActionOut(BaseModel):
    ok: bool = True
    call: CallOut | None


class DialOut(BaseModel):
    call_uuid: str


class Choice(BaseModel):
    code: str
    label: str


class ChoicesOut(BaseModel):
    items: list[Choice]


class HistoryItem(BaseModel):
    call_uuid: str
    direction: str
    queue: str | None
    cid_name: str
    cid_number: str
    joined_at: str | None
    answered_at: str | None
    ended_at: str | None
    talk_seconds: float | None = Field(description="answered to end, hold excluded")
    hold_seconds: float = Field(description="time the caller spent on hold")
    outcome: str | None
    transferred: bool = False
    transfer_destination: str | None = Field(
        default=None, description="where an attended transfer went"
    )
    disposition: str | None
    notes: str | None
    node: str | None = Field(
        default=None, description="the FreeSWITCH node that carried the call (ESL_NODES)"
    )


class HistoryOut(BaseModel):
    items: list[HistoryItem]


class TransferTarget(BaseModel):
    extension: str
    name: str
    agent: str | None
    status: str | None
    state: str | None


class TargetsOut(BaseModel):
    items: list[TransferTarget]


class SipCredentialsOut(BaseModel):
    uri: str
    extension: str
    domain: str
    wss_url: str
    ha1: str
    display_name: str


class FloorOut(BaseModel):
    agents: list[AgentOut]
    calls: list[CallOut]
    queues: list[QueueOut]


class LookupOut(BaseModel):
    customer: CustomerOut | None


# -- supervisor console (dashboard/api/supervisor.py) ----------------------------------


class TierMoveBody(Strict):
    agent: str = Field(min_length=1, max_length=128)
    from_queue: str = Field(min_length=1, max_length=128)
    to_queue: str = Field(min_length=1, max_length=128)
    level: int = Field(default=1, ge=1, le=99)
    position: int = Field(default=1, ge=1, le=999)


class TierSetBody(Strict):
    queue: str = Field(min_length=1, max_length=128)
    agent: str = Field(min_length=1, max_length=128)
    level: int | None = Field(default=None, ge=1, le=99)
    position: int | None = Field(default=None, ge=1, le=999)


class EavesdropModeBody(Strict):
    mode: Literal["listen", "whisper", "barge"]


class MessageBody(Strict):
    text: str = Field(min_length=1, max_length=280,
                      description="one line, shown in a popup on the agent's page")  # fmt: skip


class EavesdropOut(BaseModel):
    uuid: str = Field(description="the supervisor's own leg")
    agent: str
    call_uuid: str
    mode: str = Field(description="listen, whisper or barge")
    started_at: float


class EavesdropsOut(BaseModel):
    items: list[EavesdropOut]


class MessageOut(BaseModel):
    ok: bool = True
    delivered: bool = Field(description="a page of the agent was open to show it")


class TierOut(BaseModel):
    queue: str
    agent: str
    level: int
    position: int
    state: str


class TiersOut(BaseModel):
    ok: bool = True
    items: list[TierOut] | None = Field(
        description="every tier after the change (null: FreeSWITCH could not list them)"
    )


class PersonOut(BaseModel):
    agent: str
    username: str
    display_name: str
    extension: str | None


class QueueSettingsOut(BaseModel):
    name: str
    strategy: str
    service_level_seconds: float
    max_wait_time: int | None


class SupervisorConsoleOut(BaseModel):
    long_call_seconds: float = Field(description="calls longer than this are highlighted")
    long_pause_seconds: float = Field(description="pauses longer than this are highlighted")
    people: list[PersonOut]
    queues: list[QueueSettingsOut]
    tiers: list[TierOut]
    answered_offset: dict[str, int] = Field(
        description="add to an agent's calls_answered for the calls answered today"
    )
    pause_reasons: list[Choice]
    eavesdrops: list[EavesdropOut] = Field(description="the supervisor's own, still on")


# -- reports: the numbers over time (dashboard/api/reports.py) ---------------------------


class ReportQuery(Strict):
    date_from: str | None = Field(
        default=None, alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="first day, YYYY-MM-DD (default: today)",
    )  # fmt: skip
    to: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                           description="last day, inclusive (default: the first)")  # fmt: skip
    tz: str | None = Field(default=None, min_length=1, max_length=64,
                           description="IANA time zone (default: the server's)")  # fmt: skip


class HourlyQuery(ReportQuery):
    queue: str | None = Field(default=None, min_length=1, max_length=128)


class ReportPeriodOut(BaseModel):
    first: str = Field(description="the first day, YYYY-MM-DD")
    last: str = Field(description="the last day, inclusive")
    tz: str
    start: str = Field(description="the first instant, ISO 8601 with the zone's offset")
    end: str = Field(description="the instant after the last day")


class QueueReportOut(BaseModel):
    queue: str = Field(description="empty in the total of every queue")
    service_level_seconds: int = Field(description="the queue's threshold (0 in the total)")
    offered: int = Field(description="queue calls that joined in the period (lost with the "
                         "switch while waiting left out)")  # fmt: skip
    answered: int
    answered_within_sl: int
    abandoned: int = Field(description="the caller hung up while waiting")
    timed_out: int = Field(description="mod_callcenter ended the wait: timeout, no agent, "
                           "exit key")  # fmt: skip
    service_level: float | None = Field(description="answered within threshold / offered")
    abandon_rate: float | None = Field(description="abandoned / offered")
    average_speed_of_answer: float | None = Field(description="seconds")
    average_handle_time: float | None = Field(description="talk + hold + after-call work "
                                              "seconds, per answered call")  # fmt: skip
    average_hold: float | None
    average_acw: float | None = Field(
        default=None, description="after-call work seconds (call end to end of wrap-up), "
        "per answered call")  # fmt: skip
    longest_wait: float | None = Field(description="the longest wait of an answered call")
    node: str | None = Field(default=None, description="the FreeSWITCH node its calls came "
                             "through (ESL_NODES; null with one node)")  # fmt: skip


class QueuesReportOut(BaseModel):
    period: ReportPeriodOut
    queues: list[QueueReportOut]
    total: QueueReportOut


class AgentReportOut(BaseModel):
    agent: str
    name: str
    extension: str | None
    answered: int = Field(description="calls the agent answered in the period")
    transferred: int
    talk_seconds: float
    hold_seconds: float
    acw_seconds: float = Field(default=0.0, description="after-call work (call end to end "
                               "of wrap-up) of the answered calls, in total")  # fmt: skip
    average_handle_time: float | None = Field(description="(talk + hold + after-call work) "
                                              "/ answered")  # fmt: skip
    available_seconds: float = Field(description="signed in and not paused")
    paused_seconds: float
    signed_in_seconds: float
    occupancy: float | None = Field(description="(talk + hold + after-call work) / "
                                    "available, at most 1")  # fmt: skip
    calls_per_hour: float | None = Field(description="answered per hour signed in")
    node: str | None = Field(default=None, description="the FreeSWITCH node its calls came "
                             "through (ESL_NODES; null with one node)")  # fmt: skip


class AgentsReportOut(BaseModel):
    period: ReportPeriodOut
    agents: list[AgentReportOut]


class HourReportOut(BaseModel):
    hour: str = Field(description="local start of the hour, ISO 8601 with offset")
    queue: str
    offered: int
    answered: int
    answered_within_sl: int
    abandoned: int


class HourlyReportOut(BaseModel):
    period: ReportPeriodOut
    hours: list[str] = Field(description="every hour of the period (the chart's axis)")
    items: list[HourReportOut] = Field(description="hours with calls, per queue")


class PauseReportOut(BaseModel):
    agent: str
    name: str
    reason: str = Field(description="empty when none was given")
    seconds: float
    times: int


class PausesReportOut(BaseModel):
    period: ReportPeriodOut
    items: list[PauseReportOut]
