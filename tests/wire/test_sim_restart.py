"""The simulator restarts like FreeSWITCH and drops ESL links like FreeSWITCH, over TCP.

A restart: every connection gets mod_event_socket's shutdown notice and is closed, no
channel event reaches anyone, the port refuses connections while the switch is down,
then the same port answers a switch loaded from its configuration (agents and tiers as
``callcenter.conf.xml`` defines them, no channels, no members, a new Core-UUID) whose
phones register again by themselves. A dropped ESL link changes nothing but the link.
"""

from __future__ import annotations

import pathlib
import shutil
import socket
from collections.abc import Iterator

import gevent
import pytest

from esl_controller.esl import replies
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF, ReplayClient
from tests.wire.conftest import wait_until
from tests.wire.test_sim_fidelity_calls import Call

CHANNEL_EVENTS = ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, conf_dir=CONF, speed=10)
    simulator.reregister_after = 0.2
    simulator.start()
    yield simulator
    simulator.stop()


def agents(sim: Simulator) -> dict[str, tuple[str, str]]:
    rows = replies.pipe_table(sim.execute_api("callcenter_config agent list"))
    return {a["name"]: (a["status"], a["state"]) for a in rows}


def tiers(sim: Simulator) -> list[tuple[str, str, str, str, str]]:
    rows = replies.pipe_table(sim.execute_api("callcenter_config tier list"))
    return [(t["queue"], t["agent"], t["state"], t["level"], t["position"]) for t in rows]


def members(sim: Simulator, queue: str) -> list[tuple[str, str, str]]:
    """(member uuid, caller's session, state); the score grows with time, so it is left out."""
    rows = replies.pipe_table(sim.execute_api(f"callcenter_config queue list members {queue}"))
    return [(m["uuid"], m["session_uuid"], m["state"]) for m in rows]


def channel_uuids(sim: Simulator) -> set[str]:
    return {row["uuid"] for row in replies.show_json(sim.execute_api("show channels as json"))}


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def busy_floor(sim: Simulator, call: Call) -> str:
    """One caller talking to agent1000 (a phone that rang), one waiting in sales, a tier
    and a status changed at runtime: returns the talking caller's member session."""
    call.api("sim_phone 1000 register")
    call.api("sim_phone 1000 answer 0.5")
    call.api("callcenter_config agent set status agent1000 Available")
    call.api("callcenter_config agent set state agent1000 Waiting")
    call.api("callcenter_config tier add sales@default agent1000 2 9")
    call.api("callcenter_config agent set status agent1003 'On Break'")
    call.api("sim_caller 5000 5550001111 Talking\\ Caller")
    start = call.wait_cc("bridge-agent-start")
    call.api("sim_caller 5001 5550002222 Waiting\\ Caller")
    call.wait_cc("member-queue-start", CC_Queue="sales@default")
    return start.get("CC-Member-Session-UUID") or ""


def test_restart_comes_back_as_configured_on_the_same_port(sim: Simulator) -> None:
    fresh = Simulator(port=0, conf_dir=CONF)  # what the configuration alone gives
    configured_agents, configured_tiers = agents(fresh), tiers(fresh)
    port, core_uuid = sim.port, sim.host.core_uuid
    call = Call(sim)
    try:
        busy_floor(sim, call)
        assert channel_uuids(sim) and members(sim, "sales@default")
        assert agents(sim) != configured_agents and tiers(sim) != configured_tiers
        seen_before = len(call.events())

        restart = gevent.spawn(sim.restart, 2.0)
        assert call.client.wait(lambda: call.client.got.closed, timeout=5)
        notices = [f for f in call.client.got.replies
                   if f.content_type == "text/disconnect-notice"]  # fmt: skip
        assert [f.text for f in notices] == ["The system is being shut down.\n"]
        # As a real 1.10.12 on `fsctl shutdown`: SHUTDOWN first, then every channel hung
        # up with SYSTEM_SHUTDOWN, the waiting callers' member-queue-end, then the notice.
        heard = call.events()[seen_before:]  # (this client is not subscribed to SHUTDOWN)
        hangups = [e for e in heard if e.name == "CHANNEL_HANGUP_COMPLETE"]
        assert hangups and {e.get("Hangup-Cause") for e in hangups} == {"SYSTEM_SHUTDOWN"}
        ended = [e for e in heard if e.get("CC-Action") == "member-queue-end"]
        assert ended and {e.get("CC-Cancel-Reason") for e in ended} == {"BREAK_OUT"}
        assert refused(port)  # down: nothing listens
        restart.get(timeout=10)

        again = Call(sim)
        try:
            assert sim.port == port
            assert again.client.wait(lambda: len(again.client.got.replies) >= 2)
            assert agents(sim) == configured_agents
            assert set(s for s, _ in configured_agents.values()) == {"Logged Out"}
            assert tiers(sim) == configured_tiers
            assert channel_uuids(sim) == set()
            assert members(sim, "sales@default") == members(sim, "support@default") == []
            assert sim.host.core_uuid != core_uuid
            # The phone that was registered registers again by itself, soon after.
            assert again.client.wait(lambda: any(
                e.key == "sofia::register" and e.get("username") == "1000"
                for e in again.events()))  # fmt: skip
            assert replies.sofia_contact(sim.execute_api("sofia_contact 1000@127.0.0.1"))
            # Sequence numbers start again, as in a new process.
            first = next(e for e in again.events() if e.key == "sofia::register")
            assert int(first.get("Event-Sequence") or 0) < 100
        finally:
            again.client.close()
    finally:
        call.client.close()


def test_restarted_switch_takes_calls_again(sim: Simulator) -> None:
    call = Call(sim)
    try:
        busy_floor(sim, call)
    finally:
        call.client.close()
    sim.restart(down=0.1)
    again = Call(sim)
    try:
        again.api("callcenter_config agent set status agent7000 Available")
        again.api("callcenter_config agent set state agent7000 Waiting")
        again.api("sim_caller 5000")
        start = again.wait_cc("bridge-agent-start")
        assert start.get("CC-Agent") == "agent7000"
    finally:
        again.client.close()


def test_sim_restart_command_replies_first_then_closes(sim: Simulator) -> None:
    port = sim.port
    client = ReplayClient(port)
    try:
        client.send("auth ClueCon\n\n")
        client.send("api sim_restart 0.2\n\n")
        assert client.wait(lambda: client.got.closed, timeout=5)
        kinds = [f.content_type for f in client.got.replies]
        assert kinds == ["auth/request", "command/reply", "api/response", "text/disconnect-notice"]
        assert client.got.replies[2].text.startswith("+OK")
    finally:
        client.close()
    # Back on the same port once the down time is over.
    assert wait_until(lambda: sim.restarts == 1 and not refused(port))
    again = Call(sim)
    try:
        assert again.client.wait(lambda: len(again.client.got.replies) >= 2)
    finally:
        again.client.close()


def test_sim_restart_rejects_a_bad_duration(sim: Simulator) -> None:
    assert sim.execute_api("sim_restart soon").startswith("-ERR")
    assert sim.execute_api("sim_restart -1").startswith("-ERR")
    assert sim.restarts == 0


def test_crash_closes_without_a_word(sim: Simulator) -> None:
    call = Call(sim)
    try:
        busy_floor(sim, call)
        gevent.spawn(sim.restart, 0.1, crash=True)
        assert call.client.wait(lambda: call.client.got.closed, timeout=5)
        assert not [f for f in call.client.got.replies
                    if f.content_type == "text/disconnect-notice"]  # fmt: skip
    finally:
        call.client.close()


def test_drop_esl_keeps_calls_members_agents_and_registrations(sim: Simulator) -> None:
    call = Call(sim)
    try:
        talking = busy_floor(sim, call)
        before = (channel_uuids(sim), agents(sim), tiers(sim), members(sim, "sales@default"))
        call.api("sim_drop_esl")
        assert call.client.wait(lambda: call.client.got.closed, timeout=5)
        kinds = [f.content_type for f in call.client.got.replies]
        assert kinds[-2:] == ["api/response", "text/disconnect-notice"]
    finally:
        call.client.close()
    again = Call(sim)  # accepted at once: the switch never went away
    try:
        assert again.client.wait(lambda: len(again.client.got.replies) >= 2)
        after = (channel_uuids(sim), agents(sim), tiers(sim), members(sim, "sales@default"))
        assert after == before
        assert talking in after[0]
        assert replies.sofia_contact(sim.execute_api("sofia_contact 1000@127.0.0.1"))
        # The call goes on and ends normally, seen by the new connection.
        again.api(f"uuid_kill {talking}")
        again.wait_cc("bridge-agent-end")
    finally:
        again.client.close()


def test_without_truncate_on_load_runtime_rows_survive(tmp_path: pathlib.Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    xml = conf / "autoload_configs" / "callcenter.conf.xml"
    xml.write_text(xml.read_text().replace('value="true"/>', 'value="false"/>'))
    sim = Simulator(port=0, conf_dir=conf)
    sim.start()
    try:
        sim.execute_api("callcenter_config agent add extra@default callback")
        sim.execute_api("callcenter_config agent set status extra@default Available")
        sim.execute_api("callcenter_config tier add support@default extra@default 1 7")
        sim.execute_api("callcenter_config agent set status agent1000 Available")
        sim.restart(down=0)
        rows = agents(sim)
        # A runtime agent keeps its row (state reset to Waiting); an XML agent gets the
        # XML's status again.
        assert rows["extra@default"] == ("Available", "Waiting")
        assert rows["agent1000"] == ("Logged Out", "Waiting")
        assert ("support@default", "extra@default", "Ready", "1", "7") in tiers(sim)
    finally:
        sim.stop()


def test_a_second_restart_waits_for_the_first(sim: Simulator) -> None:
    assert sim.execute_api("sim_restart 0.5").startswith("+OK")
    assert sim.execute_api("sim_restart 0.5") == "-ERR already restarting\n"
    assert wait_until(lambda: sim.restarts == 1 and not sim.restarting)
    assert sim.execute_api("sim_restart 0").startswith("+OK")
    assert wait_until(lambda: sim.restarts == 2 and not sim.restarting)


def test_the_controller_link_comes_back_after_a_restart(stack) -> None:  # type: ignore[no-untyped-def]
    """The product's ESL client against a restarted simulator: reconnected and resynced
    by itself (what the floor then does is the floor's tests' business)."""
    sim, client, floor = stack
    sim.restart(down=0.3)
    assert wait_until(lambda: floor.resyncs == 2 and client.health.connected)
    assert sim.connections_accepted >= 4  # events and commands, twice


def test_silent_drop_replies_then_closes_without_a_notice(sim: Simulator) -> None:
    client = ReplayClient(sim.port)
    try:
        client.send("auth ClueCon\n\n")
        client.send("api sim_drop_esl silent\n\n")
        assert client.wait(lambda: client.got.closed, timeout=5)
        kinds = [f.content_type for f in client.got.replies]
        assert kinds == ["auth/request", "command/reply", "api/response"]
    finally:
        client.close()
    assert sim.execute_api("sim_drop_esl loudly").startswith("-ERR")
