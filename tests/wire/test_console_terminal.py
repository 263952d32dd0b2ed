"""``callcenter console`` in a real terminal (a pty driven by pexpect) against the
simulator in its own process: commands, Tab completion from ``console_complete``, the
log and event tails, refusals, colours, history across two runs, ``-x`` exit status and
the audit log."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.browser.server import STANDALONE_LINE, Process, callcenter_command, free_port
from tests.helpers.fixture_replay import CONF

PROMPT = "freeswitch> "
FSAPI = 'json {"command":"fsapi","data":{"cmd":"system","arg":"id"}}'


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    sim = Process([*callcenter_command(), "simulate", "--port", str(port), "--conf", str(CONF),
                   "--password", "s3cret"], tmp_path, dict(os.environ))  # fmt: skip
    sim.start()
    try:
        sim.wait_for_line(STANDALONE_LINE)
        yield port
    finally:
        sim.stop()


@pytest.fixture
def env(tmp_path: Path, switch: int) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("ESL_", "NO_COLOR"))}
    values.update(
        ESL_HOST="127.0.0.1", ESL_PORT=str(switch), ESL_PASSWORD="s3cret", HOME=str(tmp_path),
        DB_URI=f"sqlite:///{tmp_path / 'cc.db'}", CALLCENTER_USER="eve", TERM="xterm",
    )  # fmt: skip
    done = subprocess.run([*callcenter_command(), "db", "upgrade"], env=values, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return values


def console(env: dict[str, str], cwd: Path, *args: str) -> pexpect.spawn:
    command = callcenter_command()
    child = pexpect.spawn(command[0], [*command[1:], "console", *args], env=env, cwd=str(cwd),
                          encoding="utf-8", timeout=20, dimensions=(40, 200))  # fmt: skip
    child.logfile_read = sys.stdout
    return child


def test_a_session_in_the_terminal(env: dict[str, str], tmp_path: Path) -> None:
    child = console(env, tmp_path)
    child.expect_exact("as eve; /help")
    child.expect_exact(PROMPT)
    child.sendline("status")
    child.expect("UP \\d+ years")
    child.expect_exact(PROMPT)

    # Tab: FreeSWITCH's console_complete has one match, the word is completed with a space.
    child.send("callcenter_config ag\t")
    child.expect_exact("callcenter_config agent ")
    child.sendline("list")
    child.expect_exact("name|instance_id|uuid|type|contact|status|state")
    child.expect_exact(PROMPT)

    # Events: subscribe, cause an agent change, see it.
    child.sendline("/event CUSTOM callcenter::info")
    child.expect_exact("+OK event listener enabled plain")
    child.expect_exact(PROMPT)
    child.sendline("callcenter_config agent set status agent1000 'On Break'")
    child.expect_exact("CC-Action: agent-status-change")
    child.expect_exact("CC-Agent-Status: On Break")
    child.sendline("/noevents")
    child.expect_exact("+OK no longer listening for events")

    # The log at debug: reloadxml logs at INFO.
    child.sendline("/log debug")
    child.expect_exact("+OK log level debug [7]")
    child.sendline("reloadxml")
    child.expect_exact("Timezone reloaded")
    child.sendline("/nolog")
    child.expect_exact("+OK no longer logging")

    # Refused, in red, with the reason; nothing sent.
    child.sendline(FSAPI)
    child.expect_exact("\x1b[31m-ERR refused: json 'fsapi'")
    child.expect_exact(PROMPT)
    child.sendline("SYSTEM id")
    child.expect_exact("system is not allowed from the console")
    child.sendline("version")
    child.expect_exact("FreeSWITCH Version 1.10.12")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    # A second run has the first one's history: up twice (past /exit) gives "version".
    again = console(env, tmp_path)
    again.expect_exact(PROMPT)
    again.send("\x1b[A\x1b[A")
    again.expect_exact("version")
    again.send("\r")
    again.expect_exact("FreeSWITCH Version 1.10.12")
    again.expect_exact(PROMPT)
    again.sendeof()
    again.expect(pexpect.EOF)
    assert (tmp_path / ".callcenter_history").read_text().count("callcenter_config agent list")

    # Every line is in the audit log, with the user and the outcome, refusals included.
    with sqlite3.connect(tmp_path / "cc.db") as db:
        rows = db.execute("select actor, details, outcome from audit_log order by id").fetchall()
    lines = [(actor, re.search(r'"command": ?"((?:[^"\\]|\\.)*)"', details).group(1), outcome)
             for actor, details, outcome in rows]  # type: ignore[union-attr]  # fmt: skip
    assert {actor for actor, _, _ in lines} == {"eve"}
    commands = [command for _, command, _ in lines]
    assert commands[:2] == ["status", "callcenter_config agent list"]
    assert "/event CUSTOM callcenter::info" in commands and "/log debug" in commands
    outcomes = dict((command, outcome) for _, command, outcome in lines)
    assert outcomes["SYSTEM id"] == "refused"
    assert outcomes["callcenter_config agent set status agent1000 'On Break'"] == "ok"
    assert commands.count("version") == 2


def test_execute_one_command_exit_status(env: dict[str, str], tmp_path: Path) -> None:
    def run(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*callcenter_command(), "console", "-x", line], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip

    ok = run("callcenter_config queue count")
    assert (ok.returncode, ok.stdout) == (0, "2\n")
    missing = run("uuid_kill 6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a")
    assert missing.returncode == 1 and missing.stdout.startswith("-ERR No such channel")
    refused = run(FSAPI)
    assert refused.returncode == 1 and "refused" in refused.stderr
    assert "\x1b[" not in refused.stderr  # no colours when not a terminal


def test_the_refusal_corpus_through_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """Every hostile line, through the terminal's own path (policy, service, ESL link to a
    simulator): exit status 1, the reason on stderr, and the switch saw none of them."""
    import socket

    from esl_controller.entrypoints.console import Screen, run_line
    from esl_controller.esl.commands.base import ApiCommand
    from esl_controller.esl.connection import EslConnection
    from esl_controller.esl.console_policy import ConsolePolicy
    from esl_controller.services.console import ConsoleService
    from esl_controller.simulator.wire.simulator import Simulator
    from tests.unit.test_console_policy import HOSTILE

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim = Simulator(port=port, conf_dir=CONF)
    sim.start()
    conn = EslConnection("127.0.0.1", port, "ClueCon", name="console")
    conn.connect()
    sent: list[str] = []

    def api(command: ApiCommand) -> str:
        sent.append(command.line)
        return conn.send(f"api {command.line}").text

    try:
        service = ConsoleService(api, policy=ConsolePolicy(simulator=True))
        screen = Screen(colour=False)
        for line in HOSTILE:
            if not line.strip(" ") or line.startswith("sim_"):
                continue  # empty lines are ignored; sim_ is allowed against the simulator
            assert run_line(service, screen, conn, "eve", line) == 1, line
        err = capsys.readouterr().err
        assert err.count("-ERR") >= len(HOSTILE) - 5
        assert sent == []
        assert run_line(service, screen, conn, "eve", "status") == 0
        assert sent == ["status"]
    finally:
        conn.stop()
        sim.stop()


def test_signing_in_as_an_engineer(env: dict[str, str], tmp_path: Path) -> None:
    def cli(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"CALLCENTER_PASSWORD": password} if password else {}
        return subprocess.run([*callcenter_command(), *args], env={**env, **extra},
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip

    assert (
        cli("user", "add", "erin", "--role", "engineer", "--password", "erin-pass-1").returncode
        == 0
    )
    assert (
        cli("user", "add", "sam", "--role", "supervisor", "--password", "sam-pass-12").returncode
        == 0
    )
    ok = cli("console", "--user", "erin", "-x", "version", password="erin-pass-1")
    assert ok.returncode == 0, ok.stderr
    wrong = cli("console", "--user", "erin", "-x", "version", password="nope-nope")
    assert wrong.returncode == 1 and "wrong user name or password" in wrong.stderr
    supervisor = cli("console", "--user", "sam", "-x", "version", password="sam-pass-12")
    assert supervisor.returncode == 1 and "not an engineer" in supervisor.stderr
    with sqlite3.connect(tmp_path / "cc.db") as db:
        actors = [row[0] for row in db.execute("select actor from audit_log")]
    assert actors == ["erin"]
