"""NodeRouter: each typed command goes to the FreeSWITCH node its arguments name (the
agent's node from the product's data, the node carrying a channel, a queue's node, the
node that originated a leg); callcenter_config's JSON lists are asked of every
connected node and answered as one list."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from esl_controller.domain.floor import new_agent, new_queue
from esl_controller.errors import EslUnavailable
from esl_controller.esl.client import EslClient, EslSettings, Health
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands import originate as og
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.services.floor_service import FloorService
from esl_controller.services.nodes import NodeFloors, NodeLink, NodeRouter

LEG = "1f0e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
ORIGINATED = "2a0e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"


class FakeClient:
    """What the router uses of an EslClient: api, bgapi, health, settings."""

    def __init__(self, name: str, rows: list[dict[str, str]]) -> None:
        self.name = name
        self.rows = rows
        self.sent: list[str] = []
        self.health = Health(state="connected", connected=True)
        self.settings = EslSettings(host=name)

    def api(self, command: ApiCommand) -> str:
        self.sent.append(command.line)
        if command.name == "json":
            return json.dumps({"status": "success", "response": self.rows})
        return "+OK"

    def bgapi(self, command: ApiCommand) -> str:
        self.sent.append(command.line)
        return f"+OK {ORIGINATED}"


@pytest.fixture
def router() -> NodeRouter:
    links = []
    for name in ("fs1", "fs2"):
        client = FakeClient(name, [{"name": f"queue-on-{name}"}])
        floor = FloorService(client.api)
        links.append(NodeLink(name, cast(EslClient, client), floor))
    floors = NodeFloors(links)
    floors.set_owners({"carol@default": "fs2", "alice@default": None}, {"sales": "fs2"})
    links[1].floor.floor.agents["static@default"] = new_agent("static@default")
    links[1].floor.floor.legs[LEG] = "call"
    links[1].floor.floor.queues["sales"] = new_queue("sales")
    return NodeRouter(floors)


def sent(router: NodeRouter, name: str) -> list[str]:
    return cast(Any, router.floors.link(name).client).sent


def test_agent_commands_go_to_the_agents_node(router: NodeRouter) -> None:
    router.api(cc.agent_set_status("carol@default", "Available"))
    router.api(cc.agent_set_status("alice@default", "Available"))  # NULL: the first node
    router.api(cc.agent_get("status", "static@default"))  # only fs2's switch lists it
    router.api(cc.tier_add("support", "carol@default"))  # a tier follows its agent
    assert sent(router, "fs2") == [
        "callcenter_config agent set status carol@default Available",
        "callcenter_config agent get status static@default",
        "callcenter_config tier add support carol@default 1 1",
    ]
    assert sent(router, "fs1") == ["callcenter_config agent set status alice@default Available"]


def test_channels_queues_and_originated_legs_go_to_their_node(router: NodeRouter) -> None:
    router.api(ch.uuid_hold(LEG, "off"))
    router.api(cc.queue_action("load", "sales"))
    leg = router.bgapi(og.originate(og.user("1003"), og.app_park()))
    assert leg == f"+OK {ORIGINATED}"
    router.api(ch.uuid_kill(ORIGINATED))  # the originating node (fs1: nothing named)
    assert sent(router, "fs2") == [f"uuid_hold off {LEG}", "callcenter_config queue load sales"]
    assert sent(router, "fs1")[-1] == f"uuid_kill {ORIGINATED}"


def test_click_to_call_rings_from_the_agents_node(router: NodeRouter) -> None:
    command = og.click_to_call(call_uuid=LEG.replace("1f", "3f", 1), agent="carol@default",
                               agent_endpoint=og.user("2000"),
                               destination_dial=og.dial_string(og.loopback("5551234")),
                               caller_id_number="2000")  # fmt: skip
    router.bgapi(command)
    assert sent(router, "fs2")[-1].startswith("originate {") and not sent(router, "fs1")


def test_json_lists_come_from_every_connected_node(router: NodeRouter) -> None:
    rows = json.loads(router.api(cc.json_query("queue list")))["response"]
    assert rows == [{"name": "queue-on-fs1"}, {"name": "queue-on-fs2"}]
    fs1 = cast(Any, router.floors.link("fs1").client)
    fs1.health = Health(state="reconnecting", connected=False)
    rows = json.loads(router.api(cc.json_query("queue list")))["response"]
    assert rows == [{"name": "queue-on-fs2"}]
    cast(Any, router.floors.link("fs2").client).health = Health(state="reconnecting")
    with pytest.raises(EslUnavailable):
        router.api(cc.json_query("queue list"))
