"""The supervisor console's API over the live simulator: only supervisors get in (an agent
is answered 403 on every supervisor endpoint), every action is audited with who, what, on
whom and the outcome, FreeSWITCH's refusals come back as clear 4xx messages, and changes
reach the pages by push (tiers to supervisors, messages to the agent's page)."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Web, build_web, ring, stop_web
from tests.wire.conftest import wait_until

API = "/call-center/api"


def audit(web: Web, http: Any) -> list[dict[str, Any]]:
    reply = http.get(f"{API}/audit?limit=200")
    assert reply.status_code == 200, reply.get_json()
    return list(reversed(reply.get_json()["entries"]))  # oldest first


def test_an_agent_is_refused_every_supervisor_endpoint(web: Web) -> None:
    alice, token = web.login("alice")
    docs = web.app.extensions["callcenter.api"].docs
    guarded = [d for d in docs if d.role in ("supervisor", "engineer")]
    paths = {d.rule for d in guarded}
    # The console's own endpoints are among them (a new one cannot slip in unguarded).
    console = ("/supervisor/console", "/supervisor/tier/move", "/supervisor/tier/set",
               "/supervisor/agent/<agent>/message", "/supervisor/eavesdrop/<leg>/mode",
               "/supervisor/eavesdrop/<leg>/stop", "/supervisor/eavesdrop", "/audit")  # fmt: skip
    for rule in console:
        assert rule in paths, rule
    for doc in guarded:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: {"leg": "6f1c2b7e-0d4a-4f3b-9a55-"
                      "1f2e3d4c5b6a"}.get(m.group(1), "agent1001"), doc.rule)  # fmt: skip
        if doc.method == "GET":
            reply = alice.get(API + path)
        else:
            reply = alice.open(API + path, method=doc.method, json={},
                               headers={"X-CSRF-Token": token})  # fmt: skip
        assert reply.status_code == 403, (doc.method, doc.rule, reply.status_code)
        assert reply.get_json()["error"]["code"], doc.rule
    # Nothing an agent tried was done: bob is still as he was, no message went out.
    assert web.floor.snapshot().agents["agent1001"].status == "Logged Out"


def test_console_gives_names_queue_settings_tiers_and_thresholds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    web = build_web(f"sqlite:///{tmp_path / 'cc.db'}", supervisor_long_call=300,
                    supervisor_long_pause=120)  # fmt: skip
    try:
        sue, _ = web.login("sue")
        reply = sue.get(f"{API}/supervisor/console")
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        assert (body["long_call_seconds"], body["long_pause_seconds"]) == (300, 120)
        people = {p["agent"]: p for p in body["people"]}
        assert people["agent1000"]["display_name"] == "Alice"
        assert people["agent1000"]["extension"] == "1000"
        queues = {q["name"]: q for q in body["queues"]}
        assert queues["support@default"]["strategy"] == "longest-idle-agent"
        assert queues["sales@default"]["strategy"] == "ring-all"
        tiers = {(t["queue"], t["agent"]): t for t in body["tiers"]}
        assert tiers[("support@default", "agent1000")]["position"] == 1
        assert ("sales@default", "agent1000") not in tiers
        assert body["answered_offset"]["agent1000"] == 0
        assert body["pause_reasons"] and body["eavesdrops"] == []
    finally:
        stop_web(web)


def test_forcing_status_and_state_is_audited_and_refusals_are_clear(web: Web) -> None:
    sue, token = web.login("sue")
    alice, alice_token = web.login("alice")  # signs agent1000 in (On Break "Login")
    reply = web.post(sue, token, "supervisor/agent/agent1000/status",
                     {"status": "On Break", "reason": "Coaching"})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    assert wait_until(lambda: web.floor.snapshot().agents["agent1000"].pause_reason == "Coaching")
    assert alice.get(f"{API}/agent/status").get_json()["agent"]["pause_reason"] == "Coaching"
    assert web.post(sue, token, "supervisor/agent/agent1000/state",
                    {"state": "Idle"}).status_code == 200  # fmt: skip
    assert web.post(sue, token, "supervisor/agent/agent1001/status",
                    {"status": "Logged Out"}).status_code == 200  # fmt: skip
    # FreeSWITCH refuses: no such agent. A clear message, never a 500.
    missing = web.post(sue, token, "supervisor/agent/nobody/status", {"status": "Available"})
    assert missing.status_code == 404
    assert "not found" in missing.get_json()["error"]["message"].lower()
    bad = web.post(sue, token, "supervisor/agent/agent1000/status",
                   {"status": "On Break", "reason": "two\nlines"})  # fmt: skip
    assert bad.status_code == 400
    rows = [(e["actor"], e["action"], e["target"], e["outcome"].split(":")[0])
            for e in audit(web, sue)]  # fmt: skip
    assert rows == [
        ("sue", "force_status", "agent1000", "ok"),
        ("sue", "force_state", "agent1000", "ok"),
        ("sue", "force_status", "agent1001", "ok"),
        ("sue", "force_status", "nobody", "failed"),
    ]
    entries = audit(web, sue)
    assert entries[0]["details"] == {"status": "On Break", "reason": "Coaching"}
    assert entries[3]["outcome"] == "failed: not_found" and entries[3]["details"]["error"]
    # The agent sees who logged them out.
    assert web.floor.snapshot().agents["agent1001"].pause_reason == "Supervisor: sue"


def test_moving_an_agent_between_queues_and_setting_its_place(web: Web) -> None:
    socketio = web.app.extensions["socketio"]
    sue, token = web.login("sue")
    watcher = socketio.test_client(web.app, flask_test_client=sue)
    watcher.get_received()
    reply = web.post(sue, token, "supervisor/tier/move",
                     {"agent": "agent1000", "from_queue": "support@default",
                      "to_queue": "sales@default", "level": 2, "position": 7})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    items = {(t["queue"], t["agent"]): t for t in reply.get_json()["items"]}
    assert ("support@default", "agent1000") not in items
    assert (items[("sales@default", "agent1000")]["level"],
            items[("sales@default", "agent1000")]["position"]) == (2, 7)  # fmt: skip
    tables = web.sim.callcenter.tables
    assert tables.tier("support@default", "agent1000") is None
    assert tables.tier("sales@default", "agent1000").level == 2  # type: ignore[union-attr]
    # Every supervisor page hears of it (no polling).
    pushed = [e for e in watcher.get_received() if e["name"] == "tiers"]
    assert pushed and any(t["agent"] == "agent1000" and t["queue"] == "sales@default"
                          for t in pushed[-1]["args"][0]["items"])  # fmt: skip
    # The product keeps it (provisioning puts it back after a restart).
    wanted = web.deps.supervisor.tiers.wanted()  # type: ignore[union-attr]
    assert wanted.tiers.get(("sales@default", "agent1000")) == (2, 7)
    assert ("support@default", "agent1000") not in wanted.tiers
    # Level and position in place.
    again = web.post(sue, token, "supervisor/tier/set",
                     {"queue": "sales@default", "agent": "agent1000", "position": 3})  # fmt: skip
    assert again.status_code == 200
    assert tables.tier("sales@default", "agent1000").position == 3  # type: ignore[union-attr]
    nothing = {"queue": "sales@default", "agent": "agent1000"}
    assert web.post(sue, token, "supervisor/tier/set", nothing).status_code == 400
    # FreeSWITCH refuses a queue it does not have: a clear 4xx, the agent left where it was.
    refused = web.post(sue, token, "supervisor/tier/move",
                       {"agent": "agent1000", "from_queue": "sales@default",
                        "to_queue": "nowhere@default"})  # fmt: skip
    assert 400 <= refused.status_code < 500
    assert refused.get_json()["error"]["message"]
    assert tables.tier("sales@default", "agent1000") is not None
    rows = [(e["action"], e["target"], e["outcome"].split(":")[0], e["details"].get("to"))
            for e in audit(web, sue)]  # fmt: skip
    assert rows == [
        ("tier_move", "agent1000", "ok", "sales@default"),
        ("tier_set", "agent1000", "ok", None),
        ("tier_move", "agent1000", "failed", "nowhere@default"),
    ]


def test_listen_then_whisper_then_barge_then_hang_up(web: Web) -> None:
    web.sim.execute_api("sim_phone 1003 register")
    web.sim.execute_api("sim_phone 1003 answer 0.2")  # the supervisor's own phone
    sue, token = web.login("sue")
    alice, alice_token = web.login("alice")
    web.post(alice, alice_token, "agent/ready")
    ring(web, "1000", "answer 0.2")
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in web.floor.snapshot().calls.values()), 15)  # fmt: skip
    listen = web.post(sue, token, "supervisor/eavesdrop", {"agent": "agent1000"})
    assert listen.status_code == 200, listen.get_json()
    leg = listen.get_json()["call_uuid"]

    def mode() -> str:
        return str(web.sim.execute_api(f"uuid_getvar {leg} eavesdrop_mode"))

    assert wait_until(lambda: mode() == "listen")
    mine = sue.get(f"{API}/supervisor/eavesdrop").get_json()["items"]
    assert [(e["uuid"], e["agent"], e["mode"]) for e in mine] == [(leg, "agent1000", "listen")]
    for wanted in ("whisper", "barge", "listen"):
        reply = web.post(sue, token, f"supervisor/eavesdrop/{leg}/mode", {"mode": wanted})
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json()["mode"] == wanted
        assert wait_until(lambda w=wanted: mode() == w), wanted  # type: ignore[misc]
    # Another supervisor's leg is not this one's to switch.
    assert web.post(sue, token, "supervisor/eavesdrop/6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a/mode",
                    {"mode": "barge"}).status_code == 404  # fmt: skip
    assert web.post(sue, token, f"supervisor/eavesdrop/{leg}/mode",
                    {"mode": "shout"}).status_code == 400  # fmt: skip
    assert web.post(sue, token, f"supervisor/eavesdrop/{leg}/stop").status_code == 200
    assert wait_until(lambda: web.sim.core.engine.get(leg) is None)
    # The agent's call goes on without the supervisor.
    assert any(c.agent == "agent1000" for c in web.floor.snapshot().calls.values())
    assert sue.get(f"{API}/supervisor/eavesdrop").get_json()["items"] == []
    rows = [(e["action"], e["target"], e["outcome"], (e["details"] or {}).get("mode"))
            for e in audit(web, sue)]  # fmt: skip
    assert rows == [
        ("eavesdrop_listen", "agent1000", "ok", "listen"),
        ("eavesdrop_mode", "agent1000", "ok", "whisper"),
        ("eavesdrop_mode", "agent1000", "ok", "barge"),
        ("eavesdrop_mode", "agent1000", "ok", "listen"),
        ("eavesdrop_stop", "agent1000", "ok", None),
    ]


def test_a_message_pops_up_on_the_agent_s_page_only(web: Web) -> None:
    socketio = web.app.extensions["socketio"]
    alice_http, _ = web.login("alice")
    bob_http, _ = web.login("bob")
    alice = socketio.test_client(web.app, flask_test_client=alice_http)
    bob = socketio.test_client(web.app, flask_test_client=bob_http)
    alice.get_received()
    bob.get_received()
    sue, token = web.login("sue")
    reply = web.post(sue, token, "supervisor/agent/agent1000/message",
                     {"text": "  Please take the next VIP call  "})  # fmt: skip
    assert reply.status_code == 200 and reply.get_json()["delivered"] is True
    got = [e["args"][0] for e in alice.get_received() if e["name"] == "agent_message"]
    assert [(m["from"], m["text"], m["agent"]) for m in got] == [
        ("Sue", "Please take the next VIP call", "agent1000")]  # fmt: skip
    assert not [e for e in bob.get_received() if e["name"] == "agent_message"]
    # No page open: said so, still audited.
    alice.disconnect()
    offline = web.post(sue, token, "supervisor/agent/agent1000/message", {"text": "Hello?"})
    assert offline.status_code == 200 and offline.get_json()["delivered"] is False
    # Bounded and one line; an unknown agent is a 404. Never a 500.
    for text, status in (("x" * 281, 400), ("two\nlines", 400), ("bell\x07", 400),
                         ("", 400), ("   ", 400)):  # fmt: skip
        bad = web.post(sue, token, "supervisor/agent/agent1000/message", {"text": text})
        assert bad.status_code == status, (text, bad.get_json())
    assert web.post(sue, token, "supervisor/agent/nobody/message",
                    {"text": "hi"}).status_code == 404  # fmt: skip
    rows = [(e["action"], e["target"], e["outcome"], e["details"]["text"])
            for e in audit(web, sue)]  # fmt: skip
    assert rows == [("message", "agent1000", "ok", "Please take the next VIP call"),
                    ("message", "agent1000", "ok", "Hello?")]  # fmt: skip


def test_queue_numbers_carry_the_queue_threshold_and_hold_time(web: Web) -> None:
    from esl_controller.services.provisioning import Conflict, ProvisioningStore

    store = ProvisioningStore(web.deps.sessions)
    try:
        store.add_queue("support@default", **{"service-level-seconds": 45})
    except Conflict:  # already taken into the database by provisioning
        store.set_queue("support@default", **{"service-level-seconds": 45})
    sue, _ = web.login("sue")
    assert sue.get(f"{API}/supervisor/console").status_code == 200  # refreshes thresholds
    assert wait_until(lambda: web.floor.snapshot().queues["support@default"]
                      .service_level_seconds == 45)  # fmt: skip
    queues = {q["name"]: q for q in sue.get(f"{API}/floor").get_json()["queues"]}
    assert queues["support@default"]["service_level_seconds"] == 45
    assert queues["support@default"]["average_hold_time"] is None  # nothing handled yet
    alice, alice_token = web.login("alice")
    web.post(alice, alice_token, "agent/ready")
    ring(web, "1000", "answer 0.1")
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in web.floor.snapshot().calls.values()), 15)  # fmt: skip
    assert web.post(alice, alice_token, "call/hold").status_code == 200
    assert wait_until(lambda: any(c.held_since for c in web.floor.snapshot().calls.values()))
    assert web.post(alice, alice_token, "call/unhold").status_code == 200
    assert web.post(alice, alice_token, "call/drop").status_code == 200
    assert wait_until(lambda: web.floor.snapshot().queues["support@default"].handled == 1, 15)
    queue = sue.get(f"{API}/floor").get_json()["queues"]
    support = next(q for q in queue if q["name"] == "support@default")
    assert support["average_hold_time"] is not None and support["average_hold_time"] > 0
    assert support["service_level"] == 1.0 and support["waiting_calls"] == []
