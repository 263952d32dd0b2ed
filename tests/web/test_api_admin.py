"""Admin endpoints over the live simulator: who may do what (the role matrix), the same
validation messages as the command line, and each change visible in mod_callcenter at
once (``callcenter_config ... list``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.services.provisioning import ProvisioningStore
from tests.web.conftest import Web

API = "/call-center/api"


def sign_in(web: Web, name: str, password: str) -> tuple[FlaskClient, str]:
    http = web.app.test_client()
    reply = http.post(f"{API}/agent/login", json={"username": name, "password": password})
    assert reply.status_code == 200, reply.get_json()
    return http, reply.get_json()["csrf_token"]


@pytest.fixture
def people(web: Web) -> dict[str, tuple[FlaskClient, str]]:
    web.deps.users.add("eve", "engineer", "eve-password", display_name="Eve")
    return {
        "agent": sign_in(web, "alice", "alice-password"),
        "supervisor": sign_in(web, "sue", "sue-password"),
        "engineer": sign_in(web, "eve", "eve-password"),
    }


def call(who: tuple[FlaskClient, str], method: str, path: str, body: Any = None) -> Any:
    http, token = who
    return http.open(f"{API}/{path}", method=method, json=body, headers={"X-CSRF-Token": token})


def switch(web: Web, what: str) -> list[dict[str, str]]:
    return replies.json_api(web.client.api(cc.json_query(what)))


# (method, path, body, lowest role allowed)
MATRIX = [
    ("GET", "admin/agents", None, "supervisor"),
    ("GET", "admin/queues", None, "supervisor"),
    ("GET", "admin/tiers", None, "supervisor"),
    ("POST", "admin/agents", {"name": "m1@default", "wrap_up_time": 20}, "supervisor"),
    ("POST", "admin/agents/m1@default", {"max_no_answer": 4}, "supervisor"),
    ("POST", "admin/tiers", {"queue": "sales@default", "agent": "m1@default", "level": 2},
     "supervisor"),
    ("POST", "admin/tiers/remove", {"queue": "sales@default", "agent": "m1@default"},
     "supervisor"),
    ("DELETE", "admin/agents/m1@default", None, "supervisor"),
    ("POST", "admin/queues", {"name": "m@default", "settings": {"strategy": "top-down"}},
     "engineer"),
    ("POST", "admin/queues/m@default", {"settings": {"max-wait-time": 30}}, "engineer"),
    ("DELETE", "admin/queues/m@default", None, "engineer"),
]  # fmt: skip
RANK = {"agent": 0, "supervisor": 1, "engineer": 2}


def test_role_matrix(web: Web, people: dict[str, tuple[FlaskClient, str]]) -> None:
    anonymous = web.app.test_client()
    for method, path, body, lowest in MATRIX:
        assert anonymous.open(f"{API}/{path}", method=method, json=body).status_code == 401
        for role in ("agent", "supervisor", "engineer"):
            if RANK[role] >= RANK[lowest]:
                continue
            reply = call(people[role], method, path, body)
            assert reply.status_code == 403, (role, method, path, reply.get_json())
        http, _ = people[lowest]
        if method != "GET":  # no CSRF token: refused
            assert http.open(f"{API}/{path}", method=method, json=body).status_code == 403
        reply = call(people[lowest], method, path, body)
        assert reply.status_code in (200, 201), (lowest, method, path, reply.get_json())
    # The engineer may do what a supervisor may.
    assert (
        call(people["engineer"], "POST", "admin/agents", {"name": "m2@default"}).status_code == 201
    )


def test_changes_reach_the_switch_at_once(
    web: Web, people: dict[str, tuple[FlaskClient, str]]
) -> None:
    sue = people["supervisor"]
    reply = call(sue, "POST", "admin/agents", {"name": "1006@default", "contact": "",
                                               "wrap_up_time": 25})  # fmt: skip
    assert reply.status_code == 201, reply.get_json()
    assert "agent add 1006@default" in reply.get_json()["changed"]
    row = next(a for a in switch(web, "agent list") if a["name"] == "1006@default")
    assert row["wrap_up_time"] == "25"

    # A tier moved in the page moves in `callcenter_config tier list`.
    reply = call(sue, "POST", "admin/tiers", {"queue": "support@default", "agent": "agent1000",
                                              "level": 3, "position": 7})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    tiers = {(t["queue"], t["agent"]): t for t in switch(web, "tier list")}
    assert (tiers[("support@default", "agent1000")]["level"],
            tiers[("support@default", "agent1000")]["position"]) == ("3", "7")  # fmt: skip
    listed = call(sue, "GET", "admin/tiers").get_json()["tiers"]
    assert {"queue": "support@default", "agent": "agent1000", "level": 3, "position": 7} in listed

    reply = call(sue, "POST", "admin/tiers/remove", {"queue": "support@default",
                                                     "agent": "agent1000"})  # fmt: skip
    assert reply.status_code == 200
    assert ("support@default", "agent1000") not in {(t["queue"], t["agent"])
                                                     for t in switch(web, "tier list")}  # fmt: skip

    reply = call(sue, "DELETE", "admin/agents/1006@default")
    assert reply.status_code == 200
    assert "1006@default" not in {a["name"] for a in switch(web, "agent list")}

    eve = people["engineer"]
    reply = call(eve, "POST", "admin/queues", {"name": "vip@default",
                                               "settings": {"strategy": "ring-all"}})  # fmt: skip
    assert reply.status_code == 201
    # The simulator has no mod_xml_curl: the load is reported as failed, the queue kept.
    assert any("queue load vip@default" in f for f in reply.get_json()["failed"])
    assert "vip@default" in ProvisioningStore(web.deps.sessions).wanted().queues


@pytest.mark.parametrize(("path", "body", "message"), [
    ("admin/queues", {"name": "q@default", "settings": {"strategy": "loudest"}},
     "strategy must be one of"),
    ("admin/queues", {"name": "q@default", "settings": {"colour": "blue"}},
     "unknown queue setting"),
    ("admin/queues", {"name": "q@default", "settings": {"moh-sound": "${system(id)}"}},
     "moh-sound"),
    ("admin/queues", {"name": "bad name", "settings": {}}, "queue is not a valid name"),
    ("admin/agents", {"name": "a@default", "wrap_up_time": "²"}, "whole number"),
    ("admin/agents", {"name": "a@default", "contact": "user/1 &bridge"}, "space"),
    ("admin/agents", {"name": "a@default", "type": "robot"}, "type must be one of"),
    ("admin/tiers", {"queue": "support@default", "agent": "a@default", "level": -2}, "level"),
])  # fmt: skip
def test_invalid_values_get_the_rules_message_and_change_nothing(
    web: Web, people: dict[str, tuple[FlaskClient, str]], path: str, body: Any, message: str
) -> None:
    before = switch(web, "agent list"), switch(web, "tier list"), switch(web, "queue list")
    reply = call(people["engineer"], "POST", path, body)
    assert reply.status_code == 400, reply.get_json()
    assert message in reply.get_json()["error"]["message"]
    assert (
        switch(web, "agent list"),
        switch(web, "tier list"),
        switch(web, "queue list"),
    ) == before
    wanted = ProvisioningStore(web.deps.sessions).wanted()
    assert "a@default" not in wanted.agents and "q@default" not in wanted.queues


def test_conflicts_and_missing_names(web: Web, people: dict[str, tuple[FlaskClient, str]]) -> None:
    sue = people["supervisor"]
    assert call(sue, "POST", "admin/agents", {"name": "dup@default"}).status_code == 201
    again = call(sue, "POST", "admin/agents", {"name": "dup@default"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "exists"
    assert call(sue, "POST", "admin/agents/nobody@default", {"wrap_up_time": 3}).status_code == 404
    assert call(sue, "DELETE", "admin/agents/nobody@default").status_code == 404
    assert (
        call(sue, "POST", "admin/agents", {"name": "x@default", "user": "ghost"}).status_code == 404
    )


def test_admin_endpoints_are_in_the_openapi_document(web: Web) -> None:
    paths = web.app.test_client().get(f"{API}/openapi.json").get_json()["paths"]
    for method, path, _, _ in MATRIX:
        rule = API + "/" + path.replace("m1@default", "{agent}").replace("m@default", "{queue}")
        assert method.lower() in paths[rule], rule
