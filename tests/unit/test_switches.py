"""The one wiring of FreeSWITCH nodes (esl_controller/services/switches.py) that serve,
the split controller role and the Flask extension share: one node is the plain client
and floor as always; several are the floors seen as one with the router's commands, a
provisioner per node and each node in /health; calls a previous controller left open go
back to the floor of the node that carried them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from esl_controller.domain.model import CallView
from esl_controller.esl.client import EslSettings
from esl_controller.services.floor_service import FloorService
from esl_controller.services.nodes import NodeFloors
from esl_controller.services.switches import link_switches
from esl_controller.store.engine import make_engine
from esl_controller.store.migrate import upgrade


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker:  # type: ignore[type-arg]
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    return sessionmaker(make_engine(url))


def settings(port: int) -> EslSettings:
    return EslSettings(host="127.0.0.1", port=port, password="ClueCon")


def test_one_node_is_the_plain_client_and_floor(sessions: sessionmaker) -> None:  # type: ignore[type-arg]
    switches = link_switches([("127.0.0.1", settings(8021))], sessions)
    [link] = switches.links
    assert not switches.several and switches.router is None
    assert type(switches.floor) is FloorService and switches.floor is link.floor
    assert switches.api == link.client.api and switches.bgapi == link.client.bgapi
    assert switches.make_provisioner is None
    extra: dict[str, object] = {}
    switches.add_to(extra)
    assert set(extra) == {"nodes_health"}
    [node] = switches.nodes_health()
    assert (node["name"], node["address"], node["connected"]) == ("127.0.0.1", "127.0.0.1:8021",
                                                                 False)  # fmt: skip
    assert len(switches.reconcilers()) == 1
    assert switches.describe() == "127.0.0.1:8021"


def test_several_nodes_are_one_floor_with_the_routers_commands(sessions: sessionmaker) -> None:  # type: ignore[type-arg]
    switches = link_switches([("fs1", settings(8021)), ("fs2", settings(8022))], sessions)
    assert switches.several and isinstance(switches.floor, NodeFloors)
    assert switches.router is not None and switches.api == switches.router.api
    extra: dict[str, object] = {}
    switches.add_to(extra)
    assert set(extra) == {"nodes_health", "make_provisioner"}
    assert [n["name"] for n in switches.nodes_health()] == ["fs1", "fs2"]
    assert len(switches.reconcilers()) == 2
    assert switches.describe() == "fs1 (127.0.0.1:8021), fs2 (127.0.0.1:8022)"


def call(uuid: str, node: str | None) -> CallView:
    return CallView(uuid=uuid, direction="inbound", queue="support@default", member_uuid=uuid,
                    agent=None, agent_leg=None, cid_name="Caller", cid_number="5550001",
                    joined_at=1.0, offered_at=None, answered_at=None, held_since=None,
                    hold_seconds=0.0, transferred_at=None, ended_at=None, cause=None,
                    outcome=None, node=node)  # fmt: skip


def test_calls_left_open_go_back_to_their_nodes_floor(sessions: sessionmaker) -> None:  # type: ignore[type-arg]
    switches = link_switches([("fs1", settings(8021)), ("fs2", settings(8022))], sessions)
    views = [call(f"{n}0000000-0000-0000-0000-000000000000", node)
             for n, node in ((1, "fs1"), (2, "fs2"), (3, None), (4, "gone"))]  # fmt: skip
    switches.adopt_calls(views)
    on = {link.name: set(link.floor.floor.calls) for link in switches.links}
    assert on["fs2"] == {views[1].uuid}
    # Untagged (one node before) or of a node no longer listed: the first node's.
    assert on["fs1"] == {views[0].uuid, views[2].uuid, views[3].uuid}
