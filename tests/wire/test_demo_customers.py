"""``make run``'s demo: the simulated callers call from the demo customers' numbers, so
the ringing popup finds a customer record (the simulator over TCP, a real SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from esl_controller.entrypoints.demo import demo_caller_book, ensure_demo_customers
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.services.customers import CustomerLookup
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Customer
from tests.helpers.fixture_replay import CONF
from tests.wire.conftest import wait_until


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


def test_demo_callers_are_known_customers(sim: Simulator, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    sessions = sessionmaker(make_engine(url))
    assert ensure_demo_customers(sessions) == len(demo_caller_book())
    assert ensure_demo_customers(sessions) == 0  # the next start adds nothing
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == len(demo_caller_book())

    sim.traffic.profile.callers = demo_caller_book()
    for _ in range(3):
        gevent.spawn(sim.traffic.caller, "5000", patient=True)  # nobody answers: they wait

    def waiting() -> list[dict[str, str]]:
        text = sim.execute_api(str(cc.json_query("queue list members", "support@default")))
        return replies.json_api(text)

    assert wait_until(lambda: len(waiting()) == 3, 10)
    lookup = CustomerLookup(sessions)
    for member in waiting():
        record = lookup.lookup(member["cid_number"])
        assert record is not None, member
        assert record.name == member["cid_name"]
