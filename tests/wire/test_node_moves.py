"""Moving an agent or a queue to another FreeSWITCH node (ESL_NODES), with two simulators
as two nodes behind one dashboard (the ``nodes`` fixture of test_nodes.py).

What an administrator sees: after the move the agent is gone from the first switch
(``callcenter_config agent list`` there) and on the second with its tiers; a queue is
unloaded from the first switch and loaded on the second; while the agent is on a call or
callers wait in the queue the move is refused with 409 and nothing changes; a move made
while the old node is down is done there once it is back."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from dashboard.directory import render_callcenter_conf
from esl_controller.services.provisioning import ProvisioningStore
from esl_controller.services.users import UserService
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine
from esl_controller.store.migrate import upgrade
from tests.wire import test_nodes
from tests.wire.conftest import wait_until
from tests.wire.test_nodes import QUEUE, TwoNodes

nodes = test_nodes.nodes  # the fixture: two simulators as the nodes fs1 and fs2

ADMIN = "/call-center/api/admin"
NEW_AGENT = "agent3000"


def switch_rows(sim: Simulator, what: str) -> list[dict[str, Any]]:
    """``callcenter_config <what>`` on that switch, as its JSON API lists it."""
    payload = json.dumps({"command": "callcenter_config", "data": {"arguments": what}})
    reply = json.loads(sim.execute_api(f"json {payload}"))
    assert reply["status"] == "success", reply
    return list(reply["response"])


def agents_on(sim: Simulator) -> set[str]:
    return {r["name"] for r in switch_rows(sim, "agent list")}


def tiers_on(sim: Simulator) -> set[tuple[str, str]]:
    return {(r["queue"], r["agent"]) for r in switch_rows(sim, "tier list")}


def queues_on(sim: Simulator) -> set[str]:
    return {r["name"] for r in switch_rows(sim, "queue list")}


def engineer(nodes: TwoNodes) -> tuple[FlaskClient, str]:
    UserService(nodes.deps.sessions).add("erin", "engineer", "erin-password")
    http = nodes.app.test_client()
    reply = http.post("/call-center/api/agent/login",
                      json={"username": "erin", "password": "erin-password"})  # fmt: skip
    assert reply.status_code == 200, reply.get_json()
    return http, reply.get_json()["csrf_token"]


def admin(http: FlaskClient, token: str, path: str, body: Any) -> Any:
    return http.post(f"{ADMIN}/{path}", json=body, headers={"X-CSRF-Token": token})


def serve_conf(nodes: TwoNodes, name: str, first: bool) -> None:
    """What mod_xml_curl would fetch for node ``name`` (``?node=name``), written where
    that simulator reads its XML (it has no mod_xml_curl), then reloadxml."""
    store = ProvisioningStore(nodes.deps.sessions, "127.0.0.1", node=name, first_node=first)
    served = render_callcenter_conf(store.wanted())
    body = served.split('<section name="configuration">')[1].split("</section>")[0]
    sim = nodes.sims[name]
    (pathlib.Path(sim.conf_dir) / "autoload_configs" / "callcenter.conf.xml").write_text(body)
    assert sim.execute_api("reloadxml").startswith("+OK")


def test_an_agent_moved_to_another_node_leaves_the_old_switch(nodes: TwoNodes) -> None:
    fs1, fs2 = nodes.sims["fs1"], nodes.sims["fs2"]
    http, token = engineer(nodes)
    made = admin(http, token, "agents", {"name": NEW_AGENT, "contact": "user/3000@127.0.0.1"})
    assert made.status_code == 201, made.get_json()
    tier = admin(http, token, "tiers", {"queue": QUEUE, "agent": NEW_AGENT, "level": 2})
    assert tier.status_code == 200, tier.get_json()
    assert NEW_AGENT in agents_on(fs1) and (QUEUE, NEW_AGENT) in tiers_on(fs1)
    assert NEW_AGENT not in agents_on(fs2)

    moved = admin(http, token, f"agents/{NEW_AGENT}", {"node": "fs2"})
    assert moved.status_code == 200, moved.get_json()
    sent = moved.get_json()["changed"]
    assert f"fs1: agent del {NEW_AGENT} (moved to another node)" in sent
    assert NEW_AGENT not in agents_on(fs1)
    assert all(agent != NEW_AGENT for _, agent in tiers_on(fs1))
    assert NEW_AGENT in agents_on(fs2) and (QUEUE, NEW_AGENT) in tiers_on(fs2)
    level = next(r["level"] for r in switch_rows(fs2, "tier list") if r["agent"] == NEW_AGENT)
    assert str(level) == "2"
    # The floor shows it from its new node; a pass later nothing is left to do.
    assert wait_until(lambda: nodes.floors.snapshot().agents.get(NEW_AGENT) is not None
                      and nodes.floors.snapshot().agents[NEW_AGENT].node == "fs2", 10)  # fmt: skip
    again = nodes.deps.extra["provisioner"].sync("test")
    assert not [line for line in again.changed if NEW_AGENT in line], again
    assert ProvisioningStore(nodes.deps.sessions).pending_moves() == []

    # Back to the first node (empty): gone from the second switch, on the first again.
    back = admin(http, token, f"agents/{NEW_AGENT}", {"node": ""})
    assert back.status_code == 200, back.get_json()
    assert NEW_AGENT not in agents_on(fs2) and NEW_AGENT in agents_on(fs1)
    assert (QUEUE, NEW_AGENT) in tiers_on(fs1)


def test_a_move_is_refused_while_the_agent_is_on_a_call(nodes: TwoNodes) -> None:
    fs1 = nodes.sims["fs1"]
    http, token = engineer(nodes)
    unknown = admin(http, token, "agents/agent1000", {"node": "fs9"})
    assert unknown.status_code == 400
    assert "fs9" in unknown.get_json()["error"]["message"]

    alice, alice_token = nodes.login("alice")
    assert nodes.post(alice, alice_token, "agent/ready").status_code == 200
    for action in ("add", "register", "answer 1"):
        fs1.execute_api(f"sim_phone 1000 {action}")
    fs1.execute_api("sim_caller 5000 5551110009 Caller")

    def on_call() -> bool:
        view = nodes.floors.snapshot().agents.get("agent1000")
        return view is not None and view.call_uuid is not None

    assert wait_until(on_call, 20)
    refused = admin(http, token, "agents/agent1000", {"node": "fs2"})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "agent_on_call" and "after the call" in error["message"]
    # Nothing changed: still the first node's, still on the first switch.
    assert ProvisioningStore(nodes.deps.sessions).node_of("agent", "agent1000") is None
    assert "agent1000" in agents_on(fs1)
    assert nodes.floors.snapshot().agents["agent1000"].node == "fs1"


def test_a_signed_in_agent_moved_is_put_back_as_they_chose_on_the_new_switch(
    nodes: TwoNodes,
) -> None:
    """Alice is Ready on the first node; moved to the second, that switch gets her
    Available (not Logged Out, as ``agent add`` leaves her) and her page says where."""
    fs2 = nodes.sims["fs2"]
    http, token = engineer(nodes)
    alice, alice_token = nodes.login("alice")
    assert nodes.post(alice, alice_token, "agent/ready").status_code == 200
    assert wait_until(lambda: nodes.floors.snapshot().agents["agent1000"].status == "Available")

    moved = admin(http, token, "agents/agent1000", {"node": "fs2"})
    assert moved.status_code == 200, moved.get_json()

    def on_fs2() -> str | None:
        return next((r["status"] for r in switch_rows(fs2, "agent list")
                     if r["name"] == "agent1000"), None)  # fmt: skip

    assert wait_until(lambda: on_fs2() == "Available", 10), on_fs2()

    def seen() -> tuple[str, str] | None:
        view = alice.get("/call-center/api/agent/status").get_json()["agent"]
        return (view["status"], view["node"]) if view else None

    assert wait_until(lambda: seen() == ("Available", "fs2"), 10), seen()
    kept = nodes.floors.snapshot().notices.get("agent1000", ())
    assert any("node fs2" in n.text for n in kept), kept
    # Her next choice goes to the new switch.
    assert nodes.post(alice, alice_token, "agent/not-ready", {"reason": "Break"}).status_code == 200
    assert wait_until(lambda: on_fs2() == "On Break", 10), on_fs2()


def test_a_queue_moved_to_another_node_is_unloaded_and_loaded_there(nodes: TwoNodes) -> None:
    fs1, fs2 = nodes.sims["fs1"], nodes.sims["fs2"]
    http, token = engineer(nodes)
    vip = "vip@default"
    made = admin(http, token, "queues", {"name": vip, "settings": {"strategy": "ring-all"}})
    assert made.status_code == 201, made.get_json()
    serve_conf(nodes, "fs1", True)  # fs1's mod_xml_curl answer now has vip@default
    assert admin(http, token, "tiers", {"queue": vip, "agent": "agent1000"}).status_code == 200
    assert vip in queues_on(fs1) and (vip, "agent1000") in tiers_on(fs1)
    assert vip not in queues_on(fs2)

    # Carol (fs2) is put in it: her tier goes to fs2 with the queue.
    moved = admin(http, token, f"queues/{vip}", {"settings": {"node": "fs2"}})
    assert moved.status_code == 200, moved.get_json()
    assert vip not in queues_on(fs1)
    assert all(queue != vip for queue, _ in tiers_on(fs1))
    serve_conf(nodes, "fs2", False)  # fs2's answer (?node=fs2) has it now
    assert admin(http, token, "tiers", {"queue": vip, "agent": "agent2000"}).status_code == 200
    assert vip in queues_on(fs2) and (vip, "agent2000") in tiers_on(fs2)
    assert vip not in queues_on(fs1)
    assert ProvisioningStore(nodes.deps.sessions).pending_moves() == []


def test_a_queue_with_callers_waiting_is_not_moved(nodes: TwoNodes) -> None:
    fs1 = nodes.sims["fs1"]
    http, token = engineer(nodes)
    assert wait_until(lambda: QUEUE in nodes.floors.snapshot().queues, 10)
    fs1.execute_api("sim_caller 5000 5551110010 Waiting")  # nobody Ready: the caller waits

    def waiting() -> bool:
        queue = nodes.floors.snapshot().queues.get(QUEUE)
        return queue is not None and len(queue.waiting) > 0

    assert wait_until(waiting, 20)
    refused = admin(http, token, f"queues/{QUEUE}", {"settings": {"node": "fs2"}})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "queue_has_callers"
    assert QUEUE in queues_on(fs1)
    assert ProvisioningStore(nodes.deps.sessions).node_of("queue", QUEUE) is None


def test_a_move_while_the_old_node_is_down_is_done_when_it_is_back(nodes: TwoNodes) -> None:
    fs1, fs2 = nodes.sims["fs1"], nodes.sims["fs2"]
    http, token = engineer(nodes)
    made = admin(http, token, "agents", {"name": NEW_AGENT, "contact": "user/3000@127.0.0.1"})
    assert made.status_code == 201, made.get_json()
    assert NEW_AGENT in agents_on(fs1)
    link = nodes.floors.links[0]
    link.client.stop()  # the controller loses the first node (the switch keeps its tables)
    assert wait_until(lambda: not link.up, 10)

    moved = admin(http, token, f"agents/{NEW_AGENT}", {"node": "fs2"})
    assert moved.status_code == 200, moved.get_json()
    assert NEW_AGENT in agents_on(fs2)
    assert NEW_AGENT in agents_on(fs1)  # not reachable: still there, the removal kept
    assert [kind for _, kind, _ in ProvisioningStore(nodes.deps.sessions, node="fs1")
            .pending_moves()] == ["agent"]  # fmt: skip

    link.client.start()  # back: the pass after its resync removes it
    assert wait_until(lambda: NEW_AGENT not in agents_on(fs1), 20)
    store = ProvisioningStore(nodes.deps.sessions)
    assert wait_until(lambda: store.pending_moves() == [], 10)  # then the record goes
    assert NEW_AGENT in agents_on(fs2)


def test_the_store_records_each_move_for_the_node_left(tmp_path: pathlib.Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(db_url)
    sessions = sessionmaker(make_engine(db_url))
    store = ProvisioningStore(sessions)
    store.add_agent("a1", contact="user/1001")
    store.add_agent("a2", contact="user/1002", node="fs2")
    store.add_queue("shared")  # no node: may be in both switches' own XML
    store.add_queue("q1")
    store.set_tier("shared", "a2")
    store.set_tier("q1", "a1")
    first = ProvisioningStore(sessions, node="fs1", first_node=True)
    second = ProvisioningStore(sessions, node="fs2", first_node=False)

    store.set_agent("a1", contact="user/1009")  # no node change: no move
    store.set_agent("a1", node="fs2")
    store.set_queue("q1", node="fs2")
    store.set_agent("a2", node="fs2")  # the same node: no move
    assert [(k, n) for _, k, n in first.pending_moves()] == [("agent", "a1"), ("queue", "q1")]
    assert second.pending_moves() == []
    assert store.node_of("agent", "a1") == "fs2" and store.node_of("queue", "shared") is None
    # The queue given fs2 by name: its tiers are fs2's; a queue without a node keeps the
    # tiers of another node's agents (one name on two switches).
    assert set(second.wanted().tiers) == {("shared", "a2"), ("q1", "a1")}
    store.set_agent("a1", node="")
    assert ("q1", "a1") not in first.wanted().tiers
    first.moves_done([i for i, _, _ in first.pending_moves()])
    assert [(k, n) for _, k, n in second.pending_moves()] == [("agent", "a1")]
