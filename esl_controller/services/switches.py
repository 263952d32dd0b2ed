"""The FreeSWITCH nodes a controller links to, wired in one place for every shape of the
product: the one-process ``callcenter serve``, the controller of ``serve --role
controller`` and the Flask extension.

One node (``ESL_HOST``, or ``ESL_NODES`` listing one) is the ESL client and its floor as
always: commands go straight to that client. Several (``ESL_NODES``) are a client and a
floor per node (:mod:`esl_controller.services.nodes`): the floors seen as one, commands
sent by the router to the node they name, a provisioner per node, and ``/health``'s
``nodes`` listing each node's link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.model import CallView
from esl_controller.esl.client import EslClient, EslSettings, Health
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.floor_service import FloorService
from esl_controller.services.link import link_floor
from esl_controller.services.nodes import (
    NodeLink,
    NodeRouter,
    link_nodes,
    node_health,
    nodes_provisioner,
)
from esl_controller.services.provisioning import Provisioner
from esl_controller.services.reconcile import Reconciler

Nodes = list[tuple[str, EslSettings]]


@dataclass
class Switches:
    """The links (unstarted), the floor the dashboard reads and the commands' way to the
    switches. ``make_provisioner`` is None with one node (the dashboard's default
    provisioner); with several it gives each node its own."""

    links: list[NodeLink]
    floor: FloorService
    api: ApiCall
    bgapi: ApiCall
    health: Callable[[], Health]
    router: NodeRouter | None = None
    make_provisioner: Callable[..., Provisioner] | None = None

    @property
    def several(self) -> bool:
        return len(self.links) > 1

    @property
    def first(self) -> EslClient:
        """The first node's client (the ESL console's own connection goes there)."""
        return self.links[0].client

    def nodes_health(self) -> list[dict[str, Any]]:
        """``/health``'s ``nodes``: each node's link."""
        return [node_health(link) for link in self.links]

    def add_to(self, extra: dict[str, Any]) -> None:
        """What the dashboard's wiring and ``/health`` read from ``Dependencies.extra``
        (before :func:`~dashboard.wiring.start_dashboard_parts`)."""
        extra["nodes_health"] = self.nodes_health
        if self.make_provisioner is not None:
            extra["make_provisioner"] = self.make_provisioner

    def reconcilers(self, interval: float = 30.0) -> list[Reconciler]:
        """One periodic check per node, each against its own switch and floor
        (unstarted)."""
        return [Reconciler(link.client.api, link.floor, interval=interval) for link in self.links]

    def start_links(self) -> None:
        for link in self.links:
            link.client.start()

    def stop_links(self) -> None:
        for link in self.links:
            link.client.stop()

    def adopt_calls(self, views: list[CallView]) -> None:
        """Calls a previous controller had open, each put on the floor of the node that
        carried it (a view without a node: the first), before the first resync."""
        names = {link.name for link in self.links}
        for index, link in enumerate(self.links):
            mine = [v for v in views
                    if v.node == link.name or (index == 0 and v.node not in names)]  # fmt: skip
            link.floor.floor.adopt_calls(mine)

    def describe(self) -> str:
        """The nodes for a log line: ``host:port``, or ``name (host:port), ...``."""
        where = [f"{link.client.settings.host}:{link.client.settings.port}" for link in self.links]
        if not self.several:
            return where[0]
        return ", ".join(f"{link.name} ({at})" for link, at in zip(self.links, where,
                                                                    strict=True))  # fmt: skip


def link_switches(nodes: Nodes, sessions: sessionmaker[Session], *,
                  service_level_seconds: float = 20.0) -> Switches:  # fmt: skip
    """The switches of ``nodes`` ([(name, settings)], at least one). With several, who
    lives where is read from the database now (blocking the caller's greenlet on a
    thread), so the product's tables must exist."""
    if not nodes:
        raise ValueError("at least one FreeSWITCH node")
    if len(nodes) == 1:
        name, settings = nodes[0]
        client, floor = link_floor(settings, service_level_seconds=service_level_seconds)
        return Switches(links=[NodeLink(name, client, floor)], floor=floor, api=client.api,
                        bgapi=client.bgapi, health=lambda: client.health)  # fmt: skip
    floors, router = link_nodes(nodes, sessions, service_level_seconds=service_level_seconds)
    return Switches(links=floors.links, floor=floors, api=router.api, bgapi=router.bgapi,
                    health=floors.health, router=router,
                    make_provisioner=nodes_provisioner(floors, router))  # fmt: skip
