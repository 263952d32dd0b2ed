"""``callcenter console``: a terminal ESL console in the spirit of fs_cli.

Commands go through the same allowlist as the browser console
(:mod:`esl_controller.esl.console_policy`); ``/exit`` or Ctrl-D leaves.
"""

from __future__ import annotations

import argparse
import sys

from esl_controller.config import load_settings
from esl_controller.errors import CallCenterError
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.console_policy import console_command


def run_one(conn: EslConnection, line: str) -> int:
    try:
        command = console_command(line)
        reply = conn.send(f"api {command}")
    except CallCenterError as exc:
        print(f"-ERR {exc.message}", file=sys.stderr)
        return 1
    text = reply.text
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def run_console(args: argparse.Namespace) -> int:
    settings = load_settings().esl
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
        return 1
    try:
        if args.execute is not None:
            return run_one(conn, args.execute)
        print(f"connected to {settings.host}:{settings.port}; /exit to leave")
        while True:
            try:
                line = input("freeswitch> ")
            except EOFError:
                break
            if line.strip() in ("/exit", "/quit", "/bye", "..."):
                break
            if line.strip():
                run_one(conn, line)
        return 0
    finally:
        conn.stop()
