"""Exit keys, resumed members, callcenter_track, eavesdrop and the broadcast/record
commands of the simulator, with FreeSWITCH's replies."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import gevent
import pytest

from esl_controller.simulator.channels.dialstring import DialLeg
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF
from tests.wire.test_sim_fidelity_calls import Call
from tests.wire.test_sim_queue_rules import conf_with


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, conf_dir=CONF, speed=20)
    simulator.start()
    yield simulator
    simulator.stop()


def member_channel(sim: Simulator, call: Call) -> str:
    start = call.wait_cc("member-queue-start")
    return start.get("CC-Member-Session-UUID") or ""


def test_exit_key_leaves_the_queue(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("sim_caller 5000")
        member = member_channel(sim, call)
        call.api(f"uuid_setvar {member} cc_exit_keys 9")
        call.api(f"uuid_recv_dtmf {member} 5")
        call.api(f"uuid_recv_dtmf {member} 9")
        end = call.wait_cc("member-queue-end")
        assert end.get("CC-Cancel-Reason") == "EXIT_WITH_KEY"
        assert end.get("variable_cc_exit_key") == "9"
    finally:
        call.client.close()


def test_abandoned_caller_resumes_its_place(tmp_path: pathlib.Path) -> None:
    sim = Simulator(port=0, speed=20,
                    conf_dir=conf_with(tmp_path, "support@default",
                                       {"abandoned-resume-allowed": "true"}))  # fmt: skip
    sim.start()
    call = Call(sim)
    try:
        call.api("sim_caller 5000 5551112222 Again")
        first = call.wait_cc("member-queue-start")
        call.api(f"uuid_kill {first.get('CC-Member-Session-UUID')}")
        call.wait_cc("member-queue-end")
        call.api("sim_caller 5000 5551112222 Again")
        resume = call.wait_cc("member-queue-resume")
        assert resume.get("CC-Member-UUID") == first.get("CC-Member-UUID")
        assert resume.get("CC-Member-Session-UUID") != first.get("CC-Member-Session-UUID")
    finally:
        call.client.close()
        sim.stop()


def test_tracked_agent_is_not_offered_queue_calls(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("sim_phone 1000 register")
        call.api("callcenter_config agent set status agent1000 Available")
        call.api("callcenter_config agent set state agent1000 Waiting")
        # The agent's own outbound call, tracked as click-to-call does it.
        leg, result = sim.core.outbound.dial(DialLeg("null/outbound-call"), {})
        assert result.get() is True and leg is not None
        core = sim.core

        def session(channel):  # type: ignore[no-untyped-def]
            core.execute(channel, "callcenter_track", "agent1000")
            core.execute(channel, "park", "")

        core.engine.run_session(leg, session)
        gevent.sleep(0.05)
        assert sim.callcenter.tables.agents["agent1000"].external_calls_count == 1
        call.api("sim_caller 5000")
        member_channel(sim, call)
        gevent.sleep(0.5)  # ten simulated seconds of queue polling
        assert not [e for e in call.events() if e.get("CC-Action") == "agent-offering"]
        call.api(f"uuid_kill {leg.uuid}")
        offer = call.wait_cc("agent-offering")
        assert offer.get("CC-Agent") == "agent1000"
        assert sim.callcenter.tables.agents["agent1000"].external_calls_count == 0
    finally:
        call.client.close()


def test_eavesdrop_broadcast_and_record(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("sim_phone 1000 register")
        call.api("callcenter_config agent set status agent1000 Available")
        call.api("callcenter_config agent set state agent1000 Waiting")
        call.api("sim_caller 5000")
        start = call.wait_cc("bridge-agent-start")
        agent_leg = start.get("CC-Agent-UUID") or ""
        spy = "6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a"
        reply = sim.execute_api(
            f"originate {{origination_uuid={spy},eavesdrop_whisper_bleg=true}}"
            f"null/supervisor &eavesdrop({agent_leg})"
        )
        assert reply == f"+OK {spy}\n"
        gevent.sleep(0.05)
        assert sim.execute_api(f"uuid_getvar {spy} eavesdrop_mode") == "whisper"
        assert sim.execute_api(f"uuid_broadcast {agent_leg} tone_stream://%(100,0,440) aleg") == (
            "+OK Message sent\n"
        )
        assert sim.execute_api("uuid_broadcast 00000000-0000-0000-0000-000000000000 x") == (
            "-ERR invalid uuid\n"
        )
        assert sim.execute_api(f"uuid_record {agent_leg} start /tmp/call.wav") == "+OK Success\n"
        assert (
            sim.execute_api("uuid_record 00000000-0000-0000-0000-000000000000 start /tmp/x.wav")
            == "-ERR Cannot locate session!\n"
        )
        call.api(f"uuid_kill {agent_leg}")
        assert call.client.wait(lambda: sim.core.engine.get(spy) is None)  # listener follows
    finally:
        call.client.close()


@pytest.mark.parametrize(("key", "outcome"), [("*", "complete"), ("#", "cancel")])
def test_attended_transfer_by_att_xfer(sim: Simulator, key: str, outcome: str) -> None:
    call = Call(sim)
    try:
        for user in ("1000", "1001"):
            call.api(f"sim_phone {user} register")
            call.api(f"sim_phone {user} answer 0.5")
        call.api("callcenter_config agent set status agent1000 Available")
        call.api("callcenter_config agent set state agent1000 Waiting")
        call.api("sim_caller 5000")
        start = call.wait_cc("bridge-agent-start")
        agent_leg = start.get("CC-Agent-UUID") or ""
        member = start.get("CC-Member-Session-UUID") or ""
        reply = sim.execute_api(f"uuid_broadcast {agent_leg} att_xfer::user/1001@127.0.0.1 aleg")
        assert reply == "+OK Message sent\n"
        # The caller is held while the agent consults 1001.
        held = [("CHANNEL_HOLD", member)]
        assert call.client.wait(
            lambda: any((e.name, e.get("Unique-ID")) in held for e in call.events())
        )
        assert call.client.wait(lambda: any(
            e.name == "CHANNEL_ANSWER" and (e.get("Channel-Name") or "").startswith(
                "sofia/internal/1001@") for e in call.events()))  # fmt: skip
        sim.execute_api(f"uuid_recv_dtmf {agent_leg} {key}")
        if outcome == "complete":
            # The agent leaves, the queue call ends for it, the caller talks to 1001.
            call.wait_cc("member-queue-end")
            assert call.client.wait(lambda: sim.core.engine.get(agent_leg) is None)
            caller = sim.core.engine.get(member)
            assert caller is not None
            assert call.client.wait(lambda: caller.partner is not None)
            assert (caller.partner.name if caller.partner else "").startswith(
                "sofia/internal/1001@")  # fmt: skip
            assert not caller.held
        else:
            assert call.client.wait(lambda: any(
                e.name == "CHANNEL_UNHOLD" and e.get("Unique-ID") == member
                for e in call.events()))  # fmt: skip
            caller = sim.core.engine.get(member)
            assert caller is not None and caller.partner is not None
            assert caller.partner.uuid == agent_leg
            assert sim.execute_api(f"uuid_getvar {agent_leg} att_xfer_result") == "failure"
    finally:
        call.client.close()
