"""PostgreSQL goes away in the middle of traffic (a real TCP outage between the recorder
and the server): records wait, nothing blocks, and once it is back every record is
written exactly once."""

from __future__ import annotations

import pathlib

import gevent
import gevent.server
import gevent.socket
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from esl_controller.services.recorder import Recorder
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Call
from tests.helpers.databases import postgres_schema_url
from tests.helpers.tcp_proxy import CuttableProxy
from tests.unit.test_domain_floor import replay


def test_database_outage_loses_no_record(tmp_path: pathlib.Path) -> None:
    for direct_url in postgres_schema_url():
        upgrade(direct_url)
        proxy = CuttableProxy(("127.0.0.1", 5432))
        via_proxy = direct_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        recorder = Recorder(sessionmaker(make_engine(via_proxy)), retry_initial=0.05,
                            retry_max=0.2, spill_path=tmp_path / "spill.jsonl")  # fmt: skip
        recorder.start()
        try:
            _, first = replay("call_answered_plain")
            recorder.on_changes(first)
            assert recorder.drained(timeout=20)
            proxy.cut()  # the database disappears
            for name in ("call_abandoned", "no_answer_to_break", "sip_agent_hold_transfer"):
                _, changes = replay(name)
                recorder.on_changes(changes)  # returns at once: the floor keeps going
            gevent.sleep(0.5)
            assert recorder.waiting and recorder.failures > 0
            proxy.restore()
            assert recorder.drained(timeout=30)
            with session_scope(sessionmaker(make_engine(direct_url))) as session:
                assert session.scalar(select(func.count(Call.id))) == 4
        finally:
            recorder.stop()
            proxy.close()
