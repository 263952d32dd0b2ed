"""Thousands of random call-center operations against the simulator, with the invariants
a real FreeSWITCH keeps checked after each one: no agent Waiting while bridged, every
bridged member has exactly one agent, waiting members have a live channel, and at the
end every channel that was created was destroyed."""

from __future__ import annotations

import random

import gevent
import pytest

from esl_controller.simulator.wire.bus import StampedEvent
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF

STATUSES = ["Available", "'On Break'", "'Logged Out'", "'Available (On Demand)'"]


def check(sim: Simulator) -> None:
    module, engine = sim.callcenter, sim.core.engine
    for channel in list(engine.channels.values()):
        partner = channel.partner
        # An agent's leg bridged to a member: the agent is on a queue call, never Waiting.
        # (A loopback agent's far side bridged to its device is not the queue call.)
        if (
            channel.variables.get("cc_side") == "agent"
            and partner is not None
            and partner.variables.get("cc_side") == "member"
        ):
            agent = module.tables.agents.get(channel.variables.get("cc_agent", ""))
            assert agent is not None and agent.state != "Waiting", (
                agent.name if agent else None,
                channel.name,
                partner.name,
                channel.variables.get("current_application"),
            )
        if channel.variables.get("cc_side") == "member" and partner is not None:
            legs = [c for c in engine.channels.values() if c.partner is channel]
            assert len(legs) <= 1
    for member in module.tables.members:
        if member.state in ("Waiting", "Trying"):
            channel = engine.get(member.session_uuid)
            assert channel is not None and not channel.gone, member


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_keep_the_invariants(seed: int) -> None:
    rng = random.Random(seed)
    sim = Simulator(port=0, conf_dir=CONF, speed=50, seed=seed)
    created: set[str] = set()
    destroyed: set[str] = set()

    def track(event: StampedEvent) -> None:
        if event.name == "CHANNEL_CREATE":
            created.add(event.get("Unique-ID") or "")
        elif event.name == "CHANNEL_DESTROY":
            destroyed.add(event.get("Unique-ID") or "")

    sim.bus.add_listener(track)
    sim.start()
    try:
        sim.traffic.log_in_agents(6)
        agents = list(sim.callcenter.tables.agents)
        for phone in sim.phones.phones.values():
            phone.answer_after = 0.5
        for _ in range(1500):
            op = rng.random()
            channels = list(sim.core.engine.channels.values())
            if op < 0.25:
                gevent.spawn(sim.traffic.caller, rng.choice(["5000", "5001"]))
            elif op < 0.40:
                agent = rng.choice(agents)
                sim.execute_api(
                    f"callcenter_config agent set status {agent} {rng.choice(STATUSES)}"
                )
            elif op < 0.50:
                # "Ready" after an On Demand call: Idle -> Waiting, as the product does it.
                agent = sim.callcenter.tables.agents[rng.choice(agents)]
                if agent.state == "Idle":
                    sim.execute_api(f"callcenter_config agent set state {agent.name} Waiting")
            elif op < 0.65 and channels:
                sim.execute_api(f"uuid_kill {rng.choice(channels).uuid}")
            elif op < 0.75 and channels:
                mode = rng.choice(["", "off ", "toggle "])
                sim.execute_api(f"uuid_hold {mode}{rng.choice(channels).uuid}")
            elif op < 0.80 and channels:
                sim.execute_api(f"uuid_transfer {rng.choice(channels).uuid} 9664 XML default")
            elif op < 0.85:
                user = rng.choice(list(sim.phones.phones))
                sim.execute_api(f"sim_phone {user} {rng.choice(['answer', 'reject', 'busy'])}")
            gevent.sleep(rng.choice([0, 0, 0, 0.002]))
            check(sim)
        sim.execute_api("hupall NORMAL_CLEARING")
        deadline = 200
        while sim.core.engine.channels and deadline:
            gevent.sleep(0.05)
            deadline -= 1
            sim.execute_api("hupall NORMAL_CLEARING")
        gevent.sleep(0.2)
        assert not sim.core.engine.channels
        assert created and created == destroyed
        assert sim.traffic.callers_started > 100
    finally:
        sim.stop()
