"""The simulator's channels against what FreeSWITCH 1.10.12 sent: a loopback caller
originated into the dialplan, answered, then killed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esl_controller.esl.events import Event
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import (
    CONF,
    VOLATILE,
    ReplayClient,
    event_of,
    load,
    split_expected,
)

SUBSCRIBE = (
    "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HOLD "
    "CHANNEL_UNHOLD CHANNEL_CALLSTATE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY "
    "BACKGROUND_JOB HEARTBEAT CUSTOM callcenter::info\n\n"
)
ORIGINATE = (
    "bgapi originate {origination_caller_id_number=5551234567,"
    "origination_caller_id_name=Jane\\ Doe}loopback/5000/default &park()\n\n"
)
TIMES = ("-Time", "-Hold-Accum", "-Last-Hold")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, heartbeat_interval=20, conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


def recorded_channel_events() -> list[Event]:
    _, events = split_expected(load("call_answered_plain").steps)
    return [event_of(f) for f in events if event_of(f).name.startswith("CHANNEL_")]


def shape(event: Event, uuids: dict[str, str]) -> list[tuple[str, str]]:
    """Header names in order, values with per-run parts replaced by stable labels."""
    out = []
    for name, value in event.headers.items():
        text = str(value)
        if name in VOLATILE or name.endswith(TIMES) or name == "variable_session_id":
            text = "<t>" if text != "0" else "0"
        for uuid, label in uuids.items():
            text = text.replace(uuid, label)
        out.append((name, text))
    return out


def labels(events: list[Event]) -> dict[str, str]:
    """Name each channel's uuid by its channel name, in order of appearance."""
    found: dict[str, str] = {}
    for event in events:
        uuid = event.get("Unique-ID")
        if uuid and uuid not in found:
            found[uuid] = f"<{event.get('Channel-Name')}>"
    return found


def test_loopback_caller_legs_match_freeswitch(sim: Simulator) -> None:
    # The recorded caller went into the queue; the first seven channel events (both
    # loopback legs created, B ringing, both answered) are the switch core's alone.
    want = recorded_channel_events()[:7]
    client = ReplayClient(sim.port)
    try:
        client.send("auth ClueCon\n\n")
        client.send(SUBSCRIBE)
        client.send(ORIGINATE)

        def channel_events() -> list[Event]:
            evs = [event_of(f) for f in client.got.events]
            return [e for e in evs if e.name.startswith("CHANNEL_")]

        assert client.wait(lambda: len(channel_events()) >= 7)
        got = channel_events()[:7]
        assert [(e.name, e.get("Channel-Name"), e.get("Channel-Call-State"),
                 e.get("Answer-State")) for e in got] == [
            (e.name, e.get("Channel-Name"), e.get("Channel-Call-State"), e.get("Answer-State"))
            for e in want
        ]  # fmt: skip
        for mine, theirs in zip(got, want, strict=True):
            assert shape(mine, labels(got)) == shape(theirs, labels(want)), mine.name
        jobs = [event_of(f) for f in client.got.events if event_of(f).name == "BACKGROUND_JOB"]
        assert client.wait(lambda: any(
            event_of(f).name == "BACKGROUND_JOB" for f in client.got.events))  # fmt: skip
        jobs = [event_of(f) for f in client.got.events if event_of(f).name == "BACKGROUND_JOB"]
        a_leg = got[0].get("Unique-ID")
        assert jobs[0].body == f"+OK {a_leg}\n"
    finally:
        client.close()


def test_killing_a_loopback_leg_ends_both_and_show_channels_follows(sim: Simulator) -> None:
    client = ReplayClient(sim.port)
    try:
        client.send("auth ClueCon\n\n")
        client.send(SUBSCRIBE)
        client.send(ORIGINATE.replace("5000", "9664"))
        assert client.wait(lambda: any(
            event_of(f).name == "BACKGROUND_JOB" for f in client.got.events))  # fmt: skip
        client.send("api show channels as json\n\n")
        assert client.wait(lambda: len(client.got.replies) >= 5)
        rows = __import__("json").loads(client.got.replies[4].text)["rows"]
        assert sorted(r["name"] for r in rows) == ["loopback/9664-a", "loopback/9664-b"]
        b_leg = next(r["uuid"] for r in rows if r["name"].endswith("-b"))
        assert next(r["callstate"] for r in rows if r["uuid"] == b_leg) == "ACTIVE"
        client.send(f"api uuid_kill {b_leg}\n\n")
        client.send("api show channels as json\n\n")

        def destroyed() -> list[str]:
            evs = [event_of(f) for f in client.got.events]
            return [e.get("Channel-Name") or "" for e in evs if e.name == "CHANNEL_DESTROY"]

        assert client.wait(lambda: sorted(destroyed()) == ["loopback/9664-a", "loopback/9664-b"])
        completes = [event_of(f) for f in client.got.events
                     if event_of(f).name == "CHANNEL_HANGUP_COMPLETE"]  # fmt: skip
        assert all(e.get("Hangup-Cause") == "NORMAL_CLEARING" for e in completes)
        assert all(e.get("variable_billsec") is not None for e in completes)
        client.send("api show channels as json\n\n")
        assert client.wait(lambda: len(client.got.replies) >= 8)
        assert client.got.replies[7].text == '{"row_count": 0}\n'
    finally:
        client.close()


def test_originate_failures_answer_with_the_cause(sim: Simulator) -> None:
    client = ReplayClient(sim.port)
    try:
        client.send("auth ClueCon\n\n")
        client.send("api originate error/USER_BUSY &park()\n\n")
        client.send("api originate user/1000@127.0.0.1 &park()\n\n")
        client.send("api originate {origination_uuid=6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a}"
                    "null/test &park()\n\n")  # fmt: skip
        assert client.wait(lambda: len(client.got.replies) >= 5)
        texts = [f.text for f in client.got.replies[2:5]]
        assert texts == [
            "-ERR USER_BUSY\n",
            "-ERR USER_NOT_REGISTERED\n",
            "+OK 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a\n",
        ]
        client.send("api uuid_hold 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a\n\n")
        client.send("api uuid_hold 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a\n\n")
        client.send("api uuid_hold off 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a\n\n")
        client.send("api uuid_getvar 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a nothing\n\n")
        assert client.wait(lambda: len(client.got.replies) >= 9)
        assert [f.text for f in client.got.replies[5:9]] == [
            "+OK Success\n", "-ERR Operation failed\n", "+OK Success\n", "_undef_",
        ]  # fmt: skip
    finally:
        client.close()
