"""The reference deployment (deploy/run) on loopback: nginx with sticky sessions in front
of two web workers, two controllers, Redis, SQLite and the simulator, started by the one
command a person would run, and stopped by Ctrl-C.

Through nginx: a Ready click on a page served by one worker reaches the controller and a
supervisor's Socket.IO connection served by the other worker sees it; a web worker killed
(``kill -9``): the page's client reconnects through nginx to the other worker and gets a
snapshot; the active controller killed: the standby takes over and clicks work again;
Ctrl-C stops every process. Skipped when nginx is missing, except under CI=true.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import socketio

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUN = ROOT / "deploy" / "run"
PASSWORDS = {"alice": "alice-demo", "sue": "sue-demo-1"}  # deploy/run's demo users


def nginx_or_skip() -> None:
    if shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("nginx is missing (`make nginx`; required when CI=true)")
    pytest.skip("nginx is missing (`make nginx` installs Debian's package)")


def wait(predicate: Callable[[], Any], timeout: float, what: str, log: pathlib.Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                      for p in sorted(log.glob("*.log")))  # fmt: skip
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


class Page:
    """A browser behind nginx: its own route cookie, so its own worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.worker = self.http.get(f"{url}/health", timeout=10).headers["X-Callcenter-Worker"]
        self.events: list[tuple[float, str, Any]] = []
        self.connects = 0
        self.socket: socketio.Client | None = None
        self.token = ""

    def sign_in(self, name: str) -> dict[str, Any]:
        body = {"username": name, "password": PASSWORDS[name]}
        reply = self.http.post(f"{self.url}/call-center/api/agent/login", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.headers["X-Callcenter-Worker"] == self.worker  # sticky
        self.token = reply.json()["csrf_token"]
        return dict(reply.json())

    def click(self, path: str, body: Any = None) -> requests.Response:
        return self.http.post(f"{self.url}/call-center/api/{path}", json=body, timeout=30,
                              headers={"X-CSRF-Token": self.token})  # fmt: skip

    def listen(self) -> None:
        # The page's own cookie jar on every request, as a browser sends its cookies (a
        # Cookie header given to connect() goes on the handshake only, and nginx would
        # route the next requests by no route at all).
        client = socketio.Client(reconnection_delay=0.2, reconnection_delay_max=1,
                                 http_session=self.http)  # fmt: skip

        @client.on("*")
        def any_event(event: str, data: Any = None) -> None:
            self.events.append((time.monotonic(), event, data))

        @client.on("connect")
        def connected() -> None:
            self.connects += 1

        # Long-polling (this client has no WebSocket package; websocket_upgrade() checks
        # nginx passes the upgrade through).
        client.connect(self.url, transports=["polling"],
                       wait_timeout=10)  # fmt: skip
        self.socket = client

    def seen(self, event: str, since: float = 0.0) -> list[Any]:
        return [data for at, name, data in list(self.events) if name == event and at >= since]


def status_in_batches(page: Page, agent: str, since: float) -> list[str]:
    return [a["status"] for batch in page.seen("floor_batch", since)
            for a in batch["agents"] if a["name"] == agent]  # fmt: skip


def websocket_upgrade(url: str, page: Page) -> str:
    """The status line of a browser's WebSocket handshake to Socket.IO through nginx."""
    host, port = url.removeprefix("http://").split(":")
    cookie = "; ".join(f"{k}={v}" for k, v in page.http.cookies.items())
    handshake = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 f"Origin: {url}\r\nCookie: {cookie}\r\n\r\n")  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(handshake.encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n")[0]


def health(port: int) -> dict[str, Any]:
    try:
        reply = requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
        return dict(reply.json()) | {"http": reply.status_code}
    except (requests.RequestException, ValueError):
        return {}


def test_the_reference_deployment_through_nginx(tmp_path: pathlib.Path, prefix: str) -> None:
    nginx_or_skip()
    instance = tmp_path / "instance"
    command = [str(RUN), "--port", "0", "--instance", str(instance), "--prefix", prefix,
               "--agents", "0", "--calls-per-minute", "0"]  # fmt: skip
    out = open(tmp_path / "run.out", "wb")  # noqa: SIM115 - closed in finally
    trial = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    state_file = instance / "deployment.json"
    try:
        wait(lambda: state_file.exists() or trial.poll() is not None, 120,
             "deploy/run to be up", instance)  # fmt: skip
        assert trial.poll() is None, (tmp_path / "run.out").read_text()
        state = json.loads(state_file.read_text())
        url, procs = state["url"], state["processes"]
        workers = {f"127.0.0.1:{procs[n]['port']}": n for n in ("web-1", "web-2")}

        # Two browsers whose route cookies put them on different workers.
        pages: dict[str, Page] = {}
        for _ in range(60):
            page = Page(url)
            pages.setdefault(workers[page.worker], page)
            if len(pages) == 2:
                break
        assert len(pages) == 2, "nginx sent 60 new browsers to one worker"
        alice, sue = pages["web-1"], pages["web-2"]
        signed = alice.sign_in("alice")
        assert signed["agent"]["status"] == "On Break"
        sue.sign_in("sue")
        sue.listen()
        wait(lambda: sue.seen("snapshot"), 30, "the supervisor page's snapshot", instance)
        assert websocket_upgrade(url, sue).startswith("HTTP/1.1 101 ")

        clicked = time.monotonic()
        ready = alice.click("agent/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["agent"]["status"] == "Available"
        agent = signed["agent"]["name"]
        wait(lambda: "Available" in status_in_batches(sue, agent, clicked), 30,
             "the supervisor page on the other worker to see Available", instance)  # fmt: skip

        # kill -9 of the worker serving the supervisor page: nginx sends its client to
        # the other worker, where the same session opens and the page gets a snapshot.
        killed = time.monotonic()
        os.kill(procs["web-2"]["pid"], signal.SIGKILL)
        wait(lambda: sue.connects >= 2 and sue.seen("snapshot", killed), 60,
             "the page to reconnect through nginx and get a snapshot", instance)  # fmt: skip
        again = sue.seen("snapshot", killed)[-1]
        assert any(
            a["name"] == agent and a["status"] == "Available" for a in again["floor"]["agents"]
        )
        assert sue.http.get(f"{url}/health", timeout=10).headers["X-Callcenter-Worker"] in (
            f"127.0.0.1:{procs['web-1']['port']}"
        )

        # kill -9 of the active controller: the standby takes over; clicks work again.
        controllers = {n: procs[n]["port"] for n in ("controller-1", "controller-2")}
        active = next(n for n, p in controllers.items() if health(p).get("role") == "active")
        standby = next(n for n in controllers if n != active)
        os.kill(procs[active]["pid"], signal.SIGKILL)
        wait(lambda: health(controllers[standby]).get("role") == "active"
             and health(controllers[standby]).get("http") == 200, 60,
             f"{standby} to take over", instance)  # fmt: skip
        paused = time.monotonic()

        def not_ready() -> bool:
            reply = alice.click("agent/not-ready", {"reason": "lunch"})
            return reply.status_code == 200 and reply.json()["agent"]["status"] == "On Break"

        wait(not_ready, 30, "a click to work with the new controller", instance)
        wait(lambda: "On Break" in status_in_batches(sue, agent, paused), 30,
             "the page to see the new controller's change", instance)  # fmt: skip
        assert sue.connects == 2  # the controller's death cost the page no reconnection
        sue.socket.disconnect()
    finally:
        trial.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = trial.wait(60)
        except subprocess.TimeoutExpired:
            trial.kill()
            code = None
        out.close()
    assert code == 0, (tmp_path / "run.out").read_text()
    assert "stopped." in (tmp_path / "run.out").read_text()
    for proc in json.loads(state_file.read_text())["processes"].values():
        with pytest.raises(ProcessLookupError):
            os.kill(proc["pid"], 0)
