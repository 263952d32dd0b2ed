"""Socket.IO push: sign-in is checked on connect, a snapshot comes first, then changes;
an agent receives its own calls and never another agent's; supervisors see the floor."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Web, ring
from tests.wire.conftest import wait_until


def connect(web: Web, name: str):  # type: ignore[no-untyped-def]
    http, token = web.login(name)
    socketio = web.app.extensions["socketio"]
    return socketio.test_client(web.app, flask_test_client=http), http, token


def received(client: Any, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen += client.get_received()
    return seen


def test_connect_needs_a_signed_in_user(web: Web) -> None:
    socketio = web.app.extensions["socketio"]
    anonymous = socketio.test_client(web.app, flask_test_client=web.app.test_client())
    assert not anonymous.is_connected()


def test_agent_sees_only_its_own_calls_and_supervisor_sees_all(web: Web) -> None:
    alice, http, token = connect(web, "alice")
    bob, _, _ = connect(web, "bob")
    sue, _, _ = connect(web, "sue")
    first = alice.get_received()
    assert first[0]["name"] == "snapshot"
    snap = first[0]["args"][0]
    assert snap["user"]["username"] == "alice" and snap["agent"]["name"] == "agent1000"
    assert "floor" not in snap  # agents do not get the whole floor
    sue_snap = sue.get_received()[0]["args"][0]
    assert {a["name"] for a in sue_snap["floor"]["agents"]} >= {"agent1000", "agent1001"}
    bob.get_received()

    assert web.post(http, token, "agent/ready").status_code == 200
    ring(web, "1000", "answer 0.3", "5557770000", "Secret")
    alice_seen: list[dict[str, Any]] = []
    assert wait_until(lambda: any(
        e["name"] == "call" and e["args"][0]["cid_number"] == "5557770000"
        and e["args"][0]["answered_at"] for e in received(alice, alice_seen)), 15)  # fmt: skip
    assert any(e["name"] == "agent" and e["args"][0]["status"] == "Available"
               for e in alice_seen)  # fmt: skip
    # The supervisor sees the floor in batches: the call and its queue's numbers.
    sue_seen: list[dict[str, Any]] = []
    assert wait_until(lambda: any(
        e["name"] == "floor_batch" and any(c["cid_number"] == "5557770000"
                                           for c in e["args"][0]["calls"])
        for e in received(sue, sue_seen)), 15)  # fmt: skip
    assert any(e["name"] == "floor_batch" and e["args"][0]["queues"] for e in sue_seen)
    assert not [e for e in sue_seen if e["name"] in ("agent", "call", "queue")]
    for event in bob.get_received():
        assert event["name"] != "call" and event["name"] != "call_ended"
        assert event["args"][0].get("name") != "agent1000"
    # The call ends: alice hears of it too.
    assert web.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: any(e["name"] == "call_ended"
                                  for e in received(alice, alice_seen)))  # fmt: skip


def test_resync_sends_a_fresh_snapshot(web: Web) -> None:
    alice, http, token = connect(web, "alice")
    alice.get_received()
    web.sim.stop()
    seen: list[dict[str, Any]] = []
    assert wait_until(lambda: any(e["name"] == "link" and not e["args"][0]["connected"]
                                  for e in received(alice, seen)))  # fmt: skip
    web.sim.start()
    assert wait_until(lambda: any(e["name"] == "snapshot" for e in received(alice, seen)), 15)
    snapshot = next(e["args"][0] for e in seen if e["name"] == "snapshot")
    assert snapshot["link"]["connected"] and snapshot["agent"]["name"] == "agent1000"
    assert wait_until(lambda: any(e["name"] == "link" and e["args"][0]["connected"]
                                  for e in received(alice, seen)))  # fmt: skip


def test_signing_out_closes_that_session_s_sockets(web: Web) -> None:
    alice, http, token = connect(web, "alice")
    other, _, _ = connect(web, "bob")
    assert alice.is_connected() and other.is_connected()
    assert web.post(http, token, "agent/logout").status_code == 200
    assert wait_until(lambda: not alice.is_connected())
    assert other.is_connected()  # bob's session is his own
