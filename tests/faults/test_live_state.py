"""Fault suite, live half: FreeSWITCH restarts, dropped ESL connections, the resync window
and quick clicks, against the simulator over TCP with the dashboard's real wiring.

Each test checks what a user would see: the agents signed in through the product are
back in the status and with the reason they had, the floor equals what a fresh resync of
the switch reads plus the product's own state, and the history has each call once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import gevent
import gevent.event
import pytest
from sqlalchemy import func, select

from esl_controller.domain.floor import Floor
from esl_controller.domain.resync import agent_events, member_events
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.services.restore import RestoreService
from esl_controller.store.engine import session_scope
from esl_controller.store.models import AgentActivity, Call
from tests.web.conftest import Web, build_web, stop_web
from tests.wire.conftest import wait_until

ALICE, BOB = "agent1000", "agent1001"


@pytest.fixture
def floor_web(tmp_path) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    built = build_web(f"sqlite:///{tmp_path / 'cc.db'}")
    yield built
    stop_web(built)


def status_of(web: Web, agent: str) -> tuple[str, str | None]:
    view = web.floor.snapshot().agents.get(agent)
    return ("missing", None) if view is None else (view.status, view.pause_reason)


def switch_status(web: Web, agent: str) -> str:
    return web.sim.execute_api(f"callcenter_config agent get status {agent}").strip()


def fresh_floor(web: Web) -> Floor:
    """What a brand-new controller would build from the switch's lists right now."""
    agents = replies.json_api(web.client.api(cc.json_query("agent list")))
    queues = replies.json_api(web.client.api(cc.json_query("queue list")))
    members = []
    for queue in queues:
        members += replies.json_api(web.client.api(cc.json_query("queue list members",
                                                                  queue["name"])))  # fmt: skip
    legs = {r["uuid"] for r in replies.show_json(web.client.api(ch.show("channels")))}
    fresh = Floor()
    fresh.reconcile([q["name"] for q in queues], agent_events(agents) + member_events(members),
                    legs, time.time())  # fmt: skip
    return fresh


def assert_floor_matches_switch(web: Web) -> None:
    fresh = fresh_floor(web)
    ours = web.floor.snapshot()
    assert {a: (v.status, v.state) for a, v in ours.agents.items() if a in fresh.agents} == {
        a: (v.status, v.state) for a, v in fresh.agents.items()
    }
    assert set(ours.calls) == set(fresh.calls)
    assert {q: v.waiting for q, v in ours.queues.items()} == {
        q: v.waiting for q, v in fresh.queues.items()
    }


def sign_in_alice_ready_bob_at_lunch(web: Web) -> None:
    for ext in ("1000", "1001"):
        web.sim.execute_api(f"sim_phone {ext} register")
        web.sim.execute_api(f"sim_phone {ext} answer 1")
    alice, alice_token = web.login("alice")
    bob, bob_token = web.login("bob")
    assert web.post(alice, alice_token, "agent/ready").status_code == 200
    reply = web.post(bob, bob_token, "agent/not-ready", {"reason": "lunch"})
    assert reply.status_code == 200, reply.get_json()
    assert status_of(web, ALICE) == ("Available", None)
    assert status_of(web, BOB) == ("On Break", "Lunch")


def history_counts(web: Web) -> dict[str, int]:
    web.recorder.drained(timeout=10)
    with session_scope(web.deps.sessions) as session:
        rows = session.execute(select(Call.call_uuid, func.count()).group_by(Call.call_uuid))
        return {uuid: count for uuid, count in rows}


def test_freeswitch_restarted_20_times_during_traffic(floor_web: Web) -> None:
    """Agents signed in through the product come back as they left, every time: alice
    Ready (and taking calls again), bob On Break for Lunch; no call recorded twice."""
    web = floor_web
    sign_in_alice_ready_bob_at_lunch(web)
    for other in ("agent7000", "agent7001"):  # desk agents outside the product
        web.sim.execute_api(f"callcenter_config agent set status {other} Available")
    web.sim.execute_api("sim_traffic start 120")
    # Alice really takes queue calls: one reaches her and is answered.
    assert wait_until(lambda: web.floor.snapshot().agents[ALICE].calls_answered >= 1, 20)
    restore = web.deps.extra["restore"]
    assert isinstance(restore, RestoreService)
    restore_times = []
    for round_ in range(20):
        gevent.sleep(0.3 * (round_ % 5))  # calls queued, ringing, talking at each restart
        before = restore.restored.count(ALICE)
        web.sim.restart(down=0.2)
        ready = time.monotonic()  # the switch listens again, with every agent Logged Out
        assert wait_until(
            lambda b=before: (
                restore.restored.count(ALICE) > b  # the product put her back
                and status_of(web, ALICE) == ("Available", None)
                and status_of(web, BOB) == ("On Break", "Lunch")
                and switch_status(web, ALICE) == "Available"
                and switch_status(web, BOB) == "On Break"
            ),
            timeout=15,
        ), (round_, status_of(web, ALICE), status_of(web, BOB))
        restore_times.append(time.monotonic() - ready)
    print(f"restore after restart: max {max(restore_times):.2f}s, "
          f"mean {sum(restore_times) / len(restore_times):.2f}s")  # fmt: skip
    web.sim.execute_api("sim_traffic stop")
    web.sim.execute_api("hupall NORMAL_CLEARING")  # callers still queued give up
    assert wait_until(lambda: not web.sim.core.engine.channels, timeout=30)
    assert wait_until(lambda: not web.floor.snapshot().calls, timeout=10)
    assert_floor_matches_switch(web)
    counts = history_counts(web)
    assert counts and all(n == 1 for n in counts.values())
    assert restore.restored.count(BOB) >= 20
    # Callers the switch hung up on its way down (SHUTDOWN first, as a real 1.10.12 does)
    # are lost with it, not abandoned: the queue's abandon rate is not inflated.
    with session_scope(web.deps.sessions) as session:
        outcomes = set(
            session.execute(
                select(Call.outcome).where(Call.hangup_cause == "SYSTEM_SHUTDOWN")
            ).scalars()
        )
    assert outcomes and "abandoned" not in outcomes


def test_esl_connection_dropped_20_times_keeps_calls_and_what_the_product_knows(
    floor_web: Web,
) -> None:
    web = floor_web
    sign_in_alice_ready_bob_at_lunch(web)
    web.sim.execute_api("sim_caller 5000 5551110000 Talking")
    assert wait_until(lambda: any(c.agent == ALICE and c.answered_at
                                  for c in web.floor.snapshot().calls.values()), 15)  # fmt: skip
    (call,) = [c for c in web.floor.snapshot().calls.values() if c.agent == ALICE]
    alice, token = web.login("alice")
    assert web.post(alice, token, "call/hold").status_code == 200
    assert wait_until(lambda: web.floor.snapshot().calls[call.uuid].held_since is not None)
    web.sim.execute_api("sim_caller 5000 5552220000 Queued")  # waits: bob is at lunch
    assert wait_until(lambda: len(web.floor.snapshot().calls) == 2)
    for _ in range(20):
        resyncs = web.floor.resyncs
        web.sim.disconnect_all()
        assert wait_until(lambda r=resyncs: web.floor.resyncs > r, timeout=15)
    snap = web.floor.snapshot()
    assert len(snap.calls) == 2 and snap.calls[call.uuid].held_since is not None
    assert status_of(web, BOB) == ("On Break", "Lunch")
    assert snap.agents[ALICE].phone_online is not False
    assert_floor_matches_switch(web)
    # Nothing was recorded as lost: both calls are still live.
    assert history_counts(web) == {}


def test_a_caller_who_joins_while_the_lists_are_read_is_neither_lost_nor_counted_twice(
    floor_web: Web,
) -> None:
    web = floor_web
    sign_in_alice_ready_bob_at_lunch(web)
    assert web.post(*web.login("alice"), "agent/not-ready", {"reason": "break"}).status_code == 200
    offered = web.floor.snapshot().queues["support@default"].offered
    real_api = web.floor.api
    joined: list[str] = []

    def api_with_a_caller_in_the_window(command: object) -> str:
        if "list members" in str(command) and not joined:
            joined.append(web.sim.execute_api("sim_caller 5000 5553330000 Window"))
            gevent.sleep(0.3)  # its member-queue-start reaches us before the list does
        return real_api(command)

    web.floor.api = api_with_a_caller_in_the_window
    resyncs = web.floor.resyncs
    web.sim.disconnect_all()
    assert wait_until(lambda: web.floor.resyncs > resyncs, timeout=15)
    snap = web.floor.snapshot()
    assert joined
    assert [c.cid_number for c in snap.calls.values()] == ["5553330000"]
    assert snap.queues["support@default"].offered == offered + 1
    assert snap.queues["support@default"].waiting == tuple(snap.calls)
    assert history_counts(web) == {}  # not recorded as lost


def test_the_last_click_wins_over_late_events(floor_web: Web) -> None:
    """A supervisor forces alice On Break; alice clicks Ready then Not Ready (Lunch) at
    once: she ends On Break for Lunch, and each period is recorded with its own reason."""
    web = floor_web
    sign_in_alice_ready_bob_at_lunch(web)
    deps = web.deps
    for _ in range(5):
        deps.supervisor.force_status(ALICE, "On Break", by="sue")
        deps.agents.ready(ALICE)
        deps.agents.not_ready(ALICE, "Lunch")
        assert wait_until(lambda: status_of(web, ALICE) == ("On Break", "Lunch")
                          and not web.floor.floor.intents.get(ALICE))  # fmt: skip
        assert switch_status(web, ALICE) == "On Break"
    # Quick sequences of every kind: the final status and reason are the last command's.
    sequences = [
        [("ready",), ("not_ready", "Break"), ("force", "On Break"), ("ready",)],
        [("not_ready", "Meeting"), ("force", "Logged Out"), ("not_ready", "Training")],
        [("force", "Available"), ("not_ready", "Lunch"), ("not_ready", "Break")],
        [("not_ready", "Break"), ("ready",), ("force", "On Break")],
    ]
    expected = {
        0: ("Available", None),
        1: ("On Break", "Training"),
        2: ("On Break", "Break"),
        3: ("On Break", "Supervisor: sue"),
    }
    for index, sequence in enumerate(sequences):
        for step in sequence:
            if step[0] == "ready":
                deps.agents.ready(ALICE)
            elif step[0] == "not_ready":
                deps.agents.not_ready(ALICE, step[1])
            else:
                deps.supervisor.force_status(ALICE, step[1], by="sue")
        assert wait_until(lambda i=index: status_of(web, ALICE) == expected[i]), (
            index, status_of(web, ALICE),
        )  # fmt: skip
        assert switch_status(web, ALICE) == expected[index][0]
    web.recorder.drained(timeout=10)
    with session_scope(web.deps.sessions) as session:
        reasons = set(session.scalars(
            select(AgentActivity.reason).where(AgentActivity.agent == ALICE,
                                               AgentActivity.status == "On Break")))  # fmt: skip
    assert {"Supervisor: sue", "Lunch", "Break", "Training"} <= reasons


def test_a_failing_reducer_costs_one_event_and_a_stalled_floor_fails_health(
    floor_web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = floor_web
    sign_in_alice_ready_bob_at_lunch(web)
    floor = web.floor.floor
    real_status = floor._status
    broken = []

    def status_once_broken(event):  # type: ignore[no-untyped-def]
        if not broken:
            broken.append(event)
            raise RuntimeError("a reducer bug")
        return real_status(event)

    monkeypatch.setitem(floor._handlers, type(broken_event_type()), status_once_broken)
    web.sim.execute_api("callcenter_config agent set status agent1002 Available")
    web.sim.execute_api("callcenter_config agent set status agent1003 Available")
    # The first event was lost to the bug; the loop went on and applied the next one.
    assert wait_until(lambda: status_of(web, "agent1003") == ("Available", None))
    assert broken and web.floor.failed_events >= 1
    http = web.app.test_client()
    assert http.get("/health").status_code == 200
    # A listener that never returns stalls the owner: /health says so with the reason.
    web.floor.stall_after = 0.5
    stuck = gevent.event.Event()
    web.floor.listeners.insert(0, lambda changes: stuck.wait())
    web.sim.execute_api("callcenter_config agent set status agent1002 'On Break'")
    web.sim.execute_api("callcenter_config agent set status agent1003 'On Break'")
    assert wait_until(lambda: http.get("/health").status_code == 503, timeout=10)
    body = http.get("/health").get_json()
    assert any("applied nothing" in p for p in body["problems"])
    web.floor.listeners.pop(0)
    stuck.set()
    assert wait_until(lambda: http.get("/health").status_code == 200, timeout=10)
    assert status_of(web, "agent1003") == ("On Break", None)


def broken_event_type() -> object:
    from esl_controller.esl.typed_events import AgentStatusChanged, Meta

    return AgentStatusChanged(Meta(None, None), "", "")
