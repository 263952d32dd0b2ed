"""Fidelity of the simulator's mod_event_socket: replay what a real FreeSWITCH 1.10.12
was sent in the `auth` and `commands` scenarios and compare the replies and events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import (
    CONF,
    ReplayClient,
    comparable_event,
    compare,
    event_of,
    is_heartbeat,
    load,
    split_expected,
)

HEARTBEAT_INTERVAL = 0.25


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, heartbeat_interval=HEARTBEAT_INTERVAL, conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


def test_auth_scenario_matches_freeswitch(sim: Simulator) -> None:
    compare("auth", sim)


def test_commands_scenario_matches_freeswitch(sim: Simulator) -> None:
    compare("commands", sim)


def test_heartbeat_has_freeswitchs_headers(sim: Simulator) -> None:
    scenario = load("commands")
    _, events = split_expected(scenario.steps)
    want = next(f for f in events if is_heartbeat(f))
    client = ReplayClient(sim.port)
    try:
        client.send("auth ClueCon\n\n")
        client.send("event plain HEARTBEAT\n\n")
        assert client.wait(lambda: any(is_heartbeat(f) for f in client.got.events), timeout=3)
        got = next(f for f in client.got.events if is_heartbeat(f))
        assert list(event_of(got).headers) == list(event_of(want).headers)
        assert comparable_event(got) == comparable_event(want)
    finally:
        client.close()
