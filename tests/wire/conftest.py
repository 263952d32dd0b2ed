"""Shared wire-level fixtures: a simulator with the ESL client and the floor service."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import gevent
import pytest

from esl_controller.esl.client import EslSettings
from esl_controller.services.link import link_floor
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    """Wait (yielding to other greenlets) until ``predicate()`` is true, or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        gevent.sleep(0.02)
    return bool(predicate())


@pytest.fixture
def stack():  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim = Simulator(port=port, conf_dir=CONF)
    sim.start()
    client, floor = link_floor(EslSettings(port=port, backoff_max=0.5))
    floor.start()
    client.start()
    assert wait_until(lambda: floor.resyncs == 1)
    yield sim, client, floor
    client.stop()
    floor.stop()
    sim.stop()
