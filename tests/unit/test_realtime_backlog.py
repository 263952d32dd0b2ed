"""The publisher under a backlog (the floor made changes faster than they went out): the
changes waiting are merged, so each agent's page gets its agent's newest view once rather
than every step on the way, while every event (a call that ended, a notice) still goes,
in order, after the state it followed. Without a backlog every change goes as it is."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any, cast

from dashboard import events as ev
from dashboard.deps import Dependencies
from dashboard.realtime import Publisher
from esl_controller.domain.model import AgentView, CallView, Change, Notice
from tests.wire.conftest import wait_until

AGENTS = [f"agent{1000 + i}" for i in range(20)]
ROUNDS = 50


class Emits:
    """What the publisher sees as its SocketIO: every emit, by room."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], list[str]]] = []

    def emit(self, name: str, payload: dict[str, Any], to: str | list[str] | None = None,
             **_: Any) -> None:  # fmt: skip
        rooms = [to] if isinstance(to, str) else list(to or [])
        self.sent.append((name, payload, rooms))

    def to_room(self, room: str) -> list[tuple[str, dict[str, Any]]]:
        return [(name, payload) for name, payload, rooms in self.sent if room in rooms]


def an_agent(name: str, answered: int) -> AgentView:
    return AgentView(name=name, status="Available", state="Waiting", status_since=None,
                     state_since=None, pause_reason=None, call_uuid=None, queue=None,
                     phone_online=True, missed_in_a_row=0, calls_answered=answered,
                     last_call_ended_at=None, wrap_up_time=10)  # fmt: skip


def a_call(uuid: str, agent: str | None, **changed: Any) -> CallView:
    call = CallView(uuid=uuid, direction="inbound", queue="support@default", member_uuid=uuid,
                    agent=agent, agent_leg=None, cid_name="Ann", cid_number="5550001",
                    joined_at=1_800_000_000.0, offered_at=None, answered_at=None,
                    held_since=None, hold_seconds=0.0, transferred_at=None, ended_at=None,
                    cause=None, outcome=None)  # fmt: skip
    return dataclasses.replace(call, **changed)


def publisher_of(emits: Emits) -> Publisher:
    # No client is connected: nothing asks for a snapshot, only the link banner's health.
    link = SimpleNamespace(connected=True, state="connected", since=0.0)
    deps = cast(Dependencies, SimpleNamespace(health=lambda: link))
    return Publisher(emits, deps, batch_interval=0.005)


def test_a_backlog_reaches_each_page_as_the_newest_view_once_and_every_event_in_order() -> None:
    emits = Emits()
    publisher = publisher_of(emits)
    first, second = AGENTS[0], AGENTS[1]
    # The backlog: ROUNDS changes of every agent, one list per ESL event as the floor hands
    # them over, all waiting before the publisher gets to run. Among them a caller who
    # gave up in the queue every round (an event for supervisors), a notice to the first
    # agent every 10 rounds, and a call of the second agent answered, ended and (the uuid
    # used again) offered anew.
    for n in range(ROUNDS):
        for name in AGENTS:
            publisher.on_changes([Change("agent", name, an_agent(name, n))])
        gone = a_call(f"gone{n}", None, ended_at=1_800_000_100.0 + n)
        publisher.on_changes([Change("call_ended", gone.uuid, gone)])
        if n % 10 == 4:
            publisher.on_changes([Change("notice", first, Notice(first, f"notice {n}", 0.0))])
        if n == 20:
            publisher.on_changes([Change("call", "c1", a_call("c1", second))])
            publisher.on_changes([Change("call", "c1", a_call("c1", second, answered_at=1.0))])
        if n == 30:
            ended = a_call("c1", second, answered_at=1.0, ended_at=2.0, outcome="answered")
            publisher.on_changes([Change("call_ended", "c1", ended)])
        if n == 40:
            publisher.on_changes([Change("call", "c1", a_call("c1", second, cid_number="5550002"))])
    publisher.start()
    try:
        last_gone = f"gone{ROUNDS - 1}"

        def all_out() -> bool:
            ended = [c["uuid"] for name, batch in emits.to_room(ev.SUPERVISORS)
                     if name == ev.FLOOR_BATCH for c in batch["ended"]]  # fmt: skip
            return publisher.backlog() == 0 and last_gone in ended

        assert wait_until(all_out, 10)
    finally:
        publisher.stop()

    newest = ROUNDS - 1
    # Every page but the first two: its agent's newest view, once.
    for name in AGENTS[2:]:
        page = emits.to_room(ev.agent_room(name))
        assert [(n, p["name"], p["calls_answered"]) for n, p in page] == [("agent", name, newest)]

    # The first agent's page: each notice in order, after the view it was made in (the
    # rounds before it merged into one), and the newest view last.
    page = emits.to_room(ev.agent_room(first))
    seen = [(n, p["calls_answered"] if n == "agent" else p["text"]) for n, p in page]
    assert seen == [("agent", 4), ("notice", "notice 4"), ("agent", 14), ("notice", "notice 14"),
                    ("agent", 24), ("notice", "notice 24"), ("agent", 34), ("notice", "notice 34"),
                    ("agent", 44), ("notice", "notice 44"), ("agent", newest)]  # fmt: skip

    # The second agent's page: its view as the call ended, the call as answered (offered
    # merged into it), its end; then the agent's newest view (in the place of its first
    # change after the end) and the uuid's new call.
    page = emits.to_room(ev.agent_room(second))
    steps = [(n, p["calls_answered"]) if n == "agent" else
             (n, p["uuid"], p["answered_at"], p["cid_number"]) for n, p in page]  # fmt: skip
    assert steps == [("agent", 30), ("call", "c1", 1.0, "5550001"),
                     ("call_ended", "c1", 1.0, "5550001"), ("agent", newest),
                     ("call", "c1", None, "5550002")]  # fmt: skip

    # Supervisors: every call that ended, in order; each agent last seen as it is now.
    batches = [p for n, p in emits.to_room(ev.SUPERVISORS) if n == ev.FLOOR_BATCH]
    gone_in_order = [c["uuid"] for b in batches for c in b["ended"] if c["uuid"] != "c1"]
    assert gone_in_order == [f"gone{n}" for n in range(ROUNDS)]
    latest = {a["name"]: a["calls_answered"] for batch in batches for a in batch["agents"]}
    assert latest == dict.fromkeys(AGENTS, newest)
    notices = [p["text"] for n, p in emits.to_room(ev.SUPERVISORS) if n == ev.NOTICE]
    assert notices == [f"notice {n}" for n in range(4, ROUNDS, 10)]


def test_without_a_backlog_every_change_goes_as_it_is() -> None:
    emits = Emits()
    publisher = publisher_of(emits)
    publisher.start()
    name = AGENTS[0]
    try:
        # One ESL event's changes at a time, each list out before the next comes.
        for n in range(5):
            publisher.on_changes([Change("agent", name, an_agent(name, n)),
                                  Change("agent", name, an_agent(name, 10 + n))])  # fmt: skip
            assert wait_until(lambda: publisher.backlog() == 0, 10)
    finally:
        publisher.stop()
    page = emits.to_room(ev.agent_room(name))
    assert [p["calls_answered"] for _, p in page] == [0, 10, 1, 11, 2, 12, 3, 13, 4, 14]


def test_nothing_merges_across_a_resync_snapshot() -> None:
    emits = Emits()
    publisher = publisher_of(emits)
    name = AGENTS[0]
    # A backlog with a resync in it: the state before the snapshot still goes (the split
    # roles' pages get their snapshot by another way), the one after it goes after it.
    publisher.on_changes([Change("agent", name, an_agent(name, 1))])
    publisher.on_changes([Change("agent", name, an_agent(name, 2)),
                          Change("snapshot", "floor", None)])  # fmt: skip
    publisher.on_changes([Change("agent", name, an_agent(name, 3))])
    publisher.on_changes([Change("agent", name, an_agent(name, 4))])
    publisher.start()
    try:
        assert wait_until(lambda: publisher.backlog() == 0, 10)
    finally:
        publisher.stop()
    page = emits.to_room(ev.agent_room(name))
    assert [p["calls_answered"] for _, p in page] == [2, 4]


def test_a_long_list_of_changes_merges_like_a_backlog() -> None:
    emits = Emits()
    publisher = publisher_of(emits)
    publisher.start()
    first, second = AGENTS[0], AGENTS[1]
    try:
        # One list of 150 changes (a resync's has several per agent), nothing else waiting.
        publisher.on_changes([Change("agent", name, an_agent(name, n))
                              for n in range(75) for name in (first, second)])  # fmt: skip
        assert wait_until(lambda: publisher.backlog() == 0, 10)
    finally:
        publisher.stop()
    for name in (first, second):
        page = emits.to_room(ev.agent_room(name))
        assert [p["calls_answered"] for _, p in page] == [74]
