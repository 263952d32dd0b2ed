"""Replay a recorded FreeSWITCH scenario against the simulator and compare what comes back.

A fixture (tests/fixtures/esl/*.jsonl) holds what a real FreeSWITCH 1.10.12 sent and what
the client sent. We send the same client bytes, collect the simulator's frames, and
compare replies in order and events in order, separately (events and replies interleave
differently from run to run: README quirk 1). Values that differ on every run (UUIDs,
dates, sequence numbers, host names and addresses, uptimes, versions) are normalized.
"""

from __future__ import annotations

import json
import pathlib
import re
import time
from dataclasses import dataclass, field

import gevent
import gevent.socket as socket

from esl_controller.esl.events import PARSERS, Event, parse_event
from esl_controller.esl.frames import Frame, FrameDecoder
from esl_controller.simulator.wire.simulator import Simulator

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "esl"
EVENT_TYPES = set(PARSERS) | {"log/data"}

EPOCH_RE = re.compile(r"(?<![\d.])1[6-9]\d{8}(?![\d.])")
CONF = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "conf"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Headers whose values differ on every run (or between machines).
VOLATILE = {
    "Core-UUID",
    "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4",
    "FreeSWITCH-IPv6",
    "Event-Date-Local",
    "Event-Date-GMT",
    "Event-Date-Timestamp",
    "Event-Sequence",
    "Up-Time",
    "Uptime-msec",
    "Idle-CPU",
    "Content-Length",
    "Job-UUID",
    "Session-Count",
    "Session-Since-Startup",
    "Session-Peak-Max",
    "Session-Peak-FiveMin",
}


@dataclass
class Scenario:
    name: str
    header: dict
    steps: list[dict] = field(default_factory=list)

    def connections(self) -> list[int]:
        return sorted({step["conn"] for step in self.steps})

    def steps_for(self, conn: int) -> list[dict]:
        return [s for s in self.steps if s["conn"] == conn]


def load(name: str) -> Scenario:
    lines = (FIXTURES / f"{name}.jsonl").read_text().splitlines()
    return Scenario(name, json.loads(lines[0]), [json.loads(line) for line in lines[1:]])


def frames_of(raw: str) -> list[Frame]:
    return FrameDecoder().feed(raw.encode("utf-8"))


def normalize_text(text: str) -> str:
    text = UUID_RE.sub("<uuid>", text)
    text = EPOCH_RE.sub("<epoch>", text)
    text = re.sub(r"^UP .*$", "UP <uptime>", text, flags=re.M)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} [\d.]+%", "<log-time>", text)
    return text


@dataclass
class Received:
    replies: list[Frame] = field(default_factory=list)
    events: list[Frame] = field(default_factory=list)
    closed: bool = False


class ReplayClient:
    """A raw-socket ESL client: sends bytes verbatim, sorts what arrives."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(None)
        self.got = Received()
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        decoder = FrameDecoder()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            for frame in decoder.feed(data):
                target = self.got.events if frame.content_type in EVENT_TYPES else self.got.replies
                target.append(frame)
        self.got.closed = True

    def send(self, raw: str) -> None:
        self.sock.sendall(raw.encode("utf-8"))

    def wait(self, predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            gevent.sleep(0.005)
        return bool(predicate())

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self._reader.kill()


def split_expected(steps: list[dict]) -> tuple[list[Frame], list[Frame]]:
    replies: list[Frame] = []
    events: list[Frame] = []
    for step in steps:
        if step["dir"] != "recv":
            continue
        for frame in frames_of(step["raw"]):
            (events if frame.content_type in EVENT_TYPES else replies).append(frame)
    return replies, events


def event_of(frame: Frame) -> Event:
    return parse_event(frame.content_type, frame.body)


def comparable_headers(headers: dict) -> list[tuple[str, str]]:
    out = []
    for name, value in headers.items():
        shown = "<volatile>" if name in VOLATILE else normalize_text(str(value))
        out.append((name, shown))
    return out


def comparable_reply(frame: Frame) -> tuple:
    return (
        frame.content_type,
        [name for name in frame.headers if name != "Content-Length"],
        normalize_text(frame.headers.get("Reply-Text", "")),
        normalize_text(frame.text),
    )


def comparable_event(frame: Frame) -> tuple:
    if frame.content_type == "log/data":
        return (frame.content_type, comparable_headers(frame.headers), normalize_text(frame.text))
    event = event_of(frame)
    return (frame.content_type, comparable_headers(event.headers), normalize_text(event.body))


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
    """Replay every connection of a scenario; assert replies and events match."""
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
