"""The floor service against the simulator over TCP: live events build the model, and
after FreeSWITCH restarts the model equals what a fresh resync reads."""

from __future__ import annotations

import socket
import time

import gevent

from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.services.floor_service import FloorService
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        gevent.sleep(0.02)
    return bool(predicate())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int) -> Simulator:
    sim = Simulator(port=port, conf_dir=CONF, speed=20, heartbeat_interval=0.5)
    sim.start()
    return sim


def test_live_model_and_resync_after_a_restart() -> None:
    port = free_port()
    sim = start(port)
    settings = EslSettings(port=port, heartbeat_timeout=3, backoff_max=0.5, command_timeout=3)
    holder: dict[str, FloorService] = {}
    client = EslClient(
        settings,
        on_event=lambda e: holder["svc"].on_event(e),
        on_connected=lambda: holder["svc"].on_connected(),
    )
    service = FloorService(client.api)
    holder["svc"] = service
    service.start()
    client.start()
    try:
        assert wait_until(lambda: service.resyncs == 1)
        assert service.snapshot().agents["agent1000"].status == "Logged Out"
        assert set(service.snapshot().queues) == {"support@default", "sales@default"}

        sim.execute_api("sim_phone 1000 register")
        sim.execute_api("callcenter_config agent set status agent1000 Available")
        sim.execute_api("callcenter_config agent set state agent1000 Waiting")
        sim.execute_api("sim_caller 5000 5559990000 Live\\ Caller")
        assert wait_until(lambda: any(
            c.agent == "agent1000" for c in service.snapshot().calls.values()))  # fmt: skip
        live = service.snapshot()
        call = next(iter(live.calls.values()))
        assert (call.queue, call.cid_number) == ("support@default", "5559990000")
        assert live.agents["agent1000"].phone_online is True
        assert live.queues["support@default"].answered == 1

        # FreeSWITCH dies in the middle of the call and comes back empty.
        sim.stop()
        gevent.sleep(0.3)
        sim = start(port)
        sim.execute_api("callcenter_config agent set status agent1001 'On Break'")
        assert wait_until(lambda: service.resyncs == 2)
        after = service.snapshot()
        assert not after.calls  # the old call is gone with the old switch
        assert after.agents["agent1000"].status == "Logged Out"
        assert after.agents["agent1001"].status == "On Break"

        # The model equals a fresh resync of the same switch.
        fresh = FloorService(client.api)
        fresh.start()
        fresh.on_connected()
        assert wait_until(lambda: fresh.resyncs == 1)
        statuses = {n: (a.status, a.state) for n, a in fresh.snapshot().agents.items()}
        assert {n: (a.status, a.state) for n, a in after.agents.items()} == statuses
        fresh.stop()
    finally:
        client.stop()
        service.stop()
        sim.stop()
