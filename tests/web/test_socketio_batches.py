"""Supervisors get the floor in coalesced ``floor_batch`` events (one frame per page every
20 ms, not one per change): several quick changes of one agent arrive as its latest view,
a call that ended is never coalesced away, and an agent's own page still gets each of its
changes one by one, in order."""

from __future__ import annotations

import dataclasses
from typing import Any

from dashboard.realtime import Publisher
from esl_controller.domain.model import CallView, Change
from tests.web.conftest import Web
from tests.wire.conftest import wait_until


def connect(web: Web, name: str):  # type: ignore[no-untyped-def]
    http, _ = web.login(name)
    return web.app.extensions["socketio"].test_client(web.app, flask_test_client=http)


def a_call(uuid: str, **changed: Any) -> CallView:
    call = CallView(uuid=uuid, direction="inbound", queue="support@default", member_uuid=uuid,
                    agent="agent1000", agent_leg=None, cid_name="Ann", cid_number="5550001",
                    joined_at=1_800_000_000.0, offered_at=1_800_000_001.0, answered_at=None,
                    held_since=None, hold_seconds=0.0, transferred_at=None, ended_at=None,
                    cause=None, outcome=None)  # fmt: skip
    return dataclasses.replace(call, **changed)


def test_supervisors_get_coalesced_batches_and_the_agent_page_every_change(web: Web) -> None:
    publisher: Publisher = web.app.extensions["callcenter.publisher"]
    alice, bob, sue = connect(web, "alice"), connect(web, "bob"), connect(web, "sue")
    for client in (alice, bob, sue):
        assert client.get_received()[0]["name"] == "snapshot"
    view = web.floor.snapshot().agents["agent1000"]
    reasons = ["Lunch", "Coaching", "Training"]
    # One quick burst (handed over together, as the floor does for one ESL event): three
    # changes of alice's agent, a call offered, answered and ended, and one that ended and
    # came back under the same uuid.
    publisher.on_changes(
        [Change("agent", "agent1000", dataclasses.replace(view, status="On Break",
                                                          pause_reason=r)) for r in reasons]
        + [Change("call", "c1", a_call("c1")),
           Change("call", "c1", a_call("c1", answered_at=1_800_000_003.0)),
           Change("call_ended", "c1", a_call("c1", answered_at=1_800_000_003.0,
                                             ended_at=1_800_000_009.0, outcome="answered")),
           Change("call_ended", "c2", a_call("c2", ended_at=1_800_000_002.0)),
           Change("call", "c2", a_call("c2", cid_number="5550002"))]
    )  # fmt: skip

    sue_seen: list[dict[str, Any]] = []

    def batches() -> list[dict[str, Any]]:
        sue_seen.extend(sue.get_received())
        return [e["args"][0] for e in sue_seen if e["name"] == "floor_batch"]

    def carries_alice(batch: dict[str, Any]) -> bool:
        return any(a["name"] == "agent1000" for a in batch["agents"])

    assert wait_until(lambda: any(carries_alice(b) for b in batches()), 10)
    (batch,) = [b for b in batches() if carries_alice(b)]
    # The supervisor sees where alice's agent is now, once; not the steps on the way.
    (alice_view,) = [a for a in batch["agents"] if a["name"] == "agent1000"]
    assert alice_view["status"] == "On Break" and alice_view["pause_reason"] == "Training"
    # c1 ended: it is in "ended" as it ended, and no longer among the live calls.
    assert [c["uuid"] for c in batch["ended"]] == ["c1", "c2"]
    assert batch["ended"][0]["outcome"] == "answered" and batch["ended"][0]["ended_at"]
    # c2 came back after its end: it is live again (the page removes, then adds).
    assert [(c["uuid"], c["cid_number"]) for c in batch["calls"]] == [("c2", "5550002")]
    # Nothing of this reaches the supervisor's page one by one.
    assert not [e for e in sue_seen if e["name"] in ("agent", "call", "call_ended")]

    # Alice's own page got every change, one event each, in order.
    alice_seen: list[dict[str, Any]] = []

    def alice_events() -> list[tuple[str, Any]]:
        alice_seen.extend(alice.get_received())
        return [(e["name"], e["args"][0]) for e in alice_seen
                if e["name"] in ("agent", "call", "call_ended")]  # fmt: skip

    assert wait_until(lambda: len(alice_events()) >= 8, 10)
    events = alice_events()
    assert [p["pause_reason"] for n, p in events if n == "agent"] == reasons
    assert [(n, p["uuid"]) for n, p in events if n != "agent"] == [
        ("call", "c1"), ("call", "c1"), ("call_ended", "c1"), ("call_ended", "c2"),
        ("call", "c2")]  # fmt: skip
    # Bob's page hears nothing of alice's agent or calls, and gets no batches.
    for event in bob.get_received():
        assert event["name"] != "floor_batch"
        if event["name"] in ("agent", "call", "call_ended"):
            assert event["args"][0].get("name") != "agent1000"
            assert event["args"][0].get("uuid") not in ("c1", "c2")


def test_a_call_ended_before_a_resync_reaches_the_supervisor(web: Web) -> None:
    publisher: Publisher = web.app.extensions["callcenter.publisher"]
    sue = connect(web, "sue")
    sue.get_received()
    # The end and the resync's snapshot in one burst: the snapshot no longer has the call,
    # so the batch with its end goes out first.
    publisher.on_changes([Change("call_ended", "c9", a_call("c9", ended_at=1_800_000_002.0)),
                          Change("snapshot", "floor", web.floor.snapshot())])  # fmt: skip
    seen: list[dict[str, Any]] = []

    def floor_events() -> list[dict[str, Any]]:
        seen.extend(sue.get_received())
        return [e for e in seen if e["name"] in ("floor_batch", "snapshot")]

    assert wait_until(lambda: any(e["name"] == "snapshot" for e in floor_events()), 10)
    first = floor_events()[0]
    assert first["name"] == "floor_batch"
    assert [c["uuid"] for c in first["args"][0]["ended"]] == ["c9"]
