"""Simulated SIP phones: registration events and status, and how a phone's behaviour
(reject, busy) reaches mod_callcenter as FreeSWITCH's hangup causes and agent delays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esl_controller.esl import replies
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF
from tests.wire.test_sim_fidelity_calls import Call


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, conf_dir=CONF, speed=20)
    simulator.start()
    yield simulator
    simulator.stop()


def test_registration_shows_in_events_status_and_contact(sim: Simulator) -> None:
    assert replies.sofia_contact(sim.execute_api("sofia_contact 1001@127.0.0.1")) is None
    call = Call(sim)
    try:
        call.api("sim_phone 1001 register")
        assert call.client.wait(lambda: any(e.key == "sofia::register" for e in call.events()))
        reg = next(e for e in call.events() if e.key == "sofia::register")
        assert (reg.get("username"), reg.get("status"), reg.get("expires")) == (
            "1001", "Registered(UDP)", "120",
        )  # fmt: skip
        assert reg.get("effective_caller_id_name") == "Extension 1001"
        regs = replies.sofia_registrations(sim.execute_api("sofia status profile internal reg"))
        assert [r["User"] for r in regs] == ["1001@127.0.0.1"]
        contact = replies.sofia_contact(sim.execute_api("sofia_contact 1001@127.0.0.1"))
        assert contact is not None and contact.startswith("sofia/internal/sip:1001@")
        call.api("sim_phone 1001 unregister")
        assert call.client.wait(lambda: any(e.key == "sofia::unregister" for e in call.events()))
        assert (
            replies.sofia_registrations(sim.execute_api("sofia status profile internal reg")) == []
        )
    finally:
        call.client.close()


@pytest.mark.parametrize(("mode", "cause"), [("reject", "CALL_REJECTED"), ("busy", "USER_BUSY")])
def test_phone_behaviour_becomes_the_offer_result(sim: Simulator, mode: str, cause: str) -> None:
    call = Call(sim)
    try:
        call.api("sim_phone 1000 register")
        call.api(f"sim_phone 1000 {mode}")
        call.api("callcenter_config agent set status agent1000 Available")
        call.api("callcenter_config agent set state agent1000 Waiting")
        call.api("sim_caller 5000 5553334444 Test\\ Caller")
        fail = call.wait_cc("bridge-agent-fail")
        assert fail.get("CC-Hangup-Cause") == cause
        agent = sim.callcenter.tables.agents["agent1000"]
        delay = agent.reject_delay_time if mode == "reject" else agent.busy_delay_time
        assert agent.ready_time >= int(fail.get("CC-Agent-Aborted-Time") or 0) + delay - 1
        assert agent.no_answer_count == 0  # busy and reject are not no-answers
        assert agent.status == "Available"
    finally:
        call.client.close()


def test_unregistered_phone_is_not_a_no_answer(sim: Simulator) -> None:
    call = Call(sim)
    try:
        call.api("callcenter_config agent set status agent1000 Available")
        call.api("callcenter_config agent set state agent1000 Waiting")
        call.api("sim_caller 5000")
        fail = call.wait_cc("bridge-agent-fail")
        assert fail.get("CC-Hangup-Cause") == "USER_NOT_REGISTERED"
        assert sim.callcenter.tables.agents["agent1000"].no_answer_count == 0
    finally:
        call.client.close()


def test_sim_traffic_talk_sets_the_mean_talk_time_of_callers(sim: Simulator) -> None:
    assert sim.execute_api("sim_traffic talk 5400") == "+OK\n"
    assert sim.traffic.profile.mean_talk == 5400
    for bad in ("talk", "talk 0", "talk -3", "talk soon", "talk inf"):
        assert sim.execute_api(f"sim_traffic {bad}").startswith("-ERR")
    assert sim.traffic.profile.mean_talk == 5400
