"""The numbers over time: service level, speed of answer, handle time, abandons,
occupancy, pauses by reason and calls per hour, per queue and per agent, computed by SQL
over the recorded history (``cc_calls``, ``cc_agent_activities``) on SQLite and
PostgreSQL alike.

Definitions (README "Reports and wallboard" says the same):

* A **period** is a run of whole local days, ``first`` to ``last`` inclusive, in one time
  zone (the server's unless the caller names one): ``[local midnight of first, local
  midnight after last)``, compared in UTC, so a day of a DST change has 23 or 25 hours.
* A queue call belongs to the period of the moment it **joined** the queue.
* **Offered**: every queue call, except those the switch lost on its way down without
  an agent answering (outcome ``lost``: FreeSWITCH shut down, nobody abandoned them;
  the live floor leaves them out too).
* **Answered**: an agent was bridged (``answered_at``); **within threshold** when the
  caller's wait (join -> answer) was at most the queue's ``service_level_seconds``
  (``cc_queues``; 20 s for a queue the product does not own).
* **Abandoned**: the caller hung up while waiting (outcome ``abandoned``). mod_callcenter
  ending the wait (``timeout``, ``no_agent``, ``exit_key``) is **timed out**. Both stay in
  the service level's denominator: service level = answered within threshold / offered,
  with no short-abandon exclusion; abandon rate = abandoned / offered.
* **ASA**: mean wait of answered calls. **ACW** (after-call work): a call's
  ``after_call_seconds``, from its end to the end of its wrap-up (disposition saved,
  wrap-up closed, hold ran out, or the agent's next call), none for a call no wrap-up was
  owed for. **AHT**: mean talk + hold + ACW of answered calls.
* An agent's calls are those they answered in the period (by ``answered_at``), queue
  calls and dial-outs alike. **Occupancy** = (talk + hold + ACW) / time signed in and not
  paused (status Available or Available (On Demand); the wrap-up hold keeps the agent
  Available, so ACW is inside that time), at most 1; **calls per hour** =
  answered / hours signed in (any status but Logged Out). Agent time comes from closed
  activity stretches, cut to the period, plus each agent's stretch still open on the
  live floor (Available since this morning without a change), which the caller passes
  in since only the floor knows it.

Every method is blocking database work: the web edge runs it off the gevent hub
(``dashboard.db.off_hub``), as it does for :class:`~esl_controller.services.history.
HistoryService`.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    Float,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from esl_controller.errors import InvalidArgument
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Agent, AgentActivity, Call, Queue, User

DEFAULT_SERVICE_LEVEL = 20  # seconds, for a queue the product does not own (the floor's)
MAX_DAYS = 92  # the longest period one request may ask for
AVAILABLE = ("Available", "Available (On Demand)")
PAUSED = "On Break"
LOGGED_OUT = "Logged Out"
TIMED_OUT = ("timeout", "no_agent", "exit_key")
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- portable SQL: seconds since the epoch, floor, greatest / least ----------------------


class epoch(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it renders
    """A timestamp as seconds since 1970 (UTC)."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps DateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC (the recorder
    # writes UTC); julianday() reads it, 2440587.5 is the Julian day of 1970-01-01. A
    # Julian day is a double good to ~10 us, so 10:00:00 would come out 09:59:59.99999
    # (and fall in the hour before): rounded to the millisecond.
    inner = compiler.process(element.clauses, **kw)
    return f"ROUND((julianday({inner}) - 2440587.5) * 86400.0, 3)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT)"


class whole(FunctionElement[int]):  # noqa: N801
    """The integer part of a non-negative number."""

    inherit_cache = True


@compiles(whole, "sqlite")
def _whole_sqlite(element: whole, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(whole)
def _whole_default(element: whole, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


class greatest(FunctionElement[float]):  # noqa: N801
    type = Float()
    inherit_cache = True


class least(FunctionElement[float]):  # noqa: N801
    type = Float()
    inherit_cache = True


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest_default(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least_default(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


# -- the period ---------------------------------------------------------------------------


def server_zone() -> tuple[tzinfo, str]:
    """The server's time zone and its name: ``TZ``, else where ``/etc/localtime`` points,
    else ``/etc/timezone``, else the fixed offset the clock has now."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        target = str(pathlib.Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(pathlib.Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name and _ZONE_NAME.match(name):
            try:
                return ZoneInfo(name), name
            except (ValueError, OSError):
                continue
    local = datetime.now().astimezone().tzinfo or UTC
    return local, str(local)


def zone_named(name: str) -> ZoneInfo:
    """An IANA time zone (``Europe/Paris``); InvalidArgument for anything else."""
    if not _ZONE_NAME.match(name) or len(name) > 64:
        raise InvalidArgument(f"tz: not a time zone name: {name[:64]!r}", code="invalid_tz")
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise InvalidArgument(f"tz: unknown time zone {name!r}", code="invalid_tz") from None


def parse_day(text: str, field: str) -> date:
    if not _DAY.match(text):
        raise InvalidArgument(f"{field}: a date is written YYYY-MM-DD", code="invalid_date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"{field}: no such date {text!r}", code="invalid_date") from None


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days ``first``..``last`` in ``zone``; ``start``/``end`` in UTC."""

    first: date
    last: date
    zone: tzinfo
    zone_name: str
    start: datetime
    end: datetime

    @property
    def start_epoch(self) -> float:
        return self.start.timestamp()

    @property
    def end_epoch(self) -> float:
        return self.end.timestamp()

    def hour(self, index: int) -> datetime:
        """The local start of the period's ``index``-th hour (counted in real hours from
        the period's start, so a DST change neither skips nor doubles one)."""
        return (self.start + timedelta(hours=index)).astimezone(self.zone)

    def hour_count(self) -> int:
        return int((self.end - self.start).total_seconds() // 3600)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def make_period(first: str | None = None, last: str | None = None, tz: str | None = None,
                *, now: datetime | None = None) -> Period:  # fmt: skip
    """The period a request asks for: ``first``/``last`` as ``YYYY-MM-DD`` (default: today
    in the zone; ``last`` defaults to ``first``), ``tz`` an IANA name (default: the
    server's). InvalidArgument for a bad date, a reversed or too long range, a bad zone."""
    if tz:
        zone: tzinfo = zone_named(tz)
        zone_name = tz
    else:
        zone, zone_name = server_zone()
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    start_day = parse_day(first, "from") if first else (parse_day(last, "to") if last else today)
    end_day = parse_day(last, "to") if last else start_day
    if end_day < start_day:
        raise InvalidArgument("to: the period ends before it starts", code="invalid_range")
    if (end_day - start_day).days + 1 > MAX_DAYS:
        raise InvalidArgument(f"to: at most {MAX_DAYS} days at once", code="invalid_range")
    if start_day.year < 1971 or end_day.year > 9998:
        raise InvalidArgument("from: a date between 1971 and 9998", code="invalid_date")
    return Period(start_day, end_day, zone, zone_name, local_midnight(start_day, zone),
                  local_midnight(end_day + timedelta(days=1), zone))  # fmt: skip


# -- results ------------------------------------------------------------------------------


def ratio(part: float, whole_: float) -> float | None:
    return None if not whole_ else part / whole_


@dataclass(frozen=True, slots=True)
class QueueNumbers:
    queue: str
    service_level_seconds: int
    offered: int
    answered: int
    answered_within_sl: int
    abandoned: int
    timed_out: int
    total_wait: float  # of answered calls
    total_handle: float  # talk + hold of answered calls
    total_hold: float
    longest_wait: float | None  # of answered calls
    node: str | None = None  # the FreeSWITCH node its calls came through (ESL_NODES)
    total_after_call: float = 0.0  # after-call work of answered calls

    @property
    def service_level(self) -> float | None:
        return ratio(self.answered_within_sl, self.offered)

    @property
    def abandon_rate(self) -> float | None:
        return ratio(self.abandoned, self.offered)

    @property
    def average_speed_of_answer(self) -> float | None:
        return ratio(self.total_wait, self.answered)

    @property
    def average_handle_time(self) -> float | None:
        """Talk + hold + after-call work, per answered call."""
        return ratio(self.total_handle + self.total_after_call, self.answered)

    @property
    def average_hold(self) -> float | None:
        return ratio(self.total_hold, self.answered)

    @property
    def average_after_call(self) -> float | None:
        return ratio(self.total_after_call, self.answered)


@dataclass(frozen=True, slots=True)
class AgentNumbers:
    agent: str
    name: str
    extension: str | None
    answered: int
    transferred: int
    talk_seconds: float
    hold_seconds: float
    available_seconds: float
    paused_seconds: float
    signed_in_seconds: float
    node: str | None = None  # the FreeSWITCH node its calls came through (ESL_NODES)
    acw_seconds: float = 0.0  # after-call work of the answered calls

    @property
    def average_handle_time(self) -> float | None:
        return ratio(self.talk_seconds + self.hold_seconds + self.acw_seconds, self.answered)

    @property
    def occupancy(self) -> float | None:
        busy = self.talk_seconds + self.hold_seconds + self.acw_seconds
        share = ratio(busy, self.available_seconds)
        return None if share is None else min(1.0, share)

    @property
    def calls_per_hour(self) -> float | None:
        if self.signed_in_seconds < 60:
            return None
        return self.answered / (self.signed_in_seconds / 3600.0)


@dataclass(frozen=True, slots=True)
class HourNumbers:
    hour: datetime  # local start of the hour
    queue: str
    offered: int
    answered: int
    answered_within_sl: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class PauseNumbers:
    agent: str
    name: str
    reason: str
    seconds: float
    times: int  # stretches On Break with this reason


@dataclass(frozen=True, slots=True)
class OpenStretch:
    """An agent's current status since its last change (the live floor's, not yet in
    ``cc_agent_activities``: a stretch is written when it closes)."""

    agent: str
    status: str
    reason: str | None
    since: float  # epoch seconds


def _inside(period: Period, since: float, now: float) -> float:
    return max(0.0, min(now, period.end_epoch) - max(since, period.start_epoch))


def total_of(rows: list[QueueNumbers]) -> QueueNumbers:
    """Every queue together (each call against its own queue's threshold)."""
    longest = [r.longest_wait for r in rows if r.longest_wait is not None]
    return QueueNumbers(
        queue="", service_level_seconds=0,
        offered=sum(r.offered for r in rows), answered=sum(r.answered for r in rows),
        answered_within_sl=sum(r.answered_within_sl for r in rows),
        abandoned=sum(r.abandoned for r in rows), timed_out=sum(r.timed_out for r in rows),
        total_wait=sum(r.total_wait for r in rows), total_handle=sum(r.total_handle for r in rows),
        total_hold=sum(r.total_hold for r in rows), longest_wait=max(longest, default=None),
        total_after_call=sum(r.total_after_call for r in rows),
    )  # fmt: skip


# -- the queries --------------------------------------------------------------------------


def _when(moment: datetime) -> Any:
    return literal(moment, DateTime(timezone=True))


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum(condition: Any, value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0.0)), 0.0)


class ReportService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # A queue call of the period: joined in it, and not lost with the switch unanswered.
    @staticmethod
    def _queue_calls(period: Period) -> list[Any]:
        answered = Call.answered_at.is_not(None)
        return [
            Call.queue.is_not(None),
            Call.joined_at >= _when(period.start),
            Call.joined_at < _when(period.end),
            or_(answered, Call.outcome.is_(None), Call.outcome != "lost"),
        ]

    def queues(self, period: Period) -> list[QueueNumbers]:
        answered = Call.answered_at.is_not(None)
        threshold = func.coalesce(Queue.service_level_seconds, DEFAULT_SERVICE_LEVEL)
        query = (
            select(
                Call.queue,
                func.max(threshold),
                func.count(Call.id),
                _count(answered),
                _count(and_(answered, Call.wait_seconds <= threshold)),
                _count(and_(not_(answered), Call.outcome == "abandoned")),
                _count(and_(not_(answered), Call.outcome.in_(TIMED_OUT))),
                _sum(and_(answered, Call.wait_seconds.is_not(None)), Call.wait_seconds),
                _sum(
                    answered,
                    func.coalesce(Call.talk_seconds, 0.0) + func.coalesce(Call.hold_seconds, 0.0),
                ),  # fmt: skip
                _sum(answered, func.coalesce(Call.hold_seconds, 0.0)),
                func.max(case((answered, Call.wait_seconds), else_=None)),
                Call.node,
                _sum(answered, func.coalesce(Call.after_call_seconds, 0.0)),
            )
            .outerjoin(Queue, Queue.name == Call.queue)
            .where(*self._queue_calls(period))
            # mod_callcenter is per switch: a queue of one name on two nodes is two queues.
            .group_by(Call.queue, Call.node)
            .order_by(Call.queue, Call.node)
        )
        with session_scope(self.sessions) as session:
            rows = list(session.execute(query))
        return [
            QueueNumbers(
                queue=str(q),
                service_level_seconds=int(sl),
                offered=int(offered),
                answered=int(ans),
                answered_within_sl=int(within),
                abandoned=int(aband),
                timed_out=int(timed),
                total_wait=float(wait),
                total_handle=float(handle),
                total_hold=float(hold),
                longest_wait=None if longest is None else float(longest),
                node=node,
                total_after_call=float(acw),
            )  # fmt: skip
            for q, sl, offered, ans, within, aband, timed, wait, handle, hold, longest, node, acw
            in rows
        ]  # fmt: skip

    def hourly(self, period: Period, queue: str | None = None) -> list[HourNumbers]:
        """Queue calls per hour of the period (by when they joined), per queue; hours
        without a call are left out (``Period.hour_count`` gives every hour)."""
        answered = Call.answered_at.is_not(None)
        threshold = func.coalesce(Queue.service_level_seconds, DEFAULT_SERVICE_LEVEL)
        index = whole((epoch(Call.joined_at) - literal(period.start_epoch, Float())) / 3600.0)
        where = self._queue_calls(period)
        if queue is not None:
            where.append(Call.queue == queue)
        query = (
            select(
                index.label("hour_index"),
                Call.queue,
                func.count(Call.id),
                _count(answered),
                _count(and_(answered, Call.wait_seconds <= threshold)),
                _count(and_(not_(answered), Call.outcome == "abandoned")),
            )
            .outerjoin(Queue, Queue.name == Call.queue)
            .where(*where)
            .group_by("hour_index", Call.queue)
            .order_by("hour_index", Call.queue)
        )
        with session_scope(self.sessions) as session:
            rows = list(session.execute(query))
        last = max(0, period.hour_count() - 1)
        return [
            HourNumbers(
                hour=period.hour(min(max(0, int(i)), last)),
                queue=str(q),
                offered=int(offered),
                answered=int(ans),
                answered_within_sl=int(within),
                abandoned=int(aband),
            )  # fmt: skip
            for i, q, offered, ans, within, aband in rows
        ]

    def _clipped(self, period: Period) -> Any:
        """Seconds of an activity stretch inside the period."""
        start = literal(period.start_epoch, Float())
        end = literal(period.end_epoch, Float())
        return least(epoch(AgentActivity.ended_at), end) - greatest(
            epoch(AgentActivity.started_at), start
        )

    def _overlapping(self, period: Period) -> list[Any]:
        return [
            AgentActivity.started_at < _when(period.end),
            AgentActivity.ended_at > _when(period.start),
        ]

    def _names(self, session: Session) -> dict[str, tuple[str, str | None]]:
        query = select(Agent.name, User.display_name, User.username, User.extension).outerjoin(
            User, User.id == Agent.user_id
        )
        return {
            agent: (display or username or agent, extension)
            for agent, display, username, extension in session.execute(query)
        }

    def agents(self, period: Period, open_now: Sequence[OpenStretch] = (),
               now: float | None = None) -> list[AgentNumbers]:  # fmt: skip
        """Per agent; ``open_now`` adds the stretches still open at ``now``."""
        answered = and_(
            Call.agent.is_not(None),
            Call.answered_at >= _when(period.start),
            Call.answered_at < _when(period.end),
        )
        calls = (
            select(
                Call.agent,
                func.count(Call.id),
                _count(Call.transferred.is_(True)),
                func.coalesce(func.sum(func.coalesce(Call.talk_seconds, 0.0)), 0.0),
                func.coalesce(func.sum(func.coalesce(Call.hold_seconds, 0.0)), 0.0),
                func.max(Call.node),
                func.coalesce(func.sum(func.coalesce(Call.after_call_seconds, 0.0)), 0.0),
            )
            .where(answered)
            .group_by(Call.agent)
        )
        clipped = self._clipped(period)
        times = (
            select(
                AgentActivity.agent,
                _sum(AgentActivity.status.in_(AVAILABLE), clipped),
                _sum(AgentActivity.status == PAUSED, clipped),
                _sum(AgentActivity.status != LOGGED_OUT, clipped),
            )
            .where(*self._overlapping(period))
            .group_by(AgentActivity.agent)
        )
        with session_scope(self.sessions) as session:
            by_calls = {row[0]: row[1:] for row in session.execute(calls)}
            by_time = {row[0]: tuple(float(x) for x in row[1:]) for row in session.execute(times)}
            names = self._names(session)
        moment = _time.time() if now is None else now
        for stretch in open_now:
            inside = _inside(period, stretch.since, moment)
            if inside <= 0 or stretch.status == LOGGED_OUT:
                continue  # (logged out adds nothing, and no empty row)
            available, paused, signed_in = by_time.get(stretch.agent, (0.0, 0.0, 0.0))
            by_time[stretch.agent] = (
                available + (inside if stretch.status in AVAILABLE else 0.0),
                paused + (inside if stretch.status == PAUSED else 0.0),
                signed_in + (inside if stretch.status != LOGGED_OUT else 0.0),
            )
        out = []
        for agent in sorted(set(by_calls) | set(by_time)):
            count, transferred, talk, hold, node, acw = by_calls.get(
                agent, (0, 0, 0.0, 0.0, None, 0.0)
            )
            available, paused, signed_in = by_time.get(agent, (0.0, 0.0, 0.0))
            name, extension = names.get(agent, (agent, None))
            out.append(AgentNumbers(
                agent=agent, name=name, extension=extension, answered=int(count),
                transferred=int(transferred), talk_seconds=float(talk), hold_seconds=float(hold),
                available_seconds=float(available), paused_seconds=float(paused),
                signed_in_seconds=float(signed_in), node=node, acw_seconds=float(acw),
            ))  # fmt: skip
        return out

    def pauses(self, period: Period, open_now: Sequence[OpenStretch] = (),
               now: float | None = None) -> list[PauseNumbers]:  # fmt: skip
        """Time On Break per agent and reason (no reason given: an empty reason);
        ``open_now`` adds the breaks still going on at ``now``."""
        reason = func.coalesce(AgentActivity.reason, "")
        query = (
            select(
                AgentActivity.agent,
                reason.label("why"),
                func.coalesce(func.sum(self._clipped(period)), 0.0),
                func.count(AgentActivity.id),
            )  # fmt: skip
            .where(AgentActivity.status == PAUSED, *self._overlapping(period))
            .group_by(AgentActivity.agent, "why")
            .order_by(AgentActivity.agent, "why")
        )
        with session_scope(self.sessions) as session:
            rows = list(session.execute(query))
            names = self._names(session)
        table = {(agent, str(why)): (float(seconds), int(times))
                 for agent, why, seconds, times in rows}  # fmt: skip
        moment = _time.time() if now is None else now
        for stretch in open_now:
            inside = _inside(period, stretch.since, moment)
            if stretch.status != PAUSED or inside <= 0:
                continue
            key = (stretch.agent, stretch.reason or "")
            seconds, times = table.get(key, (0.0, 0))
            table[key] = (seconds + inside, times + 1)
        return [
            PauseNumbers(
                agent=agent,
                name=names.get(agent, (agent, None))[0],
                reason=why,
                seconds=seconds,
                times=times,
            )  # fmt: skip
            for (agent, why), (seconds, times) in sorted(table.items())
        ]
