"""Agent operations end to end against the simulator: what FreeSWITCH then has, what the
floor shows, and what is refused before anything is sent."""

from __future__ import annotations

import pytest

from esl_controller.errors import InvalidArgument, NotFound
from esl_controller.services.agents import AgentService
from tests.wire.conftest import wait_until


def fs(sim, what: str, agent: str) -> str:  # type: ignore[no-untyped-def]
    return sim.execute_api(f"callcenter_config agent get {what} {agent}")


def test_login_ready_not_ready_logout(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    agents = AgentService(client.api, floor)
    agents.login("agent1000")
    assert (fs(sim, "status", "agent1000"), fs(sim, "state", "agent1000")) == (
        "On Break", "Waiting",
    )  # fmt: skip
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].pause_reason == "Login")
    agents.ready("agent1000")
    assert fs(sim, "status", "agent1000") == "Available"
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].pause_reason is None)
    agents.not_ready("agent1000", "Lunch")
    assert fs(sim, "status", "agent1000") == "On Break"
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].pause_reason == "Lunch")
    agents.logout("agent1000")
    assert fs(sim, "status", "agent1000") == "Logged Out"


def test_bad_input_is_refused_before_freeswitch_sees_it(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    agents = AgentService(client.api, floor)
    before = sim.bus.sequence
    for bad in ("", "x" * 100, "Lunch\napi system reboot"):
        with pytest.raises(InvalidArgument):
            agents.not_ready("agent1000", bad)
    with pytest.raises(InvalidArgument):
        agents.ready("agent1000\n\napi system reboot")
    assert sim.bus.sequence == before  # nothing reached the switch
    with pytest.raises(NotFound):
        agents.ready("nosuchagent")


def test_wrap_up_holds_offers_until_released(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    agents = AgentService(client.api, floor, clock=lambda: 2_000_000_000.0)
    agents.hold_wrap_up("agent1000", 120)
    assert sim.callcenter.tables.agents["agent1000"].ready_time == 2_000_000_120
    agents.end_wrap_up("agent1000")
    assert sim.callcenter.tables.agents["agent1000"].ready_time == 0
    with pytest.raises(InvalidArgument):
        agents.hold_wrap_up("agent1000", 0)
