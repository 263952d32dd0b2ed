"""The floor reducers fed with what a real FreeSWITCH sent: agents, calls and queue
numbers come out as a supervisor would read them."""

from __future__ import annotations

from esl_controller.domain.floor import Floor
from esl_controller.domain.model import Activity, CallView, Change, PhoneCheck, RegistrationsLeft
from esl_controller.esl.events import PARSERS, parse_event
from esl_controller.esl.frames import FrameDecoder
from esl_controller.esl.typed_events import typed_event
from tests.helpers.fixture_replay import load


def replay(name: str, floor: Floor | None = None) -> tuple[Floor, list[Change]]:
    floor = floor or Floor(service_level_seconds=20)
    changes: list[Change] = []
    for step in load(name).steps:
        if step["dir"] != "recv":
            continue
        for frame in FrameDecoder().feed(step["raw"].encode()):
            if frame.content_type in PARSERS:
                view = typed_event(parse_event(frame.content_type, frame.body))
                if view is not None:
                    changes += floor.apply(view)
    return floor, changes


def ended_calls(changes: list[Change]) -> list[CallView]:
    return [c.view for c in changes if c.kind == "call_ended"]  # type: ignore[misc]


def test_answered_call() -> None:
    floor, changes = replay("call_answered_plain")
    (call,) = ended_calls(changes)
    assert (call.queue, call.agent, call.outcome) == ("support@default", "agent7000", "answered")
    assert (call.cid_name, call.cid_number) == ("Jane\\ Doe", "5551234567")
    assert call.answered_at is not None and call.wait_seconds is not None
    assert call.wait_seconds < 5
    queue = floor.queues["support@default"]
    assert (queue.offered, queue.answered, queue.abandoned, queue.waiting) == (1, 1, 0, ())
    assert queue.service_level == 1.0
    assert queue.average_handle_time is not None and queue.average_handle_time >= 3
    agent = floor.agents["agent7000"]
    assert (agent.status, agent.state, agent.call_uuid) == ("Logged Out", "Waiting", None)
    assert agent.calls_answered == 1
    assert not floor.calls  # nothing left live


def test_abandoned_call() -> None:
    floor, changes = replay("call_abandoned")
    (call,) = ended_calls(changes)
    assert (call.outcome, call.agent, call.answered_at) == ("abandoned", None, None)
    assert call.offered_at is not None
    queue = floor.queues["sales@default"]
    assert (queue.answered, queue.abandoned, queue.service_level) == (0, 1, 0.0)
    assert floor.agents["agent7001"].missed_in_a_row == 0  # the caller left: not a miss


def test_no_answer_puts_the_agent_on_break_and_counts_the_miss() -> None:
    floor, changes = replay("no_answer_to_break")
    agents = [c.view for c in changes if c.kind == "agent" and c.key == "agent7001"]
    statuses = [a.status for a in agents]  # type: ignore[attr-defined]
    assert "On Break" in statuses
    on_break = next(a for a in agents if a.status == "On Break")  # type: ignore[attr-defined]
    assert on_break.missed_in_a_row == 1  # type: ignore[attr-defined]
    (call,) = ended_calls(changes)
    assert call.outcome == "abandoned"


def test_sip_agent_hold_transfer_and_phone() -> None:
    floor, changes = replay("sip_agent_hold_transfer")
    floor_seen = [c.view for c in changes if c.kind == "agent" and c.key == "agent1000"]
    assert any(a.phone_online for a in floor_seen) is False  # no contact known yet
    # With the agent's contact known (as a resync provides it), registration shows.
    floor2 = Floor()
    from esl_controller.esl.typed_events import AgentContactChanged, Meta

    floor2.apply(
        AgentContactChanged(Meta(1, 1.0), "agent1000", "[leg_timeout=10]user/1000@127.0.0.1")
    )
    floor2, changes2 = replay("sip_agent_hold_transfer", floor2)
    phone = [c.view.phone_online for c in changes2 if c.kind == "agent"  # type: ignore[attr-defined]
             and c.key == "agent1000" and c.view.phone_online is not None]  # type: ignore[attr-defined]  # fmt: skip
    assert set(phone) == {True}  # the un-REGISTER alone does not say the phone is gone...
    (check,) = [c.view for c in changes2 if c.kind == "phone_check"]
    assert isinstance(check, PhoneCheck)
    assert (check.agent, check.user, check.domain, check.cause) == (
        "agent1000", "1000", "127.0.0.1", "unregister",
    )  # fmt: skip
    # ... the switch's answer does: no registration of 1000 is left.
    (gone,) = floor2.apply(RegistrationsLeft("1000", check.seq, 0))
    assert gone.view.phone_online is False  # type: ignore[attr-defined]
    (call,) = ended_calls(changes2)
    assert call.outcome == "transferred"
    assert call.hold_seconds > 1.0  # two seconds on hold in the recording


def test_activities_cover_status_and_state_time() -> None:
    _, changes = replay("call_answered_plain")
    acts = [c.view for c in changes if c.kind == "activity"]
    assert acts and all(isinstance(a, Activity) and a.seconds >= 0 for a in acts)
    assert any(a.state == "In a queue call" and a.seconds >= 3 for a in acts)  # type: ignore[attr-defined]


def test_snapshot_is_a_copy() -> None:
    floor, _ = replay("call_answered_plain")
    snap = floor.snapshot()
    floor.agents.clear()
    assert "agent7000" in snap.agents


def test_resync_reads_the_wrap_up_gate_from_the_agent_list() -> None:
    from esl_controller.domain.resync import agent_events

    rows = [{"name": "1000@default", "status": "Available", "state": "Waiting",
             "wrap_up_time": "30", "last_bridge_end": "1000", "last_status_change": "900"},
            {"name": "1001@default", "status": "Available", "state": "Waiting",
             "wrap_up_time": "10", "last_bridge_end": "0"}]  # fmt: skip
    floor = Floor()
    for event in agent_events(rows):
        floor.apply(event)
    busy, idle = floor.snapshot().agents["1000@default"], floor.snapshot().agents["1001@default"]
    assert busy.wrap_up_time == 30 and busy.in_wrap_up(1020.0) and not busy.in_wrap_up(1031.0)
    assert idle.wrap_up_time == 10 and not idle.in_wrap_up(1020.0)  # never bridged
