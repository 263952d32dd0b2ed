"""What the Socket.IO benchmarks share: a server that admits clients into rooms by the
``auth`` they send (bench only: no session sign-in), on a loopback port of its own, and
the Node process of clients they talk to by a line of JSON each way."""

from __future__ import annotations

import json
import pathlib
import socket
import subprocess
from typing import Any

import gevent
from flask import Flask
from flask_socketio import SocketIO, join_room
from gevent.pywsgi import WSGIServer

from dashboard import events as ev


def admit_by_auth(socketio: SocketIO) -> None:
    """``{"agent": name}`` joins that agent's room, ``{"supervisor": true}`` the
    supervisors'; anything else is refused."""

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> bool:
        if isinstance(auth, dict) and isinstance(auth.get("agent"), str):
            join_room(ev.agent_room(auth["agent"]))
            return True
        if isinstance(auth, dict) and auth.get("supervisor") is True:
            join_room(ev.SUPERVISORS)
            return True
        return False


def loopback_server(app: Flask, backlog: int = 128) -> tuple[int, WSGIServer]:
    """An (unstarted) WSGI server for ``app`` on a free loopback port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    return int(listener.getsockname()[1]), WSGIServer(listener, app, log=None)


class NodeClients:
    """A Node process of Socket.IO clients: JSON commands on its stdin, one JSON answer a
    line on its stdout. Subclasses start it with their script's arguments and close it."""

    def __init__(self, argv: list[str], cwd: pathlib.Path) -> None:
        self.proc = subprocess.Popen(
            ["node", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd
        )

    def read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        with gevent.Timeout(timeout, TimeoutError("the Node clients did not answer")):
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the Node clients exited (rc={self.proc.poll()})")
        return dict(json.loads(line))

    def ask(self, command: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)
