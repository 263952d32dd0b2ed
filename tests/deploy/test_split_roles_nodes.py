"""Split roles with several FreeSWITCH nodes (``ESL_NODES``): two simulators as two nodes,
one controller linked to both, a web worker serving the pages.

What a user sees through the web worker: a supervisor's floor holds the agents of both
nodes, each tagged with its node; a Ready and a call of an agent on either node reach
that node's switch and land in the one history; a take-over (``kill -9`` of the active
controller) links the standby to both nodes; the second switch gone, its agents show
unreachable while the first node's agents stay reachable and take commands; ``/health``
of the web worker and of the controller lists each node's link.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from esl_controller.services.users import UserService
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.models import Agent
from tests.browser.esl_api import EslApi
from tests.browser.server import Process, callcenter_command, free_port
from tests.deploy.cluster import SIMULATOR_LINE, Browser, Cluster
from tests.helpers.fixture_replay import CONF

QUEUE = "support@default"
CAROL = "carol-password"


class TwoNodes(Cluster):
    """A cluster whose controllers link to two simulators, ``fs1`` and ``fs2``."""

    def __init__(self, workdir: pathlib.Path, db_url: str, prefix: str) -> None:
        self.node_ports = {"fs1": free_port(), "fs2": free_port()}
        nodes = ",".join(f"{name}=127.0.0.1:{port}" for name, port in self.node_ports.items())
        super().__init__(workdir, db_url, prefix, ESL_NODES=nodes)

    def prepare_database(self) -> None:
        super().prepare_database()
        # Carol's agent lives on the second node (provisioned there, and only there).
        engine = make_engine(self.db_url)
        sessions = sessionmaker(engine)
        UserService(sessions).add("carol", "agent", CAROL, extension="2000", agent="agent2000",
                                  display_name="Carol", queues=[QUEUE])  # fmt: skip
        with session_scope(sessions) as session:
            session.execute(update(Agent).where(Agent.name == "agent2000").values(node="fs2"))
        engine.dispose()

    def start_node(self, name: str) -> None:
        command = [*callcenter_command(), "simulate", "--port", str(self.node_ports[name]),
                   "--conf", str(CONF)]  # fmt: skip
        process = Process(command, self.workdir, self.env())
        process.start()
        process.wait_for_line(SIMULATOR_LINE)
        self.processes[name] = process

    def switch(self, name: str) -> EslApi:
        return EslApi(self.node_ports[name])

    def nodes(self, name: str) -> dict[str, bool]:
        """Each node's link as ``name``'s /health lists it."""
        return {n["name"]: n["connected"] for n in self.health(name)[1].get("nodes") or []}


def status_on(cluster: TwoNodes, node: str, agent: str) -> str:
    return cluster.switch(node).api(f"callcenter_config agent get status {agent}").strip()


def floor(browser: Browser, base: str) -> dict[str, dict[str, Any]]:
    reply = browser.http.get(f"{base}/call-center/api/floor", timeout=10)
    assert reply.status_code == 200, reply.text
    return {a["name"]: a for a in reply.json()["agents"]}


def answered_then_dropped(cluster: TwoNodes, node: str, agent: Browser, web: str,
                          extension: str, number: str) -> str:  # fmt: skip
    """A caller into the queue on ``node``, answered by the agent's phone there, then
    dropped from the agent's page; returns the call's uuid."""
    switch = cluster.switch(node)
    for action in ("add", "register", "answer 1"):
        switch.ok(f"sim_phone {extension} {action}")
    switch.ok(f"sim_caller 5000 {number} Caller")

    def live() -> dict[str, Any] | None:
        call = agent.http.get(f"{web}/call-center/api/agent/status", timeout=10).json()["call"]
        return call if call and call.get("answered_at") else None

    cluster.wait(lambda: live() is not None, 30, f"the call from {number} answered on {node}")
    call = live()
    assert call is not None
    dropped = agent.post(web, "call/drop")
    assert dropped.status_code == 200, dropped.text
    return str(call["uuid"])


def history_nodes(agent: Browser, web: str) -> dict[str, str | None]:
    items = agent.http.get(f"{web}/call-center/api/history", timeout=10).json()["items"]
    return {c["call_uuid"]: c["node"] for c in items}


def test_two_nodes_behind_a_controller_and_a_web_worker(
    tmp_path: pathlib.Path, prefix: str, db_url: str
) -> None:
    cluster = TwoNodes(tmp_path, db_url, prefix)
    cluster.prepare_database()
    try:
        cluster.start_node("fs1")
        cluster.start_node("fs2")
        cluster.start_controller("c1")
        web = cluster.start_web("web")
        both = {"fs1": True, "fs2": True}
        cluster.wait(lambda: cluster.serving("c1") and cluster.nodes("c1") == both, 60,
                     "the controller active and linked to both nodes")  # fmt: skip
        cluster.start_controller("c2")
        cluster.wait(lambda: cluster.role("c2") == "standby", 60, "c2 to be standby")
        # /health of the web worker lists each node as the controller's does.
        cluster.wait(lambda: cluster.nodes("web") == both, 15, "the web worker's /health nodes")
        assert cluster.health("web")[0] == 200
        # Provisioning put carol's agent on the second switch only.
        cluster.wait(lambda: "agent2000" in cluster.switch("fs2").api("callcenter_config "
                                                                       "agent list"),
                     30, "agent2000 provisioned on fs2")  # fmt: skip
        assert "agent2000" not in cluster.switch("fs1").api("callcenter_config agent list")

        # The supervisor's floor, through the web worker: both nodes' agents, tagged.
        sue = Browser(web, "sue")
        sue.listen()
        cluster.wait(lambda: sue.seen("snapshot"), 15, "the supervisor page's snapshot")
        cluster.wait(lambda: {"agent1000", "agent2000"} <= floor(sue, web).keys(), 15,
                     "both nodes' agents on the web worker's floor")  # fmt: skip
        agents = floor(sue, web)
        assert (agents["agent1000"]["node"], agents["agent2000"]["node"]) == ("fs1", "fs2")
        assert agents["agent1000"]["reachable"] and agents["agent2000"]["reachable"]

        def pushed() -> dict[str, dict[str, Any]]:
            """The agents of the last snapshot the supervisor's page was sent."""
            snaps = [s for s in sue.seen("snapshot") if s.get("floor")]
            return {a["name"]: a for a in snaps[-1]["floor"]["agents"]} if snaps else {}

        cluster.wait(lambda: pushed().get("agent2000", {}).get("node") == "fs2", 15,
                     "the page's snapshot to carry agent2000 of fs2")  # fmt: skip
        assert pushed()["agent1000"]["node"] == "fs1"

        # Ready through the web worker reaches each agent's own switch.
        alice = Browser(web, "alice")
        carol = Browser(web, "carol", CAROL)
        for agent in (alice, carol):
            ready = agent.post(web, "agent/ready")
            assert ready.status_code == 200, ready.text
            assert ready.json()["agent"]["status"] == "Available"
        assert "Available" in status_on(cluster, "fs2", "agent2000")
        assert "Available" in status_on(cluster, "fs1", "agent1000")

        # A call on each node, both in the one history with their node.
        first = answered_then_dropped(cluster, "fs1", alice, web, "1000", "5551110001")
        second = answered_then_dropped(cluster, "fs2", carol, web, "2000", "5552220002")
        cluster.wait(lambda: history_nodes(alice, web).get(first) == "fs1", 30,
                     "the first node's call in the history")  # fmt: skip
        cluster.wait(lambda: history_nodes(carol, web).get(second) == "fs2", 30,
                     "the second node's call in the history")  # fmt: skip

        # kill -9 of the active controller: the standby links to both nodes.
        cluster.kill("c1")
        cluster.wait(lambda: cluster.serving("c2") and cluster.nodes("c2") == both, 60,
                     "c2 to take over, linked to both nodes")  # fmt: skip
        cluster.wait(lambda: cluster.health("web")[1]["cluster"]["controller"] == "c2", 15,
                     "the web worker to follow c2")  # fmt: skip
        paused = carol.post(web, "agent/not-ready", {"reason": "lunch"})
        assert paused.status_code == 200, paused.text
        assert "On Break" in status_on(cluster, "fs2", "agent2000")

        # The second switch goes away: its agents unreachable, the first node's not.
        since = time.monotonic()
        cluster.processes["fs2"].stop()
        gone = {"fs1": True, "fs2": False}
        cluster.wait(lambda: cluster.nodes("c2") == gone, 30, "c2's /health: fs2 down")
        cluster.wait(lambda: cluster.nodes("web") == gone, 15, "the web worker's /health")
        cluster.wait(lambda: floor(sue, web)["agent2000"]["reachable"] is False, 15,
                     "agent2000 unreachable on the web worker's floor")  # fmt: skip
        agents = floor(sue, web)
        assert agents["agent2000"]["node"] == "fs2"
        assert agents["agent1000"]["reachable"] is True
        assert agents["agent1000"]["status"] == "Available"

        def pushed_since() -> dict[str, dict[str, Any]]:
            snaps = [s for s in sue.seen("snapshot", since) if s.get("floor")]
            return {a["name"]: a for a in snaps[-1]["floor"]["agents"]} if snaps else {}

        cluster.wait(lambda: pushed_since().get("agent2000", {}).get("reachable") is False, 15,
                     "the supervisor's page told agent2000 is unreachable")  # fmt: skip
        assert pushed_since()["agent1000"]["reachable"] is True
        # /health still answers 200: one node down shows on its own agents.
        assert cluster.health("web")[0] == 200 and cluster.health("c2")[0] == 200

        # The first node's agent still takes commands, on its switch.
        paused = alice.post(web, "agent/not-ready", {"reason": "lunch"})
        assert paused.status_code == 200, paused.text
        assert "On Break" in status_on(cluster, "fs1", "agent1000")
        forced = sue.post(web, "supervisor/agent/agent1000/status", {"status": "Available"})
        assert forced.status_code == 200, forced.text
        assert "Available" in status_on(cluster, "fs1", "agent1000")
        for browser in (sue, alice, carol):
            browser.close()
    finally:
        cluster.stop()
