"""The history when two controllers write the same calls (a take-over: the new one
records ``lost`` a call whose end it did not see; the old one's spill file, replayed
later, brings the real end), on SQLite and PostgreSQL: one row per call, and an outcome
that was seen is never replaced by ``lost`` — in either order, and when both write at
the same moment."""

from __future__ import annotations

import dataclasses
import pathlib

import gevent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.model import CallView, Change
from esl_controller.services.recorder import Recorder
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Call

SEEN = {"outcome": "answered", "ended_at": 1_800_000_100.0, "cause": "NORMAL_CLEARING"}
GUESS = {"outcome": "lost", "ended_at": 1_800_000_400.0, "cause": "LOST_WITH_SWITCH"}


def a_call(uuid: str, **end: object) -> CallView:
    call = CallView(uuid=uuid, direction="inbound", queue="support@default", member_uuid=uuid,
                    agent="agent1000", agent_leg=None, cid_name="Ann", cid_number="5550001",
                    joined_at=1_800_000_000.0, offered_at=1_800_000_001.0,
                    answered_at=1_800_000_005.0, held_since=None, hold_seconds=0.0,
                    transferred_at=None, ended_at=None, cause=None, outcome=None)  # fmt: skip
    return dataclasses.replace(call, **end)  # type: ignore[arg-type]


def writer(sessions: sessionmaker[Session], tmp_path: pathlib.Path, name: str) -> Recorder:
    """One controller's recorder (its own spill file, its own threads)."""
    recorder = Recorder(sessions, spill_path=tmp_path / f"{name}.jsonl", retry_initial=0.05)
    recorder.start()
    return recorder


def rows(sessions: sessionmaker[Session]) -> list[Call]:
    with session_scope(sessions) as session:
        found = list(session.scalars(select(Call)))
        session.expunge_all()
    return found


def test_lost_never_replaces_an_outcome_that_was_seen_in_either_order(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    old, new = writer(sessions, tmp_path, "old"), writer(sessions, tmp_path, "new")
    try:
        # The old controller wrote the end it saw; the new one then guesses "lost".
        old.on_changes([Change("call_ended", "c1", a_call("c1", **SEEN))])
        assert old.drained(10)
        new.on_changes([Change("call_ended", "c1", a_call("c1", **GUESS))])
        # The other order: "lost" first, the real end replayed later.
        new.on_changes([Change("call_ended", "c2", a_call("c2", **GUESS))])
        assert new.drained(10)
        old.on_changes([Change("call_ended", "c2", a_call("c2", **SEEN))])
        assert old.drained(10) and new.drained(10)
        found = {row.call_uuid: row for row in rows(sessions)}
        assert sorted(found) == ["c1", "c2"]
        for row in found.values():
            assert (row.outcome, row.hangup_cause) == ("answered", "NORMAL_CLEARING")
            assert row.ended_at is not None and row.ended_at.timestamp() == SEEN["ended_at"]
        # A call nobody saw end stays "lost" (no seen outcome to keep).
        new.on_changes([Change("call_ended", "c3", a_call("c3", **GUESS))])
        assert new.drained(10)
        assert {r.call_uuid: r.outcome for r in rows(sessions)}["c3"] == "lost"
    finally:
        old.stop()
        new.stop()


def test_two_writers_at_once_leave_one_row_per_call(db_url: str, tmp_path: pathlib.Path) -> None:
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    old, new = writer(sessions, tmp_path, "old"), writer(sessions, tmp_path, "new")
    uuids = [f"call-{i:03d}" for i in range(150)]
    try:
        old.on_changes([Change("call_ended", u, a_call(u, **SEEN)) for u in uuids])
        new.on_changes([Change("call_ended", u, a_call(u, **GUESS)) for u in uuids])
        gevent.sleep(0)
        assert old.drained(30) and new.drained(30)
        found = rows(sessions)
        assert sorted(r.call_uuid for r in found) == uuids  # one row each
        assert {r.outcome for r in found} == {"answered"}
        assert old.stats()["dead_letters"] == new.stats()["dead_letters"] == 0
    finally:
        old.stop()
        new.stop()
