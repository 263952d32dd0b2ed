"""A TCP proxy a test can cut: a database (or any server) that goes away and comes back,
without touching the machine's own server."""

from __future__ import annotations

import socket
from typing import Any

import gevent
import gevent.server
import gevent.socket


class CuttableProxy:
    """127.0.0.1:<port> -> ``upstream``. ``cut()`` stops listening (connections are
    refused, as when the server is down) and drops every open connection; ``restore()``
    listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.links: set[gevent.socket.socket] = set()
        self.server: gevent.server.StreamServer | None = None
        self.restore()

    def restore(self) -> None:
        self.server = gevent.server.StreamServer(("127.0.0.1", self.port), self._handle)
        self.server.start()

    def cut(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=0)  # closes the listening socket: connects are refused
            self.server = None
        for sock in list(self.links):
            sock.close()
        self.links.clear()

    def close(self) -> None:
        self.cut()

    def _handle(self, client: gevent.socket.socket, _addr: Any) -> None:
        try:
            upstream = gevent.socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self.links |= {client, upstream}

        def pipe(src: gevent.socket.socket, dst: gevent.socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    sock.close()
                    self.links.discard(sock)

        gevent.joinall([gevent.spawn(pipe, client, upstream), gevent.spawn(pipe, upstream, client)])
