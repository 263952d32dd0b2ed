"""The database goes away for a while in the middle of traffic, and the history comes
back whole: every call the floor saw end is in cc_calls exactly once, with the outcome the
floor gave it, and so is every agent activity.

* PostgreSQL: unreachable for 60 s through a TCP proxy the test controls, between the
  recorder's engine and 127.0.0.1:5432 (the machine's own server is never stopped): the
  proxy stops listening (new connections are refused) and drops every open connection,
  then listens again.
* SQLite: another connection (a backup tool, an ``sqlite3`` shell left in a transaction)
  holds the database's write lock for 15 s, so every write fails with "database is
  locked".

Traffic is the simulator's: agents logged in with ``sim_agents``, Poisson callers with
``sim_traffic`` (some answered, some abandoned) and a few named ``sim_caller`` callers
during the outage.
"""

from __future__ import annotations

import pathlib
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import gevent
import gevent.server
import gevent.socket
import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from esl_controller.domain.model import Activity, CallView, Change
from esl_controller.esl.client import EslSettings
from esl_controller.services.link import link_floor
from esl_controller.services.recorder import Recorder
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import AgentActivity, Call
from esl_controller.store.repositories import when
from tests.helpers.databases import postgres_schema_url
from tests.helpers.fixture_replay import CONF
from tests.helpers.tcp_proxy import CuttableProxy
from tests.wire.conftest import wait_until


def utc(moment: datetime | None) -> datetime:
    """A moment as naive UTC (SQLite gives back naive UTC, PostgreSQL aware times)."""
    assert moment is not None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Seen:
    """What the floor handed the recorder: the truth the database must match."""

    def __init__(self) -> None:
        self.calls: dict[str, CallView] = {}
        self.activities: set[tuple[str, datetime, str, str]] = set()

    def __call__(self, changes: list[Change]) -> None:
        for change in changes:
            if change.kind == "call_ended" and isinstance(change.view, CallView):
                self.calls[change.view.uuid] = change.view
            elif change.kind == "activity" and isinstance(change.view, Activity):
                act = change.view
                start = utc(when(act.started_at))
                self.activities.add((act.agent, start, act.status, act.state))


@contextmanager
def traffic_through(db_url: str, spill: pathlib.Path) -> Iterator[tuple[Simulator, Recorder, Seen]]:
    """The simulator with agents and callers, the floor and a recorder writing to
    ``db_url``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    recorder = Recorder(sessionmaker(make_engine(db_url)), spill_path=spill,
                        retry_initial=0.1, retry_max=1.0)  # fmt: skip
    client, floor = link_floor(EslSettings(port=port, backoff_max=0.5, heartbeat_timeout=3))
    seen = Seen()
    floor.listeners += [seen, recorder.on_changes]
    sim = Simulator(port=port, conf_dir=CONF, heartbeat_interval=0.5)
    sim.start()
    profile = sim.traffic.profile
    profile.mean_talk, profile.mean_patience, profile.answer_delay = 3.0, 15.0, (0.2, 1.0)
    recorder.start()
    floor.start()
    client.start()
    try:
        assert wait_until(lambda: floor.resyncs >= 1)
        assert sim.execute_api("sim_agents 6").startswith("+OK")
        assert sim.execute_api("sim_traffic start 40").startswith("+OK")
        yield sim, recorder, seen
        # Traffic ends; every caller still in a queue or talking finishes.
        sim.execute_api("sim_traffic stop")
        assert wait_until(lambda: not floor.snapshot().calls, 90)
        assert recorder.drained(timeout=90)
    finally:
        client.stop()
        floor.stop()
        recorder.stop()
        sim.stop()


def outage(
    sim: Simulator, recorder: Recorder, seen: Seen, seconds: float, down: Callable[[], None],
    up: Callable[[], None],
) -> int:  # fmt: skip
    """History flows, the database goes away for ``seconds`` while calls go on, then
    comes back. Returns how many calls ended while it was away."""
    assert wait_until(lambda: recorder.written >= 5, 60)  # history is flowing
    down()
    ended_before = len(seen.calls)
    started = time.monotonic()
    assert wait_until(lambda: not recorder.database_up, 30)
    for i in range(3):  # named callers while the database is away
        sim.execute_api(f"sim_caller 5000 55590000{i:02d} During Outage {i}")
    gevent.sleep(max(0.0, seconds - (time.monotonic() - started)))
    ended_during = len(seen.calls) - ended_before
    # The floor kept going, and the records went to disk, not to a growing memory queue.
    assert ended_during > 0 and not recorder.database_up
    assert recorder.stats()["on_disk"] > 0 and recorder.spilled > 0
    up()
    return ended_during


def assert_history_whole(db_url: str, seen: Seen, recorder: Recorder) -> None:
    with session_scope(sessionmaker(make_engine(db_url))) as session:
        rows = list(session.scalars(select(Call)))
        uuids = [r.call_uuid for r in rows]
        assert len(uuids) == len(set(uuids)), "a call recorded twice"
        assert set(uuids) == set(seen.calls), "a call lost (or invented)"
        for row in rows:
            assert row.outcome == seen.calls[row.call_uuid].outcome, row.call_uuid
        during = {r.cid_number: r for r in rows if r.cid_number.startswith("55590000")}
        assert len(during) == 3 and all(r.outcome == "answered" for r in during.values())
        outcomes = {r.outcome for r in rows}
        activities = {
            (a.agent, utc(a.started_at), a.status, a.state)
            for a in session.scalars(select(AgentActivity))
        }
        assert activities == seen.activities
    assert "answered" in outcomes
    stats = recorder.stats()
    assert stats["dead_letters"] == 0 and stats["in_memory"] == stats["on_disk"] == 0


@pytest.mark.postgres
@pytest.mark.timeout(400)
def test_postgresql_unreachable_for_60_seconds_during_traffic(tmp_path: pathlib.Path) -> None:
    for direct_url in postgres_schema_url():
        upgrade(direct_url)
        proxy = CuttableProxy(("127.0.0.1", 5432))
        via_proxy = direct_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        try:
            with traffic_through(via_proxy, tmp_path / "spill.jsonl") as (sim, recorder, seen):
                ended = outage(sim, recorder, seen, 60.0, proxy.cut, proxy.restore)
                assert ended >= 5
            assert_history_whole(direct_url, seen, recorder)
            assert recorder.failures > 0
        finally:
            proxy.close()


@pytest.mark.timeout(300)
def test_sqlite_locked_by_another_writer_during_traffic(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "callcenter.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    holder: list[sqlite3.Connection] = []

    def lock() -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN EXCLUSIVE")  # the write lock, held until rollback
        holder.append(conn)

    def unlock() -> None:
        conn = holder.pop()
        conn.execute("ROLLBACK")
        conn.close()

    with traffic_through(url, tmp_path / "spill.jsonl") as (sim, recorder, seen):
        outage(sim, recorder, seen, 15.0, lock, unlock)
    assert_history_whole(url, seen, recorder)
