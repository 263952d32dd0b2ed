"""The call center inside an existing Flask app (dashboard.CallCenter): the example host
app (examples/host_app/host.py) over a live simulator. The host's own routes, session and
error pages still work; the call center answers under /callcenter with the host's sign-in
mapped to its users; an agent's Ready through the prefixed API reaches FreeSWITCH; its
Socket.IO events travel in their own namespace of the host's server; a host's templates
and blueprints by the product's names do not get in the way; a database whose tables by
the product's names are the host's is refused."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIO
from sqlalchemy import text

from dashboard import CallCenter
from dashboard.extension import DatabaseInUse, check_shared_database
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine
from esl_controller.store.migrate import upgrade
from tests.helpers.databases import postgres_schema_url
from tests.helpers.fixture_replay import CONF
from tests.web.conftest import free_port
from tests.wire.conftest import wait_until

REPO = Path(__file__).resolve().parents[2]
API = "/callcenter/call-center/api"


def load_host_module() -> Any:
    path = REPO / "examples" / "host_app" / "host.py"
    spec = importlib.util.spec_from_file_location("example_host_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Host:
    app: Flask
    socketio: SocketIO
    callcenter: CallCenter
    sim: Simulator
    db_path: Path

    def sign_in(self, name: str) -> FlaskClient:
        """Signed in to the host (its own form), not to the call center."""
        http = self.app.test_client()
        reply = http.post("/login", data={"name": name, "password": f"{name}-password"})
        assert reply.status_code == 302, reply.get_data(as_text=True)
        return http

    def fs_status(self, agent: str) -> str:
        return str(self.sim.callcenter.tables.agents[agent].status)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    port = free_port()
    sim = Simulator(port=port, conf_dir=CONF)
    sim.start()
    db_path = tmp_path / "host.db"
    module = load_host_module()
    app, socketio, callcenter = module.create_host_app({
        "TESTING": True, "DB_URI": f"sqlite:///{db_path}",
        "CALLCENTER_ESL_PORT": port, "CALLCENTER_SIP_DOMAIN": "127.0.0.1",
    })  # fmt: skip
    users = callcenter.deps.users
    # The host's accounts map ann to alice and sam to sue (examples/host_app/host.py).
    users.add("alice", "agent", "alice-password", extension="1000", agent="agent1000",
              display_name="Alice")  # fmt: skip
    users.add("sue", "supervisor", "sue-password", extension="1003", display_name="Sue")
    assert wait_until(lambda: callcenter.deps.floor.resyncs >= 1)
    yield Host(app, socketio, callcenter, sim, db_path)
    callcenter.stop()
    sim.stop()


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def test_the_host_app_keeps_its_own_routes_session_and_errors(host: Host) -> None:
    http = host.app.test_client()
    assert "Acme intranet" in http.get("/").get_data(as_text=True)
    assert http.get("/api/whoami").status_code == 401
    # The host's own 404 page (an HTML page), not the call center's JSON errors.
    missing = http.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"

    ann = host.sign_in("ann")
    home = ann.get("/").get_data(as_text=True)
    assert "Signed in as ann" in home and 'href="/callcenter/"' in home
    assert ann.get("/callcenter/agent").status_code == 200
    # The call center's keys sit beside the host's in the host's session: its
    # ``user_id`` is still the host's account id after the call center signed ann in.
    assert ann.get("/api/whoami").get_json() == {"user_id": 1, "name": "ann"}
    with ann.session_transaction() as session:
        assert session["user_id"] == 1
        assert isinstance(session["callcenter.user_id"], int)
    # The product is not at the site's root.
    assert ann.get("/call-center/api/agent/status").status_code == 404
    assert ann.get("/agent").status_code == 404


def test_the_api_answers_under_the_prefix_with_the_host_sign_in(host: Host) -> None:
    browser = host.app.test_client()
    reply = browser.get(f"{API}/agent/status")
    assert reply.status_code == 401 and reply.get_json()["error"]["code"] == "not_signed_in"
    # A page sends to the host's sign-in, which comes back to it afterwards.
    page = browser.get("/callcenter/agent")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/callcenter/agent"
    assert browser.get("/callcenter/login?next=/callcenter/agent").headers["Location"] == (
        "/login?next=/callcenter/agent")  # fmt: skip
    back = browser.post("/login", data={"name": "ann", "password": "ann-password",
                                          "next": "/callcenter/agent"})  # fmt: skip
    assert back.headers["Location"] == "/callcenter/agent"

    # Opening the call center signs ann's agent in to the queues, as the product's own
    # sign-in does: On Break ("Login") until Ready.
    assert browser.get("/callcenter/").headers["Location"] == "/callcenter/agent"
    page_html = browser.get("/callcenter/agent").get_data(as_text=True)
    assert 'data-base="/callcenter"' in page_html
    assert 'src="/callcenter/static/js/agent/main.js"' in page_html
    status = browser.get(f"{API}/agent/status").get_json()
    assert status["agent"]["name"] == "agent1000"
    assert status["agent"]["pause_reason"] == "Login"
    assert host.fs_status("agent1000") == "On Break"
    # Static files and the browser libraries under the prefix.
    assert browser.get("/callcenter/static/js/mount.js").status_code == 200
    vendor = browser.get("/callcenter/static/vendor/socket.io-client/socket.io.esm.min.js")
    assert vendor.status_code == 200

    # sam is the supervisor sue; max has no call center user.
    sam = host.sign_in("sam")
    assert sam.get("/callcenter/").headers["Location"] == "/callcenter/supervisor"
    floor = sam.get(f"{API}/floor")
    assert floor.status_code == 200
    assert "agent1000" in {a["name"] for a in floor.get_json()["agents"]}
    max_ = host.sign_in("max")
    assert max_.get(f"{API}/agent/status").status_code == 401
    # A host account naming a user the call center does not have is refused plainly.
    with max_.session_transaction() as session:
        session["callcenter_user"] = "ghost"
    refused = max_.get(f"{API}/agent/status")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_a_call_center_user"
    assert max_.get("/callcenter/agent").status_code == 403  # not a redirect loop


def test_ready_through_the_prefixed_api_reaches_the_simulator(host: Host) -> None:
    ann = host.sign_in("ann")
    token = csrf_of(ann.get("/callcenter/agent").get_data(as_text=True))
    assert ann.post(f"{API}/agent/ready").status_code == 403  # no CSRF token
    reply = ann.post(f"{API}/agent/ready", json={}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["agent"]["status"] == "Available"
    assert host.fs_status("agent1000") == "Available"
    # Bad input is still a JSON 4xx under the prefix.
    bad = ann.post(f"{API}/agent/not-ready", json={"reason": "x\r\nbgapi"},
                   headers={"X-CSRF-Token": token})  # fmt: skip
    assert 400 <= bad.status_code < 500 and "error" in bad.get_json()
    assert host.fs_status("agent1000") == "Available"

    # Signing out of the host takes the agent out of the queues, and the call center's
    # session with it.
    assert ann.post("/logout").status_code == 302
    assert host.fs_status("agent1000") == "Logged Out"
    assert ann.get(f"{API}/agent/status").status_code == 401


def test_socketio_events_in_the_call_center_namespace(host: Host) -> None:
    ann = host.sign_in("ann")
    token = csrf_of(ann.get("/callcenter/agent").get_data(as_text=True))
    refused = host.socketio.test_client(host.app, namespace="/callcenter",
                                        flask_test_client=host.app.test_client())  # fmt: skip
    assert not refused.is_connected("/callcenter")
    client = host.socketio.test_client(host.app, namespace="/callcenter", flask_test_client=ann)
    assert client.is_connected("/callcenter")
    first = client.get_received("/callcenter")
    assert first[0]["name"] == "snapshot"
    assert first[0]["args"][0]["agent"]["name"] == "agent1000"

    ready = ann.post(f"{API}/agent/ready", json={}, headers={"X-CSRF-Token": token})
    assert ready.status_code == 200
    seen: list[dict[str, Any]] = []

    def available() -> bool:
        seen.extend(client.get_received("/callcenter"))
        return any(e["name"] == "agent" and e["args"][0]["status"] == "Available" for e in seen)

    assert wait_until(available)
    client.disconnect(namespace="/callcenter")


def test_the_database_is_shared_with_the_host(host: Host) -> None:
    with sqlite3.connect(host.db_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"host_accounts", "users", "cc_calls", "alembic_version"} <= tables
        names = {row[0] for row in db.execute("SELECT username FROM users")}
    assert names == {"alice", "sue"}


def test_host_templates_and_blueprints_by_the_same_names(tmp_path: Path) -> None:
    """A host with its own base.html / login.html and blueprints named api and pages; the
    product's own sign-in (no host login given); its session keys beside the host's."""
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("base.html", "login.html"):
        (templates / name).write_text("HOST TEMPLATE {{ 1 + 1 }}")
    app = Flask("host", template_folder=str(templates))
    app.config.update(SECRET_KEY="k", TESTING=True,
                      SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'h.db'}")  # fmt: skip
    api, pages = Blueprint("api", __name__), Blueprint("pages", __name__)
    api.add_url_rule("/api/ping", "ping", lambda: {"pong": True})
    pages.add_url_rule("/about", "about", lambda: "about the host")
    app.register_blueprint(api)
    app.register_blueprint(pages)

    @app.get("/mark")
    def mark() -> str:
        from flask import session

        session["user_id"] = "host-42"
        session["csrf"] = "host-token"
        return "ok"

    callcenter = CallCenter(app, url_prefix="/cc", start=False)  # no FreeSWITCH needed here
    assert callcenter.deps is not None
    callcenter.deps.users.add("sue", "supervisor", "sue-password", display_name="Sue")
    http = app.test_client()
    assert http.get("/api/ping").get_json() == {"pong": True}
    assert http.get("/about").get_data(as_text=True) == "about the host"
    http.get("/mark")
    login = http.get("/cc/login").get_data(as_text=True)
    assert "HOST TEMPLATE" not in login and 'data-testid="login-submit"' in login
    assert 'href="/cc/static/css/base.css"' in login
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token
    signed = http.post("/cc/login", data={"username": "sue", "password": "sue-password",
                                          "csrf_token": token.group(1)})  # fmt: skip
    assert signed.headers["Location"] == "/cc/supervisor"
    with http.session_transaction() as session:
        assert session["user_id"] == "host-42" and session["csrf"] == "host-token"
        assert isinstance(session["callcenter.user_id"], int)
    page = http.get("/cc/supervisor").get_data(as_text=True)
    assert 'data-socketio-path="/cc/socket.io"' in page  # its own Socket.IO server
    assert 'href="/cc/admin"' in page
    # Its Socket.IO namespaces: the pages' push for sue; the ESL console for engineers only.
    socketio = app.extensions["socketio"]
    push = socketio.test_client(app, namespace="/cc", flask_test_client=http)
    assert push.get_received("/cc")[0]["name"] == "snapshot"
    console = socketio.test_client(app, namespace="/cc/console", flask_test_client=http)
    assert not console.is_connected("/cc/console")
    callcenter.deps.users.add("eve", "engineer", "eve-password", display_name="Eve")
    engineer = app.test_client()
    form = csrf_of(engineer.get("/cc/login").get_data(as_text=True))
    engineer.post("/cc/login", data={"username": "eve", "password": "eve-password",
                                     "csrf_token": form})  # fmt: skip
    console = socketio.test_client(app, namespace="/cc/console", flask_test_client=engineer)
    assert console.is_connected("/cc/console")
    assert "xterm.css" in engineer.get("/cc/console").get_data(as_text=True)
    push.disconnect(namespace="/cc")
    console.disconnect(namespace="/cc/console")
    # Signing out of the call center leaves the host's keys.
    http.post("/cc/logout", data={"csrf_token": csrf_of(page)})
    with http.session_transaction() as session:
        assert session["user_id"] == "host-42"
        assert not [k for k in session if k.startswith("callcenter.")]


def test_a_database_with_the_hosts_tables_by_the_same_names_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.db"
    with sqlite3.connect(theirs) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    with pytest.raises(DatabaseInUse, match="users"):
        check_shared_database(f"sqlite:///{theirs}")
    migrated = tmp_path / "migrated.db"
    with sqlite3.connect(migrated) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version VALUES ('a1b2c3d4e5f6')")
    with pytest.raises(DatabaseInUse, match="a1b2c3d4e5f6"):
        check_shared_database(f"sqlite:///{migrated}")
    ours = tmp_path / "ours.db"
    upgrade(f"sqlite:///{ours}")
    check_shared_database(f"sqlite:///{ours}")  # the product's own: fine


@pytest.mark.postgres
def test_postgresql_a_schema_of_its_own_next_to_the_hosts_tables() -> None:
    """A host whose PostgreSQL schema already has a ``users`` table of its own: sharing
    that schema is refused; a schema of the call center's own in the same database
    (CALLCENTER_DB_URI with search_path) works, the host's table untouched."""
    for host_url in postgres_schema_url():
        for own_url in postgres_schema_url():
            engine = make_engine(host_url)
            with engine.begin() as db:
                db.execute(text("CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT)"))
                db.execute(text("INSERT INTO users (email) VALUES ('ann@example.com')"))
            app = Flask("host")
            app.config.update(SECRET_KEY="k", TESTING=True, SQLALCHEMY_DATABASE_URI=host_url)
            with pytest.raises(DatabaseInUse, match="users"):
                CallCenter(app, start=False)
            app = Flask("host")
            app.config.update(SECRET_KEY="k", TESTING=True, SQLALCHEMY_DATABASE_URI=host_url,
                              CALLCENTER_DB_URI=own_url)  # fmt: skip
            callcenter = CallCenter(app, start=False)
            assert callcenter.deps is not None
            callcenter.deps.users.add("sue", "supervisor", "sue-password", display_name="Sue")
            with engine.connect() as db:
                assert db.scalar(text("SELECT email FROM users")) == "ann@example.com"
            own = make_engine(own_url)
            with own.connect() as db:
                assert db.scalar(text("SELECT username FROM users")) == "sue"
            own.dispose()
            engine.dispose()
            callcenter.deps.sessions.kw["bind"].dispose()
