"""mod_callcenter's call handling in the simulator against the recorded FreeSWITCH calls:
the callcenter::info events of an answered call, an abandoned call and a no-answer that
puts the agent On Break arrive in FreeSWITCH's order with FreeSWITCH's values."""

from __future__ import annotations

from collections.abc import Iterator

import gevent
import pytest

from esl_controller.esl.events import Event
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF, ReplayClient, event_of, load, split_expected

SUBSCRIBE = (
    "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HOLD "
    "CHANNEL_UNHOLD CHANNEL_CALLSTATE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY "
    "BACKGROUND_JOB HEARTBEAT CUSTOM callcenter::info sofia::register sofia::unregister\n\n"
)
# What must be equal; uuids and times differ per run.
KEYS = ("CC-Action", "CC-Agent", "CC-Queue", "CC-Agent-Status", "CC-Agent-State", "CC-Count",
        "CC-Cause", "CC-Cancel-Reason", "CC-Hangup-Cause", "CC-Member-CID-Name",
        "CC-Member-CID-Number", "CC-Agent-No-Answer-Count", "CC-Agent-No-Answer-Status",
        "CC-Agent-Type", "CC-Selection")  # fmt: skip


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # speed 20: the recorded 10 s ring timeout takes half a second here.
    simulator = Simulator(port=0, heartbeat_interval=20, conf_dir=CONF, speed=20)
    simulator.start()
    yield simulator
    simulator.stop()


def cc_view(events: list[Event]) -> list[tuple[tuple[str, str | None], ...]]:
    return [tuple((k, e.get(k)) for k in KEYS if e.get(k) is not None)
            for e in events if e.key == "callcenter::info"]  # fmt: skip


def recorded(name: str) -> list[Event]:
    _, frames = split_expected(load(name).steps)
    return [event_of(f) for f in frames]


class Call:
    def __init__(self, sim: Simulator) -> None:
        self.client = ReplayClient(sim.port)
        self.client.send("auth ClueCon\n\n")
        self.client.send(SUBSCRIBE)

    def events(self) -> list[Event]:
        return [event_of(f) for f in self.client.got.events]

    def api(self, line: str) -> None:
        self.client.send(f"api {line}\n\n")

    def wait_cc(self, action: str, count: int = 1, **headers: str) -> Event:
        wanted = {k.replace("_", "-"): v for k, v in headers.items()}

        def found() -> list[Event]:
            return [e for e in self.events() if e.get("CC-Action") == action
                    and all(e.get(k) == v for k, v in wanted.items())]  # fmt: skip

        assert self.client.wait(lambda: len(found()) >= count, timeout=10), action
        return found()[count - 1]


def test_answered_call(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("callcenter_config agent set status agent7000 Available")
        call.api("callcenter_config agent set state agent7000 Waiting")
        call.client.send(
            "bgapi originate {origination_caller_id_number=5551234567,"
            "origination_caller_id_name=Jane\\ Doe}loopback/5000/default &park()\n\n"
        )
        start = call.wait_cc("bridge-agent-start")
        bridged = [e for e in call.events() if e.name == "CHANNEL_BRIDGE"]
        member = start.get("CC-Member-Session-UUID")
        assert any(e.get("Bridge-A-Unique-ID") == member for e in bridged)
        call.api(f"uuid_kill {member}")
        call.wait_cc("agent-state-change", CC_Agent_State="Waiting", count=2)
        call.api("callcenter_config agent set status agent7000 'Logged Out'")
        call.wait_cc("agent-status-change", CC_Agent_Status="Logged Out")
        assert cc_view(call.events()) == cc_view(recorded("call_answered_plain"))
    finally:
        call.client.close()


def test_abandoned_call(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("callcenter_config agent set status agent7001 Available")
        call.api("callcenter_config agent set state agent7001 Waiting")
        call.client.send(
            "bgapi originate {origination_caller_id_number=5557654321,"
            "origination_caller_id_name='John Smith'}loopback/5001/default &park()\n\n"
        )
        offering = call.wait_cc("agent-offering")
        call.api(f"uuid_kill {offering.get('CC-Member-Session-UUID')}")
        call.wait_cc("agent-state-change", CC_Agent_State="Waiting", count=2)
        call.api("callcenter_config agent set status agent7001 'Logged Out'")
        call.wait_cc("agent-status-change", CC_Agent_Status="Logged Out")
        assert cc_view(call.events()) == cc_view(recorded("call_abandoned"))
    finally:
        call.client.close()


def test_no_answer_puts_the_agent_on_break(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("callcenter_config agent set max_no_answer agent7001 1")
        call.api("callcenter_config agent set no_answer_delay_time agent7001 1")
        call.api("callcenter_config agent set status agent7001 Available")
        call.api("callcenter_config agent set state agent7001 Waiting")
        call.client.send(
            "bgapi originate {origination_caller_id_number=5550001111,"
            "origination_caller_id_name=NoAnswer}loopback/5001/default &park()\n\n"
        )
        call.wait_cc("agent-status-change", CC_Agent_Status="On Break")
        waiting = call.wait_cc("agent-state-change", CC_Agent_State="Waiting", count=2)
        assert waiting is not None
        offering = call.wait_cc("agent-offering")
        call.api(f"uuid_kill {offering.get('CC-Member-Session-UUID')}")
        call.wait_cc("members-count", CC_Count="0")
        call.api("callcenter_config agent set status agent7001 'Logged Out'")
        call.wait_cc("agent-status-change", CC_Agent_Status="Logged Out")
        fails = [e for e in call.events() if e.get("CC-Action") == "bridge-agent-fail"]
        assert fails[0].get("CC-Hangup-Cause") == "ALLOTTED_TIMEOUT"
        assert cc_view(call.events()) == cc_view(recorded("no_answer_to_break"))
    finally:
        call.client.close()


def test_sip_agent_hold_and_blind_transfer(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("sim_phone 1000 register")
        call.api("callcenter_config agent set status agent1000 Available")
        call.api("callcenter_config agent set state agent1000 Waiting")
        call.client.send(
            "bgapi originate {origination_caller_id_number=5552223333,"
            "origination_caller_id_name='SIP Caller'}loopback/5000/default &park()\n\n"
        )
        start = call.wait_cc("bridge-agent-start")
        agent_leg = start.get("CC-Agent-UUID")
        member = start.get("CC-Member-Session-UUID")
        assert (start.get("Channel-Name") or "").startswith("sofia/internal/1000@")
        call.api(f"uuid_hold {agent_leg}")
        call.api(f"uuid_hold off {agent_leg}")
        call.api(f"uuid_transfer {member} 9664 XML default")
        call.wait_cc("agent-state-change", CC_Agent_State="Waiting", count=2)
        assert call.client.wait(lambda: any(
            e.name == "CHANNEL_DESTROY" and e.get("Unique-ID") == agent_leg
            for e in call.events()))  # fmt: skip
        # The caller lives on, parked at 9664, until killed.
        assert sim.core.engine.get(member or "") is not None
        for channel in list(sim.core.engine.channels):
            call.api(f"uuid_kill {channel}")
        assert call.client.wait(lambda: all_destroyed(call.events()))
        call.api("sim_phone 1000 unregister")
        call.api("callcenter_config agent set status agent1000 'Logged Out'")
        call.wait_cc("agent-status-change", CC_Agent_Status="Logged Out")

        def hold_view(events: list[Event], leg: str | None) -> list[tuple[str, str | None]]:
            return [(e.name, e.get("Channel-Call-State")) for e in events
                    if e.get("Unique-ID") == leg and e.name in (
                        "CHANNEL_HOLD", "CHANNEL_UNHOLD", "CHANNEL_CALLSTATE")
                    and e.get("Channel-Call-State") in ("HELD", "UNHELD", "ACTIVE")]  # fmt: skip

        want = recorded("sip_agent_hold_transfer")
        want_leg = next(e.get("CC-Agent-UUID") for e in want
                        if e.get("CC-Action") == "bridge-agent-start")  # fmt: skip
        assert hold_view(call.events(), agent_leg) == hold_view(want, want_leg)

        def with_sofia(events: list[Event]) -> list[object]:
            # Every callcenter event in order, members-count after bridge-agent-start
            # included (CC-Count 1, before "In a queue call", for this phone that rang:
            # README quirk 15), and the phone's registrations.
            out: list[object] = []
            for e in events:
                if e.key.startswith("sofia::"):
                    out.append((e.key, e.get("username"), e.get("expires")))
            return out + cc_view(events)

        assert with_sofia(call.events()) == with_sofia(want)

        def by_name(events: list[Event]) -> dict[str, list[tuple[str | None, ...]]]:
            # The phone's port differs per run: sofia/internal/1000@127.0.0.1:<port>.
            return {name.rsplit(":", 1)[0] if name.startswith("sofia/") else name: seq
                    for name, seq in per_channel(events).items()}  # fmt: skip

        # Every channel's own events, in order, as FreeSWITCH sent them.
        assert by_name(call.events()) == by_name(want)
    finally:
        call.client.close()


def all_destroyed(events: list[Event]) -> bool:
    names = [e.name for e in events]
    return names.count("CHANNEL_DESTROY") == names.count("CHANNEL_CREATE")


def per_channel(events: list[Event]) -> dict[str, list[tuple[str | None, ...]]]:
    """Each channel's own events in order (across channels FreeSWITCH's threads
    interleave differently on every run): name, call state, answer state, cause."""
    out: dict[str, list[tuple[str | None, ...]]] = {}
    for e in events:
        if e.name.startswith("CHANNEL_"):
            out.setdefault(e.get("Channel-Name") or "", []).append(
                (e.name, e.get("Channel-Call-State"), e.get("Answer-State"), e.get("Hangup-Cause"))
            )
    return out


SCRIPTS = {
    # scenario: agent, extension, caller name, event to wait for before killing the caller
    "call_answered_plain": ("agent7000", "5000", "Jane\\ Doe", "bridge-agent-start"),
    "call_abandoned": ("agent7001", "5001", "'John Smith'", "agent-offering"),
    "no_answer_to_break": ("agent7001", "5001", "NoAnswer", "agent-max-no-answer"),
}


@pytest.mark.parametrize("scenario", sorted(SCRIPTS))
def test_every_channel_lives_as_in_freeswitch(sim: Simulator, scenario: str) -> None:
    call = Call(sim)
    try:
        agent, ext, cid, step = SCRIPTS[scenario]
        if scenario == "no_answer_to_break":
            call.api(f"callcenter_config agent set max_no_answer {agent} 1")
            call.api(f"callcenter_config agent set no_answer_delay_time {agent} 1")
        call.api(f"callcenter_config agent set status {agent} Available")
        call.api(f"callcenter_config agent set state {agent} Waiting")
        call.client.send(
            f"bgapi originate {{origination_caller_id_number=5551234567,"
            f"origination_caller_id_name={cid}}}loopback/{ext}/default &park()\n\n"
        )
        member = call.wait_cc(step).get("CC-Member-Session-UUID")
        if scenario == "no_answer_to_break":
            call.wait_cc("agent-state-change", CC_Agent_State="Waiting", count=2)
        gevent.sleep(0.1)
        call.api(f"uuid_kill {member}")
        if scenario != "no_answer_to_break":
            call.wait_cc("agent-state-change", CC_Agent_State="Waiting", count=2)
        else:
            call.wait_cc("members-count", CC_Count="0")
        assert call.client.wait(lambda: all_destroyed(call.events()))
        assert per_channel(call.events()) == per_channel(recorded(scenario))
    finally:
        call.client.close()


def after_bridge(events: list[Event]) -> list[tuple[str | None, str | None]]:
    """The callcenter events from bridge-agent-start until both "In a queue call" and
    a members-count were seen, as (action, count or state)."""
    cc = [e for e in events if e.get("CC-Action")]
    start = next(i for i, e in enumerate(cc) if e.get("CC-Action") == "bridge-agent-start")
    out: list[tuple[str | None, str | None]] = []
    for e in cc[start:]:
        out.append((e.get("CC-Action"), e.get("CC-Count") or e.get("CC-Agent-State")))
        actions = {a for a, _ in out}
        if "members-count" in actions and ("agent-state-change", "In a queue call") in out:
            break
    return out


IN_CALL = ("agent-state-change", "In a queue call")


@pytest.mark.parametrize(
    ("fixture", "agent", "order"),
    [
        ("sip_agent_hold_transfer", "agent1000", [("members-count", "1"), IN_CALL]),
        ("call_answered_plain", "agent7000", [IN_CALL, ("members-count", "0")]),
    ],
)
def test_members_count_after_the_bridge_as_freeswitch_counts_it(
    sim: Simulator, fixture: str, agent: str, order: list[tuple[str, str]]
) -> None:
    """A phone that rang: the member is still counted, before "In a queue call"; the
    instant loopback agent: counted out, after it. Same as the recorded switch."""
    want = after_bridge(recorded(fixture))
    assert want == [("bridge-agent-start", None), *order]  # what the real switch sent
    call = Call(sim)
    try:
        if agent == "agent1000":
            call.api("sim_phone 1000 register")
            call.api("sim_phone 1000 answer 1")
        call.api(f"callcenter_config agent set status {agent} Available")
        call.api(f"callcenter_config agent set state {agent} Waiting")
        call.api("sim_caller 5000 5551234567 Jane")
        call.wait_cc("agent-state-change", CC_Agent_State="In a queue call")
        call.wait_cc("members-count", count=2)
        assert after_bridge(call.events()) == want
    finally:
        call.client.close()
