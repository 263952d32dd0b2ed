"""The simulator's eavesdrop follows FreeSWITCH's DTMF handling (switch_ivr_async.c,
switch_ivr_eavesdrop_session): digits on the listener's own leg switch who hears it —
0 nobody, 1 the target's partner, 2 the target, 3 both — ``*`` ends it, and nothing
switches with ``eavesdrop_enable_dtmf=false``; a phone can be added for a user the XML
directory lacks (``sim_phone <user> add``)."""

from __future__ import annotations

from collections.abc import Iterator

import gevent
import pytest

from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF
from tests.wire.test_sim_fidelity_calls import Call

SPY = "6f1c2b7e-0d4a-4f3b-9a55-1f2e3d4c5b6a"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, conf_dir=CONF, speed=20)
    simulator.start()
    yield simulator
    simulator.stop()


def agent_on_a_call(sim: Simulator, call: Call) -> str:
    call.api("sim_phone 1000 register")
    call.api("callcenter_config agent set status agent1000 Available")
    call.api("callcenter_config agent set state agent1000 Waiting")
    call.api("sim_caller 5000")
    return call.wait_cc("bridge-agent-start").get("CC-Agent-UUID") or ""


def mode(sim: Simulator) -> str:
    return str(sim.execute_api(f"uuid_getvar {SPY} eavesdrop_mode"))


def test_digits_on_the_listener_leg_switch_the_mode_and_star_ends_it(sim: Simulator) -> None:
    call = Call(sim)
    try:
        agent_leg = agent_on_a_call(sim, call)
        assert sim.execute_api("sim_phone 1090 add") == "+OK\n"
        assert sim.execute_api("sim_phone 1090 register") == "+OK\n"
        assert sim.execute_api("sim_phone bad/user add").startswith("-ERR")
        reply = sim.execute_api(f"originate {{origination_uuid={SPY}}}user/1090 "
                                f"&eavesdrop({agent_leg})")  # fmt: skip
        assert reply == f"+OK {SPY}\n"
        assert call.client.wait(lambda: mode(sim) == "listen"), mode(sim)
        for digit, wanted in (("2", "whisper"), ("3", "barge"), ("1", "aleg"), ("0", "listen")):
            assert sim.execute_api(f"uuid_recv_dtmf {SPY} {digit}") == "+OK Success\n"
            assert call.client.wait(lambda w=wanted: mode(sim) == w), wanted  # type: ignore[misc]
        sim.execute_api(f"uuid_recv_dtmf {SPY} 9")  # not a command: nothing changes
        gevent.sleep(0.05)
        assert mode(sim) == "listen"
        sim.execute_api(f"uuid_recv_dtmf {SPY} *")
        assert call.client.wait(lambda: sim.core.engine.get(SPY) is None)  # the leg ends
        assert sim.core.engine.get(agent_leg) is not None  # the agent's call goes on
    finally:
        call.client.close()


def test_no_switching_with_dtmf_disabled(sim: Simulator) -> None:
    call = Call(sim)
    try:
        agent_leg = agent_on_a_call(sim, call)
        variables = f"origination_uuid={SPY},eavesdrop_enable_dtmf=false,eavesdrop_whisper_bleg=1"
        sim.execute_api(f"originate {{{variables}}}null/supervisor &eavesdrop({agent_leg})")
        # The leg answers and starts eavesdrop on the simulator's clock: wait for it.
        assert call.client.wait(lambda: mode(sim) == "whisper"), mode(sim)
        sim.execute_api(f"uuid_recv_dtmf {SPY} 3")
        sim.execute_api(f"uuid_recv_dtmf {SPY} *")
        gevent.sleep(0.1)
        assert mode(sim) == "whisper" and sim.core.engine.get(SPY) is not None
    finally:
        call.client.close()
