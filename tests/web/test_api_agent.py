"""Agent endpoints over a live simulator: what FreeSWITCH ends up with, what the floor
and the reply show, and the errors a browser or an attacker gets."""

from __future__ import annotations

import dataclasses

from esl_controller.store.engine import session_scope
from esl_controller.store.models import AuditEntry
from tests.web.conftest import Web, ring
from tests.wire.conftest import wait_until


def fs_agent(web: Web, name: str):  # type: ignore[no-untyped-def]
    return web.sim.callcenter.tables.agents[name]


def test_login_ready_not_ready_logout(web: Web) -> None:
    http, token = web.login("alice")
    # Signed in to the queues but not ready: On Break "Login", state Waiting.
    assert fs_agent(web, "agent1000").status == "On Break"
    assert fs_agent(web, "agent1000").state == "Waiting"
    status = http.get("/call-center/api/agent/status").get_json()
    assert status["agent"]["pause_reason"] == "Login"

    reply = web.post(http, token, "agent/ready")
    assert reply.status_code == 200
    assert reply.get_json()["agent"]["status"] == "Available"
    assert fs_agent(web, "agent1000").status == "Available"

    reasons = http.get("/call-center/api/pause-reasons").get_json()["items"]
    assert {"code": "lunch", "label": "Lunch"} in reasons
    reply = web.post(http, token, "agent/not-ready", {"reason": "lunch"})
    assert reply.status_code == 200
    assert reply.get_json()["agent"] == reply.get_json()["agent"] | {
        "status": "On Break", "pause_reason": "Lunch"}  # fmt: skip
    assert fs_agent(web, "agent1000").status == "On Break"
    # The original module's clients send the reason's text: its label works, any case.
    assert web.post(http, token, "agent/ready").status_code == 200
    reply = web.post(http, token, "agent/not-ready", {"reason": "Break"})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["agent"]["pause_reason"] == "Break"
    reply = web.post(http, token, "agent/not-ready", {"reason": "TRAINING"})
    assert reply.get_json()["agent"]["pause_reason"] == "Training"
    unknown = web.post(http, token, "agent/not-ready", {"reason": "Nap"})
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (400, "unknown_reason")

    cookie = http.get_cookie("callcenter_session")
    assert cookie is not None
    assert web.post(http, token, "agent/logout").status_code == 200
    assert fs_agent(web, "agent1000").status == "Logged Out"
    assert http.get("/call-center/api/agent/status").status_code == 401
    # A copy of the old cookie does not bring the session back.
    replay = web.app.test_client()
    replay.set_cookie("callcenter_session", cookie.value)
    assert replay.get("/call-center/api/agent/status").status_code == 401


def test_sign_in_errors_and_rate_limit(web: Web) -> None:
    http = web.app.test_client()
    bad = http.post("/call-center/api/agent/login", json={"username": "alice", "password": "x"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "bad_credentials"
    assert fs_agent(web, "agent1000").status == "Logged Out"  # nothing sent to FreeSWITCH
    for _ in range(4):
        http.post("/call-center/api/agent/login", json={"username": "alice", "password": "y"})
    limited = http.post("/call-center/api/agent/login",
                        json={"username": "alice", "password": "alice-password"})  # fmt: skip
    assert limited.status_code == 429  # even the right password waits out the window
    assert int(limited.headers["Retry-After"]) > 0
    assert http.post("/call-center/api/agent/login", data="not json").status_code == 400
    extra = http.post("/call-center/api/agent/login",
                      json={"username": "bob", "password": "b", "admin": True})  # fmt: skip
    assert extra.status_code == 400 and "admin" in extra.get_json()["error"]["message"]


def test_csrf_and_roles(web: Web) -> None:
    http, token = web.login("alice")
    no_token = http.post("/call-center/api/agent/ready")
    assert no_token.status_code == 403 and no_token.get_json()["error"]["code"] == "csrf_failed"
    assert fs_agent(web, "agent1000").status == "On Break"  # the forged request did nothing
    # An agent is refused every supervisor endpoint.
    assert http.get("/call-center/api/floor").status_code == 403
    forced = web.post(http, token, "supervisor/agent/agent1001/status", {"status": "Available"})
    assert forced.status_code == 403
    assert fs_agent(web, "agent1001").status == "Logged Out"
    anonymous = web.app.test_client()
    assert anonymous.get("/call-center/api/agent/status").status_code == 401
    assert anonymous.get("/agent").status_code == 302  # pages send you to sign in

    sup, sup_token = web.login("sue")
    floor = sup.get("/call-center/api/floor").get_json()
    assert {q["name"] for q in floor["queues"]} >= {"support@default", "sales@default"}
    reply = web.post(sup, sup_token, "supervisor/agent/agent1001/status", {"status": "On Break"})
    assert reply.status_code == 200
    assert fs_agent(web, "agent1001").status == "On Break"
    # A supervisor is not an agent: agent endpoints say so.
    assert web.post(sup, sup_token, "agent/ready").get_json()["error"]["code"] == "not_an_agent"
    assert web.recorder.drained(timeout=5)
    with session_scope(web.deps.sessions) as session:
        entry = session.query(AuditEntry).filter_by(action="force_status").one()
        assert (entry.actor, entry.target, entry.outcome) == ("sue", "agent1001", "ok")


def test_injection_attempts_are_refused_before_freeswitch(web: Web) -> None:
    http, token = web.login("alice")
    attempts = [
        ("agent/not-ready", {"reason": "lunch\r\n\r\napi hupall"}),
        ("agent/not-ready", {"reason": "${system(id)}"}),
        ("call/transfer", {"destination": "9664\napi hupall", "mode": "blind"}),
        ("call/transfer", {"destination": "${x}", "mode": "attended"}),
        ("call/dial", {"number": "123 &park()"}),
        ("call/dtmf", {"digits": "1'2"}),
        ("agent/wrap-up", {"disposition": "resolved\r\n", "notes": ""}),
        ("supervisor/agent/agent1000%0d%0aapi%20hupall/status", {"status": "Available"}),
    ]
    for path, body in attempts:
        reply = web.post(http, token, path, body)
        assert 400 <= reply.status_code < 500, (path, reply.status_code)
        assert "error" in reply.get_json()
    assert fs_agent(web, "agent1000").status == "On Break"
    assert wait_until(lambda: web.client.health.connected, 2)


def test_freeswitch_down_is_503_and_the_link_comes_back(web: Web) -> None:
    http, token = web.login("alice")
    web.sim.stop()
    assert wait_until(lambda: not web.client.health.connected)
    reply = web.post(http, token, "agent/ready")
    assert reply.status_code == 503
    assert reply.get_json()["error"]["code"].startswith("freeswitch_")
    assert web.app.test_client().get("/health").status_code == 503
    web.sim.start()
    assert wait_until(lambda: web.client.health.connected, 15)
    assert wait_until(lambda: web.post(http, token, "agent/ready").status_code == 200, 10)


def test_phone_going_offline_pauses_an_available_agent(web: Web) -> None:
    web.sim.execute_api("sim_phone 1000 register")
    http, token = web.login("alice")
    assert web.post(http, token, "agent/ready").status_code == 200
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].phone_online is True)
    web.sim.execute_api("sim_phone 1000 unregister")  # the softphone's tab closed
    assert wait_until(lambda: fs_agent(web, "agent1000").status == "On Break")
    status = http.get("/call-center/api/agent/status").get_json()["agent"]
    assert (status["status"], status["pause_reason"]) == ("On Break", "Phone offline")
    # An agent already on break stays as it was when its phone comes and goes.
    web.sim.execute_api("sim_phone 1000 register")
    web.sim.execute_api("sim_phone 1000 unregister")
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].phone_online is False)
    assert web.floor.snapshot().agents["agent1000"].pause_reason == "Phone offline"


def test_sip_credentials_go_only_to_their_own_agent(web: Web) -> None:
    from esl_controller.services.users import sip_ha1

    web.deps.settings = dataclasses.replace(web.deps.settings, sip_wss_url="wss://sip.test:7443")
    alice, _ = web.login("alice")
    bob, _ = web.login("bob")
    mine = alice.get("/call-center/api/agent/sip-credentials").get_json()
    assert mine["uri"] == "sip:1000@127.0.0.1" and mine["wss_url"] == "wss://sip.test:7443"
    assert mine["ha1"] == sip_ha1("1000", "127.0.0.1", "alice-sip-secret")
    assert "password" not in str(mine).lower()
    assert bob.get("/call-center/api/agent/sip-credentials").get_json()["ha1"] == sip_ha1(
        "1001", "127.0.0.1", "bob-sip-secret")  # fmt: skip
    assert web.app.test_client().get("/call-center/api/agent/sip-credentials").status_code == 401


def test_behind_a_proxy_the_login_limit_counts_client_addresses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import build_web, stop_web

    web = build_web(f"sqlite:///{tmp_path / 'cc.db'}", proxies=1)
    try:
        http = web.app.test_client()

        def attempt(address: str, password: str = "wrong-one") -> int:
            reply = http.post("/call-center/api/agent/login",
                              json={"username": "alice", "password": password},
                              headers={"X-Forwarded-For": address})  # fmt: skip
            return int(reply.status_code)

        assert [attempt("198.51.100.7") for _ in range(5)] == [401] * 5
        assert attempt("198.51.100.7") == 429
        # Another client behind the same proxy is not locked out by that one's address,
        # though the user name itself is (it was guessed at 5 times).
        assert attempt("203.0.113.9", "alice-password") == 429
        web.deps.extra["login_limiter"].succeeded("user:alice")  # type: ignore[attr-defined]
        assert attempt("203.0.113.9", "alice-password") == 200
    finally:
        stop_web(web)


def test_supervisor_tier_changes_and_listen_in_are_audited(web: Web) -> None:
    web.sim.execute_api("sim_phone 1003 register")
    web.sim.execute_api("sim_phone 1003 answer 0.2")  # the supervisor's own phone
    sup, token = web.login("sue")
    reply = web.post(sup, token, "supervisor/tier",
                     {"queue": "sales@default", "agent": "agent1000", "level": 2})  # fmt: skip
    assert reply.status_code == 200
    assert web.sim.callcenter.tables.tier("sales@default", "agent1000").level == 2  # type: ignore[union-attr]
    removed = web.post(sup, token, "supervisor/tier/remove",
                       {"queue": "sales@default", "agent": "agent1000"})  # fmt: skip
    assert removed.status_code == 200
    assert web.sim.callcenter.tables.tier("sales@default", "agent1000") is None
    # Listening in needs a call to listen to: a clear 404 and an audited failure.
    missing = web.post(sup, token, "supervisor/eavesdrop", {"agent": "agent1000"})
    assert missing.status_code == 404
    # A call: alice answers one, sue listens from her phone.
    alice, alice_token = web.login("alice")
    web.post(alice, alice_token, "agent/ready")
    ring(web, "1000", "answer 0.2")
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in web.floor.snapshot().calls.values()), 15)  # fmt: skip
    listen = web.post(sup, token, "supervisor/eavesdrop", {"agent": "agent1000", "mode": "barge"})
    assert listen.status_code == 200, listen.get_json()
    spy = listen.get_json()["call_uuid"]
    assert wait_until(lambda: web.sim.core.engine.get(spy) is not None)
    assert web.recorder.drained(timeout=5)
    with session_scope(web.deps.sessions) as session:
        rows = [(a.actor, a.action, a.target, a.outcome.split(":")[0])
                for a in session.query(AuditEntry).order_by(AuditEntry.id)]  # fmt: skip
    assert rows == [("sue", "tier_add", "agent1000", "ok"),
                    ("sue", "tier_remove", "agent1000", "ok"),
                    ("sue", "eavesdrop_listen", "agent1000", "failed"),
                    ("sue", "eavesdrop_barge", "agent1000", "ok")]  # fmt: skip


def form_login(web: Web, query: str) -> tuple[int, str]:
    """Sign in through the /login form with ``query``; the status and where it goes."""
    http = web.app.test_client()
    page = http.get(f"/login?{query}")
    assert page.status_code == 200
    with http.session_transaction() as session:
        token = session["csrf"]
    reply = http.post(f"/login?{query}", data={"username": "sue", "password": "sue-password",
                                               "csrf_token": token})  # fmt: skip
    return reply.status_code, reply.headers.get("Location", "")


def test_sign_in_redirects_only_to_a_path_on_this_site(web: Web) -> None:
    # Browsers drop tabs and newlines inside URLs and read "\" as "/": each of these
    # would leave the site (or, with a newline, broke the redirect with a 500).
    hostile_targets = (
        "next=/%09/evil.example", "next=/%0A/x", "next=/%0D%0A/evil.example",
        "next=//evil.example", "next=/%5Cevil.example", "next=https://evil.example",
        "next=/%00/x", "next=javascript:alert(1)", "next=%2F%2Fevil.example",
    )  # fmt: skip
    for hostile in hostile_targets:
        status, location = form_login(web, hostile)
        assert status == 302, (hostile, status)
        assert location == "/supervisor", (hostile, location)
    # A local path survives, normalised (no way to smuggle "//" through dot segments).
    assert form_login(web, "next=/supervisor%3Ftab%3Dqueues") == (302, "/supervisor?tab=queues")
    assert form_login(web, "next=/.//evil.example")[1] == "/evil.example"
    assert form_login(web, "next=/wallboard/../supervisor")[1] == "/supervisor"


def test_transfer_targets_list_colleagues_with_their_live_status(web) -> None:  # type: ignore[no-untyped-def]
    http, token = web.login("alice")
    bob, bob_token = web.login("bob")
    assert web.post(bob, bob_token, "agent/ready").status_code == 200
    items = http.get("/call-center/api/transfer-targets").get_json()["items"]
    by_extension = {item["extension"]: item for item in items}
    assert "1000" not in by_extension  # not herself
    assert (by_extension["1001"]["agent"], by_extension["1001"]["status"]) == (
        "agent1001", "Available",
    )  # fmt: skip
    assert by_extension["1003"]["agent"] is None  # sue: a supervisor, no agent
