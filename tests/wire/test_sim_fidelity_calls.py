"""mod_callcenter's call handling in the simulator against the recorded FreeSWITCH calls:
the callcenter::info events of an answered call, an abandoned call and a no-answer that
puts the agent On Break arrive in FreeSWITCH's order with FreeSWITCH's values."""

from __future__ import annotations

from collections.abc import Iterator

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
