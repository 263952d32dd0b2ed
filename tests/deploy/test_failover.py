"""Controller high availability: the active controller is killed (``kill -9``) while
callers are queued, ringing and talking.

What a user sees: the standby holds the lease and reports ``active`` (the issue's bar is
5 s; the time is printed and ``bench``-style, not asserted beyond a generous deadline),
the pages on a web worker get the outage on their open connection and recover on it,
and every call the callers made is in the history exactly once, whichever controller
wrote it.
"""

from __future__ import annotations

import pathlib
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from esl_controller.store.engine import make_engine
from esl_controller.store.models import Call
from tests.deploy.cluster import Browser, Cluster

CALLERS = 30
KILL_AFTER = 12


def history(db_url: str, numbers: set[str]) -> list[tuple[str, str | None, object]]:
    engine = make_engine(db_url)
    try:
        with sessionmaker(engine)() as session:
            rows = session.execute(select(Call.cid_number, Call.outcome, Call.ended_at)
                                   .where(Call.cid_number.in_(numbers)))  # fmt: skip
            return [(n, o, e) for n, o, e in rows]
    finally:
        engine.dispose()


def test_killing_the_active_controller_mid_traffic(
    tmp_path: pathlib.Path, prefix: str, db_url: str
) -> None:
    cluster = Cluster(tmp_path, db_url, prefix)
    cluster.prepare_database()
    try:
        # Ten answering agents; simulated time runs 20x (a 120 s talk lasts 6 s).
        cluster.start_simulator("--agents", "10", "--speed", "20")
        cluster.start_controller("c1")
        cluster.wait(lambda: cluster.serving("c1"), 60, "c1 to be active")
        cluster.start_controller("c2")
        cluster.wait(lambda: cluster.role("c2") == "standby", 60, "c2 to be standby")
        web = cluster.start_web("web-a")
        sue = Browser(web, "sue")
        sue.listen()
        cluster.wait(lambda: sue.seen("snapshot"), 15, "the supervisor page's snapshot")

        numbers = [f"55577{i:05d}" for i in range(CALLERS)]

        def place(batch: list[str]) -> None:
            for number in batch:
                assert cluster.esl.api(f"sim_caller 5000 {number} Caller").startswith("+OK")
                time.sleep(0.25)

        place(numbers[:KILL_AFTER])
        later = threading.Thread(target=place, args=(numbers[KILL_AFTER:],))
        cluster.kill("c1")  # mid-traffic: callers queued, ringing and talking
        killed_at = time.monotonic()
        later.start()  # and more keep coming during the take-over
        cluster.wait(lambda: cluster.serving("c2"), 60, "c2 to take over")
        took = time.monotonic() - killed_at
        print(f"\ntake-over: c2 active and connected {took:.2f} s after kill -9 of c1 "
              f"(lease {cluster.lease_ttl:g} s; the issue's bar is 5 s)")  # fmt: skip
        later.join()
        assert cluster.role("c1") is None  # it is gone; c2 holds the lease
        assert cluster.health("web-a")[1]["cluster"]["controller"] == "c2"

        # The page saw the outage and came back on the same connection (no reload).
        cluster.wait(
            lambda: any(link["connected"] for link in sue.seen("link", killed_at)),
            30, "the page's link to come back",
        )  # fmt: skip
        links = sue.seen("link", killed_at)
        down = next(i for i, link in enumerate(links) if not link["connected"])
        assert links[down]["state"] == "no_controller"
        assert any(link["connected"] for link in links[down:])
        assert any(snap["link"]["connected"] for snap in sue.seen("snapshot", killed_at))
        assert sue.connects == 1

        # Every caller ends (patient callers are all answered, talk, hang up): each call
        # once in the history, ended, whichever controller saw it.
        wanted = set(numbers)

        def all_recorded() -> bool:
            rows = history(db_url, wanted)
            return len({n for n, _, ended in rows if ended is not None}) == len(wanted)

        cluster.wait(all_recorded, 180, "every call in the history")
        rows = history(db_url, wanted)
        assert sorted(n for n, _, _ in rows) == sorted(numbers)  # once each, none doubled
        outcomes = [outcome for _, outcome, _ in rows]
        counts = {str(o): outcomes.count(o) for o in set(outcomes)}
        print(f"outcomes: {counts} (lost: ended while no controller was active)")
        assert all(outcome in ("answered", "lost") for outcome in outcomes), outcomes
        assert outcomes.count("answered") >= CALLERS // 2

        # The new controller takes the web worker's clicks.
        forced = sue.post(web, "supervisor/agent/agent1000/status", {"status": "On Break"})
        assert forced.status_code == 200, forced.text
        sue.close()
    finally:
        cluster.stop()
