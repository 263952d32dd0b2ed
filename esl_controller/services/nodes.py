"""Several FreeSWITCH nodes (``ESL_NODES``) seen as one floor.

mod_callcenter is per switch: its agents, queues and tiers live in one FreeSWITCH and no
queue spans two. So each node gets its own ESL client and its own :class:`FloorService`
(resyncs, buffering and reducers stay per switch: a resync of one node never touches
another's agents), and :class:`NodeFloors` puts them together for everything above:

* the snapshot and the change records carry every node's agents, calls and queues, each
  view tagged with its ``node``; an agent or queue is shown from the node it belongs to
  (the product's ``cc_agents.node`` / ``cc_queues.node``; NULL is the first node), so an
  agent that two switches' static ``callcenter.conf.xml`` both list is counted once;
* a node whose link is down has its agents and queues marked ``reachable=False`` (their
  last known state kept) and a ``link`` change per node; the other nodes go on;
* the product's choices (intents, notices, transfer marks) go to the owner's floor.

:class:`NodeRouter` is the one seam for commands: an :data:`ApiCall` that sends each
typed command to the node its arguments name (an agent, a channel uuid, a queue, a phone
user), so the agent, call and supervisor services stay as they are.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import gevent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.domain.floor import new_agent
from esl_controller.domain.model import (
    AgentView,
    CallView,
    Change,
    Notice,
    PhoneCheck,
    Presence,
    QueueView,
    RegistrationsLeft,
    Snapshot,
)
from esl_controller.errors import CallCenterError, EslUnavailable
from esl_controller.esl import replies
from esl_controller.esl.client import EslClient, EslSettings, Health
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands.base import ApiCall, ApiCommand
from esl_controller.services.floor_service import FloorService
from esl_controller.services.link import link_floor
from esl_controller.services.provisioning import (
    BUSY_AGENT_STATES,
    BUSY_MEMBER_STATES,
    Provisioner,
    ProvisioningStore,
    Report,
    provisioner_from_env,
)
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Agent, Queue

log = logging.getLogger(__name__)

# What separates the arguments of a command line (words, channel variables, JSON).
_TOKENS = re.compile(r"[\s{}\[\],=()&'\"/!;:]+")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}$")


@dataclass(slots=True)
class NodeLink:
    """One FreeSWITCH: its name, the ESL client to it and the floor it feeds."""

    name: str
    client: EslClient
    floor: FloorService

    @property
    def up(self) -> bool:
        return self.client.health.connected

    def client_health(self) -> Health:
        return self.client.health


def load_owners(sessions: sessionmaker[Session]) -> tuple[dict[str, str | None],
                                                            dict[str, str | None]]:  # fmt: skip
    """Agents' and queues' nodes as the product records them (blocking: off the hub)."""
    with session_scope(sessions) as session:
        agents = {name: node for name, node in session.execute(select(Agent.name, Agent.node))}
        queues = {name: node for name, node in session.execute(select(Queue.name, Queue.node))}
    return agents, queues


class NodeFloors(FloorService):
    """The floors of every node behind the :class:`FloorService` interface the dashboard,
    the recorder and the workers use. Only the per-node floors hold state; this one holds
    the listeners and the link watch."""

    def __init__(self, links: list[NodeLink], *, link_interval: float = 0.5) -> None:
        if not links:
            raise ValueError("at least one node")
        first = links[0].floor
        super().__init__(first.api, service_level_seconds=first.service_level_seconds)
        self.links = links
        self.first = links[0]
        self.link_interval = link_interval
        # The product's assignment (refreshed by refresh_owners); None is the first node.
        self.agent_nodes: dict[str, str | None] = {}
        self.queue_nodes: dict[str, str | None] = {}
        self.phone_nodes: dict[str, str] = {}  # user@domain -> node (from phone_check)
        # Told of agents given another node, with the choice (presence) each had: the
        # restore puts a signed-in one back on its new switch (services/restore.py).
        self.moved_listeners: list[Callable[[list[Presence], dict[str, str]], None]] = []
        self._up: dict[str, bool] = {}
        self._warned: set[str] = set()
        self._watch_greenlet: gevent.Greenlet | None = None
        for link in links:
            link.floor.listeners.append(self._forwarder(link))

    # -- who lives where -------------------------------------------------------------

    def link(self, name: str | None) -> NodeLink:
        for link in self.links:
            if link.name == name:
                return link
        return self.first

    def set_owners(self, agents: dict[str, str | None], queues: dict[str, str | None]) -> None:
        before = {name: self.link(node) for name, node in self.agent_nodes.items()}
        self.agent_nodes, self.queue_nodes = dict(agents), dict(queues)
        self._carry_presence(before)
        known = {link.name for link in self.links}
        unknown = {n for n in (*agents.values(), *queues.values()) if n and n not in known}
        if unknown - self._warned:
            log.warning("agents or queues name node(s) %s, which ESL_NODES does not list: "
                        "they are handled by the first node, %s",
                        ", ".join(sorted(unknown)), self.first.name)  # fmt: skip
        self._warned |= unknown

    def _carry_presence(self, before: dict[str, NodeLink]) -> None:
        """An agent given another node takes the product's record of it along: who signed
        in and the status and reason chosen live in the floor of the node it lives on."""
        rows: list[Presence] = []
        nodes: dict[str, str] = {}
        for name, old in before.items():
            new = self.link(self.agent_nodes[name]) if name in self.agent_nodes else old
            if new is old:
                continue
            row = old.floor.snapshot().presence.get(name)
            log.warning("agent %s moved from node %s to node %s", name, old.name, new.name)
            if row is not None:
                new.floor.load_presence([row])
                rows.append(row)
                nodes[name] = new.name
        if rows:
            for listener in self.moved_listeners:
                listener(rows, nodes)

    def refresh_owners(self, sessions: sessionmaker[Session]) -> None:
        """Read the assignment from the database off the hub (at start and each pass)."""
        self.set_owners(*gevent.get_hub().threadpool.spawn(load_owners, sessions).get())

    def agent_owner(self, agent: str) -> NodeLink | None:
        """The node an agent lives on: the product's word, else the first switch that
        lists it, else None (nobody knows it)."""
        if agent in self.agent_nodes:
            return self.link(self.agent_nodes[agent])
        for link in self.links:
            if agent in link.floor.floor.agents:
                return link
        return None

    def queue_owner(self, queue: str) -> NodeLink | None:
        if queue in self.queue_nodes:
            return self.link(self.queue_nodes[queue])
        for link in self.links:
            if queue in link.floor.floor.queues:
                return link
        return None

    def call_owner(self, uuid: str) -> NodeLink | None:
        """The node with this channel: a call, a leg of one, or a leg ringing an agent."""
        for link in self.links:
            floor = link.floor.floor
            if uuid in floor.calls or uuid in floor.legs or uuid in floor.ringing.values():
                return link
        return None

    def _agent_link(self, agent: str) -> NodeLink:
        return self.agent_owner(agent) or self.first

    # -- the FloorService interface ----------------------------------------------------

    def start(self) -> None:
        for link in self.links:
            link.floor.start()
        if self._watch_greenlet is None:
            self._watch_greenlet = gevent.spawn(self._watch_links)

    def stop(self) -> None:
        if self._watch_greenlet is not None:
            self._watch_greenlet.kill(block=False)
            self._watch_greenlet = None
        for link in self.links:
            link.floor.stop()

    def snapshot(self) -> Snapshot:
        agents: dict[str, AgentView] = {}
        calls: dict[str, CallView] = {}
        queues: dict[str, QueueView] = {}
        presence: dict[str, Presence] = {}
        notices: dict[str, tuple[Notice, ...]] = {}
        taken: float | None = None
        for link in self.links:
            snap, up = link.floor.snapshot(), link.up
            for name, agent in snap.agents.items():
                if self._agent_link(name) is link:
                    agents[name] = replace(agent, node=link.name, reachable=up)
            for uuid, call in snap.calls.items():
                calls[uuid] = replace(call, node=link.name)
            for name, queue in snap.queues.items():
                if (self.queue_owner(name) or self.first) is link:
                    queues[name] = replace(queue, node=link.name, reachable=up)
            for name, row in snap.presence.items():
                if self._agent_link(name) is link:
                    presence[name] = row
            for name, kept in snap.notices.items():
                if self._agent_link(name) is link:
                    notices[name] = kept
            if snap.taken_at is not None and (taken is None or snap.taken_at > taken):
                taken = snap.taken_at
        # The product's agents on a node never reached yet: shown, as unreachable.
        for name, node in self.agent_nodes.items():
            link = self.link(node)
            if name not in agents and not link.up:
                agents[name] = replace(new_agent(name), node=link.name, reachable=False)
        return Snapshot(agents, calls, queues, taken, presence, notices)

    def ringing_leg(self, agent: str) -> str | None:
        return self._agent_link(agent).floor.ringing_leg(agent)

    def backlog(self) -> int:
        return sum(link.floor.backlog() for link in self.links)

    def problem(self) -> str | None:
        for link in self.links:
            problem = link.floor.problem()
            if problem:
                return f"node {link.name}: {problem}"
        return None

    def registrations_left(self, answer: RegistrationsLeft) -> None:
        node = self.phone_nodes.get(answer.user)
        targets = [self.link(node)] if node else self.links
        for link in targets:
            link.floor.registrations_left(answer)

    def mark_transferred(self, call_uuid: str, destination: str | None = None) -> None:
        (self.call_owner(call_uuid) or self.first).floor.mark_transferred(call_uuid, destination)

    def unmark_transferred(self, call_uuid: str) -> None:
        (self.call_owner(call_uuid) or self.first).floor.unmark_transferred(call_uuid)

    def intend(self, agent: str, status: str, reason: str | None, *, by: str | None = None,
               signed_in: bool | None = None) -> int:  # fmt: skip
        return self._agent_link(agent).floor.intend(agent, status, reason, by=by,
                                                    signed_in=signed_in)  # fmt: skip

    def withdraw(self, agent: str, seq: int) -> None:
        self._agent_link(agent).floor.withdraw(agent, seq)

    def notice(self, agent: str, text: str) -> None:
        self._agent_link(agent).floor.notice(agent, text)

    def set_service_levels(self, levels: dict[str, float]) -> None:
        for link in self.links:
            link.floor.set_service_levels(levels)

    def load_presence(self, rows: list[Presence]) -> None:
        for link in self.links:
            link.floor.load_presence([row for row in rows if self._agent_link(row.agent) is link])

    # -- changes from the nodes --------------------------------------------------------

    def _forwarder(self, link: NodeLink) -> Callable[[list[Change]], None]:
        def forward(changes: list[Change]) -> None:
            out = [c for c in (self._tag(link, change) for change in changes) if c is not None]
            if out:
                self._notify(out)

        return forward

    def _tag(self, link: NodeLink, change: Change) -> Change | None:
        view = change.view
        if change.kind == "agent" and isinstance(view, AgentView):
            if self._agent_link(view.name) is not link:
                return None  # the same agent on another switch: shown from its own node
            return Change("agent", change.key, replace(view, node=link.name, reachable=link.up))
        if change.kind in ("call", "call_ended") and isinstance(view, CallView):
            return Change(change.kind, change.key, replace(view, node=link.name))
        if change.kind == "queue" and isinstance(view, QueueView):
            if (self.queue_owner(view.name) or self.first) is not link:
                return None
            return Change("queue", change.key, replace(view, node=link.name, reachable=link.up))
        if change.kind == "snapshot":
            return Change("snapshot", "floor", self.snapshot())
        if isinstance(view, PhoneCheck):
            self.phone_nodes[view.user] = link.name
            self.phone_nodes[f"{view.user}@{view.domain}"] = link.name
        if change.key in link.floor.floor.agents and self._agent_link(change.key) is not link:
            return None  # activity, notice... of a duplicate agent
        return change

    def _watch_links(self) -> None:
        while True:
            for link in self.links:
                up = link.up
                if self._up.get(link.name) != up:
                    was = self._up.get(link.name)
                    self._up[link.name] = up
                    if was is None and not up:
                        continue  # still connecting at start: nothing to tell yet
                    log.warning("FreeSWITCH node %s: %s", link.name, "up" if up else "down")
                    self._notify([Change("link", link.name, node_health(link)),
                                  Change("snapshot", "floor", self.snapshot())])  # fmt: skip
            gevent.sleep(self.link_interval)

    # -- health ------------------------------------------------------------------------

    def health(self) -> Health:
        """One record for the pages' banner: connected while any node is (a node down
        shows on its own agents), so one switch's outage does not darken every page."""
        records = [link.client.health for link in self.links]
        up = [r for r in records if r.connected]
        if len(up) == len(records):
            return records[0]
        if up:
            return replace(up[0], state="connected",
                           last_error=f"{len(records) - len(up)} node(s) down")  # fmt: skip
        return records[0]

    def nodes_health(self) -> list[dict[str, Any]]:
        """/health's ``nodes``: each node's link."""
        return [node_health(link) for link in self.links]


def node_health(link: NodeLink) -> dict[str, Any]:
    health = link.client.health
    settings = link.client.settings
    return {
        "name": link.name, "address": f"{settings.host}:{settings.port}",
        "connected": health.connected, "state": health.state, "since": health.since,
        "reconnects": health.reconnects,
        "reason": None if health.connected else (health.last_error or health.state),
    }  # fmt: skip


class NodeRouter:
    """Sends each command to the node it is about: the first argument that names an
    agent (its node), a live channel (the node carrying it), a queue, or a phone user
    (the node that asked about it). Commands naming none of these go to the first node,
    except callcenter_config's JSON lists, which are asked of every connected node and
    answered as one list (the supervisor's tier and queue lists)."""

    def __init__(self, floors: NodeFloors, remember: int = 10_000) -> None:
        self.floors = floors
        # Legs the product originated (a supervisor's eavesdrop leg is on no floor): the
        # node that created each, for the uuid_kill or mode change that follows.
        self.originated: OrderedDict[str, str] = OrderedDict()
        self.remember = remember

    def node_for(self, command: ApiCommand) -> NodeLink | None:
        tokens = [t for t in _TOKENS.split(command.line) if t]
        for finder in (self.floors.agent_owner, self._channel, self.floors.queue_owner,
                       self._phone):  # fmt: skip
            for token in tokens:
                link = finder(token)
                if link is not None:
                    return link
        return None

    def _channel(self, token: str) -> NodeLink | None:
        if not _UUID.match(token):
            return None
        found = self.floors.call_owner(token)
        if found is None and token in self.originated:
            found = self.floors.link(self.originated[token])
        return found

    def _phone(self, token: str) -> NodeLink | None:
        node = self.floors.phone_nodes.get(token)
        return self.floors.link(node) if node else None

    def api(self, command: ApiCommand) -> str:
        link = self.node_for(command)
        if link is None and command.name == "json":
            return self._every_node(command)
        return (link or self.floors.first).client.api(command)

    def bgapi(self, command: ApiCommand) -> str:
        link = self.node_for(command) or self.floors.first
        reply = link.client.bgapi(command)
        if command.name == "originate" and reply.startswith("+OK "):
            self.originated[reply[4:].strip()] = link.name
            while len(self.originated) > self.remember:
                self.originated.popitem(last=False)
        return reply

    def api_for(self, agent: str) -> Callable[[ApiCommand], str]:
        """The agent's node's ``api`` (for code that wants to say so itself)."""
        return self.floors._agent_link(agent).client.api

    def _every_node(self, command: ApiCommand) -> str:
        rows: list[Any] = []
        error: CallCenterError | None = None
        for link in self.floors.links:
            if not link.up:
                continue
            try:
                data = json.loads(link.client.api(command))
            except CallCenterError as exc:
                error = exc
                continue
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("status") == "success":
                found = data.get("response")
                rows += found if isinstance(found, list) else []
        if not rows and error is not None:
            raise error
        if not any(link.up for link in self.floors.links):
            raise EslUnavailable("no FreeSWITCH node is connected")
        return json.dumps({"status": "success", "response": rows})


class MoveRefused(CallCenterError):
    """An agent on a call, or a queue with callers in it, cannot change node now: its
    switch would drop it from under the call."""

    http_status = 409


def move_refusal(snapshot: Snapshot, kind: str, name: str) -> MoveRefused | None:
    """Why the agent or queue cannot move to another node now (the floor's word), or
    None. The old node's provisioner checks its switch again before it removes anything."""
    if kind == "agent":
        agent = snapshot.agents.get(name)
        if agent is not None and (agent.call_uuid is not None
                                  or agent.state in BUSY_AGENT_STATES):  # fmt: skip
            return _agent_busy(name, agent.state)
        return None
    queue = snapshot.queues.get(name)
    if queue is not None and queue.waiting:
        return _queue_busy(name, len(queue.waiting))
    return None


def switch_move_refusal(api: ApiCall, kind: str, name: str) -> MoveRefused | None:
    """As :func:`move_refusal`, asking the switch itself (for the CLI, which has no
    floor): the agent's mod_callcenter state, the queue's members."""
    if kind == "agent":
        rows = replies.json_api(api(cc.json_query("agent list")))
        row = next((r for r in rows if r.get("name") == name), None)
        state = str((row or {}).get("state") or "")
        return _agent_busy(name, state) if state in BUSY_AGENT_STATES else None
    rows = replies.json_api(api(cc.json_query("queue list")))
    if not any(r.get("name") == name for r in rows):
        return None
    members = replies.json_api(api(cc.json_query("queue list members", name)))
    waiting = [m for m in members if str(m.get("state") or "") in BUSY_MEMBER_STATES]
    return _queue_busy(name, len(waiting)) if waiting else None


def _agent_busy(name: str, state: str) -> MoveRefused:
    return MoveRefused(f"agent {name} is on a call ({state}): move it to another node "
                       "after the call", code="agent_on_call")  # fmt: skip


def _queue_busy(name: str, callers: int) -> MoveRefused:
    return MoveRefused(f"queue {name} has {callers} caller(s) waiting: move it to another "
                       "node once they are answered or gone", code="queue_has_callers")  # fmt: skip


class NodesProvisioner(Provisioner):
    """Provisioning with several nodes: each node's provisioner brings its own switch in
    line with its own agents, queues and tiers (ProvisioningStore(node=...)); this one is
    what the admin API and the restore call: commands through the router, a pass over
    every node, the database store unfiltered."""

    def __init__(self, api: ApiCall, store: ProvisioningStore,
                 parts: list[tuple[str, Provisioner]],
                 before: Callable[[], None] | None = None) -> None:  # fmt: skip
        super().__init__(api, store, interval=0)
        self.parts = parts
        self.before = before  # e.g. read again who lives where

    def start(self) -> None:
        super().start()
        for _, part in self.parts:
            part.start()

    def stop(self) -> None:
        for _, part in self.parts:
            part.stop()
        super().stop()

    def sync(self, why: str = "change", *, changed: Iterable[str] = ()) -> Report:
        changed = list(changed)
        report = Report()
        if self.before is not None:
            try:
                self.before()
            except Exception as exc:
                log.error("provisioning: nodes of agents and queues unreadable (%s)", exc)
        for name, part in self.parts:
            done = part.sync(why, changed=changed)
            report.changed += [f"{name}: {line}" for line in done.changed]
            report.drift += [f"{name}: {line}" for line in done.drift]
            report.failed += [f"{name}: {line}" for line in done.failed]
        self.passes += 1
        self.last = report
        return report


def link_nodes(nodes: list[tuple[str, EslSettings]], sessions: sessionmaker[Session], *,
               service_level_seconds: float = 20.0) -> tuple[NodeFloors, NodeRouter]:  # fmt: skip
    """An (unstarted) ESL client and floor per node, the floors together and the router;
    who lives where is read from the database now (and again at each provisioning)."""
    links = []
    for name, settings in nodes:
        client, floor = link_floor(settings, service_level_seconds=service_level_seconds)
        links.append(NodeLink(name, client, floor))
    floors = NodeFloors(links)
    floors.refresh_owners(sessions)
    return floors, NodeRouter(floors)


def nodes_provisioner(floors: NodeFloors, router: NodeRouter) -> Callable[..., Provisioner]:
    """A ``make_provisioner`` for start_dashboard_parts: one provisioner per node."""

    def make(api: ApiCall, sessions: sessionmaker[Session], sip_domain: str | None) -> Provisioner:
        parts: list[tuple[str, Provisioner]] = []
        for index, link in enumerate(floors.links):
            part = provisioner_from_env(link.client.api, sessions, sip_domain, node=link.name,
                                        first_node=index == 0)  # fmt: skip
            parts.append((link.name, part))
        # Each pass first reads again who lives where (an agent given another node).
        return NodesProvisioner(router.api, ProvisioningStore(sessions, sip_domain), parts,
                                before=lambda: floors.refresh_owners(sessions))  # fmt: skip

    return make
