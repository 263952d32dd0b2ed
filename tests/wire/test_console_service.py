"""The console service over real TCP against the simulator: what ``console_complete``
answers byte for byte (FreeSWITCH 1.10.12's switch_console_complete format), that
``json`` fsapi is what a real switch runs (and the console refuses), and the console's
own connection for ``/log`` and ``/event``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from esl_controller.errors import InvalidArgument
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.events import Event
from esl_controller.services.console import ConsoleService, ConsoleStream, LogLine
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF
from tests.wire.conftest import wait_until


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    simulator = Simulator(port=port, conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def conn(sim: Simulator) -> Iterator[EslConnection]:
    connection = EslConnection("127.0.0.1", sim.port, "ClueCon", name="test")
    connection.connect()
    yield connection
    connection.stop()


def test_console_complete_bytes(conn: EslConnection) -> None:
    # As switch_console_complete writes to an API stream: "\n\n", "[%20s]\t" per match,
    # a newline after every fourth, "\n\n", then write=<len>:<text> (a space after a
    # single, complete match). The first answers below are what a real 1.10.12 sent.
    one = conn.send("api console_complete callcenter_config ag").body
    assert one == b"\n\n[               agent]\t\n\nwrite=2:agent "
    several = conn.send("api console_complete c=24;callcenter_config agent ").body
    columns = [f"[{word:>20}]\t".encode() for word in ("add", "del", "get", "list", "set")]
    assert several == b"\n\n" + b"".join(columns[:4]) + b"\n" + columns[4] + b"\n\n"
    common = conn.send("api console_complete c=25;callcenter_config queue l").body
    assert common == b"\n\n[                list]\t[                load]\t\n\nwrite=1:l"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Sent to a FreeSWITCH 1.10.12 built from source in the session, byte for byte.
        ("callcenter_config ag", b"\n\n[               agent]\t\n\nwrite=2:agent "),
        ("c=0;callcenter_config ag", b"\n\n[               agent]\t\n\nwrite=2:agent "),
        ("c=99;callcenter_config ag", b"\n\n[               agent]\t\n\nwrite=2:agent "),
        ("c=18;callcenter_config",
         b"\n\n[   callcenter_config]\t\n\nwrite=17:callcenter_config "),
        ("callcenter_config ",
         b"\n\n[               agent]\t[               queue]\t[                tier]\t\n\n"),
        ("sho", b"\n\n[                show]\t\n\nwrite=3:show "),
    ],
)  # fmt: skip
def test_console_complete_as_a_real_switch_answers(
    conn: EslConnection, line: str, expected: bytes
) -> None:
    """The cursor only ever shortens the line, and a trailing space (kept on the wire)
    asks for the next word."""
    assert conn.send(f"api console_complete {line}").body == expected


def test_json_fsapi_runs_any_command_on_the_switch(conn: EslConnection) -> None:
    reply = conn.send('api json {"command":"fsapi","data":{"cmd":"version"}}').text
    assert '"status":"success"' in reply and "FreeSWITCH Version 1.10.12" in reply


def test_service_runs_completes_and_audits(conn: EslConnection) -> None:
    audited: list[tuple[Any, ...]] = []

    def api(command: ApiCommand) -> str:
        return conn.send(f"api {command.line}").text

    service = ConsoleService(api, audit=lambda *a: audited.append(a))
    assert service.run("eve", "callcenter_config queue count").output == "2\n"
    with pytest.raises(InvalidArgument, match="fsapi"):
        service.run("eve", 'json {"command":"fsapi","data":{"cmd":"system","arg":"id"}}')
    found = service.complete("callcenter_config queue l")
    assert (found.matches, found.replace, found.insert) == (["list", "load"], 1, "l")
    assert [(a[0], a[3]["command"], a[4][:8]) for a in audited] == [
        ("eve", "callcenter_config queue count", "ok"),
        ("eve", 'json {"command":"fsapi","data":{"cmd":"system","arg":"id"}}', "refused"),
    ]


def test_stream_tails_log_and_events(sim: Simulator) -> None:
    logs: list[LogLine] = []
    events: list[Event] = []
    stream = ConsoleStream("127.0.0.1", sim.port, "ClueCon", on_log=logs.append,
                           on_event=events.append)  # fmt: skip
    try:
        assert stream.log("DEBUG").startswith("+OK log level debug")
        sim.execute_api("reloadxml")
        assert wait_until(lambda: any("Timezone reloaded" in line.text for line in logs))
        assert stream.subscribe(["custom", "callcenter::info"]).startswith("+OK")
        sim.execute_api("callcenter_config agent set status agent1000 Available")
        assert wait_until(lambda: any(e.get("CC-Action") == "agent-status-change" for e in events))
        assert stream.noevents().startswith("+OK")
        with pytest.raises(InvalidArgument):
            stream.subscribe(["CHANNEL_CREATE\nAPI"])
        with pytest.raises(InvalidArgument):
            stream.log("verbose")
    finally:
        stream.close()
