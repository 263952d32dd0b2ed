"""A wrap-up owed when the active controller dies (``kill -9``): the standby that takes
over reads it back from the database, so the agent's page still has the form with the
same deadline, offers stay held, and the disposition is saved through the new controller."""

from __future__ import annotations

import math
import pathlib
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.store.engine import make_engine
from esl_controller.store.models import OwedWrapUp
from tests.deploy.cluster import Browser, Cluster


def test_a_wrap_up_owed_survives_a_controller_take_over(
    tmp_path: pathlib.Path, prefix: str, db_url: str
) -> None:
    cluster = Cluster(tmp_path, db_url, prefix)
    cluster.prepare_database()
    try:
        cluster.start_simulator()
        cluster.start_controller("c1")
        cluster.wait(lambda: cluster.serving("c1"), 60, "c1 to be active")
        cluster.start_controller("c2")
        cluster.wait(lambda: cluster.role("c2") == "standby", 60, "c2 to be standby")
        web = cluster.start_web("web-a")
        for line in ("sim_phone 1000 register", "sim_phone 1000 noanswer"):
            assert cluster.esl.api(line).startswith("+OK")
        alice = Browser(web, "alice")
        assert alice.post(web, "agent/ready").status_code == 200
        assert cluster.esl.api("sim_caller 5000 5551230000 Ada").startswith("+OK")
        cluster.wait(lambda: alice.post(web, "call/ringing").status_code == 200, 20, "an offer")
        answered = alice.post(web, "call/answer")
        assert answered.status_code == 200, answered.text
        uuid = answered.json()["call"]["uuid"]
        assert alice.post(web, "call/drop").status_code == 200

        def wrap_up() -> dict | None:  # type: ignore[type-arg]
            reply = alice.http.get(f"{web}/call-center/api/agent/status", timeout=10)
            return reply.json().get("wrap_up") if reply.status_code == 200 else None

        cluster.wait(lambda: wrap_up() is not None, 20, "the wrap-up form")
        owed = wrap_up()
        assert owed is not None and owed["call_uuid"] == uuid
        # Written behind (off the hub): give it the moment it takes before the kill.
        cluster.wait(lambda: stored(db_url) == [uuid], 10, "the owed wrap-up stored")

        cluster.kill("c1")
        cluster.wait(lambda: cluster.serving("c2"), 60, "c2 to take over")
        cluster.wait(lambda: wrap_up() is not None, 30, "the wrap-up form from c2")
        again = wrap_up()
        assert again is not None and again["call_uuid"] == uuid
        assert again["until"] == pytest.approx(owed["until"], abs=0.01)
        alice.listen(web)  # a page that reloads now
        cluster.wait(lambda: alice.seen("snapshot"), 15, "the page's snapshot")
        assert alice.seen("snapshot")[0]["wrap_up"]["call_uuid"] == uuid
        assert owed["until"] > time.time()  # still held: the test ran within the limit
        assert ready_time(cluster) == math.ceil(owed["until"])  # offers held until then

        saved = alice.post(web, "agent/wrap-up", {"disposition": "resolved"})
        assert saved.status_code == 200, saved.text
        assert saved.json()["call_uuid"] == uuid
        assert wrap_up() is None
        assert ready_time(cluster) == 0  # offers come again
        cluster.wait(lambda: stored(db_url) == [], 10, "the wrap-up settled")
        alice.close()
    finally:
        cluster.stop()


def ready_time(cluster: Cluster) -> int:
    command = cc.json_query("agent list")
    rows = replies.json_api(cluster.esl.api(command.line))
    return int(next(r for r in rows if r["name"] == "agent1000")["ready_time"])


def stored(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        with sessionmaker(engine)() as session:
            return list(session.scalars(select(OwedWrapUp.call_uuid)))
    finally:
        engine.dispose()
