"""Redis away for a while (a proxy in front of it is cut): the active controller steps
down before its lease can expire (it stops its ESL link and recorder), the web workers'
pages show the outage, and once Redis is back a controller takes the lease again and the
pages come back — with live changes reaching them again (Socket.IO's queue listens
again within a second and the pages get fresh snapshots)."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator

import pytest

from tests.deploy.cluster import REDIS_URL, Browser, Cluster
from tests.deploy.proxy import ThreadedProxy


@pytest.fixture
def redis_proxy(redis_client: object) -> Iterator[ThreadedProxy]:
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
    proxy = ThreadedProxy((host, int(port)))
    yield proxy
    proxy.close()


def test_redis_away_then_back(tmp_path: pathlib.Path, prefix: str,
                              redis_proxy: ThreadedProxy) -> None:  # fmt: skip
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}", prefix,
                      REDIS_URL=f"redis://127.0.0.1:{redis_proxy.port}/0")  # fmt: skip
    cluster.prepare_database()
    try:
        cluster.start_simulator()
        cluster.start_controller("c1")
        cluster.wait(lambda: cluster.serving("c1"), 60, "c1 to be active")
        web = cluster.start_web("web-a")
        sue = Browser(web, "sue")
        sue.listen()
        alice = Browser(web, "alice")
        cluster.wait(lambda: sue.seen("snapshot"), 15, "the supervisor page's snapshot")

        redis_proxy.cut()
        cut_at = time.monotonic()
        cluster.wait(lambda: cluster.role("c1") == "standby", 30, "c1 to step down")
        status, body = cluster.health("web-a")
        assert status == 503 and body["freeswitch"]["connected"] is False
        cluster.wait(lambda: any(not link["connected"] for link in sue.seen("link", cut_at)),
                     15, "the page to show the outage")  # fmt: skip
        # Nothing can be done meanwhile (not even a signed-out session can be told from a
        # live one): 503, never a sign-in prompt.
        refused = alice.post(web, "agent/ready")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] in ("redis_unavailable", "no_controller")

        # Long enough for a stock Socket.IO queue listener to be waiting 8 s between its
        # attempts (1, 2, 4, 8...): the pages would miss what follows the recovery.
        time.sleep(max(0.0, cut_at + 9 - time.monotonic()))
        redis_proxy.restore()
        back_at = time.monotonic()
        cluster.wait(lambda: cluster.serving("c1"), 60, "a controller to hold the lease again")
        cluster.wait(lambda: cluster.health("web-a")[0] == 200, 60, "the web worker's health")
        cluster.wait(lambda: any(s["link"]["connected"] for s in sue.seen("snapshot", back_at)),
                     30, "a fresh snapshot on the page")  # fmt: skip

        # A change after the outage reaches the page live (the queue listens again).
        clicked = time.monotonic()
        cluster.wait(lambda: alice.post(web, "agent/ready").status_code == 200, 30,
                     "a Ready click to go through")  # fmt: skip
        cluster.wait(lambda: any(a["name"] == "agent1000" and a["status"] == "Available"
                                 for b in sue.seen("floor_batch", clicked) for a in b["agents"]),
                     30, "the supervisor page to see Available")  # fmt: skip
        assert sue.connects == 1
        sue.close()
    finally:
        cluster.stop()
