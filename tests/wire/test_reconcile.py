"""The reconcile loop against the simulator: an agent stuck Receiving is set back to
Waiting (and the log says why), an Available agent whose phone went offline is paused."""

from __future__ import annotations

import logging

import gevent

from esl_controller.domain.model import Change, PhoneCheck
from esl_controller.services.agents import AgentService
from esl_controller.services.phone_watch import PhoneWatch
from esl_controller.services.reconcile import PHONE_OFFLINE, Reconciler
from tests.wire.conftest import wait_until


def test_stuck_receiving_agent_is_repaired_and_logged(stack, caplog) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    now = [1000.0]
    reconciler = Reconciler(client.api, floor, interval=30, clock=lambda: now[0])
    sim.execute_api("callcenter_config agent set status agent7000 Available")
    # mod_callcenter left the agent Receiving with nobody being offered.
    sim.execute_api("callcenter_config agent set state agent7000 Receiving")
    assert reconciler.run_once() == []  # first sight: only a suspect
    now[0] += 31
    with caplog.at_level(logging.WARNING, logger="esl_controller.services.reconcile"):
        done = reconciler.run_once()
    assert len(done) == 1 and "agent7000" in done[0] and "Receiving" in done[0]
    assert sim.execute_api("callcenter_config agent get state agent7000") == "Waiting"
    assert "set Waiting" in caplog.text and "agent7000" in caplog.text


def test_a_real_offer_is_not_mistaken_for_a_stuck_agent(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    now = [1000.0]
    reconciler = Reconciler(client.api, floor, interval=30, clock=lambda: now[0])
    sim.execute_api("sim_phone 1000 register")
    sim.execute_api("sim_phone 1000 noanswer")
    sim.execute_api("callcenter_config agent set status agent1000 Available")
    sim.execute_api("callcenter_config agent set state agent1000 Waiting")
    sim.execute_api("sim_caller 5000")
    assert wait_until(lambda: sim.callcenter.tables.agents["agent1000"].state == "Receiving")
    reconciler.run_once()
    now[0] += 31
    assert reconciler.run_once() == []  # the caller is really being offered
    assert sim.callcenter.tables.agents["agent1000"].state == "Receiving"


def answer_phone_checks(client, floor) -> None:  # type: ignore[no-untyped-def]
    """The floor asks whether a phone that lost a registration has others left; answer as
    the PhoneWatch does, without its own pause (this test is about the reconcile loop
    catching an offline phone the watch did not act on)."""
    watch = PhoneWatch(AgentService(client.api, floor))

    def listener(changes: list[Change]) -> None:
        for change in changes:
            if isinstance(change.view, PhoneCheck):
                gevent.spawn(lambda c=change.view: floor.registrations_left(watch.check(c)))

    floor.listeners.append(listener)


def test_available_agent_with_an_offline_phone_is_paused(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    reconciler = Reconciler(client.api, floor, interval=30)
    answer_phone_checks(client, floor)
    sim.execute_api("sim_phone 1000 register")
    sim.execute_api("callcenter_config agent set status agent1000 Available")
    sim.execute_api("callcenter_config agent set state agent1000 Waiting")
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].phone_online is True)
    sim.execute_api("sim_phone 1000 unregister")
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].phone_online is False)
    done = reconciler.run_once()
    assert done == ["agent agent1000 paused (Phone offline)"]
    assert sim.execute_api("callcenter_config agent get status agent1000") == "On Break"
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].pause_reason == PHONE_OFFLINE)
