"""The controller's ESL link against the simulator over real TCP: connect errors, command
timeouts, bgapi, disconnect detection, reconnect with resubscribe and the resync hook."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import gevent
import gevent.event
import pytest

from esl_controller.errors import (
    EslAuthFailed,
    EslConnectionLost,
    EslRejected,
    EslTimeout,
    EslUnavailable,
    EslUnreachable,
)
from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.events import Event
from esl_controller.simulator.sim_event import SimEvent
from esl_controller.simulator.wire.simulator import Simulator


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        gevent.sleep(0.01)
    return predicate()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(host="127.0.0.1", port=0, password="ClueCon", heartbeat_interval=0.2)
    simulator.start()
    yield simulator
    simulator.stop()


def settings_for(port: int, **overrides: object) -> EslSettings:
    base = {
        "port": port,
        "command_timeout": 1.0,
        "connect_timeout": 1.0,
        "heartbeat_timeout": 1.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.5,
    }
    base.update(overrides)
    return EslSettings(**base)  # type: ignore[arg-type]


# -- one connection -------------------------------------------------------------------


def test_connection_runs_api_commands(sim: Simulator) -> None:
    conn = EslConnection("127.0.0.1", sim.port, "ClueCon")
    conn.connect()
    try:
        reply = conn.send("api version")
        assert reply.content_type == "api/response"
        assert reply.text.startswith("FreeSWITCH Version 1.10")
    finally:
        conn.stop()


def test_wrong_password_is_a_typed_error_with_a_clear_message(sim: Simulator) -> None:
    conn = EslConnection("127.0.0.1", sim.port, "WrongPassword")
    with pytest.raises(EslAuthFailed) as err:
        conn.connect()
    assert "ESL_PASSWORD" in err.value.message
    assert err.value.code == "freeswitch_auth_failed"


def test_nothing_listening_is_unreachable() -> None:
    conn = EslConnection("127.0.0.1", free_port(), "ClueCon", connect_timeout=1.0)
    with pytest.raises(EslUnreachable):
        conn.connect()


def test_acl_rejection_is_a_typed_error() -> None:
    simulator = Simulator(host="127.0.0.1", port=0, password="ClueCon", acl=["192.0.2.1"])
    simulator.start()
    try:
        conn = EslConnection("127.0.0.1", simulator.port, "ClueCon", connect_timeout=1.0)
        with pytest.raises(EslRejected):
            conn.connect()
    finally:
        simulator.stop()


def test_a_hung_freeswitch_gives_a_timeout_not_a_hang(sim: Simulator) -> None:
    conn = EslConnection("127.0.0.1", sim.port, "ClueCon", command_timeout=0.5)
    conn.connect()
    try:
        sim.pause()
        started = time.monotonic()
        with pytest.raises(EslTimeout):
            conn.send("api status")
        # The limit is the command's own: well under a second, not forever.
        assert time.monotonic() - started < 5
    finally:
        sim.resume()
        conn.stop()


def test_freeswitch_dying_mid_command_fails_the_command(sim: Simulator) -> None:
    conn = EslConnection("127.0.0.1", sim.port, "ClueCon", command_timeout=5.0)
    conn.connect()
    sim.pause()
    pending = gevent.spawn(conn.send, "api status")
    gevent.sleep(0.1)
    sim.stop()
    pending.join(timeout=5)
    assert isinstance(pending.exception, EslConnectionLost)
    assert conn.lost.is_set()


def test_command_lines_cannot_smuggle_a_second_command(sim: Simulator) -> None:
    conn = EslConnection("127.0.0.1", sim.port, "ClueCon")
    conn.connect()
    try:
        with pytest.raises(Exception) as err:
            conn.send("api status\n\napi version")
        assert "line break" in str(err.value)
        assert conn.send("api version").text.startswith("FreeSWITCH")
    finally:
        conn.stop()


# -- the supervised client ------------------------------------------------------------


def test_client_connects_both_links_and_runs_api_and_bgapi(sim: Simulator) -> None:
    client = EslClient(settings_for(sim.port))
    client.start()
    try:
        assert client.wait_connected(5)
        assert client.health.connected and client.health.state == "connected"
        assert client.api(ch.version()).startswith("FreeSWITCH Version")
        assert client.bgapi(ch.status()).startswith("UP ")
    finally:
        client.stop()
    assert client.health.state == "stopped"


def test_refused_password_is_retried_slowly_and_recovers(sim: Simulator) -> None:
    """FreeSWITCH briefly answers with another password, then the right one again: the
    client says auth_failed meanwhile, retries at its slow pace, and comes back alone."""
    sim.password = "SomethingElse"  # noqa: S105 - the switch's password changed
    client = EslClient(settings_for(sim.port, auth_retry_interval=0.4))
    client.start()
    try:
        assert wait_until(lambda: client.health.state == "auth_failed")
        assert "ESL_PASSWORD" in (client.health.last_error or "")
        with pytest.raises(EslAuthFailed):
            client.api(ch.status())

        # Retried, but slowly: two roles, about one attempt each per 0.4 s, instead of a
        # reconnect loop at backoff speed (which would make dozens of attempts).
        before = sim.connections_accepted
        assert wait_until(lambda: sim.connections_accepted > before)
        gevent.sleep(1.0)
        assert sim.connections_accepted - before <= 2 * 5
        assert client.health.state == "auth_failed"

        sim.password = "ClueCon"  # noqa: S105 - restored
        assert wait_until(lambda: client.health.connected, timeout=5)
        assert client.health.state == "connected"
        assert client.api(ch.version()).startswith("FreeSWITCH")
    finally:
        client.stop()


def test_handler_that_raises_costs_one_event_not_the_link(sim: Simulator) -> None:
    applied: list[str] = []

    def handler(event: Event) -> None:
        if event.get("CC-Agent") == "boom@default":
            raise RuntimeError("reducer bug")
        if event.get("CC-Agent"):
            applied.append(event.get("CC-Agent") or "")

    client = EslClient(settings_for(sim.port, heartbeat_timeout=5.0), on_event=handler)
    client.start()
    try:
        assert client.wait_connected(5)
        for agent in ("boom@default", "1000@default"):
            sim.fire(
                SimEvent(
                    "CUSTOM",
                    [("CC-Agent", agent), ("CC-Action", "agent-status-change"),
                     ("CC-Agent-Status", "Available")],
                    subclass="callcenter::info",
                )
            )  # fmt: skip
        assert wait_until(lambda: applied == ["1000@default"])
        assert client.health.connected and client.health.reconnects == 0
    finally:
        client.stop()


def test_a_stalled_handler_resets_the_link_and_health_says_why(sim: Simulator) -> None:
    """A handler stuck on one event while others wait: the link is reset (reconnect and
    resync), /health's reason names the stall, and events flow again afterwards."""
    release = gevent.event.Event()
    seen: list[str] = []
    resyncs: list[float] = []

    def handler(event: Event) -> None:
        agent = event.get("CC-Agent") or ""
        if agent == "stuck@default" and not release.is_set():
            release.wait()  # stands for a handler blocked on something that never returns
        if agent:
            seen.append(agent)

    client = EslClient(
        settings_for(sim.port, heartbeat_timeout=5.0, handler_stall_timeout=0.5),
        on_event=handler,
        on_connected=lambda: resyncs.append(1.0),
    )
    client.start()

    def fire(agent: str) -> None:
        sim.fire(
            SimEvent(
                "CUSTOM",
                [("CC-Agent", agent), ("CC-Action", "agent-status-change"),
                 ("CC-Agent-Status", "Available")],
                subclass="callcenter::info",
            )
        )  # fmt: skip

    try:
        assert client.wait_connected(5)
        assert wait_until(lambda: len(resyncs) == 1)
        fire("stuck@default")
        fire("waiting@default")
        assert wait_until(lambda: client.health.reconnects == 1, timeout=5)
        assert "event handler stalled" in (client.health.last_error or "")
        assert wait_until(lambda: client.health.connected)
        assert wait_until(lambda: len(resyncs) == 2)
        release.set()  # the old, killed handler must not apply its stale events now
        fire("after@default")
        assert wait_until(lambda: "after@default" in seen)
        assert "stuck@default" not in seen and "waiting@default" not in seen
    finally:
        release.set()
        client.stop()


def test_api_while_disconnected_is_unavailable_at_once() -> None:
    client = EslClient(settings_for(free_port()))
    client.start()
    try:
        with pytest.raises(EslUnavailable):
            client.api(ch.status())
        assert client.health.state == "connecting"
        assert wait_until(lambda: client.health.last_error is not None)
        assert "cannot reach" in (client.health.last_error or "")
    finally:
        client.stop()


def test_restart_reconnects_resubscribes_and_resyncs() -> None:
    port = free_port()
    received: list[Event] = []
    resyncs: list[float] = []
    sim = Simulator(host="127.0.0.1", port=port, password="ClueCon", heartbeat_interval=0.2)
    sim.start()
    client = EslClient(
        settings_for(port),
        on_event=received.append,
        on_connected=lambda: resyncs.append(time.monotonic()),
    )
    client.start()
    try:
        assert client.wait_connected(5)
        assert wait_until(lambda: len(resyncs) == 1)

        # FreeSWITCH goes away in the middle of traffic...
        sim.stop()
        assert wait_until(lambda: not client.health.connected)
        with pytest.raises(EslUnavailable):
            client.api(ch.status())
        gevent.sleep(0.3)

        # ... and comes back on the same port.
        sim = Simulator(host="127.0.0.1", port=port, password="ClueCon", heartbeat_interval=0.2)
        sim.start()
        back = time.monotonic()
        assert wait_until(lambda: client.health.connected, timeout=5)
        assert time.monotonic() - back < 2.0  # the product's bar: reconnect within 2 s
        assert wait_until(lambda: len(resyncs) == 2)
        assert client.health.reconnects == 1

        # Re-subscribed: an event fired now reaches the owner.
        sim.fire(
            SimEvent(
                "CUSTOM",
                [
                    ("CC-Agent", "1000@default"),
                    ("CC-Action", "agent-status-change"),
                    ("CC-Agent-Status", "Available"),
                ],
                subclass="callcenter::info",
            )
        )
        assert wait_until(lambda: any(e.get("CC-Agent") == "1000@default" for e in received))
        assert client.api(ch.version()).startswith("FreeSWITCH")
    finally:
        client.stop()
        sim.stop()


def test_missed_heartbeats_end_a_silent_connection(sim: Simulator) -> None:
    client = EslClient(settings_for(sim.port, heartbeat_timeout=0.6))
    client.start()
    try:
        assert client.wait_connected(5)
        sim.pause()  # FreeSWITCH hangs: socket open, nothing sent
        assert wait_until(lambda: not client.health.connected, timeout=5)
        assert "HEARTBEAT" in (client.health.last_error or "")
        sim.resume()
        assert wait_until(lambda: client.health.connected, timeout=5)
    finally:
        client.stop()


def test_disconnect_notice_ends_the_connection_and_the_client_comes_back(sim: Simulator) -> None:
    resyncs: list[float] = []
    client = EslClient(settings_for(sim.port), on_connected=lambda: resyncs.append(1.0))
    client.start()
    try:
        assert client.wait_connected(5)
        assert wait_until(lambda: len(resyncs) == 1)
        sim.disconnect_all()
        assert wait_until(lambda: client.health.reconnects == 1, timeout=5)
        assert wait_until(lambda: client.health.connected)
        assert wait_until(lambda: len(resyncs) == 2)
        assert client.api(ch.version()).startswith("FreeSWITCH")
    finally:
        client.stop()


def test_a_corrupt_stream_drops_the_connection_instead_of_hanging() -> None:
    """A peer that sends garbage (not FreeSWITCH, or a broken proxy) is cut off."""
    import gevent.server

    def garbage(sock, _addr):  # type: ignore[no-untyped-def]
        sock.sendall(b"Content-Type: auth/request\n\n")
        sock.recv(100)
        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
        sock.recv(100)
        sock.sendall(b"Content-Length: banana\n\n")
        gevent.sleep(2)

    server = gevent.server.StreamServer(("127.0.0.1", 0), garbage)
    server.start()
    try:
        conn = EslConnection("127.0.0.1", server.server_port, "ClueCon", command_timeout=5)
        conn.connect()
        with pytest.raises(EslConnectionLost):
            conn.send("api status")
        assert "corrupt ESL stream" in (conn.lost_reason or "")
    finally:
        server.stop()


@pytest.mark.parametrize("which", ["reader", "handler"])
def test_a_killed_reader_or_handler_ends_the_connection(sim: Simulator, which: str) -> None:
    """Neither greenlet can end while the connection looks alive: it is ended with it."""
    conn = EslConnection("127.0.0.1", sim.port, "ClueCon")
    conn.connect()
    try:
        greenlet = (
            conn._receive_events_greenlet if which == "reader" else conn._process_events_greenlet
        )
        greenlet.kill()
        assert conn.lost.wait(timeout=5)
        assert not conn.connected
        assert "stopped" in (conn.lost_reason or "")
        with pytest.raises(EslConnectionLost):
            conn.send("api status")
    finally:
        conn.stop()


def test_only_typed_commands_reach_freeswitch(sim) -> None:  # type: ignore[no-untyped-def]
    """The one command boundary: text (or anything not built by esl_controller.esl.commands)
    is refused before a byte is written, whatever it says."""
    client = EslClient(EslSettings(port=sim.port))
    client.start()
    try:
        assert client.wait_connected(5)
        for text in ("status", "system reboot", "status\n\napi system reboot"):
            with pytest.raises(TypeError):
                client.api(text)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                client.bgapi(text)  # type: ignore[arg-type]
        assert client.api(ch.status()).startswith("UP ")
    finally:
        client.stop()
