"""A tiny ESL client for browser tests: send ``api`` commands to the simulator (or any
FreeSWITCH) and read the reply by Content-Length. No events, no reconnects."""

from __future__ import annotations

import socket


class EslError(RuntimeError):
    pass


class EslApi:
    def __init__(self, port: int, password: str = "ClueCon", host: str = "127.0.0.1") -> None:
        self.address = (host, port)
        self.password = password

    def _read(self, stream) -> tuple[dict[str, str], str]:  # type: ignore[no-untyped-def]
        headers: dict[str, str] = {}
        while True:
            line = stream.readline()
            if not line:
                raise EslError("ESL connection closed")
            text = line.decode().rstrip("\r\n")
            if not text:
                if headers:
                    break
                continue
            name, _, value = text.partition(":")
            headers[name.strip()] = value.strip()
        length = int(headers.get("Content-Length", "0"))
        body = stream.read(length).decode() if length else ""
        return headers, body

    def api(self, command: str, timeout: float = 10.0) -> str:
        """Run one ``api`` command on a fresh connection; returns the reply body."""
        with socket.create_connection(self.address, timeout=timeout) as sock:
            stream = sock.makefile("rb")
            headers, _ = self._read(stream)
            if headers.get("Content-Type") != "auth/request":
                raise EslError(f"expected auth/request, got {headers}")
            sock.sendall(f"auth {self.password}\n\n".encode())
            headers, _ = self._read(stream)
            if not headers.get("Reply-Text", "").startswith("+OK"):
                raise EslError(f"ESL auth failed: {headers.get('Reply-Text')}")
            sock.sendall(f"api {command}\n\n".encode())
            headers, body = self._read(stream)
            if headers.get("Content-Type") != "api/response":
                raise EslError(f"expected api/response, got {headers}")
            return body

    def ok(self, command: str) -> str:
        """Run a command that must answer +OK."""
        reply = self.api(command)
        if not reply.startswith("+OK"):
            raise EslError(f"{command!r} answered {reply.strip()!r}")
        return reply
