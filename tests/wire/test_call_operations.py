"""Call and supervisor operations on a live simulated queue call: what the caller and the
agent legs then do, as FreeSWITCH events and as the floor shows it."""

from __future__ import annotations

import pytest

from esl_controller.domain.model import CallView, Change
from esl_controller.errors import CommandFailed, NotFound
from esl_controller.services.agents import AgentService
from esl_controller.services.calls import CallService
from esl_controller.services.supervisor import SupervisorService
from tests.wire.conftest import wait_until


def queue_call(sim, floor, mode: str = "answer 0.2"):  # type: ignore[no-untyped-def]
    sim.execute_api("sim_phone 1000 register")
    sim.execute_api(f"sim_phone 1000 {mode}")
    sim.execute_api("callcenter_config agent set status agent1000 Available")
    sim.execute_api("callcenter_config agent set state agent1000 Waiting")
    sim.execute_api("sim_caller 5000 5551230000 Caller")


def test_hold_dtmf_and_drop(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    calls = CallService(client.api, floor)
    with pytest.raises(NotFound):
        calls.hold("agent1000")  # no call yet: a clear error, nothing sent
    queue_call(sim, floor)
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in floor.snapshot().calls.values()))  # fmt: skip
    call = calls.current_call("agent1000")
    calls.hold("agent1000")
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].held_since is not None)
    assert sim.core.engine.get(call.agent_leg or "").held  # type: ignore[union-attr]
    calls.unhold("agent1000")
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].hold_seconds >= 0
                      and floor.snapshot().calls[call.uuid].held_since is None)  # fmt: skip
    calls.dtmf("agent1000", "12#")
    assert sim.core.engine.get(call.uuid).variables["last_dtmf"] == "#"  # type: ignore[union-attr]
    calls.drop("agent1000")
    assert wait_until(lambda: call.uuid not in floor.snapshot().calls)


def test_remote_answer_of_a_ringing_call(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    calls = CallService(client.api, floor)
    queue_call(sim, floor, mode="noanswer")
    assert wait_until(lambda: floor.ringing_leg("agent1000") is not None)
    calls.answer("agent1000")
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in floor.snapshot().calls.values()))  # fmt: skip


def test_blind_transfer_frees_the_agent(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    calls = CallService(client.api, floor)
    queue_call(sim, floor)
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in floor.snapshot().calls.values()))  # fmt: skip
    call = calls.current_call("agent1000")
    calls.transfer_blind("agent1000", "9664")
    assert wait_until(lambda: floor.snapshot().agents["agent1000"].call_uuid is None
                      and floor.snapshot().agents["agent1000"].state == "Waiting")  # fmt: skip
    assert sim.core.engine.get(call.uuid) is not None  # the caller lives on, parked


def test_attended_transfer_and_supervisor(stack) -> None:  # type: ignore[no-untyped-def]
    sim, client, floor = stack
    calls = CallService(client.api, floor)
    supervisor = SupervisorService(client.api, calls, agents=AgentService(client.api, floor))
    sim.execute_api("sim_phone 1001 register")
    sim.execute_api("sim_phone 1001 answer 0.2")
    sim.execute_api("sim_phone 1003 register")
    sim.execute_api("sim_phone 1003 answer 0.2")
    queue_call(sim, floor)
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in floor.snapshot().calls.values()))  # fmt: skip
    call = calls.current_call("agent1000")
    spy = supervisor.eavesdrop("user/1003@127.0.0.1", "agent1000", "whisper")
    assert sim.execute_api(f"uuid_getvar {spy} eavesdrop_mode") == "whisper"
    calls.transfer_attended("agent1000", "1001")  # dialled through the dialplan
    assert wait_until(lambda: sim.core.engine.get(call.uuid).held)  # type: ignore[union-attr]
    assert wait_until(lambda: any(
        ch.name.startswith("sofia/internal/1001@") and ch.answered
        for ch in sim.core.engine.channels.values()))  # fmt: skip
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].consult_answered_at is not None)
    calls.transfer_complete("agent1000")
    caller = sim.core.engine.get(call.uuid)
    # The caller is now bridged to the consult leg: 1001's phone, or the loopback pair
    # that reaches it (the dialplan's bridge to user/1001).
    assert wait_until(lambda: caller is not None and caller.partner is not None
                      and caller.partner.name.startswith(("sofia/internal/1001@",
                                                          "loopback/1001")))  # fmt: skip
    assert any(ch.name.startswith("sofia/internal/1001@") and ch.answered
               for ch in sim.core.engine.channels.values())  # fmt: skip
    supervisor.force_status("agent1000", "On Break")
    assert sim.execute_api("callcenter_config agent get status agent1000") == "On Break"
    supervisor.set_level("support@default", "agent1001", 2)
    assert sim.callcenter.tables.tier("support@default", "agent1001").level == 2  # type: ignore[union-attr]
    supervisor.remove_tier("support@default", "agent1001")
    assert sim.callcenter.tables.tier("support@default", "agent1001") is None
    supervisor.add_tier("support@default", "agent1001", 1, 5)
    assert sim.callcenter.tables.tier("support@default", "agent1001") is not None


def test_attended_transfer_cancel_while_ringing_then_complete(stack) -> None:  # type: ignore[no-untyped-def]
    """Found on FreeSWITCH 1.10.12: Cancel as ``#`` is lost while the consulted party
    rings, and a completed attended transfer was recorded as a plain answered call."""
    sim, client, floor = stack
    ended: list[CallView] = []

    def on_changes(changes: list[Change]) -> None:
        ended.extend(c.view for c in changes if isinstance(c.view, CallView)
                     and c.kind == "call_ended")  # fmt: skip

    floor.listeners.append(on_changes)
    calls = CallService(client.api, floor)
    sim.execute_api("sim_phone 1001 register")
    sim.execute_api("sim_phone 1001 noanswer")
    queue_call(sim, floor)
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in floor.snapshot().calls.values()))  # fmt: skip
    call = calls.current_call("agent1000")
    calls.transfer_attended("agent1000", "1001")
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].consult_leg is not None)
    assert wait_until(lambda: sim.core.engine.get(call.uuid).held)  # type: ignore[union-attr]
    with pytest.raises(CommandFailed):
        calls.transfer_complete("agent1000")  # not answered: '*' would be lost
    calls.transfer_cancel("agent1000")
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].consult_leg is None)
    assert wait_until(lambda: not sim.core.engine.get(call.uuid).held)  # type: ignore[union-attr]
    assert floor.snapshot().calls[call.uuid].held_since is None

    sim.execute_api("sim_phone 1001 answer 0.2")
    calls.transfer_attended("agent1000", "1001")
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].consult_answered_at is not None)
    calls.transfer_complete("agent1000")
    assert wait_until(lambda: any(c.uuid == call.uuid for c in ended), 10)
    record = next(c for c in ended if c.uuid == call.uuid)
    assert (record.outcome, record.transfer_destination) == ("transferred", "1001")
    assert record.hold_seconds > 0  # both consultations held the caller


def test_agent_hanging_up_while_the_consult_rings_transfers_nothing(stack) -> None:  # type: ignore[no-untyped-def]
    """att_xfer's originate is abandoned when the agent's leg hangs up before the
    consulted party answered (FreeSWITCH: ORIGINATOR_CANCEL): no transfer happens."""
    sim, client, floor = stack
    ended: list[CallView] = []

    def on_changes(changes: list[Change]) -> None:
        ended.extend(c.view for c in changes if isinstance(c.view, CallView)
                     and c.kind == "call_ended")  # fmt: skip

    floor.listeners.append(on_changes)
    calls = CallService(client.api, floor)
    sim.execute_api("sim_phone 1001 register")
    sim.execute_api("sim_phone 1001 noanswer")
    queue_call(sim, floor)
    assert wait_until(lambda: any(c.agent == "agent1000" and c.answered_at
                                  for c in floor.snapshot().calls.values()))  # fmt: skip
    call = calls.current_call("agent1000")
    calls.transfer_attended("agent1000", "1001")
    assert wait_until(lambda: floor.snapshot().calls[call.uuid].consult_leg is not None)
    consult_leg = floor.snapshot().calls[call.uuid].consult_leg or ""
    sim.execute_api(f"uuid_kill {call.agent_leg}")  # the agent's phone hangs up
    assert wait_until(lambda: sim.core.engine.get(consult_leg) is None)  # 1001 stops ringing
    assert wait_until(lambda: not any(ch.name.startswith("sofia/internal/1001@")
                                      for ch in sim.core.engine.channels.values()), 5)  # fmt: skip
    assert wait_until(lambda: any(c.uuid == call.uuid for c in ended), 10)
    record = next(c for c in ended if c.uuid == call.uuid)
    assert (record.outcome, record.transfer_destination) == ("answered", None)


def test_supervisor_actions_are_audited(stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from esl_controller.services.recorder import Recorder
    from esl_controller.store.engine import make_engine, session_scope
    from esl_controller.store.migrate import upgrade
    from esl_controller.store.models import AuditEntry

    sim, client, floor = stack
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade(url)
    sessions = sessionmaker(make_engine(url))
    recorder = Recorder(sessions)
    recorder.start()
    supervisor = SupervisorService(client.api, CallService(client.api, floor),
                                   agents=AgentService(client.api, floor),
                                   audit=recorder.audit)  # fmt: skip
    try:
        supervisor.force_status("agent1002", "Available", by="sam")
        with pytest.raises(NotFound):
            supervisor.force_state("nosuchagent", "Waiting", by="sam")
        assert recorder.drained(timeout=10)
        with session_scope(sessions) as session:
            entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            rows = [(a.actor, a.action, a.target, a.outcome) for a in entries]
        assert rows[0] == ("sam", "force_status", "agent1002", "ok")
        assert rows[1][:3] == ("sam", "force_state", "nosuchagent")
        assert rows[1][3].startswith("failed")
    finally:
        recorder.stop()
