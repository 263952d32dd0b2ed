"""Pure reducer tests for what only the product knows: status intents matched to events in
command order, and a resync reconciled into the floor instead of replacing it."""

from __future__ import annotations

from dataclasses import replace

from esl_controller.domain.floor import Floor
from esl_controller.domain.model import Activity, CallView, Change, Intent
from esl_controller.domain.resync import agent_events, member_events
from esl_controller.esl import typed_events as ev

AGENT = "1000@default"
QUEUE = "support@default"
CHANNEL = dict(
    call_uuid=None, channel_name="sofia/internal/5551234567", direction="inbound",
    answer_state="hangup", call_state="HANGUP", caller_id_name="Jane",
    caller_id_number="5551234567", callee_id_name="", callee_id_number="", destination="5000",
    other_leg_uuid=None, bridge_a=None, bridge_b=None, hangup_cause="NORMAL_CLEARING",
    cc_side=None, cc_queue=None, cc_agent=None, cc_member_session_uuid=None,
    cc_tracked_agent=None, click_to_call_agent=None, click_to_call_number=None,
    consult_call_uuid=None, consult_destination=None, billsec=None, duration=None,
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0
        self.seq = 0

    def meta(self) -> ev.Meta:
        self.t += 1.0
        self.seq += 1
        return ev.Meta(self.seq, self.t)


def status(clock: Clock, value: str) -> ev.AgentStatusChanged:
    return ev.AgentStatusChanged(clock.meta(), AGENT, value)


def intent(floor: Floor, clock: Clock, seq: int, value: str, reason: str | None,
           by: str = "alice", signed_in: bool | None = None) -> list[Change]:  # fmt: skip
    return floor.intend(AGENT, Intent(seq, value, reason, by, clock.t), signed_in)


def activities(changes: list[Change]) -> list[Activity]:
    return [c.view for c in changes if isinstance(c.view, Activity)]


def test_a_late_event_of_an_older_command_cannot_undo_a_newer_one() -> None:
    """A supervisor forces On Break; the agent clicks Ready then Not Ready (Lunch) at once;
    the force's event arrives after both clicks were recorded."""
    floor, clock = Floor(), Clock()
    intent(floor, clock, 1, "On Break", "Supervisor: sue", by="sue", signed_in=True)
    intent(floor, clock, 2, "Available", None)
    intent(floor, clock, 3, "On Break", "Lunch")
    changes = floor.apply(status(clock, "On Break"))
    assert floor.agents[AGENT].pause_reason == "Supervisor: sue"  # the force's own reason
    changes += floor.apply(status(clock, "Available"))
    assert floor.agents[AGENT].pause_reason is None
    changes += floor.apply(status(clock, "On Break"))
    agent = floor.agents[AGENT]
    assert (agent.status, agent.pause_reason) == ("On Break", "Lunch")
    # Each closed stretch carries the reason of its own period.
    assert [(a.status, a.reason) for a in activities(changes)] == [
        ("On Break", "Supervisor: sue"),
        ("Available", None),
    ]
    presence = floor.presence[AGENT]
    assert (presence.status, presence.reason, presence.seq, presence.signed_in) == (
        "On Break", "Lunch", 3, True,
    )  # fmt: skip


def test_a_new_reason_for_the_same_status_closes_the_old_period() -> None:
    floor, clock = Floor(), Clock()
    intent(floor, clock, 1, "On Break", "Lunch", signed_in=True)
    floor.apply(status(clock, "On Break"))
    intent(floor, clock, 2, "On Break", "Meeting")
    changes = floor.apply(status(clock, "On Break"))
    assert floor.agents[AGENT].pause_reason == "Meeting"
    assert [(a.status, a.reason) for a in activities(changes)] == [("On Break", "Lunch")]


def test_a_refused_command_gives_back_the_previous_choice() -> None:
    floor, clock = Floor(), Clock()
    intent(floor, clock, 1, "On Break", "Login", signed_in=True)
    floor.apply(status(clock, "On Break"))
    intent(floor, clock, 2, "Available", None)
    changes = floor.withdraw(AGENT, 2)
    presence = floor.presence[AGENT]
    assert (presence.status, presence.reason, presence.signed_in) == ("On Break", "Login", True)
    assert presence.seq == 2  # newer than the withdrawn write, so the database keeps it
    assert [c.kind for c in changes] == ["presence"]
    assert floor.intents[AGENT] == []


def test_a_change_made_on_the_switch_is_adopted_without_a_reason() -> None:
    floor, clock = Floor(), Clock()
    intent(floor, clock, 1, "Available", None, signed_in=True)
    floor.apply(status(clock, "Available"))
    floor.apply(status(clock, "On Break"))  # fs_cli, or mod_callcenter's max-no-answer
    assert floor.agents[AGENT].pause_reason is None
    assert floor.presence[AGENT].status == "On Break"
    assert floor.presence[AGENT].by == "FreeSWITCH"


def test_a_restart_that_logged_the_agent_out_is_listed_for_restore() -> None:
    floor, clock = Floor(), Clock()
    intent(floor, clock, 1, "On Break", "Lunch", signed_in=True)
    floor.apply(status(clock, "On Break"))
    assert floor.to_restore() == []
    rows = [{"name": AGENT, "status": "Logged Out", "state": "Waiting",
             "last_status_change": "0", "contact": "user/1000"}]  # fmt: skip
    floor.reconcile([QUEUE], agent_events(rows), set(), clock.t)
    (presence,) = floor.to_restore()
    assert (presence.status, presence.reason) == ("On Break", "Lunch")
    # The product's choice survives the resync: the agent signed in, On Break for Lunch.
    assert floor.presence[AGENT].signed_in is True
    intent(floor, clock, 2, "Logged Out", None, signed_in=False)
    assert floor.to_restore() == []


def queue_call(clock: Clock, uuid: str = "caller-1") -> ev.MemberQueueStart:
    member = ev.MemberInfo(QUEUE, f"member-{uuid}", uuid, "Jane", "5551234567")
    return ev.MemberQueueStart(clock.meta(), member, False)


def bridged(clock: Clock, uuid: str = "caller-1", leg: str = "agent-leg-1") -> object:
    member = ev.MemberInfo(QUEUE, f"member-{uuid}", uuid, "Jane", "5551234567")
    return ev.BridgeAgentStart(clock.meta(), member, AGENT, leg, None, clock.t, None)


def member_row(uuid: str, state: str, agent: str = "") -> dict[str, str]:
    return {"queue": QUEUE, "uuid": f"member-{uuid}", "session_uuid": uuid, "state": state,
            "cid_name": "Jane", "cid_number": "5551234567", "joined_epoch": "999",
            "serving_agent": agent, "bridge_epoch": "1001" if agent else "0"}  # fmt: skip


def test_resync_keeps_what_only_the_product_knows() -> None:
    floor, clock = Floor(), Clock()
    intent(floor, clock, 1, "On Break", "Lunch", signed_in=True)
    floor.apply(status(clock, "On Break"))
    floor.apply(queue_call(clock))
    floor.apply(bridged(clock))
    call = floor.calls["caller-1"]
    floor.calls["caller-1"] = replace(call, hold_seconds=12.0, transferred_at=None)
    floor.agents[AGENT] = replace(floor.agents[AGENT], phone_online=True, missed_in_a_row=2)
    agents = [{"name": AGENT, "status": "On Break", "state": "In a queue call",
               "last_status_change": "1002"}]  # fmt: skip
    members = [member_row("caller-1", "Answered", AGENT)]
    changes = floor.reconcile([QUEUE], agent_events(agents) + member_events(members),
                              {"caller-1", "agent-leg-1"}, clock.t)  # fmt: skip
    agent = floor.agents[AGENT]
    assert (agent.pause_reason, agent.phone_online, agent.calls_answered) == ("Lunch", True, 1)
    assert floor.calls["caller-1"].hold_seconds == 12.0
    assert floor.queues[QUEUE].answered == 1  # the resync did not count the call again
    assert not [c for c in changes if c.kind == "call_ended"]


def test_a_call_is_lost_only_when_none_of_its_legs_is_left() -> None:
    floor, clock = Floor(), Clock()
    floor.apply(queue_call(clock, "caller-1"))
    floor.apply(bridged(clock, "caller-1", "leg-1"))
    floor.apply(queue_call(clock, "caller-2"))
    floor.apply(bridged(clock, "caller-2", "leg-2"))
    # mod_callcenter lists neither member any more (its events were lost with the link);
    # FreeSWITCH still has caller-1's agent leg, caller-2 is gone altogether.
    changes = floor.reconcile([QUEUE], [], {"leg-1"}, clock.t)
    ended = [c.view for c in changes if c.kind == "call_ended"]
    assert [(c.uuid, c.outcome) for c in ended] == [("caller-2", "lost")]  # type: ignore[attr-defined]
    assert "caller-1" in floor.calls
    # caller-1 ends when its caller leg hangs up, as answered, not lost.
    hangup = ev.ChannelEvent(clock.meta(), "CHANNEL_HANGUP_COMPLETE", "caller-1", **CHANNEL)
    changes = floor.apply(hangup)
    (done,) = [c.view for c in changes if c.kind == "call_ended"]
    assert isinstance(done, CallView)
    assert (done.outcome, done.cause) == ("answered", "NORMAL_CLEARING")
    assert floor.agents[AGENT].call_uuid is None


def test_a_caller_who_joined_while_the_lists_were_read_is_counted_once() -> None:
    floor, clock = Floor(), Clock()
    joined = queue_call(clock, "caller-9")
    # The list already shows the caller; the buffered live event is applied after it.
    floor.reconcile([QUEUE], member_events([member_row("caller-9", "Waiting")]), {"caller-9"},
                    clock.t)  # fmt: skip
    floor.apply(joined)
    queue = floor.queues[QUEUE]
    assert (queue.offered, queue.waiting) == (1, ("caller-9",))


def left(clock: Clock, uuid: str) -> ev.MemberQueueEnd:
    member = ev.MemberInfo(QUEUE, f"member-{uuid}", uuid, "Jane", "5551234567")
    return ev.MemberQueueEnd(clock.meta(), member, "Cancel", "BREAK_OUT", None, None,
                             None, clock.t, None)  # fmt: skip


def test_callers_hung_up_by_a_switch_shutdown_are_lost_not_abandoned() -> None:
    """A real 1.10.12 on `fsctl shutdown` sends SHUTDOWN, hangs every channel up and ends
    each waiting member as if the caller left (Cancel, BREAK_OUT)."""
    floor, clock = Floor(), Clock()
    floor.apply(queue_call(clock, "caller-1"))
    floor.apply(left(clock, "caller-1"))  # an ordinary caller who gave up
    floor.apply(queue_call(clock, "caller-2"))
    floor.apply(ev.SwitchShutdown(clock.meta()))
    (ended,) = [c.view for c in floor.apply(left(clock, "caller-2")) if c.kind == "call_ended"]
    assert isinstance(ended, CallView)
    assert (ended.outcome, ended.cause) == ("lost", "SYSTEM_SHUTDOWN")
    assert floor.queues[QUEUE].abandoned == 1  # only the caller who really gave up
    # The switch is back (a resync): callers leaving now abandon again.
    floor.reconcile([QUEUE], [], set(), clock.t)
    floor.apply(queue_call(clock, "caller-3"))
    (again,) = [c.view for c in floor.apply(left(clock, "caller-3")) if c.kind == "call_ended"]
    assert isinstance(again, CallView) and again.outcome == "abandoned"


def test_a_resync_reading_an_unchanged_floor_changes_no_agent() -> None:
    """10,000 agents read again after a reconnect: nothing to send to the pages for them."""
    rows = [{"name": f"{1000 + i}@default", "status": "Available", "state": "Waiting",
             "contact": f"user/{1000 + i}@127.0.0.1", "wrap_up_time": "10",
             "last_status_change": "900", "last_bridge_end": "950"} for i in range(3)]  # fmt: skip
    floor = Floor()
    first = floor.reconcile([QUEUE], agent_events(rows), None, 1_000.0)
    assert {c.key for c in first if c.kind == "agent"} == {r["name"] for r in rows}
    assert floor.agents["1001@default"].wrap_up_time == 10
    again = floor.reconcile([QUEUE], agent_events(rows), None, 1_001.0)
    assert [c for c in again if c.kind == "agent"] == []
    rows[1] = {**rows[1], "wrap_up_time": "30"}
    changed = floor.reconcile([QUEUE], agent_events(rows), None, 1_002.0)
    assert [c.key for c in changed if c.kind == "agent"] == ["1001@default"]
    assert floor.agents["1001@default"].wrap_up_time == 30
