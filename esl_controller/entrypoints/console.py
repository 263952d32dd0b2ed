"""``callcenter console``: a terminal ESL console in the spirit of fs_cli.

Commands go through the same allowlist as the browser console
(:mod:`esl_controller.esl.console_policy`); ``/exit`` or Ctrl-D leaves.

Without ``ESL_PORT``, a console started next to ``callcenter serve --simulate`` (whose
simulator listens on a random port it writes to ``instance/simulator.port``) connects to
that simulator, and there the simulator's own ``sim_`` commands are allowed as well, e.g.
``callcenter console -x "sim_restart 3"`` restarts the simulated FreeSWITCH.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys

from esl_controller.config import load_settings
from esl_controller.errors import CallCenterError
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.console_policy import console_command

SIMULATOR_PORT_FILE = pathlib.Path("instance") / "simulator.port"
# The simulator's fault and traffic controls (esl_controller/simulator): FreeSWITCH has
# no such commands, so they are offered only against the simulator.
SIMULATOR_COMMANDS = ("sim_restart", "sim_drop_esl", "sim_phone", "sim_phones", "sim_caller",
                      "sim_traffic", "sim_agents")  # fmt: skip


def simulator_port() -> int | None:
    """The port ``serve --simulate`` published, when ESL_PORT does not say otherwise."""
    if os.environ.get("ESL_PORT") or not SIMULATOR_PORT_FILE.is_file():
        return None
    text = SIMULATOR_PORT_FILE.read_text().strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 65536 else None


def checked(line: str, *, simulator: bool) -> str:
    if simulator and line.strip().partition(" ")[0] in SIMULATOR_COMMANDS:
        # The same one-line, no-expansion rules; only the command word differs.
        console_command("status " + line.strip().partition(" ")[2])
        return line.strip()
    return console_command(line)


def run_one(conn: EslConnection, line: str, *, simulator: bool = False) -> int:
    try:
        command = checked(line, simulator=simulator)
        reply = conn.send(f"api {command}")
    except CallCenterError as exc:
        print(f"-ERR {exc.message}", file=sys.stderr)
        return 1
    text = reply.text
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def run_console(args: argparse.Namespace) -> int:
    settings = load_settings().esl
    port = simulator_port()
    if port is not None:
        settings = dataclasses.replace(settings, host="127.0.0.1", port=port)
    conn = EslConnection(
        settings.host,
        settings.port,
        settings.password,
        connect_timeout=settings.connect_timeout,
        command_timeout=settings.command_timeout,
        name="console",
    )
    try:
        conn.connect()
    except CallCenterError as exc:
        print(f"cannot connect: {exc.message}", file=sys.stderr)
        if port is not None:
            print(f"(port {port} from {SIMULATOR_PORT_FILE}: is `callcenter serve --simulate` "
                  "running? set ESL_PORT to choose another)", file=sys.stderr)  # fmt: skip
        return 1
    simulator = port is not None
    try:
        if args.execute is not None:
            return run_one(conn, args.execute, simulator=simulator)
        where = " (the simulator of `serve --simulate`)" if simulator else ""
        print(f"connected to {settings.host}:{settings.port}{where}; /exit to leave")
        while True:
            try:
                line = input("freeswitch> ")
            except EOFError:
                break
            if line.strip() in ("/exit", "/quit", "/bye", "..."):
                break
            if line.strip():
                run_one(conn, line, simulator=simulator)
        return 0
    finally:
        conn.stop()
