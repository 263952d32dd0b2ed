"""A hostile switch: a fake FreeSWITCH on real TCP sends malformed frames, and the product's
own client and floor (``link_floor`` + ``FloorService``, nothing mocked) must keep going.

The fake switch authenticates like FreeSWITCH (the bytes of ``tests/fixtures/esl/auth.jsonl``),
answers the resync's ``api`` commands (one agent in ``agent list``, no queues, no channels)
and lets the test write any bytes on the event connection. Each case sends one hostile
frame followed by a normal ``callcenter::info`` agent-status-change (the real shape, from
``call_answered_plain.jsonl``), then checks what a user would see:

* a bad frame whose outer framing is intact costs that frame only: the next event is
  applied to the floor, the link never dropped and health says connected;
* a frame that breaks the outer framing (nothing after it can be trusted) ends the
  connection at once: health says reconnecting with the reason, the client reconnects,
  resyncs, and the next event is applied.

The last test swaps the simulator's ESL password under a running product (dashboard
included): /health is 503 with the reason while the password is refused, and the
product comes back by itself once it is accepted again.
"""

from __future__ import annotations

import itertools
import json
import logging
import pathlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import gevent
import gevent.lock
import gevent.server
import pytest

from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.services.floor_service import FloorService
from esl_controller.services.link import link_floor
from esl_controller.simulator.wire.encode import (
    DISCONNECT_TEXT,
    api_frame,
    event_frame,
    reply_frame,
    serialize_plain,
    typed_frame,
)
from tests.web.conftest import build_web, stop_web
from tests.wire.conftest import wait_until

AGENT = "agent7000"
CORE_UUID = "c8a66900-066e-4abe-89cf-0799998e79a4"
MB = 1024 * 1024


# -- the fake switch ----------------------------------------------------------------------


class _Link:
    """One accepted connection; writes from the session and the test never interleave."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = gevent.lock.Semaphore()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)


class HostileSwitch:
    """Speaks just enough ESL for the product's client and resync, plus raw bytes on demand."""

    def __init__(self, password: str = "ClueCon") -> None:  # noqa: S107 - FreeSWITCH's default
        self.password = password
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self._serve)
        self.event_links: list[_Link] = []
        self.accepting = True
        # What ``agent list`` says about the one agent (the resync reads it).
        self.agent_status = "Logged Out"
        self._sequence = itertools.count(9000)  # Event-Sequence only grows, across links

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop(timeout=1)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def send_events(self, data: bytes) -> None:
        """Write raw bytes on the newest event connection (the client's subscriber)."""
        self.event_links[-1].write(data)

    def _serve(self, sock: socket.socket, _addr: object) -> None:
        if not self.accepting:  # "down": the TCP port answers, then closes at once
            sock.close()
            return
        link = _Link(sock)
        link.write(b"Content-Type: auth/request\n\n")
        buffer = b""
        authed = False
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
                while b"\n\n" in buffer:
                    raw, buffer = buffer.split(b"\n\n", 1)
                    lines = raw.decode("utf-8", "replace").split("\n")
                    command = lines[0].strip()
                    if not authed:
                        if not command.startswith("auth "):
                            link.write(reply_frame("-ERR command not found"))
                        elif command[5:] == self.password:
                            authed = True
                            link.write(reply_frame("+OK accepted"))
                        else:
                            link.write(reply_frame("-ERR invalid"))
                            link.write(typed_frame("text/disconnect-notice", DISCONNECT_TEXT))
                            return
                    elif command.startswith("event "):
                        fmt = command.split(" ")[1]
                        link.write(reply_frame(f"+OK event listener enabled {fmt}"))
                        if "callcenter::info" in command:
                            self.event_links.append(link)
                    elif command.startswith("api "):
                        link.write(api_frame(self._api(command[4:])))
                    elif command.startswith("bgapi "):
                        job = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                        job_uuid = job.get("Job-UUID") or str(uuid.uuid4())
                        link.write(reply_frame(f"+OK Job-UUID: {job_uuid}"))
                    elif command == "exit":
                        link.write(reply_frame("+OK bye"))
                        link.write(typed_frame("text/disconnect-notice", DISCONNECT_TEXT))
                        return
                    else:
                        link.write(reply_frame("+OK"))
        except OSError:
            return
        finally:
            sock.close()

    def _api(self, command: str) -> str:
        if command.startswith("json "):
            request = json.loads(command[5:])
            rows: list[dict[str, str]] = []
            if request.get("data", {}).get("arguments") == "agent list":
                rows = [self._agent_row()]
            return json.dumps(dict(request, status="success", response=rows))
        if command.startswith("show ") and command.endswith(" as json"):
            return '{"row_count":0}'
        if command.startswith("callcenter_config ") and command.endswith(" list"):
            return "+OK\n"
        return "+OK\n"

    def _agent_row(self) -> dict[str, str]:
        # The shape of a real `agent list` row (callcenter_config.jsonl).
        return {
            "name": AGENT, "instance_id": "single_box", "type": "callback",
            "contact": "[leg_timeout=10]user/7000@127.0.0.1", "status": self.agent_status,
            "state": "Waiting", "max_no_answer": "3", "wrap_up_time": "10",
            "reject_delay_time": "10", "busy_delay_time": "60", "no_answer_delay_time": "10",
            "last_bridge_start": "0", "last_bridge_end": "0", "last_offered_call": "0",
            "last_status_change": str(int(time.time())), "no_answer_count": "0",
            "calls_answered": "0", "talk_time": "0", "ready_time": "0",
            "external_calls_count": "0",
        }  # fmt: skip


# -- frames -------------------------------------------------------------------------------


def common_headers(sequence: int | str) -> list[tuple[str, str]]:
    """What FreeSWITCH puts first on every callcenter::info event (raw values)."""
    now = time.time()
    return [
        ("Event-Subclass", "callcenter::info"),
        ("Event-Name", "CUSTOM"),
        ("Core-UUID", CORE_UUID),
        ("FreeSWITCH-Hostname", "vm"),
        ("FreeSWITCH-Switchname", "vm"),
        ("FreeSWITCH-IPv4", "192.0.2.2"),
        ("FreeSWITCH-IPv6", "fd00::2"),
        ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))),
        ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))),
        ("Event-Date-Timestamp", str(int(now * 1_000_000))),
        ("Event-Calling-File", "mod_callcenter.c"),
        ("Event-Calling-Function", "cc_agent_update"),
        ("Event-Calling-Line-Number", "1043"),
        ("Event-Sequence", str(sequence)),
    ]


def status_event(switch: HostileSwitch, status: str) -> bytes:
    """A normal agent-status-change, byte for byte as FreeSWITCH frames it."""
    headers = common_headers(switch.next_sequence()) + [
        ("CC-Agent", AGENT),
        ("CC-Action", "agent-status-change"),
        ("CC-Agent-Status", status),
    ]
    return event_frame("plain", serialize_plain(headers, None))


def raw_plain(switch: HostileSwitch, extra: list[bytes], body: bytes | None = None) -> bytes:
    """An event-plain frame with a correct outer Content-Length around hostile contents:
    the standard headers (encoded), then ``extra`` lines exactly as given."""
    head = serialize_plain(common_headers(switch.next_sequence()), None)[:-1]  # drop the blank
    payload = head + b"".join(line + b"\n" for line in extra)
    payload += b"\n" + body if body is not None else b"\n"
    return event_frame("plain", payload)


def outer(content_type: str, payload: bytes) -> bytes:
    return f"Content-Length: {len(payload)}\nContent-Type: {content_type}\n\n".encode() + payload


def cc(action: bytes, *more: bytes) -> list[bytes]:
    return [b"CC-Agent: " + AGENT.encode(), b"CC-Action: " + action, *more]


@dataclass(frozen=True)
class Case:
    name: str
    frame: Callable[[HostileSwitch], bytes]
    # True when the outer framing is lost: the connection must be ended and resynced.
    breaks_framing: bool = False


INSIDE = [
    Case("inner Content-Length unicode digit",
         lambda s: raw_plain(s, [b"Event-Name: BACKGROUND_JOB", "Content-Length: ²".encode()],
                             b"+OK")),
    Case("inner Content-Length arabic digits",
         lambda s: raw_plain(s, ["Content-Length: ١٢".encode()], b"+OK done\n")),
    Case("inner Content-Length not a number",
         lambda s: raw_plain(s, [b"Content-Length: banana"], b"+OK")),
    Case("inner Content-Length negative", lambda s: raw_plain(s, [b"Content-Length: -5"], b"x")),
    Case("inner Content-Length 5000 digits",
         lambda s: raw_plain(s, [b"Content-Length: " + b"9" * 5000], b"x")),
    Case("inner body truncated",
         lambda s: raw_plain(s, [b"Content-Length: 1000"], b"only a few bytes")),
    Case("inner header line without colon",
         lambda s: raw_plain(s, [*cc(b"agent-status-change"), b"CC-Agent-Status On Break"])),
    Case("inner header line without space",
         lambda s: raw_plain(s, [*cc(b"agent-status-change"), b"CC-Agent-Status:On%20Break"])),
    Case("inner 1 MB value",
         lambda s: raw_plain(s, cc(b"agent-status-change", b"CC-Agent-Status: " + b"B" * MB))),
    Case("inner invalid UTF-8",
         lambda s: raw_plain(s, cc(b"agent-status-change", b"CC-Agent-Status: \xff\xfe\xc3",
                                   b"X-Encoded: %FF%FE%C3"))),
    Case("inner NUL bytes",
         lambda s: raw_plain(s, cc(b"agent-status-change", b"CC-Agent-Status: On\x00Break",
                                   b"X-Encoded: %00%00", b"\x00: \x00"))),
    Case("inner 10,000 headers",
         lambda s: raw_plain(s, [b"X-H-%d: %d" % (i, i) for i in range(10_000)]
                             + cc(b"agent-status-change", b"CC-Agent-Status: On%20Break"))),
    Case("inner header injection in a value",
         lambda s: raw_plain(s, cc(b"agent-status-change",
                                   b"CC-Agent-Status: On%20Break%0AEvent-Name:%20HEARTBEAT"))),
    Case("Event-Sequence unicode digit",
         lambda s: raw_plain(s, ["Event-Sequence: ²".encode(),
                                 *cc(b"agent-state-change", b"CC-Agent-State: Idle")])),
    Case("CC-Count unicode digit",
         lambda s: raw_plain(s, [b"CC-Queue: support@default", b"CC-Action: members-count",
                                 "CC-Count: ²".encode()])),
    Case("CC-Count huge",
         lambda s: raw_plain(s, [b"CC-Queue: support@default", b"CC-Action: members-count",
                                 b"CC-Count: " + b"9" * 400])),
    Case("callcenter numbers absurd",
         lambda s: raw_plain(s, cc(b"agent-offering", b"CC-Queue: support@default",
                                   b"CC-Member-UUID: m1", b"CC-Member-Session-UUID: s1",
                                   "CC-Agent-Called-Time: ²".encode(),
                                   b"Event-Date-Timestamp: " + b"9" * 30,
                                   b"CC-Member-Joined-Time: -99999999999999999999"))),
    Case("callcenter empty names",
         lambda s: raw_plain(s, [b"CC-Agent: ", b"CC-Action: agent-status-change",
                                 b"CC-Agent-Status: On%20Break", b"CC-Queue: "])),
    Case("callcenter bridge with nothing in it",
         lambda s: raw_plain(s, [b"CC-Action: bridge-agent-start", b"CC-Queue: ",
                                 b"CC-Agent-UUID: ", b"CC-Member-UUID: "])),
    Case("unknown callcenter action", lambda s: raw_plain(s, cc(b"\xff" * 40))),
    Case("json event not json", lambda s: outer("text/event-json", b'{"Event-Name": "CUS')),
    Case("json event not an object", lambda s: outer("text/event-json", b"[1, 2, 3]")),
    Case("json event with nested values",
         lambda s: outer("text/event-json", json.dumps({
             "Event-Name": "CUSTOM", "Event-Subclass": "callcenter::info",
             "CC-Agent": AGENT, "CC-Action": {"agent-status-change": 1},
             "CC-Agent-Status": ["On Break"], "Event-Sequence": "²"}).encode())),
    Case("xml event unclosed", lambda s: outer("text/event-xml", b"<event><headers><Event-Na")),
    Case("xml event with unicode Content-Length",
         lambda s: outer("text/event-xml", "<event><headers><Event-Name>BACKGROUND_JOB"
                         "</Event-Name></headers><Content-Length>²</Content-Length>"
                         "<body>+OK</body></event>".encode())),
    Case("outer NUL in Content-Type",
         lambda s: outer("text/event-plain\x00", b"Event-Name: CUSTOM\n\n")),
    Case("outer invalid UTF-8 header", lambda s: b"X-Junk: \xff\xfe\n" + status_event(s, "B")),
    Case("outer header without space",
         lambda s: b"Content-Type:text/event-plain\nContent-Length:0\n\n"),
    Case("outer 1 MB header value",
         lambda s: b"X-Junk: " + b"v" * 1_000_000 + b"\nContent-Type: log/data\n\n"),
    Case("outer unknown content type", lambda s: outer("text/not-an-event", b"hello")),
    Case("reply nobody asked for", lambda s: reply_frame("+OK surprise")),
]  # fmt: skip

OUTSIDE = [
    Case("outer Content-Length unicode digit",
         lambda s: "Content-Length: ²\nContent-Type: text/event-plain\n\n".encode(), True),
    Case("outer Content-Length fullwidth digits",
         lambda s: "Content-Length: １２\nContent-Type: text/event-plain\n\n".encode(), True),
    Case("outer Content-Length not a number",
         lambda s: b"Content-Length: banana\nContent-Type: text/event-plain\n\n", True),
    Case("outer Content-Length negative",
         lambda s: b"Content-Length: -1\nContent-Type: text/event-plain\n\n", True),
    Case("outer Content-Length absurd",
         lambda s: b"Content-Length: 99999999999\nContent-Type: text/event-plain\n\n", True),
    Case("outer header line without colon", lambda s: b"this is not a header\n\n", True),
    Case("outer header block without end",
         lambda s: b"X-Junk: " + b"w" * (MB + 100), True),
]  # fmt: skip


# -- the product against it ----------------------------------------------------------------


@pytest.fixture
def switch() -> Iterator[HostileSwitch]:
    fake = HostileSwitch()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def linked(switch: HostileSwitch) -> Iterator[tuple[EslClient, FloorService]]:
    settings = EslSettings(
        port=switch.port,
        connect_timeout=2.0,
        command_timeout=2.0,
        heartbeat_timeout=60.0,  # the fake switch sends no HEARTBEAT; no false alarms
        backoff_initial=0.05,
        backoff_max=0.3,
    )
    client, floor = link_floor(settings)
    floor.start()
    client.start()
    try:
        assert client.wait_connected(10)
        # The first resync has been applied: the agent the switch lists is on the floor.
        assert wait_until(lambda: status_of(floor) == "Logged Out")
        yield client, floor
    finally:
        client.stop()
        floor.stop()


def status_of(floor: FloorService) -> str | None:
    agent = floor.snapshot().agents.get(AGENT)
    return agent.status if agent is not None else None


@pytest.mark.parametrize("case", INSIDE, ids=[c.name for c in INSIDE])
def test_a_bad_frame_costs_that_frame_only(
    case: Case, switch: HostileSwitch, linked: tuple[EslClient, FloorService]
) -> None:
    client, floor = linked
    switch.send_events(case.frame(switch) + status_event(switch, "Available"))

    assert wait_until(lambda: status_of(floor) == "Available")
    # The same connection carried on: no reconnect, and health says so.
    assert client.health.connected and client.health.state == "connected"
    assert client.health.reconnects == 0
    # ... and it keeps carrying: a second event after the first is applied too.
    switch.send_events(status_event(switch, "On Break"))
    assert wait_until(lambda: status_of(floor) == "On Break")
    assert client.health.reconnects == 0


@pytest.mark.parametrize("case", OUTSIDE, ids=[c.name for c in OUTSIDE])
def test_lost_framing_reconnects_resyncs_and_health_tells_the_truth(
    case: Case,
    switch: HostileSwitch,
    linked: tuple[EslClient, FloorService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, floor = linked
    # While the link is down the switch is "down" too, so the outage can be observed;
    # meanwhile FreeSWITCH's view of the agent changed (the resync must bring it in).
    switch.accepting = False
    switch.agent_status = "On Break"
    with caplog.at_level(logging.ERROR, logger="esl_controller.esl"):
        switch.send_events(case.frame(switch) + status_event(switch, "Available"))
        assert wait_until(lambda: not client.health.connected)
    assert client.health.state == "reconnecting"
    assert any("corrupt ESL stream" in r.getMessage() for r in caplog.records)
    assert client.health.last_error
    # The event behind the garbage came on a stream that cannot be trusted: not applied.
    assert status_of(floor) == "Logged Out"

    switch.accepting = True
    assert wait_until(lambda: client.health.connected)
    assert client.health.state == "connected" and client.health.reconnects == 1
    assert wait_until(lambda: status_of(floor) == "On Break")  # resynced from the switch
    switch.send_events(status_event(switch, "Available"))
    assert wait_until(lambda: status_of(floor) == "Available")


def test_switch_dying_mid_frame_reconnects(
    switch: HostileSwitch, linked: tuple[EslClient, FloorService]
) -> None:
    """FreeSWITCH goes away halfway through writing an event: the cut frame is not applied,
    the loss is reported with the reason, and the client comes back and resyncs."""
    client, floor = linked
    switch.agent_status = "On Break"
    frame = status_event(switch, "Available")
    link = switch.event_links[-1]
    link.write(frame[: len(frame) // 2])
    link.sock.shutdown(socket.SHUT_RDWR)
    assert wait_until(lambda: client.health.reconnects == 1 and client.health.connected)
    assert "mid-frame" in (client.health.last_error or "")
    assert wait_until(lambda: status_of(floor) == "On Break")
    switch.send_events(status_event(switch, "Available"))
    assert wait_until(lambda: status_of(floor) == "Available")


def test_a_switch_with_another_password_is_503_with_the_reason_until_it_is_back(
    tmp_path: pathlib.Path,
) -> None:
    """FreeSWITCH is briefly replaced by one with another ESL password, then restored:
    /health is 503 and says why, API calls are 503 ``freeswitch_auth_failed``, and the
    product comes back by itself (no restart) once the password is accepted again."""
    web = build_web(f"sqlite:///{tmp_path / 'cc.db'}")
    try:
        # The production pace is 30 s; the behaviour is the same at a test's pace.
        web.client.settings = replace(web.client.settings, auth_retry_interval=0.3)
        http = web.app.test_client()
        assert http.get("/health").status_code == 200
        agent, token = web.login("alice")

        web.sim.password = "NotTheSame"  # noqa: S105 - the replacement's password
        web.sim.disconnect_all()
        assert wait_until(lambda: web.client.health.state == "auth_failed")
        reply = http.get("/health")
        assert reply.status_code == 503
        health = reply.get_json()["freeswitch"]
        assert health["state"] == "auth_failed" and not health["connected"]
        assert "ESL_PASSWORD" in health["reason"]
        refused = web.post(agent, token, "agent/ready")
        assert refused.status_code == 503
        assert refused.get_json()["error"]["code"] == "freeswitch_auth_failed"

        web.sim.password = "ClueCon"  # noqa: S105 - the real FreeSWITCH is back
        assert wait_until(lambda: http.get("/health").status_code == 200)
        assert http.get("/health").get_json()["freeswitch"]["reason"] is None
        assert web.post(agent, token, "agent/ready").status_code == 200
    finally:
        stop_web(web)


def test_a_dropped_event_is_logged_with_its_name_and_sequence(
    switch: HostileSwitch,
    linked: tuple[EslClient, FloorService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _client, floor = linked
    with caplog.at_level(logging.WARNING, logger="esl_controller.esl"):
        bad = raw_plain(switch, [*cc(b"agent-status-change"), "Content-Length: ²".encode()], b"x")
        sequence = switch.next_sequence() - 1
        switch.send_events(bad + status_event(switch, "Available"))
        assert wait_until(lambda: status_of(floor) == "Available")
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 1
    assert "callcenter::info" in dropped[0] and f"seq '{sequence}'" in dropped[0]
