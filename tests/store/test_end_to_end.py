"""From the simulated switch to the database, on SQLite and PostgreSQL: queue calls are
recorded once each, and a call cut off by a FreeSWITCH restart is recorded as lost
rather than forgotten."""

from __future__ import annotations

import socket

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from esl_controller.esl.client import EslSettings
from esl_controller.services.link import link_floor
from esl_controller.services.recorder import Recorder
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Call
from tests.helpers.fixture_replay import CONF
from tests.wire.conftest import wait_until


def start_sim(port: int) -> Simulator:
    sim = Simulator(port=port, conf_dir=CONF, speed=20, heartbeat_interval=0.5)
    sim.start()
    sim.traffic.profile.mean_talk = 1.0  # short calls: seconds of simulated talk
    sim.execute_api("sim_phone 1000 register")
    sim.execute_api("sim_phone 1000 answer 0.2")
    sim.execute_api("callcenter_config agent set status agent1000 Available")
    sim.execute_api("callcenter_config agent set state agent1000 Waiting")
    return sim


def test_calls_reach_the_database_once_even_across_a_restart(db_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    recorder = Recorder(sessions)
    client, floor = link_floor(EslSettings(port=port, backoff_max=0.5, heartbeat_timeout=3))
    floor.listeners.append(recorder.on_changes)
    sim = start_sim(port)
    recorder.start()
    floor.start()
    client.start()
    try:
        assert wait_until(lambda: floor.resyncs == 1)
        sim.execute_api("sim_caller 5000 5550000001 First")
        assert wait_until(lambda: recorder.written >= 1 and not floor.snapshot().calls, 20)
        # A second caller is talking to the agent when FreeSWITCH dies.
        sim.traffic.profile.mean_talk = 100_000.0
        sim.execute_api("sim_caller 5000 5550000002 Second")
        assert wait_until(lambda: any(c.answered_at for c in floor.snapshot().calls.values()))
        sim.stop()
        sim = start_sim(port)
        assert wait_until(lambda: floor.resyncs == 2)
        assert recorder.drained(timeout=20)
        with session_scope(sessions) as session:
            rows = {c.cid_number: c for c in session.scalars(select(Call))}
            assert set(rows) == {"5550000001", "5550000002"}
            assert rows["5550000001"].outcome == "answered"
            lost = rows["5550000002"]
            assert (lost.outcome, lost.hangup_cause) == ("lost", "LOST_WITH_SWITCH")
            assert lost.answered_at is not None and lost.ended_at is not None
    finally:
        client.stop()
        floor.stop()
        recorder.stop()
        sim.stop()
