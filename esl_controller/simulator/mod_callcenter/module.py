"""The simulated mod_callcenter: tables, ``callcenter_config`` and its JSON API.

Reply texts, list formats and the events each sub-command fires (with mod_callcenter's
Event-Calling-Function and line) are FreeSWITCH 1.10.12's, as recorded in
``tests/fixtures/esl/callcenter_config.jsonl``. Members and offers live in
:mod:`esl_controller.simulator.mod_callcenter.queueing`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from esl_controller.simulator.api_registry import ApiRegistry
from esl_controller.simulator.mod_callcenter.config import AgentConfig, CallCenterConfig
from esl_controller.simulator.mod_callcenter.state import (
    Agent,
    LoadedQueue,
    Tables,
    Tier,
    table,
)
from esl_controller.simulator.sim_event import SimEvent

STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")
STATES = ("Waiting", "Receiving", "In a queue call", "Idle", "Reserved")
TIER_STATES = ("No Answer", "Ready", "Offering", "Active Inbound", "Standby")
TYPES = ("callback", "uuid-standby")
NUMERIC_KEYS = (
    "max_no_answer", "wrap_up_time", "reject_delay_time", "busy_delay_time",
    "no_answer_delay_time", "ready_time",
)  # fmt: skip
INVALID = "-ERR Invalid!\n"
NOT_FOUND = "-ERR Agent not found!\n"


def split_args(text: str, limit: int = 8) -> list[str]:
    """``switch_separate_string``: spaces split, single quotes group, ``\\`` escapes;
    the last of ``limit`` arguments keeps the rest of the line."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if char == "'":
            quoted = not quoted
        elif char == " " and not quoted:
            if current:
                args.append("".join(current))
                current = []
                if len(args) == limit - 1:
                    rest = text[i + 1 :].strip()
                    if rest:
                        args.append(rest.replace("'", ""))
                    return args
        else:
            current.append(char)
        i += 1
    if current:
        args.append("".join(current))
    return args


def canonical(value: str, allowed: tuple[str, ...]) -> str | None:
    for item in allowed:
        if item.lower() == value.lower():
            return item
    return None


def _int(value: str) -> int:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else 0


class CallCenterModule:
    def __init__(
        self,
        config: CallCenterConfig,
        fire: Callable[[SimEvent], Any],
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.fire = fire
        self.clock = clock
        self.tables = Tables()
        self.load_module()

    # -- loading ---------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def load_module(self) -> None:
        """Module load: queues from the XML, XML agents (status as configured, state
        Waiting) and XML tiers; no listener is connected yet, so no events matter."""
        self.tables = Tables()
        for name, queue in self.config.queues.items():
            self.tables.queues[name] = LoadedQueue(queue)
        for agent in self.config.agents:
            self._apply_xml_agent(agent, fire=False)
        for tier in self.config.tiers:
            known = tier.agent in self.tables.agents and tier.queue in self.tables.queues
            if known and self.tables.tier(tier.queue, tier.agent) is None:
                self.tables.tiers.append(
                    Tier(tier.queue, tier.agent, "Ready", tier.level, tier.position)
                )

    def carry_over(self, old: Tables) -> None:
        """The rest of a load after a restart: what mod_callcenter keeps of its database.

        With ``truncate-agents-on-load`` / ``truncate-tiers-on-load`` (``freeswitch_conf/``
        sets both) the tables were emptied, so the XML's agents and tiers are all there
        is, as :meth:`load_module` built them. Without them the old rows survive, reset
        as ``load_config`` does for this instance: agents Waiting with no uuid and no
        external calls (the XML's values applied over them again), tiers Ready. Members
        are not carried: FreeSWITCH marks them Abandoned and its dispatcher discards them
        ``discard-abandoned-after`` later; no caller is there any more either way."""
        settings = {k.lower(): v.lower() for k, v in self.config.settings.items()}
        truthy = ("true", "yes", "on", "1")
        if settings.get("truncate-agents-on-load", "") not in truthy:
            agents: dict[str, Agent] = {}
            for name, row in old.agents.items():
                agent = dataclasses.replace(row, state="Waiting", uuid=None,
                                            external_calls_count=0)  # fmt: skip
                agents[name] = agent
            for name, agent in self.tables.agents.items():
                agents.setdefault(name, agent)
            self.tables.agents = agents
            for conf in self.config.agents:
                self._apply_xml_agent(conf, fire=False)
        if settings.get("truncate-tiers-on-load", "") not in truthy:
            known = self.tables.agents, self.tables.queues
            tiers = [dataclasses.replace(t, state="Ready") for t in old.tiers
                     if t.agent in known[0] and t.queue in known[1]]  # fmt: skip
            for tier in self.tables.tiers:
                if not any(t.queue == tier.queue and t.agent == tier.agent for t in tiers):
                    tiers.append(tier)
            self.tables.tiers = tiers

    def _apply_xml_agent(self, conf: AgentConfig, *, fire: bool) -> None:
        agent = self.tables.agents.get(conf.name)
        if agent is None:
            agent = Agent(conf.name, type=conf.type)
            self.tables.agents[conf.name] = agent
            if fire:
                self._event("cc_agent_add", 915, agent.name, "agent-add",
                            [("CC-Agent-Type", agent.type)], before_action=True)  # fmt: skip
        agent.type = conf.type
        agent.max_no_answer = conf.max_no_answer
        agent.wrap_up_time = conf.wrap_up_time
        agent.reject_delay_time = conf.reject_delay_time
        agent.busy_delay_time = conf.busy_delay_time
        agent.no_answer_delay_time = conf.no_answer_delay_time
        if conf.contact:
            agent.contact = conf.contact
            if fire:
                self._event("cc_agent_update", 1091, agent.name, "agent-contact-change",
                            [("CC-Agent-Contact", agent.contact)])  # fmt: skip
        if conf.status:
            self._set_status(agent, canonical(conf.status, STATUSES) or "Logged Out", fire=fire)

    # -- events ----------------------------------------------------------------------

    def _event(
        self,
        func: str,
        line: int,
        agent: str,
        action: str,
        extra: list[tuple[str, str]],
        *,
        before_action: bool = False,
    ) -> None:
        headers = [("CC-Agent", agent)]
        if before_action:  # agent-add puts its type before CC-Action
            headers += extra + [("CC-Action", action)]
        else:
            headers += [("CC-Action", action)] + extra
        self.fire(
            SimEvent(
                "CUSTOM",
                headers,
                subclass="callcenter::info",
                calling=("mod_callcenter.c", func, line),
            )  # fmt: skip
        )

    def _set_status(self, agent: Agent, status: str, *, fire: bool = True) -> None:
        if status in ("Available",) and agent.status != "Available":
            # Going Available resets the counters mod_callcenter's strategies read.
            agent.talk_time = 0
            agent.calls_answered = 0
            agent.no_answer_count = 0
        agent.status = status
        agent.last_status_change = self.now()
        if fire:
            self._event("cc_agent_update", 1043, agent.name, "agent-status-change",
                        [("CC-Agent-Status", status)])  # fmt: skip

    def _set_state(self, agent: Agent, state: str) -> None:
        agent.state = state
        self._event("cc_agent_update", 1067, agent.name, "agent-state-change",
                    [("CC-Agent-State", state)])  # fmt: skip

    # -- used by the queue manager ----------------------------------------------------

    def set_status(self, agent: Agent, status: str) -> None:
        self._set_status(agent, status)

    def set_state(self, agent: Agent, state: str) -> None:
        self._set_state(agent, state)

    def load_queue(self, name: str) -> bool:
        return self._load_queue(name, fire=False)

    # -- api -------------------------------------------------------------------------

    def register(self, api: ApiRegistry, json_handlers: dict[str, Callable[..., str]]) -> None:
        api.register("callcenter_config", self.api)
        json_handlers["callcenter_config"] = self.json_request

    def api(self, text: str) -> str:
        args = split_args(text)
        if len(args) < 2:
            return INVALID
        section, action, rest = args[0], args[1], args[2:]
        handler = {
            "agent": self._agent,
            "tier": self._tier,
            "queue": self._queue,
        }.get(section)
        if handler is None:
            return ""  # nothing printed: ESL answers "-ERR no reply"
        return handler(action, rest)

    # agent ..........................................................................

    def _agent(self, action: str, args: list[str]) -> str:
        agents = self.tables.agents
        if action == "add":
            if len(args) < 2:
                return INVALID
            name, kind = args[0], args[1]
            if name in agents:
                return "-ERR Agent already exist!\n"
            if canonical(kind, TYPES) is None:
                return "-ERR Agent type invalid!\n"
            agents[name] = Agent(name, type=kind)
            self._event("cc_agent_add", 915, name, "agent-add", [("CC-Agent-Type", kind)],
                        before_action=True)  # fmt: skip
            return "+OK\n"
        if action == "del":
            if len(args) < 1:
                return INVALID
            agents.pop(args[0], None)
            self.tables.tiers = [t for t in self.tables.tiers if t.agent != args[0]]
            return "+OK\n"
        if action == "reload":
            if len(args) < 1:
                return INVALID
            for conf in self.config.agents:
                if conf.name == args[0]:
                    self._apply_xml_agent(conf, fire=True)
            return "+OK\n"
        if action == "set":
            if len(args) < 3:
                return INVALID
            return self._agent_set(args[0], args[1], args[2])
        if action == "get":
            if len(args) < 2:
                return INVALID
            return self._agent_get(args[0], args[1])
        if action == "list":
            rows = [a.row() for a in agents.values() if not args or a.name == args[0]]
            return table(rows)
        return ""

    def _agent_set(self, key: str, name: str, value: str) -> str:
        agent = self.tables.agents.get(name)
        if key == "status":
            status = canonical(value, STATUSES)
            if status is None:
                return "-ERR Invalid Agent Status!\n"
            if agent is None:
                return NOT_FOUND
            self._set_status(agent, status)
            return "+OK\n"
        if key in ("state", "state_if_waiting"):
            state = canonical(value, STATES)
            if state is None:
                return "-ERR Invalid Agent State!\n"
            if agent is None:
                return NOT_FOUND
            if key == "state_if_waiting" and not (
                agent.state == "Waiting" and agent.status.startswith("Available")
            ):
                return NOT_FOUND
            self._set_state(agent, state)
            return "+OK\n"
        if key not in ("contact", "type", "uuid") + NUMERIC_KEYS:
            return "-ERR Invalid Agent Update KEY!\n"
        if agent is None:
            return NOT_FOUND
        if key == "contact":
            agent.contact = value
            self._event("cc_agent_update", 1091, name, "agent-contact-change",
                        [("CC-Agent-Contact", value)])  # fmt: skip
        elif key == "type":
            if canonical(value, TYPES) is None:
                return "-ERR Invalid Agent Type!\n"
            agent.type = value
        elif key == "uuid":
            agent.uuid = value or None
        else:
            setattr(agent, key, _int(value))
        return "+OK\n"

    def _agent_get(self, key: str, name: str) -> str:
        agent = self.tables.agents.get(name)
        if key not in ("status", "state", "uuid"):
            return "-ERR Invalid Agent Update KEY!\n"
        if agent is None:
            return NOT_FOUND
        if key == "status":
            self._event("cc_agent_get", 970, name, "agent-status-get",
                        [("CC-Agent-Status", agent.status)])  # fmt: skip
            return agent.status  # agent get prints the bare value: no +OK, no newline
        if key == "state":
            self._event("cc_agent_get", 970, name, "agent-state-get",
                        [("CC-Agent-State", agent.state)])  # fmt: skip
            return agent.state
        extra = [("CC-Agent-UUID", agent.uuid)] if agent.uuid else []
        self._event("cc_agent_get", 970, name, "agent-uuid-get", extra)
        return agent.uuid or ""

    # tier ...........................................................................

    def _tier(self, action: str, args: list[str]) -> str:
        t = self.tables
        if action == "add":
            if len(args) < 2:
                return INVALID
            queue, name = args[0], args[1]
            if queue not in t.queues and not self._load_queue(queue, fire=False):
                return "-ERR Queue not found!\n"
            if name not in t.agents:
                return NOT_FOUND
            if t.tier(queue, name) is not None:
                return "-ERR Tier already exist!\n"
            level = _int(args[2]) if len(args) > 2 else 1
            position = _int(args[3]) if len(args) > 3 else 1
            t.tiers.append(Tier(queue, name, "Ready", level, position))
            return "+OK\n"
        if action == "set":
            if len(args) < 4:
                return INVALID
            key, queue, name, value = args[0], args[1], args[2], args[3]
            if key == "state":
                if canonical(value, TIER_STATES) is None:
                    return "-ERR Invalid Tier State!\n"
            elif key not in ("level", "position"):
                return "-ERR Invalid Tier Update KEY!\n"
            if queue not in t.queues or name not in t.agents:
                return NOT_FOUND
            tier = t.tier(queue, name)
            if tier is None:
                return "-ERR Unknown Error!\n"
            if key == "state":
                tier.state = canonical(value, TIER_STATES) or tier.state
            else:
                setattr(tier, key, _int(value))
            return "+OK\n"
        if action == "del":
            if len(args) < 2:
                return INVALID
            t.tiers = [x for x in t.tiers if not (x.queue == args[0] and x.agent == args[1])]
            return "+OK\n"
        if action == "reload":
            return "+OK\n" if args else INVALID
        if action == "list":
            return table([x.row() for x in t.tiers_ordered()])
        return ""

    # queue ..........................................................................

    def _load_queue(self, name: str, *, fire: bool) -> bool:
        conf = self.config.queues.get(name)
        if conf is None:
            return False
        self.tables.queues[name] = LoadedQueue(conf)
        # Loading a queue re-applies every agent of the XML, even other queues' (quirk 9).
        for agent in self.config.agents:
            self._apply_xml_agent(agent, fire=fire)
        return True

    def _queue(self, action: str, args: list[str]) -> str:
        t = self.tables
        if action in ("load", "reload"):
            if not args:
                return INVALID
            return (
                "+OK\n"
                if self._load_queue(args[0], fire=True)
                else ("-ERR Invalid Queue not found!\n")
            )
        if action == "unload":
            if args:
                t.queues.pop(args[0], None)
            return "+OK\n"
        if action == "list":
            if not args:
                return table([q.row() for _, q in sorted(t.queues.items())])
            what, queue = args[0], args[1] if len(args) > 1 else ""
            return table(self._list_rows(what, queue, args[2:]))
        if action == "count":
            if not args:
                return f"{len(t.queues)}\n"
            what, queue = args[0], args[1] if len(args) > 1 else ""
            return f"{len(self._list_rows(what, queue, args[2:]))}\n"
        return ""

    def _list_rows(self, what: str, queue: str, filters: list[str]) -> list[dict[str, str | None]]:
        t = self.tables
        if what == "agents":
            names = {x.agent for x in t.tiers if x.queue == queue}
            agents = [a for a in t.agents.values() if a.name in names]
            if filters:
                agents = [a for a in agents if a.status.lower() == filters[0].lower()]
            if len(filters) > 1:
                agents = [a for a in agents if a.state.lower() == filters[1].lower()]
            return [a.row() for a in agents]
        if what == "members":
            now = self.now()
            return [m.row(now) for m in t.members if m.queue == queue]
        if what == "tiers":
            return [x.row() for x in t.tiers_ordered(queue)]
        return []

    # json API .......................................................................

    def json_request(self, request: dict[str, Any]) -> str:
        data = request.get("data") if isinstance(request.get("data"), dict) else {}
        assert isinstance(data, dict)
        arguments = str(data.get("arguments", ""))
        queue = data.get("queue_name")
        rows: list[dict[str, str | None]] | None = None
        if arguments == "agent list":
            rows = [a.row() for a in self.tables.agents.values()]
        elif arguments == "tier list":
            rows = [x.row() for x in self.tables.tiers_ordered()]
        elif arguments == "queue list":
            rows = [q.row() for _, q in sorted(self.tables.queues.items())]
        elif arguments in ("queue list agents", "queue list members", "queue list tiers"):
            if not isinstance(queue, str):
                return self._json_error(request, "Missing data attribute: queue_name")
            rows = self._list_rows(arguments.split()[-1], queue, [])
        elif arguments == "member list":
            now = self.now()
            rows = [m.row(now) for m in self.tables.members]
        if rows is None:
            return self._json_error(request, f"Unsupported arguments: {arguments}")
        response = [{k: v for k, v in row.items() if v is not None} for row in rows]
        reply = dict(request, status="success", response=response)
        return json.dumps(reply, separators=(",", ":")) + "\n"

    @staticmethod
    def _json_error(request: dict[str, Any], error: str) -> str:
        reply = dict(
            request,
            status="error",
            message="The command returned an error",
            response={"error": error},
        )
        return json.dumps(reply, separators=(",", ":")) + "\n"
