"""Several FreeSWITCH nodes (ESL_NODES): two simulators as two nodes behind one dashboard,
wired as ``callcenter serve`` wires them (link_nodes, a provisioner per node, the router
as the services' ApiCall).

What a supervisor and the agents see: agents of both nodes on one floor with their node;
a Ready and a call on each node go to that node's switch and land in the one history;
one node killed: its agents show Unreachable while the other node's agent keeps working
(status changes and calls)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from dashboard import create_app
from dashboard.deps import Dependencies, WebSettings
from dashboard.wiring import Part, build_dependencies, start_dashboard_parts
from esl_controller.config import load_settings
from esl_controller.errors import InvalidArgument
from esl_controller.services.nodes import NodeFloors, link_nodes, node_health, nodes_provisioner
from esl_controller.services.provisioning import ProvisioningStore
from esl_controller.services.recorder import Recorder
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Agent
from esl_controller.store.repositories import seed_defaults
from tests.helpers.fixture_replay import CONF
from tests.web.conftest import free_port
from tests.wire.conftest import wait_until

PASSWORDS = {"alice": "alice-password", "carol": "carol-password", "sue": "sue-password"}
QUEUE = "support@default"


@dataclass
class TwoNodes:
    sims: dict[str, Simulator]
    floors: NodeFloors
    deps: Dependencies
    app: Flask
    recorder: Recorder
    parts: list[Part]

    def login(self, name: str) -> tuple[FlaskClient, str]:
        http = self.app.test_client()
        reply = http.post("/call-center/api/agent/login",
                          json={"username": name, "password": PASSWORDS[name]})  # fmt: skip
        assert reply.status_code == 200, reply.get_json()
        return http, reply.get_json()["csrf_token"]

    def post(self, http: FlaskClient, token: str, path: str, body: Any = None) -> Any:
        return http.post(f"/call-center/api/{path}", json=body,
                         headers={"X-CSRF-Token": token})  # fmt: skip


def floor_agents(http: FlaskClient) -> dict[str, dict[str, Any]]:
    reply = http.get("/call-center/api/floor")
    assert reply.status_code == 200, reply.get_json()
    return {a["name"]: a for a in reply.get_json()["agents"]}


@pytest.fixture
def nodes(tmp_path: Any) -> Iterator[TwoNodes]:
    sims = {}
    for name in ("fs1", "fs2"):
        conf = tmp_path / name  # each switch its own folder (a test may write its XML)
        shutil.copytree(CONF, conf)
        sim = Simulator(port=free_port(), conf_dir=conf)
        sim.start()
        sims[name] = sim
    env = {"ESL_NODES": ",".join(f"{n}=127.0.0.1:{s.port}" for n, s in sims.items())}
    settings = load_settings(env)
    db_url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    with session_scope(sessions) as session:
        seed_defaults(session)
    recorder = Recorder(sessions)
    web = WebSettings(secret_key="test-secret", sip_domain="127.0.0.1")
    # Users first: the product's data says who lives where before the links start.
    build_users(sessions)
    floors, router = link_nodes(
        [(n.name, dataclasses.replace(n.esl, backoff_max=0.5)) for n in settings.nodes],
        sessions)  # fmt: skip
    deps = build_dependencies(api=router.api, bgapi=router.bgapi, health=floors.health,
                              floor=floors, sessions=sessions, recorder=recorder,
                              settings=web, wrap_up_limit=60)  # fmt: skip
    deps.extra["nodes_health"] = floors.nodes_health
    deps.extra["make_provisioner"] = nodes_provisioner(floors, router)
    app = create_app(deps, config={"TESTING": True})
    floors.listeners.append(recorder.on_changes)
    parts = start_dashboard_parts(deps, app.extensions["callcenter.publisher"])
    recorder.start()
    floors.start()
    for link in floors.links:
        link.client.start()
    assert wait_until(lambda: all(link.floor.resyncs >= 1 for link in floors.links))
    built = TwoNodes(sims, floors, deps, app, recorder, parts)
    yield built
    for link in floors.links:
        link.client.stop()
    floors.stop()
    for part in parts:
        part.stop()
    recorder.drained(timeout=5)
    recorder.stop()
    for sim in sims.values():
        sim.stop()


def build_users(sessions: sessionmaker[Any]) -> None:
    from esl_controller.services.users import UserService

    users = UserService(sessions)
    users.add("alice", "agent", PASSWORDS["alice"], extension="1000", agent="agent1000",
              display_name="Alice", queues=[QUEUE])  # fmt: skip
    users.add("carol", "agent", PASSWORDS["carol"], extension="2000", agent="agent2000",
              display_name="Carol", queues=[QUEUE])  # fmt: skip
    users.add("sue", "supervisor", PASSWORDS["sue"], extension="1003", display_name="Sue")
    with session_scope(sessions) as session:  # carol's agent lives on the second node
        session.execute(update(Agent).where(Agent.name == "agent2000").values(node="fs2"))


def history(http: FlaskClient) -> dict[str, str | None]:
    """The signed-in agent's history: each call's node by its uuid."""
    items = http.get("/call-center/api/history").get_json()["items"]
    return {c["call_uuid"]: c["node"] for c in items}


def answered_then_dropped(nodes: TwoNodes, sim: Simulator, http: FlaskClient, token: str,
                          agent: str, extension: str, number: str) -> str:  # fmt: skip
    """A caller into the queue on ``sim``, answered by ``agent``'s phone, then dropped by
    the agent from the page; returns the call's uuid."""
    for action in ("add", "register", "answer 1"):
        sim.execute_api(f"sim_phone {extension} {action}")
    sim.execute_api(f"sim_caller 5000 {number} Caller")

    def live() -> dict[str, Any] | None:
        call = http.get("/call-center/api/agent/status").get_json()["call"]
        return call if call and call.get("answered_at") else None

    assert wait_until(lambda: live() is not None, 20), f"no answered call for {agent}"
    call = live()
    assert call is not None
    assert nodes.post(http, token, "call/drop").status_code == 200
    assert wait_until(lambda: call["uuid"] not in nodes.floors.snapshot().calls, 10)
    return str(call["uuid"])


def test_two_nodes_one_floor_and_one_node_down(nodes: TwoNodes) -> None:
    fs1, fs2 = nodes.sims["fs1"], nodes.sims["fs2"]
    # Provisioning put carol's agent and tier on the second switch only.
    assert wait_until(lambda: "agent2000" in fs2.callcenter.tables.agents, 15)
    assert "agent2000" not in fs1.callcenter.tables.agents

    sup, _ = nodes.login("sue")
    assert wait_until(lambda: "agent2000" in floor_agents(sup), 10)
    agents = floor_agents(sup)
    assert agents["agent1000"]["node"] == "fs1" and agents["agent2000"]["node"] == "fs2"
    assert agents["agent1000"]["reachable"] and agents["agent2000"]["reachable"]
    socketio = nodes.app.extensions["socketio"]
    page = socketio.test_client(nodes.app, flask_test_client=sup)
    snapshot = page.get_received()[0]
    assert snapshot["name"] == "snapshot"
    pushed = {a["name"]: a["node"] for a in snapshot["args"][0]["floor"]["agents"]}
    assert pushed["agent1000"] == "fs1" and pushed["agent2000"] == "fs2"
    health = nodes.app.test_client().get("/health").get_json()
    assert [(n["name"], n["connected"]) for n in health["nodes"]] == [("fs1", True),
                                                                     ("fs2", True)]  # fmt: skip

    # Ready on each node reaches that node's switch.
    alice, alice_token = nodes.login("alice")
    carol, carol_token = nodes.login("carol")
    assert nodes.post(alice, alice_token, "agent/ready").status_code == 200
    assert nodes.post(carol, carol_token, "agent/ready").status_code == 200
    assert wait_until(lambda: fs1.callcenter.tables.agents["agent1000"].status == "Available")
    assert wait_until(lambda: fs2.callcenter.tables.agents["agent2000"].status == "Available")

    # A call on each node, both in the one history.
    first = answered_then_dropped(nodes, fs1, alice, alice_token, "agent1000", "1000",
                                  "5551110001")  # fmt: skip
    second = answered_then_dropped(nodes, fs2, carol, carol_token, "agent2000", "2000",
                                   "5552220002")  # fmt: skip
    assert nodes.recorder.drained(timeout=5)
    assert history(alice)[first] == "fs1" and history(carol)[second] == "fs2"
    # The reports name each agent's node (from the calls it carried).
    report = sup.get("/call-center/api/reports/agents").get_json()["agents"]
    assert {"agent1000": "fs1", "agent2000": "fs2"}.items() <= {
        row["agent"]: row["node"] for row in report
    }.items()
    queues = sup.get("/call-center/api/reports/queues").get_json()["queues"]
    assert sorted((q["queue"], q["node"], q["answered"]) for q in queues) == [
        (QUEUE, "fs1", 1), (QUEUE, "fs2", 1)]  # fmt: skip

    # The first node goes away: its agents are unreachable, the second's are not.
    before = floor_agents(sup)["agent1000"]["status"]
    fs1.stop()
    assert wait_until(lambda: floor_agents(sup)["agent1000"]["status"] == "Unreachable", 15)

    def pushed_status(agent: str) -> str | None:
        status = None
        for message in page.get_received():
            if message["name"] == "snapshot":
                floor = message["args"][0]["floor"]
                status = next(a["status"] for a in floor["agents"] if a["name"] == agent)
        return status

    assert wait_until(lambda: pushed_status("agent1000") == "Unreachable", 10)
    agents = floor_agents(sup)
    assert agents["agent1000"]["reachable"] is False
    assert agents["agent1000"]["last_status"] == before  # what a supervisor last knew
    assert agents["agent2000"]["reachable"] is True
    assert agents["agent2000"]["last_status"] is None
    assert agents["agent2000"]["status"] != "Unreachable"
    health_reply = nodes.app.test_client().get("/health")
    links = {n["name"]: n["connected"] for n in health_reply.get_json()["nodes"]}
    assert links == {"fs1": False, "fs2": True}

    # Carol's node keeps working: her wrap-up, Not Ready and Ready, and another call.
    saved = nodes.post(carol, carol_token, "agent/wrap-up", {"disposition": "resolved"})
    assert saved.status_code == 200, saved.get_json()
    assert nodes.post(carol, carol_token, "agent/not-ready", {"reason": "Break"}).status_code == 200
    assert wait_until(lambda: fs2.callcenter.tables.agents["agent2000"].status == "On Break")
    assert nodes.post(carol, carol_token, "agent/ready").status_code == 200
    assert wait_until(lambda: fs2.callcenter.tables.agents["agent2000"].status == "Available")
    third = answered_then_dropped(nodes, fs2, carol, carol_token, "agent2000", "2000",
                                  "5552220003")  # fmt: skip
    assert nodes.recorder.drained(timeout=5)
    assert {second, third} <= history(carol).keys()
    # Alice's page is told her node is gone, not given an error about her own doing.
    assert floor_agents(sup)["agent1000"]["node"] == "fs1"
    assert node_health(nodes.floors.links[0])["connected"] is False


def test_an_agent_and_a_queue_are_given_a_node_and_each_node_provisions_its_own(
    tmp_path: Any,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    store = ProvisioningStore(sessions)
    store.add_agent("a1", contact="user/1001")  # no node: the first node
    store.add_agent("a2", contact="user/1002", node="fs2")
    store.add_queue("q1")
    store.add_queue("q2", node="fs2")
    store.set_tier("q1", "a1")
    store.set_tier("q2", "a2")
    with pytest.raises(InvalidArgument, match="node"):
        store.set_agent("a1", node="fs 2\r\napi")
    first = ProvisioningStore(sessions, node="fs1", first_node=True).wanted()
    second = ProvisioningStore(sessions, node="fs2", first_node=False).wanted()
    assert (set(first.agents), set(first.queues), set(first.tiers)) == (
        {"a1"}, {"q1"}, {("q1", "a1")})  # fmt: skip
    assert (set(second.agents), set(second.queues), set(second.tiers)) == (
        {"a2"}, {"q2"}, {("q2", "a2")})  # fmt: skip
    # Moved to the first node (empty), it is provisioned there from then on.
    store.set_agent("a2", node="")
    store.set_tier("q1", "a2")
    first = ProvisioningStore(sessions, node="fs1", first_node=True).wanted()
    assert set(first.agents) == {"a1", "a2"} and first.agents["a2"].row()["node"] is None
    assert ProvisioningStore(sessions).wanted().queues["q2"].row()["node"] == "fs2"


def test_a_queue_both_switches_list_is_taken_in_once_and_notices_follow_the_node(
    nodes: TwoNodes,
) -> None:
    """Both switches' own callcenter.conf.xml list support@default: the first node's pass
    takes it into the database and the second node's finds it there (no failure each
    pass); a notice for the second node's agent is in the floor snapshot a page gets."""
    provisioner = nodes.deps.extra["provisioner"]
    report = provisioner.sync("test")
    assert not [line for line in report.failed if "adopt queue" in line], report.failed
    again = provisioner.sync("test")
    assert again.failed == [], again.failed
    nodes.floors.notice("agent2000", "FreeSWITCH restarted: you are Ready again")

    def texts() -> list[str]:
        return [n.text for n in nodes.floors.snapshot().notices.get("agent2000", ())]

    assert wait_until(lambda: texts() != []), "the notice never reached the snapshot"
    assert texts() == ["FreeSWITCH restarted: you are Ready again"]
