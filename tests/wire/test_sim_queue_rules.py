"""Queue rules of the simulated mod_callcenter that the recordings do not cover, following
mod_callcenter.c: max-wait-time (TIMEOUT), max-wait-time-with-no-agent (NO_AGENT_TIMEOUT),
tier-rule escalation by level, and ring-all offering every eligible agent at once."""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Iterator

import pytest

from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF
from tests.wire.test_sim_fidelity_calls import Call


def conf_with(tmp_path: pathlib.Path, queue: str, params: dict[str, str]) -> pathlib.Path:
    target = tmp_path / "conf"
    shutil.copytree(CONF, target)
    path = target / "autoload_configs" / "callcenter.conf.xml"
    text = path.read_text()
    head, _, rest = text.partition(f'<queue name="{queue}">')
    body, _, tail = rest.partition("</queue>")
    extra = "".join(f'  <param name="{k}" value="{v}"/>\n    ' for k, v in params.items())
    # Appended last: a later param of the same name wins, as in the module's loader.
    path.write_text(head + f'<queue name="{queue}">' + body + extra + "</queue>" + tail)
    return target


@pytest.fixture
def start_sim() -> Iterator:  # type: ignore[type-arg]
    started: list[Simulator] = []

    def start(conf: pathlib.Path) -> Simulator:
        sim = Simulator(port=0, conf_dir=conf, speed=20)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def test_max_wait_time_cancels_with_timeout(tmp_path: pathlib.Path, start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim(conf_with(tmp_path, "support@default", {"max-wait-time": "4"}))
    call = Call(sim)
    try:
        call.api("sim_caller 5000 5550000001 Patient")
        end = call.wait_cc("member-queue-end")
        assert (end.get("CC-Cause"), end.get("CC-Cancel-Reason")) == ("Cancel", "TIMEOUT")
        waited = int(end.get("CC-Member-Leaving-Time") or 0) - int(
            end.get("CC-Member-Joined-Time") or 0)  # fmt: skip
        assert waited >= 4
        assert sim.callcenter.tables.queues["support@default"].calls_abandoned == 1
    finally:
        call.client.close()


def test_no_agent_timeout(tmp_path: pathlib.Path, start_sim) -> None:  # type: ignore[no-untyped-def]
    conf = conf_with(tmp_path, "sales@default", {
        "max-wait-time-with-no-agent": "3", "max-wait-time-with-no-agent-time-reached": "1",
    })  # fmt: skip
    sim = start_sim(conf)
    call = Call(sim)
    try:
        call.api("sim_caller 5001")
        end = call.wait_cc("member-queue-end")
        assert end.get("CC-Cancel-Reason") == "NO_AGENT_TIMEOUT"
    finally:
        call.client.close()


def test_tier_rules_hold_level_two_back(tmp_path: pathlib.Path, start_sim) -> None:  # type: ignore[no-untyped-def]
    conf = conf_with(tmp_path, "support@default", {
        "tier-rules-apply": "true", "tier-rule-wait-second": "3",
        "tier-rule-wait-multiply-level": "false", "tier-rule-no-agent-no-wait": "false",
    })  # fmt: skip
    sim = start_sim(conf)
    call = Call(sim)
    try:
        # agent1000 answers (phone) on level 2; agent1001 on level 1 is Available but busy.
        call.api("sim_phone 1000 register")
        call.api("sim_phone 1001 register")
        call.api("sim_phone 1001 busy")
        call.api("callcenter_config tier set level support@default agent1000 2")
        for agent in ("agent1000", "agent1001"):
            call.api(f"callcenter_config agent set status {agent} Available")
            call.api(f"callcenter_config agent set state {agent} Waiting")
        call.api("sim_caller 5000")
        start = call.wait_cc("bridge-agent-start")
        offers = [e for e in call.events() if e.get("CC-Action") == "agent-offering"]
        assert offers[0].get("CC-Agent") == "agent1001"  # level 1 first
        assert start.get("CC-Agent") == "agent1000"
        waited = int(start.get("CC-Agent-Called-Time") or 0) - int(
            start.get("CC-Member-Joined-Time") or 0)  # fmt: skip
        assert waited >= 3  # level 2 only after tier-rule-wait-second
    finally:
        call.client.close()


def test_ring_all_rings_every_eligible_agent(tmp_path: pathlib.Path, start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim(CONF)
    call = Call(sim)
    try:
        for user in ("1002", "1003"):
            call.api(f"sim_phone {user} register")
            call.api(f"sim_phone {user} answer 1")
            call.api(f"callcenter_config agent set status agent{user} Available")
            call.api(f"callcenter_config agent set state agent{user} Waiting")
        call.api("sim_caller 5001")
        start = call.wait_cc("bridge-agent-start")
        offers = {
            e.get("CC-Agent") for e in call.events() if e.get("CC-Action") == "agent-offering"
        }
        assert offers == {"agent1002", "agent1003"}
        loser = ({"agent1002", "agent1003"} - {start.get("CC-Agent")}).pop()
        fail = call.wait_cc("bridge-agent-fail")
        assert fail.get("CC-Agent") == loser
        assert sim.callcenter.tables.agents[loser].no_answer_count == 0
    finally:
        call.client.close()
