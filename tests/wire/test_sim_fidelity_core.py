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
    comparable_reply,
    event_of,
    frames_of,
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


def is_heartbeat(frame) -> bool:  # type: ignore[no-untyped-def]
    return frame.content_type.startswith("text/event") and event_of(frame).name == "HEARTBEAT"


def non_heartbeat(client: ReplayClient) -> list:  # type: ignore[type-arg]
    return [f for f in client.got.events if not is_heartbeat(f)]


def replay_connection(sim: Simulator, steps: list[dict], closed_by_server: bool) -> ReplayClient:
    """Send the fixture's client bytes, pacing on the replies FreeSWITCH gave."""
    client = ReplayClient(sim.port)
    expected_replies = 0
    waiting_heartbeat = False
    for step in steps:
        if step["dir"] == "recv":
            for frame in frames_of(step["raw"]):
                if is_heartbeat(frame):
                    waiting_heartbeat = True
                elif not frame.content_type.startswith(("text/event", "log/")):
                    expected_replies += 1
            continue
        assert client.wait(lambda n=expected_replies: len(client.got.replies) >= n)
        if waiting_heartbeat:
            seen = sum(1 for f in client.got.events if is_heartbeat(f))
            assert client.wait(
                lambda s=seen: (
                    sum(1 for f in client.got.events if is_heartbeat(f)) > s
                    or len(client.got.events) > 0
                ),
                timeout=3,
            )
            waiting_heartbeat = False
        client.send(step["raw"])
    assert client.wait(lambda: len(client.got.replies) >= expected_replies)
    if closed_by_server:
        assert client.wait(lambda: client.got.closed), "FreeSWITCH closed this connection"
    return client


def compare(scenario_name: str, sim: Simulator) -> None:
    scenario = load(scenario_name)
    closed = {c["conn"]: c.get("closed_by") == "server" for c in scenario.header["connections"]}
    for conn in scenario.connections():
        steps = scenario.steps_for(conn)
        want_replies, want_events = split_expected(steps)
        want_events = [f for f in want_events if not is_heartbeat(f)]
        client = replay_connection(sim, steps, closed[conn])
        try:
            wanted = len(want_events)
            assert client.wait(lambda c=client, n=wanted: len(non_heartbeat(c)) >= n)
            got_replies = client.got.replies
            got_events = non_heartbeat(client)
            assert [comparable_reply(f) for f in got_replies] == [
                comparable_reply(f) for f in want_replies
            ]
            assert [comparable_event(f) for f in got_events] == [
                comparable_event(f) for f in want_events
            ]
        finally:
            client.close()


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
