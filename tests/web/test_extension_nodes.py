"""The Flask extension with several FreeSWITCH nodes: the example host app given
``CALLCENTER_ESL_NODES`` in its config, over two simulators.

What a user sees under the host's /callcenter: a supervisor's floor with the agents of
both nodes, each tagged with its node; an agent's Ready reaches its own node's switch;
``/callcenter/health`` lists each node's link; each switch's mod_xml_curl gets its own
node's callcenter.conf; the second switch gone, its agent is unreachable while the first
node's agent stays reachable and takes commands.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from dashboard import CallCenter
from esl_controller.services.provisioning import ProvisioningStore
from esl_controller.services.users import UserService
from esl_controller.simulator.mod_callcenter import config as callcenter_config
from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.models import Agent
from tests.helpers.fixture_replay import CONF
from tests.unit.test_callcenter_conf_xml_curl import form
from tests.web.conftest import free_port
from tests.web.test_extension import API, load_host_module
from tests.wire.conftest import wait_until

QUEUE = "support@default"
XML_CURL = ("xmlcurl", "xml-curl-secret")


@dataclass
class TwoNodeHost:
    app: Flask
    callcenter: CallCenter
    sims: dict[str, Simulator]

    def sign_in(self, name: str, password: str) -> tuple[FlaskClient, str]:
        """The product's own sign-in under the prefix; returns the client and its token."""
        http = self.app.test_client()
        reply = http.post(f"{API}/agent/login", json={"username": name, "password": password})
        assert reply.status_code == 200, reply.get_json()
        return http, reply.get_json()["csrf_token"]

    def status_on(self, node: str, agent: str) -> str:
        return str(self.sims[node].callcenter.tables.agents[agent].status)

    def conf_agents(self, node: str) -> set[str] | None:
        """The agents of the callcenter.conf a switch saying ``?node=`` is served."""
        token = base64.b64encode(":".join(XML_CURL).encode()).decode()
        reply = self.app.test_client().post(
            f"/callcenter/freeswitch/configuration?node={node}", data=form(),
            headers={"Authorization": f"Basic {token}"})  # fmt: skip
        assert reply.status_code == 200, reply.get_data(as_text=True)
        root = ET.fromstring(reply.get_data(as_text=True))
        conf = root.find("section[@name='configuration']/configuration[@name='callcenter.conf']")
        return None if conf is None else {a.name for a in callcenter_config.parse(conf).agents}

    def nodes(self) -> dict[str, bool]:
        body = self.app.test_client().get("/callcenter/health").get_json()
        return {n["name"]: n["connected"] for n in body["nodes"]}


@pytest.fixture
def host(tmp_path: Path) -> Iterator[TwoNodeHost]:
    sims = {name: Simulator(port=free_port(), conf_dir=CONF) for name in ("fs1", "fs2")}
    for sim in sims.values():
        sim.start()
    db_url = f"sqlite:///{tmp_path / 'host.db'}"
    # The product's users first (its tables in the host's database): who lives where is
    # known before the links start. Carol's agent lives on the second node.
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = sessionmaker(engine)
    users = UserService(sessions)
    users.add("alice", "agent", "alice-password", extension="1000", agent="agent1000",
              display_name="Alice", queues=[QUEUE])  # fmt: skip
    users.add("carol", "agent", "carol-password", extension="2000", agent="agent2000",
              display_name="Carol", queues=[QUEUE])  # fmt: skip
    users.add("sue", "supervisor", "sue-password", extension="1003", display_name="Sue")
    with session_scope(sessions) as session:
        session.execute(update(Agent).where(Agent.name == "agent2000").values(node="fs2"))
    ProvisioningStore(sessions).add_queue("second@default", node="fs2")  # fs2's own queue
    engine.dispose()
    nodes = ",".join(f"{name}=127.0.0.1:{sim.port}" for name, sim in sims.items())
    app, _socketio, callcenter = load_host_module().create_host_app({
        "TESTING": True, "DB_URI": db_url, "CALLCENTER_ESL_NODES": nodes,
        "CALLCENTER_SIP_DOMAIN": "127.0.0.1", "CALLCENTER_XML_CURL_USERNAME": XML_CURL[0],
        "CALLCENTER_XML_CURL_PASSWORD": XML_CURL[1],
    })  # fmt: skip
    assert callcenter._switches is not None
    links = callcenter._switches.links
    assert wait_until(lambda: all(link.floor.resyncs >= 1 for link in links), 15)
    yield TwoNodeHost(app, callcenter, sims)
    callcenter.stop()
    for sim in sims.values():
        sim.stop()


def floor(http: FlaskClient) -> dict[str, dict[str, Any]]:
    reply = http.get(f"{API}/floor")
    assert reply.status_code == 200, reply.get_json()
    return {a["name"]: a for a in reply.get_json()["agents"]}


def test_two_nodes_from_the_host_apps_config(host: TwoNodeHost) -> None:
    fs1, fs2 = host.sims["fs1"], host.sims["fs2"]
    # Each node provisions its own agents: carol's only on the second switch.
    assert wait_until(lambda: "agent2000" in fs2.callcenter.tables.agents, 15)
    assert "agent2000" not in fs1.callcenter.tables.agents
    assert wait_until(lambda: host.nodes() == {"fs1": True, "fs2": True}, 10)
    # And each switch's mod_xml_curl is served its own node's callcenter.conf.
    first, second = host.conf_agents("fs1"), host.conf_agents("fs2")
    assert first is not None and "agent1000" in first and "agent2000" not in first
    assert second is not None and "agent2000" in second and "agent1000" not in second

    sue, _ = host.sign_in("sue", "sue-password")
    assert wait_until(lambda: {"agent1000", "agent2000"} <= floor(sue).keys(), 10)
    agents = floor(sue)
    assert (agents["agent1000"]["node"], agents["agent2000"]["node"]) == ("fs1", "fs2")
    assert agents["agent1000"]["reachable"] and agents["agent2000"]["reachable"]

    alice, alice_token = host.sign_in("alice", "alice-password")
    carol, carol_token = host.sign_in("carol", "carol-password")
    for http, token in ((alice, alice_token), (carol, carol_token)):
        ready = http.post(f"{API}/agent/ready", json={}, headers={"X-CSRF-Token": token})
        assert ready.status_code == 200, ready.get_json()
    assert host.status_on("fs2", "agent2000") == "Available"
    assert host.status_on("fs1", "agent1000") == "Available"

    # The second switch goes away: carol's agent is unreachable, alice's is not.
    fs2.stop()
    assert wait_until(lambda: floor(sue)["agent2000"]["reachable"] is False, 15)
    agents = floor(sue)
    assert agents["agent2000"]["node"] == "fs2"
    assert agents["agent1000"]["reachable"] is True
    assert host.nodes() == {"fs1": True, "fs2": False}
    paused = alice.post(f"{API}/agent/not-ready", json={"reason": "Lunch"},
                        headers={"X-CSRF-Token": alice_token})  # fmt: skip
    assert paused.status_code == 200, paused.get_json()
    assert host.status_on("fs1", "agent1000") == "On Break"
