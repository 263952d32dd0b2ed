"""What the Socket.IO benchmarks share: a server that admits clients into rooms by the
``auth`` they send (bench only: no session sign-in), on a loopback port of its own."""

from __future__ import annotations

import socket
from typing import Any

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
