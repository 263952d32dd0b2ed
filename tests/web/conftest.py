"""The dashboard over a live simulator: the real app factory and wiring, the simulator
over TCP, and SQLite (or PostgreSQL) for users and history."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from dashboard import create_app
from dashboard.deps import Dependencies, WebSettings
from dashboard.wiring import Part, build_dependencies, start_dashboard_parts
from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.services.floor_service import FloorService
from esl_controller.services.link import link_floor
from esl_controller.services.recorder import Recorder
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.repositories import seed_defaults
from tests.helpers.databases import postgres_schema_url
from tests.helpers.fixture_replay import CONF
from tests.wire.conftest import wait_until

USERS = (
    # name, role, password, extension, agent (the test configuration's agent names)
    ("alice", "agent", "alice-password", "1000", "agent1000"),
    ("bob", "agent", "bob-password", "1001", "agent1001"),
    ("sue", "supervisor", "sue-password", "1003", None),
)


@dataclass
class Web:
    sim: Simulator
    client: EslClient
    floor: FloorService
    deps: Dependencies
    app: Flask
    recorder: Recorder
    parts: list[Part]

    def login(self, name: str) -> tuple[FlaskClient, str]:
        """A browser-like client signed in as ``name``, and its CSRF token."""
        http = self.app.test_client()
        password = next(p for n, _, p, _, _ in USERS if n == name)
        reply = http.post("/call-center/api/agent/login",
                          json={"username": name, "password": password})  # fmt: skip
        assert reply.status_code == 200, reply.get_json()
        return http, reply.get_json()["csrf_token"]

    def post(self, http: FlaskClient, token: str, path: str, body: Any = None) -> Any:
        return http.post(f"/call-center/api/{path}", json=body,
                         headers={"X-CSRF-Token": token})  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_web(db_url: str, *, sim: Simulator | None = None, wrap_up_limit: int = 60,
              add_users: bool = True, **settings: Any) -> Web:  # fmt: skip
    """The controller and dashboard over a simulator (a new one, or ``sim``: the same
    FreeSWITCH after the process restarted) and the database at ``db_url``."""
    if sim is None:
        sim = Simulator(port=free_port(), conf_dir=CONF)
        sim.start()
    client, floor = link_floor(EslSettings(port=sim.port, backoff_max=0.5))
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    with session_scope(sessions) as session:
        seed_defaults(session)
    recorder = Recorder(sessions)
    web_settings = WebSettings(secret_key="test-secret", sip_domain="127.0.0.1", **settings)
    deps = build_dependencies(api=client.api, bgapi=client.bgapi, health=lambda: client.health,
                              floor=floor, sessions=sessions, recorder=recorder,
                              settings=web_settings, wrap_up_limit=wrap_up_limit)  # fmt: skip
    app = create_app(deps, config={"TESTING": True})
    floor.listeners.append(recorder.on_changes)
    parts = start_dashboard_parts(deps, app.extensions["callcenter.publisher"])
    recorder.start()
    floor.start()
    client.start()
    for name, role, password, extension, agent in USERS if add_users else ():
        deps.users.add(name, role, password, extension=extension, agent=agent,
                       display_name=name.capitalize(), sip_password=f"{name}-sip-secret",
                       sip_realm="127.0.0.1")  # fmt: skip
    assert wait_until(lambda: floor.resyncs >= 1)
    return Web(sim, client, floor, deps, app, recorder, parts)


def stop_web(web: Web) -> None:
    web.client.stop()
    web.floor.stop()
    for part in web.parts:
        part.stop()
    web.recorder.drained(timeout=5)
    web.recorder.stop()
    web.sim.stop()


@pytest.fixture
def web(tmp_path):  # type: ignore[no-untyped-def]
    built = build_web(f"sqlite:///{tmp_path / 'cc.db'}")
    yield built
    stop_web(built)


@pytest.fixture
def web_pg():  # type: ignore[no-untyped-def]
    for url in postgres_schema_url():
        built = build_web(url)
        yield built
        stop_web(built)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_web(request: pytest.FixtureRequest) -> Web:
    """The same tests on SQLite and on PostgreSQL."""
    name = "web" if request.param == "sqlite" else "web_pg"
    built: Web = request.getfixturevalue(name)
    return built


def ring(web: Web, agent_ext: str = "1000", mode: str = "noanswer",
         number: str = "5551230000", name: str = "Caller") -> None:  # fmt: skip
    """A patient caller into support@default, with the agent's phone in ``mode``."""
    web.sim.execute_api(f"sim_phone {agent_ext} register")
    web.sim.execute_api(f"sim_phone {agent_ext} {mode}")
    web.sim.execute_api(f"sim_caller 5000 {number} {name}")
