"""``POST /call-center/api/console`` and ``GET audit`` over the real app and a live
simulator: engineers only, hostile lines refused and audited, nothing of them reaching
the switch, and the audit log readable by supervisors and engineers."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.unit.test_console_policy import HOSTILE
from tests.web.conftest import Web

ENGINEER = ("eve", "engineer", "eve-password-1")
Signed = tuple[FlaskClient, str]
FSAPI = 'json {"command":"fsapi","data":{"cmd":"system","arg":"id"}}'
DEAD = "6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a"


@pytest.fixture
def eve(web: Web) -> Signed:
    name, role, password = ENGINEER
    web.deps.users.add(name, role, password, display_name="Eve")
    http = web.app.test_client()
    reply = http.post("/call-center/api/agent/login", json={"username": name, "password": password})
    assert reply.status_code == 200, reply.get_json()
    return http, reply.get_json()["csrf_token"]


def test_engineer_runs_commands_and_they_are_audited(web: Web, eve: Signed) -> None:
    http, token = eve
    status = web.post(http, token, "console", {"command": "status"})
    assert status.status_code == 200, status.get_json()
    body = status.get_json()
    assert body["output"].startswith("UP ") and body["error"] is False
    count = web.post(http, token, "console", {"command": "CALLCENTER_CONFIG queue count"})
    assert count.get_json()["output"].strip() == "2"
    refused = web.post(http, token, "console", {"command": FSAPI})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "console_refused"
    assert "fsapi" in refused.get_json()["error"]["message"]
    missing = web.post(http, token, "console", {"command": f"uuid_kill {DEAD}"})
    assert missing.status_code == 200 and missing.get_json()["error"] is True

    entries = http.get("/call-center/api/audit?limit=10").get_json()["entries"]
    mine = [e for e in entries if e["actor"] == "eve" and e["action"] == "console"]
    commands = [e["details"]["command"] for e in mine]
    assert commands[:4] == [
        f"uuid_kill {DEAD}",
        FSAPI,
        "CALLCENTER_CONFIG queue count",
        "status",
    ]
    assert mine[0]["outcome"].startswith("-ERR")
    assert mine[0]["details"]["reply"] == "-ERR No such channel!"
    assert mine[1]["outcome"] == "refused"
    assert "fsapi runs any API command" in mine[1]["details"]["reason"]
    assert mine[2]["details"]["sent"] == "callcenter_config queue count"
    assert mine[3]["outcome"] == "ok"


def test_completion_comes_from_console_complete(web: Web, eve: Signed) -> None:
    http, token = eve
    reply = web.post(http, token, "console/complete", {"text": "callcenter_config ag"})
    assert reply.get_json() == {"matches": ["agent"], "replace": 2, "insert": "agent "}
    following = web.post(http, token, "console/complete", {"text": "callcenter_config "})
    assert following.get_json()["matches"] == ["agent", "queue", "tier"]


def test_hostile_lines_are_refused_through_the_api(web: Web, eve: Signed) -> None:
    http, token = eve
    for line in HOSTILE:
        if not line:
            continue
        reply = web.post(http, token, "console", {"command": line})
        assert reply.status_code == 400, (line, reply.get_json())
        assert reply.get_json()["error"]["code"] in ("console_refused", "invalid_argument")
    # Nothing reached the switch: no channel appeared.
    assert web.sim.execute_api("show channels count").strip() == "0 total."


@pytest.mark.parametrize("name", ["alice", "sue"])
def test_agents_and_supervisors_get_403(web: Web, name: str) -> None:
    http, token = web.login(name)
    reply = web.post(http, token, "console", {"command": "status"})
    assert reply.status_code == 403
    assert web.post(http, token, "console/complete", {"text": "st"}).status_code == 403


def test_audit_readable_by_supervisors_not_agents(web: Web) -> None:
    sue, _ = web.login("sue")
    assert sue.get("/call-center/api/audit?limit=5").status_code == 200
    alice, _ = web.login("alice")
    assert alice.get("/call-center/api/audit").status_code == 403


def test_unauthenticated_and_without_csrf(web: Web, eve: Signed) -> None:
    anonymous = web.app.test_client()
    assert anonymous.post("/call-center/api/console", json={"command": "status"}).status_code == 401
    http, _ = eve
    assert http.post("/call-center/api/console", json={"command": "status"}).status_code == 403


def test_output_is_capped_with_a_marker(web: Web, eve: Signed) -> None:
    from dashboard.api.console import console_service

    http, token = eve
    with web.app.app_context():
        console_service().limit = 40
    reply = web.post(http, token, "console", {"command": "status"}).get_json()
    assert reply["truncated"] is True
    assert "[... output cut at 40 of" in reply["output"]
    assert reply["length"] > 40


def test_in_the_openapi_document(web: Web) -> None:
    document = web.app.test_client().get("/call-center/api/openapi.json").get_json()
    assert "/call-center/api/console" in document["paths"] or "/console" in str(document["paths"])


def test_socket_console_for_engineers_only(web: Web, eve: Signed) -> None:
    socketio = web.app.extensions["socketio"]
    http, _ = eve
    page = socketio.test_client(web.app, namespace="/console", flask_test_client=http)
    assert page.is_connected("/console")
    reply = page.emit("run", {"line": "callcenter_config queue count"}, namespace="/console",
                      callback=True)  # fmt: skip
    assert reply == {"output": "2\n", "error": False, "truncated": False}
    refused = page.emit("run", {"line": "hupall NORMAL_CLEARING"}, namespace="/console",
                        callback=True)  # fmt: skip
    assert refused["error"] is True and "hangs up every call" in refused["output"]
    found = page.emit("complete", {"text": "callcenter_config ag"}, namespace="/console",
                      callback=True)  # fmt: skip
    assert found == {"matches": ["agent"], "replace": 2, "insert": "agent "}
    bad = page.emit("run", {"line": "/event CHANNEL_CREATE\napi system id"}, namespace="/console",
                    callback=True)  # fmt: skip
    assert bad["error"] is True
    page.disconnect(namespace="/console")
    entries = http.get("/call-center/api/audit?limit=5").get_json()["entries"]
    # Stored with the line break made visible, as every value from outside is.
    assert entries[0]["details"]["command"] == "/event CHANNEL_CREATE\u240aapi system id"
    assert entries[0]["outcome"] == "refused"
    for name in ("alice", "sue"):
        other, _ = web.login(name)
        client = socketio.test_client(web.app, namespace="/console", flask_test_client=other)
        assert not client.is_connected("/console")
