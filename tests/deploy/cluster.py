"""Several ``callcenter`` processes on loopback for the deployment tests: one simulator
(``callcenter simulate``), controllers (``serve --role controller``) and web workers
(``serve --role web``) sharing one database and one Redis under a key prefix of their own
(``REDIS_PREFIX``), so parallel runs never see each other's keys."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from engineio import payload as eio_payload
from sqlalchemy.orm import sessionmaker

from esl_controller.services.users import UserService
from esl_controller.store.engine import make_engine
from esl_controller.store.migrate import upgrade
from tests.browser.esl_api import EslApi
from tests.browser.server import Process, callcenter_command, free_port
from tests.helpers.fixture_replay import CONF

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "deploy-test-secret"
SIMULATOR_LINE = re.compile(r"FreeSWITCH simulator: ESL on 127\.0\.0\.1:(\d+)")
# A resync sends a page one event per queue and agent at once; python-engineio's client
# refuses a long-polling response of more than 16 packets (a guard of its own: browsers'
# socket.io client has none), so this test client takes more.
eio_payload.Payload.max_decode_packets = 10_000

USERS = (
    # name, role, password, extension, agent (tests/fixtures/conf's agents)
    ("alice", "agent", "alice-password", "1000", "agent1000"),
    ("sue", "supervisor", "sue-password", "1090", None),
    ("eve", "engineer", "eve-password", None, None),
)


def redis_or_skip() -> Any:
    """Redis on 127.0.0.1:6379 (TEST_REDIS_URL); a failure under CI=true, else a skip."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc} (required when CI=true)")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


def unique_prefix() -> str:
    return f"cctest-{uuid.uuid4().hex[:10]}"


class Cluster:
    """The processes of one test, started on free ports."""

    def __init__(self, workdir: Path, db_url: str, prefix: str, **env: str) -> None:
        self.workdir = workdir
        self.db_url = db_url
        self.prefix = prefix
        self.extra_env = env
        self.esl_port = free_port()
        self.processes: dict[str, Process] = {}
        self.ports: dict[str, int] = {}

    @property
    def lease_ttl(self) -> float:
        return float(self.extra_env.get("CONTROLLER_LEASE_TTL", "3"))

    def env(self, **more: str) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("SIP_WSS_URL", "SIP_DOMAIN", "CONTROLLER_ID"):
            env.pop(name, None)
        env.update(DB_URI=self.db_url, REDIS_URL=REDIS_URL, REDIS_PREFIX=self.prefix,
                   SECRET_KEY=SECRET, ESL_HOST="127.0.0.1", ESL_PORT=str(self.esl_port),
                   ESL_PASSWORD="ClueCon", PROVISION_INTERVAL="0")  # fmt: skip
        env.update(self.extra_env)
        env.update(more)
        return env

    # -- processes --------------------------------------------------------------------

    def prepare_database(self) -> None:
        upgrade(self.db_url)
        engine = make_engine(self.db_url)
        users = UserService(sessionmaker(engine))
        for name, role, password, extension, agent in USERS:
            users.add(name, role, password, extension=extension, agent=agent,
                      display_name=name.capitalize())  # fmt: skip
        engine.dispose()

    def start_simulator(self, *args: str) -> None:
        command = [*callcenter_command(), "simulate", "--port", str(self.esl_port),
                   "--conf", str(CONF), *args]  # fmt: skip
        process = Process(command, self.workdir, self.env())
        process.start()
        process.wait_for_line(SIMULATOR_LINE)
        self.processes["simulator"] = process

    def start_controller(self, name: str) -> int:
        port = free_port()
        command = [*callcenter_command(), "serve", "--role", "controller", "--port", str(port)]
        process = Process(command, self.workdir, self.env(CONTROLLER_ID=name))
        process.start()
        self.processes[name] = process
        self.ports[name] = port
        return port

    def start_web(self, name: str) -> str:
        port = free_port()
        command = [*callcenter_command(), "serve", "--role", "web", "--port", str(port)]
        process = Process(command, self.workdir, self.env())
        process.start()
        self.processes[name] = process
        self.ports[name] = port
        self.wait(lambda: self.health(name)[0] is not None, 30, f"{name} to answer /health")
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def kill(self, name: str) -> None:
        """``kill -9``: the process dies without a word, its lease left to expire."""
        self.processes[name].kill()

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def output(self) -> str:
        return "\n".join(f"--- {name}\n{p.output()[-4000:]}" for name, p in self.processes.items())

    # -- looking at them --------------------------------------------------------------

    def health(self, name: str) -> tuple[int | None, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.url(name)}/health", timeout=2) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            return None, {}

    def role(self, name: str) -> str | None:
        return self.health(name)[1].get("role")

    def serving(self, name: str) -> bool:
        """The controller holds the lease and is connected to FreeSWITCH."""
        status, body = self.health(name)
        return status == 200 and body.get("role") == "active"

    def wait(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}\n{self.output()}")

    @property
    def esl(self) -> EslApi:
        return EslApi(self.esl_port)


class Browser:
    """What a page does: signs in over REST, then listens on Socket.IO."""

    def __init__(self, base: str, name: str, password: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        password = password or next(p for n, _, p, _, _ in USERS if n == name)
        body = {"username": name, "password": password}
        reply = self.http.post(f"{base}/call-center/api/agent/login", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        self.token = reply.json()["csrf_token"]
        self.events: list[tuple[float, str, Any]] = []
        self.connects = 0
        self.socket: socketio.Client | None = None

    def post(self, base: str, path: str, body: Any = None) -> requests.Response:
        """A click on a page served by ``base`` (any worker: the session is shared)."""
        return self.http.post(f"{base}/call-center/api/{path}", json=body, timeout=30,
                              headers={"X-CSRF-Token": self.token})  # fmt: skip

    def listen(self, base: str | None = None) -> None:
        client = socketio.Client(reconnection_delay=0.2, reconnection_delay_max=1)

        @client.on("*")
        def any_event(event: str, data: Any = None) -> None:
            self.events.append((time.monotonic(), event, data))

        @client.on("connect")
        def connected() -> None:
            self.connects += 1

        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        client.connect(base or self.base, headers={"Cookie": cookie}, transports=["polling"],
                       wait_timeout=10)  # fmt: skip
        self.socket = client

    def seen(self, event: str, since: float = 0.0) -> list[Any]:
        return [data for at, name, data in list(self.events) if name == event and at >= since]

    def close(self) -> None:
        if self.socket is not None:
            self.socket.disconnect()
