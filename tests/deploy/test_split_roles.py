"""Split roles: web workers and a controller as separate processes over Redis.

A click on a page served by one web worker reaches the controller (and FreeSWITCH), and
the page of the same agent on another worker sees the change; the controller's typed
errors come back as the embedded process gives them; with no controller holding the
lease, actions are 503 ``no_controller`` and ``/health`` says why.
"""

from __future__ import annotations

import pathlib
import time

import requests

from tests.deploy.cluster import Browser, Cluster
from tests.web.conftest import build_web, stop_web


def test_ready_on_worker_b_reaches_the_controller_and_the_page_on_worker_a(
    tmp_path: pathlib.Path, prefix: str, db_url: str
) -> None:
    cluster = Cluster(tmp_path, db_url, prefix)
    cluster.prepare_database()
    try:
        cluster.start_simulator()
        cluster.start_controller("c1")
        a, b = cluster.start_web("web-a"), cluster.start_web("web-b")
        cluster.wait(lambda: cluster.serving("c1"), 60, "the controller to be active")
        assert cluster.role("web-a") == "web" and cluster.role("c1") == "active"

        alice = Browser(b, "alice")  # signed in through worker B: On Break "Login"
        alice.listen(a)  # her page is served by worker A
        cluster.wait(lambda: alice.seen("snapshot"), 15, "the page's first snapshot")
        first = alice.seen("snapshot")[0]
        assert first["agent"]["name"] == "agent1000"
        assert first["agent"]["status"] == "On Break" and first["link"]["connected"]

        clicked = time.monotonic()
        reply = alice.post(b, "agent/ready")
        assert reply.status_code == 200, reply.text
        assert reply.json()["agent"]["status"] == "Available"
        cluster.wait(lambda: any(e["status"] == "Available" for e in alice.seen("agent", clicked)),
                     15, "worker A's page to see Available")  # fmt: skip
        assert "Available" in cluster.esl.api("callcenter_config agent get status agent1000")

        # Read on worker A: its copy of the controller's floor has the change too.
        status = alice.http.get(f"{a}/call-center/api/agent/status", timeout=10).json()
        assert status["agent"]["status"] == "Available"
        # An error the controller's service raises comes back typed.
        closing = alice.post(a, "agent/wrap-up/close", {"call_uuid": "0" * 36})
        assert closing.status_code == 404, closing.text
        assert closing.json()["error"]["code"] == "no_wrap_up"

        # The ESL console through a web worker: run and refused on the controller.
        eve = Browser(a, "eve")
        ran = eve.post(a, "console", {"command": "callcenter_config agent get status agent1000"})
        assert ran.status_code == 200 and "Available" in ran.json()["output"], ran.text
        refused = eve.post(a, "console", {"command": "system rm -rf /"})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "console_refused"

        # A controller stopped on purpose (SIGTERM) hands over at once to a standby.
        cluster.start_controller("c2")
        cluster.wait(lambda: cluster.role("c2") == "standby", 60, "c2 to be standby")
        cluster.processes["c1"].stop()
        assert cluster.processes["c1"].proc is not None
        assert cluster.processes["c1"].proc.returncode == 0
        cluster.wait(lambda: cluster.serving("c2"), 30, "c2 to take over")
        again = alice.post(b, "agent/not-ready", {"reason": "lunch"})
        assert again.status_code == 200 and again.json()["agent"]["pause_reason"] == "Lunch"

        # Signing out on worker B ends the session everywhere: the page on worker A is
        # disconnected and its cookie no longer works there.
        assert alice.post(b, "agent/logout").status_code == 200
        assert alice.socket is not None
        cluster.wait(lambda: not alice.socket.connected, 15, "A's page to be disconnected")
        gone = alice.http.get(f"{a}/call-center/api/agent/status", timeout=10)
        assert gone.status_code == 401
        alice.close()
    finally:
        cluster.stop()


def test_without_a_controller_actions_are_503_no_controller(
    tmp_path: pathlib.Path, prefix: str
) -> None:
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}", prefix)
    cluster.prepare_database()
    try:
        web, other = cluster.start_web("web-a"), cluster.start_web("web-b")
        status, body = cluster.health("web-a")
        assert status == 503 and body["role"] == "web"
        assert body["freeswitch"]["state"] == "no_controller"
        assert "no controller holds the lease" in " ".join(body["problems"])
        assert body["cluster"]["lease_holder"] is None

        sue = Browser(web, "sue")  # a supervisor signs in without FreeSWITCH
        forced = sue.post(web, "supervisor/agent/agent1000/status", {"status": "Available"})
        assert forced.status_code == 503, forced.text
        assert forced.json()["error"]["code"] == "no_controller"
        agent = sue.http.post(f"{web}/call-center/api/agent/login", timeout=10,
                              json={"username": "alice", "password": "alice-password"})  # fmt: skip
        assert agent.status_code == 503 and agent.json()["error"]["code"] == "no_controller"
        # The page still opens and says why it cannot act.
        sue.listen()
        cluster.wait(lambda: sue.seen("snapshot"), 15, "the page's snapshot")
        link = sue.seen("snapshot")[0]["link"]
        assert link["connected"] is False and link["state"] == "no_controller"
        sue.close()

        # Failed sign-ins count across workers: five spread over two, then refused on both.
        wrong = {"username": "eve", "password": "wrong-guess"}
        for base in (web, other, web, other, web):
            guess = requests.post(f"{base}/call-center/api/agent/login", json=wrong, timeout=10)
            assert guess.status_code == 401, guess.text
        right = {"username": "eve", "password": "eve-password"}
        for base in (other, web):
            refused = requests.post(f"{base}/call-center/api/agent/login", json=right, timeout=10)
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["Retry-After"]) >= 1
    finally:
        cluster.stop()


def test_the_embedded_process_says_it_is_the_active_one(tmp_path: pathlib.Path) -> None:
    web = build_web(f"sqlite:///{tmp_path / 'cc.db'}")
    try:
        reply = web.app.test_client().get("/health")
        assert reply.status_code == 200
        assert reply.get_json()["role"] == "active" and "cluster" not in reply.get_json()
    finally:
        stop_web(web)
