"""Fidelity of the simulator's mod_callcenter configuration commands: every
``callcenter_config`` sub-command of the recorded scenario gets FreeSWITCH's reply and
fires FreeSWITCH's events (CC-Action, headers, order, Event-Calling-Function/Line)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF, compare


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, heartbeat_interval=20, conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


def test_callcenter_config_scenario_matches_freeswitch(sim: Simulator) -> None:
    compare("callcenter_config", sim)
