"""The numbers over time, by SQL over the history, on SQLite and PostgreSQL: service level
against each queue's threshold, abandons, speed of answer, handle time, occupancy, pauses
by reason and calls per hour, for whole local days in a chosen time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.errors import InvalidArgument
from esl_controller.services.recorder import Recorder
from esl_controller.services.reports import OpenStretch, ReportService, make_period, total_of
from esl_controller.services.users import UserService
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import AgentActivity, Call, Queue
from tests.unit.test_domain_floor import replay

DAY = datetime(2026, 3, 10, tzinfo=UTC)  # a Tuesday; Paris is UTC+1 that day


def at(hours: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hours)


def call(uuid: str, queue: str | None, joined: datetime | None, *, wait: float | None = None,
         outcome: str, talk: float | None = None, hold: float = 0.0, agent: str | None = None,
         transferred: bool = False, direction: str = "inbound") -> Call:  # fmt: skip
    answered = joined + timedelta(seconds=wait) if (joined and talk is not None) else None
    ended_at = (answered + timedelta(seconds=talk + hold)) if answered and talk is not None else (
        joined + timedelta(seconds=wait or 0) if joined else None)  # fmt: skip
    return Call(call_uuid=uuid, direction=direction, queue=queue, agent=agent,
                joined_at=joined, answered_at=answered, ended_at=ended_at, wait_seconds=wait,
                talk_seconds=talk, hold_seconds=hold, outcome=outcome,
                transferred=transferred)  # fmt: skip


def activity(agent: str, status: str, start: datetime, end: datetime, reason: str | None = None,
             state: str = "Waiting") -> AgentActivity:  # fmt: skip
    return AgentActivity(agent=agent, status=status, state=state, reason=reason,
                         started_at=start, ended_at=end,
                         seconds=(end - start).total_seconds())  # fmt: skip


@pytest.fixture
def history(db_url: str) -> sessionmaker[Session]:
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    UserService(sessions).add("alice", "agent", "alice-password", extension="1000",
                              display_name="Alice Smith")  # fmt: skip
    with session_scope(sessions) as s:
        s.add(Queue(name="support@default", service_level_seconds=30))
        s.add_all([
            # support: threshold 30 s
            call("a1", "support@default", at(9), wait=10, talk=100, hold=20, outcome="answered",
                 agent="1000@default"),
            call("a2", "support@default", at(9.5), wait=25, talk=200, outcome="answered",
                 agent="1000@default"),
            call("a3", "support@default", at(10), wait=40, talk=60, outcome="transferred",
                 agent="1000@default", transferred=True),
            call("ab1", "support@default", at(10.2), wait=50, outcome="abandoned"),
            call("t1", "support@default", at(11), wait=300, outcome="timeout"),
            # lost with the switch while waiting: not offered; lost once answered: answered
            call("lost1", "support@default", at(11.5), wait=3, outcome="lost"),
            call("lost2", "support@default", at(11.6), wait=5, talk=30, outcome="lost",
                 agent="1001@default"),
            # just outside the day, on both sides
            call("before", "support@default", DAY - timedelta(seconds=5), wait=1, talk=10,
                 outcome="answered", agent="1000@default"),
            call("after", "support@default", at(24), wait=1, outcome="abandoned"),
            # sales: not a product queue, so the default 20 s threshold
            call("s1", "sales@default", at(14), wait=21, talk=50, outcome="answered",
                 agent="1001@default"),
            call("s2", "sales@default", at(14.1), wait=8, outcome="abandoned"),
            # a dial-out: no queue; counts for the agent, not for a queue
            call("out1", None, None, outcome="answered", direction="outbound",
                 agent="1000@default"),
        ])  # fmt: skip
    with session_scope(sessions) as s:
        dial = s.query(Call).filter_by(call_uuid="out1").one()
        dial.answered_at, dial.ended_at = at(15), at(15) + timedelta(seconds=40)
        dial.talk_seconds = 40.0
        agent = "1000@default"
        s.add_all([
            # a break across midnight: half an hour of it is in the day
            activity(agent, "On Break", at(-0.5), at(0.5), reason="Break"),
            activity(agent, "Logged Out", at(0.5), at(8)),
            activity(agent, "Available", at(8), at(12)),
            activity(agent, "On Break", at(12), at(13), reason="Lunch"),
            activity(agent, "Available", at(13), at(16), state="In a queue call"),
            activity(agent, "On Break", at(16), at(16.25)),  # no reason given
            activity(agent, "Available (On Demand)", at(16.25), at(17)),
            activity(agent, "Logged Out", at(17), at(32)),  # into the next day
        ])  # fmt: skip
    return sessions


def by_queue(rows: list[Any]) -> dict[str, Any]:
    return {r.queue: r for r in rows}


def test_queue_numbers_against_each_queues_threshold(history: sessionmaker[Session]) -> None:
    rows = by_queue(ReportService(history).queues(make_period("2026-03-10", tz="UTC")))
    assert set(rows) == {"support@default", "sales@default"}
    support = rows["support@default"]
    # a1, a2, a3, ab1, t1, lost2 (lost1: lost unanswered; before/after: other days)
    assert (support.offered, support.answered, support.abandoned, support.timed_out) == (6, 4, 1, 1)
    assert support.service_level_seconds == 30
    assert support.answered_within_sl == 3  # a1 (10 s), a2 (25 s), lost2 (5 s)
    assert support.service_level == pytest.approx(3 / 6)
    assert support.abandon_rate == pytest.approx(1 / 6)
    assert support.average_speed_of_answer == pytest.approx((10 + 25 + 40 + 5) / 4)
    assert support.average_handle_time == pytest.approx((120 + 200 + 60 + 30) / 4)
    assert support.average_hold == pytest.approx(20 / 4)
    assert support.longest_wait == pytest.approx(40)
    sales = rows["sales@default"]
    assert (sales.service_level_seconds, sales.offered, sales.answered) == (20, 2, 1)
    assert sales.answered_within_sl == 0  # 21 s > the default 20 s
    total = total_of(list(rows.values()))
    assert (total.offered, total.answered, total.answered_within_sl) == (8, 5, 3)
    assert total.service_level == pytest.approx(3 / 8)


def test_a_period_of_several_days_and_an_empty_one(history: sessionmaker[Session]) -> None:
    reports = ReportService(history)
    rows = by_queue(reports.queues(make_period("2026-03-09", "2026-03-11", tz="UTC")))
    assert rows["support@default"].offered == 8  # "before" and "after" too
    assert reports.queues(make_period("2026-03-12", tz="UTC")) == []
    assert reports.agents(make_period("2026-03-12", tz="UTC")) == []


def test_days_are_local_days_of_the_time_zone(history: sessionmaker[Session]) -> None:
    reports = ReportService(history)
    # Paris is UTC+1: "after" (00:00 UTC on the 11th) is 01:00 on the 11th there, and
    # "before" (23:59:55 UTC on the 9th) is 00:59:55 on the 10th.
    paris = by_queue(reports.queues(make_period("2026-03-10", tz="Europe/Paris")))
    assert paris["support@default"].offered == 7  # before, and not after
    hours = reports.hourly(make_period("2026-03-10", tz="Europe/Paris"), queue="support@default")
    first = hours[0]
    assert first.hour.isoformat() == "2026-03-10T00:00:00+01:00"
    assert (first.offered, first.answered) == (1, 1)
    assert [h.hour.hour for h in hours] == [0, 10, 11, 12]  # 09:00 UTC is 10:00 there
    # the same calls, per hour, add up to the day
    assert sum(h.offered for h in hours) == 7


def test_calls_per_hour_of_the_day(history: sessionmaker[Session]) -> None:
    period = make_period("2026-03-10", tz="UTC")
    hours = ReportService(history).hourly(period)
    assert period.hour_count() == 24
    table = {(h.hour.hour, h.queue): (h.offered, h.answered, h.abandoned, h.answered_within_sl)
             for h in hours}  # fmt: skip
    assert table == {
        (9, "support@default"): (2, 2, 0, 2),
        (10, "support@default"): (2, 1, 1, 0),
        (11, "support@default"): (2, 1, 0, 1),  # t1 (timed out, not abandoned) and lost2
        (14, "sales@default"): (2, 1, 1, 0),
    }


def test_a_day_with_a_dst_change_has_23_hours(db_url: str) -> None:
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    change = datetime(2026, 3, 29, tzinfo=UTC)  # Paris goes from +1 to +2 at 01:00 UTC
    with session_scope(sessions) as s:
        s.add(call("d1", "support@default", change + timedelta(hours=1.5), wait=2, talk=5,
                   outcome="answered"))  # fmt: skip
    period = make_period("2026-03-29", tz="Europe/Paris")
    assert period.hour_count() == 23
    (hour,) = ReportService(sessions).hourly(period)
    assert hour.hour.isoformat() == "2026-03-29T03:00:00+02:00"  # 02:00 never happened


def test_agent_numbers_occupancy_and_calls_per_hour(history: sessionmaker[Session]) -> None:
    rows = {r.agent: r for r in ReportService(history).agents(make_period("2026-03-10", tz="UTC"))}
    alice = rows["1000@default"]
    assert (alice.name, alice.extension) == ("Alice Smith", "1000")
    # a1, a2, a3 and the dial-out; "before" was answered the day before
    assert (alice.answered, alice.transferred) == (4, 1)
    assert alice.talk_seconds == pytest.approx(100 + 200 + 60 + 40)
    assert alice.hold_seconds == pytest.approx(20)
    assert alice.average_handle_time == pytest.approx(420 / 4)
    available = (4 + 3 + 0.75) * 3600
    paused = (0.5 + 1 + 0.25) * 3600
    assert alice.available_seconds == pytest.approx(available, abs=0.01)
    assert alice.paused_seconds == pytest.approx(paused, abs=0.01)
    assert alice.signed_in_seconds == pytest.approx(available + paused, abs=0.01)
    assert alice.occupancy == pytest.approx(420 / available, rel=1e-6)
    assert alice.calls_per_hour == pytest.approx(4 / ((available + paused) / 3600), rel=1e-6)
    bob = rows["1001@default"]  # calls but no activity recorded: no occupancy to give
    assert (bob.name, bob.answered, bob.occupancy, bob.calls_per_hour) == (
        "1001@default", 2, None, None)  # fmt: skip


def test_pause_time_by_reason_cut_to_the_period(history: sessionmaker[Session]) -> None:
    rows = ReportService(history).pauses(make_period("2026-03-10", tz="UTC"))
    table = {(r.agent, r.reason): (round(r.seconds, 1), r.times) for r in rows}
    assert table == {
        ("1000@default", ""): (900.0, 1),
        ("1000@default", "Break"): (1800.0, 1),  # half of it was the day before
        ("1000@default", "Lunch"): (3600.0, 1),
    }
    assert {r.name for r in rows} == {"Alice Smith"}


def test_the_report_counts_what_the_live_floor_counted(db_url: str) -> None:
    # Recorded FreeSWITCH events through the real floor and recorder into the database:
    # the history's numbers for that day are the floor's own counters.
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    recorder = Recorder(sessions)
    recorder.start()
    floors = []
    try:
        for name in ("call_answered_plain", "call_abandoned"):
            floor, changes = replay(name)
            floors.append(floor)
            recorder.on_changes(changes)
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    with session_scope(sessions) as s:
        joined = [c.joined_at for c in s.query(Call).all() if c.joined_at is not None]
    day = min(joined).date().isoformat()
    rows = by_queue(ReportService(sessions).queues(make_period(day, tz="UTC")))
    for floor in floors:
        for name, live in floor.queues.items():
            if live.offered == live.answered == live.abandoned == 0:
                continue
            row = rows[name]
            assert (row.answered, row.abandoned + row.timed_out) == (live.answered, live.abandoned)
            assert row.answered_within_sl == live.answered_within_sl
            assert row.service_level == pytest.approx(live.service_level)
            if live.average_speed_of_answer is not None:
                assert row.average_speed_of_answer == pytest.approx(
                    live.average_speed_of_answer, abs=0.01)  # fmt: skip


@pytest.mark.parametrize(
    ("first", "last", "tz", "code"),
    [
        ("2026-02-30", None, None, "invalid_date"),
        ("10/03/2026", None, None, "invalid_date"),
        ("2026-03-10", "2026-03-09", None, "invalid_range"),
        ("2026-01-01", "2026-12-31", None, "invalid_range"),
        ("2026-03-10", None, "Mars/Olympus", "invalid_tz"),
        ("2026-03-10", None, "../../etc/passwd", "invalid_tz"),
        ("2026-03-10", None, "Europe", "invalid_tz"),
    ],
)
def test_a_bad_period_is_refused(first: str, last: str | None, tz: str | None, code: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        make_period(first, last, tz)
    assert refused.value.code == code


def test_today_is_the_default() -> None:
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    assert make_period(tz="UTC", now=now).first.isoformat() == "2026-03-10"
    tokyo = make_period(tz="Asia/Tokyo", now=now)  # already the 11th there
    assert (tokyo.first.isoformat(), tokyo.last.isoformat()) == ("2026-03-11", "2026-03-11")
    assert tokyo.start == datetime(2026, 3, 10, 15, tzinfo=UTC)


def test_a_stretch_still_open_on_the_floor_counts(history: sessionmaker[Session]) -> None:
    # Bob on break since 23:00 (nothing in the history yet: a stretch is written when it
    # closes); asked at 01:00 the next day, one hour of it is in the 10th.
    reports = ReportService(history)
    period = make_period("2026-03-10", tz="UTC")
    live = [OpenStretch("1001@default", "On Break", "Training", at(23).timestamp()),
            OpenStretch("1002@default", "Logged Out", None, at(1).timestamp())]  # fmt: skip
    now = at(25).timestamp()
    rows = {r.agent: r for r in reports.agents(period, live, now)}
    assert "1002@default" not in rows  # logged out all along: no row
    bob = rows["1001@default"]
    assert (bob.paused_seconds, bob.signed_in_seconds, bob.available_seconds) == (3600, 3600, 0)
    pauses = {(p.agent, p.reason): (p.seconds, p.times) for p in reports.pauses(period, live, now)}
    assert pauses[("1001@default", "Training")] == (3600, 1)
    assert pauses[("1000@default", "Lunch")] == (pytest.approx(3600), 1)
    # The day after holds the rest of the break, up to now.
    after = reports.pauses(make_period("2026-03-11", tz="UTC"), live, now)
    assert [(p.agent, p.reason, p.seconds) for p in after] == [("1001@default", "Training", 3600)]


def test_after_call_work_is_in_the_handle_time_and_occupancy(
    history: sessionmaker[Session],
) -> None:
    # a1's disposition was saved 30 s after it ended; a2 had no wrap-up owed (NULL).
    with session_scope(history) as s:
        s.query(Call).filter_by(call_uuid="a1").one().after_call_seconds = 30.0
    period = make_period("2026-03-10", tz="UTC")
    reports = ReportService(history)
    rows = by_queue(reports.queues(period))
    support = rows["support@default"]
    assert support.average_handle_time == pytest.approx((120 + 200 + 60 + 30 + 30) / 4)
    assert support.average_after_call == pytest.approx(30 / 4)
    assert support.average_hold == pytest.approx(20 / 4)  # unchanged
    sales = rows["sales@default"]  # no after-call work: talk + hold as before
    assert (sales.average_after_call, sales.average_handle_time) == (0, pytest.approx(50))
    total = total_of(list(rows.values()))
    assert total.average_after_call == pytest.approx(30 / 5)
    assert total.average_handle_time == pytest.approx((410 + 30 + 50) / 5)
    alice = {r.agent: r for r in reports.agents(period)}["1000@default"]
    assert alice.acw_seconds == pytest.approx(30)
    assert (alice.talk_seconds, alice.hold_seconds) == (pytest.approx(400), pytest.approx(20))
    assert alice.average_handle_time == pytest.approx((420 + 30) / 4)
    assert alice.occupancy == pytest.approx(450 / ((4 + 3 + 0.75) * 3600), rel=1e-6)
