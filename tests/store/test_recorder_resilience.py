"""The recorder against what stops history in the field, on SQLite and PostgreSQL: hostile
values from callers, a record the database refuses, a full queue, a database that is not
there, a process stopped with records waiting, and a thread pool busy with slow lookups."""

from __future__ import annotations

import dataclasses
import pathlib
import threading
import time

import gevent
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.bounded import MARK
from esl_controller.domain.model import Activity, CallView, Change
from esl_controller.services.customers import CRM_THREADS, CustomerLookup
from esl_controller.services.recorder import Recorder, read_spill
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Call, Customer, DeadLetter
from tests.unit.test_domain_floor import ended_calls, replay
from tests.wire.conftest import wait_until

HOSTILE_NAMES = {
    "long": "N" * 10_000,
    "newline": "Evil\nInjected: header",
    "nul": "Nul\x00Byte",
    "bad_utf8": "Bad\ufffd\udcffbyte",
    "variables": "${system(rm -rf /)}",
    "quotes": 'O\'Brien "the" `caller`',
}


def a_call(uuid: str, **changes: object) -> CallView:
    (call,) = ended_calls(replay("call_answered_plain")[1])
    return dataclasses.replace(call, uuid=uuid, **changes)  # type: ignore[arg-type]


def ended(*calls: CallView) -> list[Change]:
    return [Change("call_ended", c.uuid, c) for c in calls]


def database(db_url: str) -> sessionmaker[Session]:
    upgrade(db_url)
    return sessionmaker(make_engine(db_url))


def calls_in(sessions: sessionmaker[Session]) -> dict[str, Call]:
    with session_scope(sessions) as session:
        rows = list(session.scalars(select(Call)))
        session.expunge_all()
    return {row.call_uuid: row for row in rows}


def test_hostile_caller_values_are_stored_bounded_and_never_stop_the_history(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=tmp_path / "spill.jsonl")
    recorder.start()
    try:
        hostile = [a_call(f"hostile-{key}", cid_name=name, cid_number=name, cause=name)
                   for key, name in HOSTILE_NAMES.items()]  # fmt: skip
        recorder.on_changes(ended(*hostile, a_call("normal-after", cid_name="Jane Doe")))
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    rows = calls_in(sessions)
    assert set(rows) == {f"hostile-{key}" for key in HOSTILE_NAMES} | {"normal-after"}
    assert rows["normal-after"].cid_name == "Jane Doe"
    long = rows["hostile-long"]
    assert len(long.cid_name) == 128 and long.cid_name.endswith(MARK)
    assert len(long.cid_number) == 64 and long.cid_number.endswith(MARK)
    assert rows["hostile-newline"].cid_name == "Evil\u240aInjected: header"  # ␊, visible
    assert rows["hostile-nul"].cid_name == "Nul\u2400Byte"  # ␀
    assert rows["hostile-bad_utf8"].cid_name == "Bad\ufffd\ufffdbyte"
    assert rows["hostile-variables"].cid_name == "${system(rm -rf /)}"  # text, stored as is
    assert rows["hostile-quotes"].cid_name == HOSTILE_NAMES["quotes"]
    assert recorder.stats()["dead_letters"] == 0


def test_a_record_the_database_refuses_is_a_dead_letter_and_the_rest_is_written(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=tmp_path / "spill.jsonl")
    recorder.start()
    try:
        # An activity whose start time FreeSWITCH sent as NaN: the bounded record has no
        # start, and the table refuses a row without one (NOT NULL).
        broken = Activity("agent1000", "Available", "Waiting", None, float("nan"), time.time())
        changes = ended(a_call("before"))
        changes.append(Change("activity", "agent1000", broken))
        changes += ended(a_call("after"))
        recorder.on_changes(changes)
        assert recorder.drained(timeout=30)
        recorder.on_changes(ended(a_call("later")))  # and the recorder keeps going
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    assert set(calls_in(sessions)) == {"before", "after", "later"}
    with session_scope(sessions) as session:
        (letter,) = session.scalars(select(DeadLetter))
        assert letter.kind == "activity" and letter.key == "agent1000"
        assert "IntegrityError" in letter.reason
        assert letter.payload is not None and letter.payload["status"] == "Available"
    stats = recorder.stats()
    assert stats["dead_letters"] == 1 and stats["written"] == 3


def test_a_disposition_is_kept_whether_it_arrives_before_or_after_the_call(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=tmp_path / "spill.jsonl")
    recorder.start()
    try:
        recorder.annotate_call("early", disposition="resolved", notes="line one\nline two")
        recorder.on_changes(ended(a_call("early"), a_call("late")))
        recorder.annotate_call("late", disposition="sale", notes="")
        recorder.on_changes(ended(a_call("late")))  # the same call recorded again
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    rows = calls_in(sessions)
    assert set(rows) == {"early", "late"}
    assert (rows["early"].disposition, rows["early"].notes) == ("resolved", "line one\nline two")
    assert rows["early"].outcome == "answered" and rows["early"].agent == "agent7000"
    assert (rows["late"].disposition, rows["late"].notes) == ("sale", None)


def test_while_the_database_is_missing_records_spill_to_disk_and_are_replayed_in_order(
    tmp_path: pathlib.Path,
) -> None:
    # SQLite whose folder does not exist yet: "unable to open database file", the
    # embedded database's way of being unreachable.
    folder = tmp_path / "not-yet"
    url = f"sqlite:///{folder / 'callcenter.db'}"
    spill = tmp_path / "spill.jsonl"
    recorder = Recorder(sessionmaker(make_engine(url)), spill_path=spill, max_pending=5,
                        retry_initial=0.05, retry_max=0.2)  # fmt: skip
    recorder.start()
    try:
        for i in range(3):
            recorder.on_changes(ended(a_call(f"call-{i:02d}")))
        assert wait_until(lambda: not recorder.database_up)
        for i in range(3, 40):
            recorder.on_changes(ended(a_call(f"call-{i:02d}")))
        stats = recorder.stats()
        assert stats["in_memory"] <= 5 and stats["on_disk"] >= 35
        assert [r["call_uuid"] for _, r in read_spill(spill)][:3] == ["call-03", "call-04",
                                                                      "call-05"]  # fmt: skip
        folder.mkdir()
        upgrade(url)  # the database is back
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    assert sorted(calls_in(sessionmaker(make_engine(url)))) == [f"call-{i:02d}" for i in range(40)]
    assert not spill.exists()
    assert recorder.spilled >= 35 and recorder.failures > 0


def test_a_full_queue_spills_even_while_the_database_is_up(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=tmp_path / "spill.jsonl", max_pending=10)
    for i in range(100):  # the writer has not started: the queue fills
        recorder.on_changes(ended(a_call(f"burst-{i:03d}")))
    assert len(recorder.pending) == 10 and recorder.spill.waiting == 90
    recorder.start()
    try:
        assert recorder.drained(timeout=60)
    finally:
        recorder.stop()
    assert len(calls_in(sessions)) == 100 and recorder.spilled == 90


def test_records_waiting_when_the_process_stops_are_written_by_the_next_run(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    gone = Recorder(sessionmaker(make_engine(f"sqlite:///{tmp_path / 'no' / 'db'}")),
                    spill_path=spill, retry_initial=0.05)  # fmt: skip
    gone.start()
    gone.on_changes(ended(a_call("first")))
    assert wait_until(lambda: not gone.database_up)
    gone.on_changes(ended(a_call("second")))
    gone.annotate_call("first", disposition="resolved", notes="")
    gone.stop()  # what was in memory goes to disk too
    assert {r["call_uuid"] for _, r in read_spill(spill)} == {"first", "second"}

    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=spill)
    recorder.start()
    try:
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    rows = calls_in(sessions)
    assert set(rows) == {"first", "second"} and rows["first"].disposition == "resolved"
    assert not spill.exists()


def test_slow_lookups_in_the_shared_pool_do_not_hold_history_back(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=tmp_path / "spill.jsonl")
    recorder.start()
    release = threading.Event()
    pool = gevent.get_hub().threadpool
    # A CRM that never answers, holding every thread of gevent's shared pool.
    stuck = [pool.spawn(release.wait, 60) for _ in range(pool.maxsize)]
    try:
        recorder.on_changes(ended(a_call("while-crm-hangs")))
        assert recorder.drained(timeout=30)
        assert not any(r.ready() for r in stuck)  # the pool really was full all along
    finally:
        release.set()
        gevent.joinall(stuck, timeout=10)
        recorder.stop()
    assert set(calls_in(sessions)) == {"while-crm-hangs"}


def test_a_hung_crm_holds_only_its_own_threads(db_url: str, tmp_path: pathlib.Path) -> None:
    sessions = database(db_url)
    with session_scope(sessions) as session:
        session.add(Customer(name="Grace Hopper", phone="5550001", vip=False))
    release = threading.Event()

    def hung_crm(url: str, timeout: float) -> bytes:
        release.wait(600)  # a CRM that accepts the connection and never answers
        return b"{}"

    lookup = CustomerLookup(sessions, crm_url_template="http://crm.invalid/?n={number}",
                            timeout=0.5, fetch=hung_crm)  # fmt: skip
    recorder = Recorder(sessions, spill_path=tmp_path / "spill.jsonl")
    recorder.start()
    try:
        # Three times as many popups as CRM threads, all for unknown callers.
        popups = [gevent.spawn(lookup.lookup, f"555999{i:04d}") for i in range(3 * CRM_THREADS)]
        recorder.on_changes(ended(a_call("during-crm-outage")))
        known = lookup.lookup("5550001")  # the customers table still answers
        assert known is not None and known.name == "Grace Hopper"
        assert recorder.drained(timeout=30)
        gevent.joinall(popups, timeout=30)
        assert all(p.ready() for p in popups)
        assert [p.value for p in popups] == [None] * len(popups)  # unknown caller, not stuck
    finally:
        release.set()
        recorder.stop()
    assert set(calls_in(sessions)) == {"during-crm-outage"}


def test_a_spill_file_cut_by_a_crash_resumes_where_the_last_run_stopped(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    gone = Recorder(sessionmaker(make_engine(f"sqlite:///{tmp_path / 'no' / 'db'}")),
                    spill_path=spill, max_pending=0)  # fmt: skip
    gone.on_changes(ended(a_call("written-before-the-crash"), a_call("still-waiting")))
    gone.spill.close()
    first_line = spill.read_bytes().index(b"\n") + 1
    (tmp_path / "spill.jsonl.offset").write_text(str(first_line))
    with spill.open("ab") as f:
        f.write(b'{"kind": "call", "record": {"call_uuid": "half-wri')  # the crash

    sessions = database(db_url)
    recorder = Recorder(sessions, spill_path=spill)
    recorder.start()
    try:
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    assert set(calls_in(sessions)) == {"still-waiting"}
    assert not spill.exists() and recorder.stats()["dead_letters"] == 0


def test_without_a_dead_letter_table_a_refused_record_goes_to_a_file(
    db_url: str, tmp_path: pathlib.Path
) -> None:
    sessions = database(db_url)
    with session_scope(sessions) as session:  # a database someone did not fully upgrade
        session.execute(text("DROP TABLE cc_dead_letters"))
    spill = tmp_path / "spill.jsonl"
    recorder = Recorder(sessions, spill_path=spill)
    recorder.start()
    try:
        broken = Activity("agent1000", "Available", "Waiting", None, float("nan"), time.time())
        changes = [Change("activity", "agent1000", broken), *ended(a_call("after"))]
        recorder.on_changes(changes)
        assert recorder.drained(timeout=30)
    finally:
        recorder.stop()
    assert set(calls_in(sessions)) == {"after"}
    (letter,) = (tmp_path / "spill.jsonl.dead-letters.jsonl").read_text().splitlines()
    assert '"kind": "activity"' in letter and "agent1000" in letter
