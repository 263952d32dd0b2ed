"""Users from the command line, and the caller lookup: the built-in customers table, a
CRM over HTTP (its answer validated), a CRM that is slow or broken ("unknown caller"
instead of waiting), and the cache."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from esl_controller.services.customers import CustomerLookup, from_crm
from esl_controller.services.users import UserService, sip_ha1
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Agent, Customer, User


@pytest.fixture
def sessions(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    return sessionmaker(make_engine(url))


def test_user_add_from_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    env = dict(os.environ, DB_URI=url, SIP_DOMAIN="cc.example")
    add = [sys.executable, "-m", "esl_controller.cli", "user", "add"]
    done = subprocess.run([*add, "carol", "--role", "agent", "--password", "carol-secret",
                           "--extension", "1005", "--sip-password", "sip-secret-1"],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "agent 1005@default" in done.stdout
    again = subprocess.run([*add, "carol", "--role", "agent", "--password", "carol-secret",
                            "--extension", "1006"], env=env, capture_output=True, text=True,
                           timeout=60)  # fmt: skip
    assert again.returncode == 1 and "exists" in again.stderr
    short = subprocess.run([*add, "dave", "--role", "supervisor", "--password", "short"],
                           env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert short.returncode == 1 and "password" in short.stderr
    engine = make_engine(url)
    with session_scope(sessionmaker(engine)) as session:
        user = session.scalar(select(User).where(User.username == "carol"))
        assert user is not None and user.role == "agent" and user.extension == "1005"
        assert user.sip_ha1 == sip_ha1("1005", "cc.example", "sip-secret-1")
        assert "carol-secret" not in user.password_hash and "sip-secret-1" not in str(
            [user.password_hash, user.sip_ha1])  # fmt: skip
        agent = session.scalar(select(Agent).where(Agent.user_id == user.id))
        assert agent is not None and agent.name == "1005@default"
    engine.dispose()


def test_authentication(sessions) -> None:  # type: ignore[no-untyped-def]
    users = UserService(sessions)
    users.add("erin", "supervisor", "erin-secret")
    assert users.authenticate("erin", "erin-secret") is not None
    assert users.authenticate("erin", "wrong-one") is None
    assert users.authenticate("nobody", "erin-secret") is None
    erin = users.by_username("erin")
    assert erin is not None and erin.has_role("agent") and not erin.has_role("engineer")


class Crm(http.server.BaseHTTPRequestHandler):
    answers: dict[str, tuple[float, bytes]] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        delay, body = self.answers.get(self.path.rsplit("=", 1)[-1], (0.0, b"[]"))
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def crm() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Crm)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Crm.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/customers?phone={{number}}"
    server.shutdown()


def test_lookup_prefers_the_table_then_asks_the_crm(sessions, crm: str) -> None:  # type: ignore[no-untyped-def]
    with session_scope(sessions) as session:
        session.add(Customer(name="Grace Hopper", phone="5550001", vip=False))
    Crm.answers = {
        "5550002": (0.0, json.dumps({"results": [{"id": 7, "name": "Alan <b>Turing</b>",
                                                  "email": "alan@example.org", "vip": True,
                                                  "secret": "dropped"}]}).encode()),
        "5550003": (3.0, b'{"name": "Too Slow"}'),
        "5550004": (0.0, b"not json"),
    }  # fmt: skip
    lookup = CustomerLookup(sessions, crm_url_template=crm, timeout=0.5)
    table = lookup.by_number("5550001")
    assert table is not None and (table.name, table.source) == ("Grace Hopper", "customers")
    remote = lookup.by_number("5550002")
    assert remote is not None and remote.source == "crm" and remote.vip is True
    assert remote.name == "Alan <b>Turing</b>"  # kept as text: the page escapes it
    assert remote.email == "alan@example.org" and remote.id == 7
    started = time.monotonic()
    assert lookup.by_number("5550003") is None  # unknown caller rather than waiting
    assert time.monotonic() - started < 2.5
    assert lookup.by_number("5550004") is None
    hits = len(Crm.hits)
    assert lookup.by_number("5550002") is not None
    assert len(Crm.hits) == hits  # cached
    with pytest.raises(ValueError):
        CustomerLookup(sessions, crm_url_template="file:///etc/passwd?{number}")


def test_crm_answers_that_are_not_records() -> None:
    assert from_crm([], "1") is None
    assert from_crm({"name": ""}, "1") is None
    assert from_crm([1, "x", {"name": "Ok", "phone": {"nested": 1}}], "1") == from_crm(
        {"name": "Ok"}, "1")  # fmt: skip
    assert from_crm({"name": "x" * 1000}, "1").name == "x" * 128  # type: ignore[union-attr]
