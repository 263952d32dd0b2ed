"""Agents, queues and tiers owned by the product: the database is the source of truth and
mod_callcenter is brought in line with it.

What is provisioned when:

* after every (re)connect, once the floor has resynced (the ``resynced`` change; the
  restore of signed-in agents runs right after, see ``services/restore.py``);
* every ``PROVISION_INTERVAL`` seconds (default 30), which also catches changes made by
  ``callcenter agent|queue|tier`` in another process and drift;
* at once after a change made through the admin API (:meth:`Provisioner.sync`).

A pass reads ``agent list``, ``tier list`` and ``queue list`` (json) and sends only what
differs: ``callcenter_config agent add`` / ``agent set ...``, ``tier add`` / ``tier set``
/ ``tier del``, ``queue load``. Every command it sends is logged.

Drift (a value changed on the switch by hand, a tier added by hand to a product agent)
is logged and then, by ``CALLCENTER_DRIFT``: ``repair`` (default) puts the switch back as
the database has it; ``adopt`` takes the switch's value into the database. Something
*missing* on the switch (an agent, a tier, a queue) is always put back: that is what a
FreeSWITCH restart with ``truncate-agents-on-load`` looks like, and nobody can tell it
from a hand deletion.

An agent linked to a user by ``callcenter user add`` that already exists on the switch
(``adopted`` false: e.g. written in ``callcenter.conf.xml`` before the product managed it)
is adopted once: its settings and its tiers are taken into the database; from then on the
database wins. Agents created with their settings (``callcenter agent add``, the admin
page, ``import agents.csv``) are the database's from the start. Agents and queues the
database does not know are left alone (simulated agents, desk-phone agents of the static
XML).

Several nodes (``ESL_NODES``): each node's provisioner has its own share
(``ProvisioningStore(node=...)``). An agent or queue given another node is recorded
(``cc_node_moves``) with the change; the old node's pass deletes the agent there
(``agent del``: mod_callcenter deletes its tiers with it) or unloads the queue (and
deletes the product's agents' tiers in it: ``queue unload`` leaves them), and the new
node's pass adds it as anything missing. Not while the agent is on a call or callers are
in the queue on the old switch, and not while that node is down: the record stays and a
later pass (each reconnect's, or the next interval's) does it.

Queue parameters cannot be set over ESL: ``queue load``/``reload`` read the queue from
``callcenter.conf`` (served from the database by mod_xml_curl, see
``dashboard/directory.py``, or the static file). A queue missing on the switch is loaded;
a queue whose parameters differ is reported, and reloaded only when the product changed
it (``queue reload`` also re-applies every ``<agent>`` of that XML, mod_callcenter's
``load_queue``, so it is not done behind anyone's back).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

import gevent
from gevent.lock import RLock
from sqlalchemy import select, true
from sqlalchemy.orm import Session, sessionmaker

from esl_controller.config import NODE_NAME
from esl_controller.errors import CallCenterError, EslUnavailable, InvalidArgument
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands import validate as v
from esl_controller.esl.commands.base import ApiCall, ApiCommand
from esl_controller.esl.commands.originate import dial_string_text
from esl_controller.services.worker import QueueWorker
from esl_controller.store.engine import session_scope
from esl_controller.store.models import Agent, NodeMove, Queue, Tier, User

log = logging.getLogger(__name__)
TierRow = tuple[str, str, int, int]  # queue, agent, level, position
TierKey = tuple[str, str]  # queue, agent

DRIFT_MODES = ("repair", "adopt")
# An agent in these mod_callcenter states is on (or being offered) a call: not moved off
# its switch; callers in a queue in these member states keep it loaded.
BUSY_AGENT_STATES = ("Receiving", "In a queue call")
BUSY_MEMBER_STATES = ("Waiting", "Trying", "Answered")
STRATEGIES = (
    "ring-all", "longest-idle-agent", "round-robin", "top-down", "agent-with-least-talk-time",
    "agent-with-fewest-calls", "sequentially-by-agent-order", "random", "ring-progressively",
)  # fmt: skip
AGENT_TYPES = ("callback", "uuid-standby")
TIME_BASE = ("system", "queue")
NO_ANSWER_STATUSES = ("On Break", "Logged Out", "Available", "Available (On Demand)")
# The agent settings ``callcenter_config agent set`` takes as numbers (column = key).
AGENT_NUMBERS = ("max_no_answer", "wrap_up_time", "reject_delay_time", "busy_delay_time",
                 "no_answer_delay_time")  # fmt: skip
# Every <param> of a <queue> in callcenter.conf: (param name, column, kind).
QUEUE_PARAMS: tuple[tuple[str, str, str], ...] = (
    ("strategy", "strategy", "strategy"),
    ("moh-sound", "moh_sound", "sound"),
    ("announce-sound", "announce_sound", "sound"),
    ("announce-frequency", "announce_frequency", "int"),
    ("record-template", "record_template", "sound"),
    ("time-base-score", "time_base_score", "time_base"),
    ("max-wait-time", "max_wait_time", "int"),
    ("max-wait-time-with-no-agent", "max_wait_time_with_no_agent", "int"),
    ("max-wait-time-with-no-agent-time-reached", "max_wait_time_with_no_agent_time_reached",
     "int"),
    ("tier-rules-apply", "tier_rules_apply", "bool"),
    ("tier-rule-wait-second", "tier_rule_wait_second", "int"),
    ("tier-rule-wait-multiply-level", "tier_rule_wait_multiply_level", "bool"),
    ("tier-rule-no-agent-no-wait", "tier_rule_no_agent_no_wait", "bool"),
    ("discard-abandoned-after", "discard_abandoned_after", "int"),
    ("abandoned-resume-allowed", "abandoned_resume_allowed", "bool"),
    ("ring-progressively-delay", "ring_progressively_delay", "int"),
    ("agent-no-answer-status", "agent_no_answer_status", "no_answer_status"),
    ("skip-agents-with-external-calls", "skip_agents_with_external_calls", "bool"),
)  # fmt: skip
QUEUE_FIELDS = {column: (param, kind) for param, column, kind in QUEUE_PARAMS}
QUEUE_FIELDS["service_level_seconds"] = ("service-level-seconds", "int")
# A sound or template: a file path or a stream URL, no spaces, quotes or ${...}.
SOUND_RE = re.compile(r"^[A-Za-z0-9_./\-:~%(),=;@+#*!$]*$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")


# -- validation: one set of rules for the CLI, the CSV import and the admin API -------


def _int(field_name: str, value: object, low: int = 0, high: int = 86400 * 7) -> int:
    text = (
        str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    )
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidArgument(f"{field_name} must be a whole number from {low} to {high}")
    return int(text)


def check_bool(field_name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise InvalidArgument(f"{field_name} must be true or false")


def _choice(field_name: str, value: object, choices: tuple[str, ...]) -> str:
    for choice in choices:
        if isinstance(value, str) and value.strip().lower() == choice.lower():
            return choice
    raise InvalidArgument(f"{field_name} must be one of: {', '.join(choices)}")


def check_node(value: object) -> str | None:
    """A FreeSWITCH node's name (ESL_NODES); empty or null: the first node."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if not isinstance(value, str) or not NODE_NAME.match(value.strip()):
        raise InvalidArgument("node must be a node name of ESL_NODES (a letter, then up to 31 "
                              "letters, digits, - or _), or empty for the first node")  # fmt: skip
    return value.strip()


def check_queue_field(column: str, value: object) -> object:
    """A queue setting, by column name or mod_callcenter's param name, checked."""
    column = column.replace("-", "_")
    if column == "node":
        return check_node(value)
    if column not in QUEUE_FIELDS:
        raise InvalidArgument(f"unknown queue setting {column!r}")
    param, kind = QUEUE_FIELDS[column]
    if kind == "int":
        return _int(param, value)
    if kind == "bool":
        return check_bool(param, value)
    if kind == "strategy":
        return _choice(param, value, STRATEGIES)
    if kind == "time_base":
        return _choice(param, value, TIME_BASE)
    if kind == "no_answer_status":
        return _choice(param, value, NO_ANSWER_STATUSES)
    if not isinstance(value, str) or len(value) > 256 or not SOUND_RE.match(value) or "${" in value:
        raise InvalidArgument(f"{param} must be a path or stream URL without spaces or quotes")
    return value


def check_agent_field(column: str, value: object) -> object:
    column = column.replace("-", "_")
    if column in AGENT_NUMBERS:
        return _int(column.replace("_", "-"), value)
    if column in ("type", "agent_type"):
        return _choice("type", value, AGENT_TYPES)
    if column == "contact":
        if value in ("", None):
            return ""
        return dial_string_text(str(value))
    if column == "node":
        return check_node(value)
    raise InvalidArgument(f"unknown agent setting {column!r}")


def check_tier(queue: object, agent: object, level: object = 1, position: object = 1
               ) -> tuple[str, str, int, int]:  # fmt: skip
    return (v.name("queue", queue), v.name("agent", agent), _int("level", level, 0, 1000),
            _int("position", position, 0, 100000))  # fmt: skip


# -- what the product wants -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    type: str
    contact: str
    numbers: tuple[tuple[str, int], ...]
    adopted: bool
    username: str | None = None
    node: str | None = None  # ESL_NODES name; None: the first node

    def row(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "contact": self.contact,
                "user": self.username, **dict(self.numbers), "node": self.node}  # fmt: skip


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    params: tuple[tuple[str, str], ...]  # mod_callcenter param name -> text, in XML order
    service_level_seconds: int
    node: str | None = None  # ESL_NODES name; None: the first node

    def row(self) -> dict[str, Any]:
        return {"name": self.name, **dict(self.params),
                "service-level-seconds": self.service_level_seconds,
                "node": self.node}  # fmt: skip


@dataclass
class Wanted:
    agents: dict[str, AgentSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    tiers: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def contact_for(extension: str | None, sip_domain: str | None) -> str:
    """The dial string an agent's phone is rung on: the user's registered SIP phone."""
    if not extension:
        return ""
    return f"user/{extension}@{sip_domain}" if sip_domain else f"user/{extension}"


def _agent_spec(row: Agent, user: User | None, sip_domain: str | None) -> AgentSpec:
    contact = row.contact or contact_for(user.extension if user else None, sip_domain)
    numbers = tuple((key, int(getattr(row, key))) for key in AGENT_NUMBERS)
    return AgentSpec(row.name, row.agent_type.lower(), contact, numbers, row.adopted,
                     user.username if user else None, row.node)  # fmt: skip


def _queue_spec(row: Queue) -> QueueSpec:
    params = tuple((param, _text(getattr(row, column))) for param, column, _ in QUEUE_PARAMS)
    return QueueSpec(row.name, params, row.service_level_seconds, row.node)


class ProvisioningStore:
    """The database side (blocking: call it off the hub, through a thread pool)."""

    def __init__(self, sessions: sessionmaker[Session], sip_domain: str | None = None, *,
                 node: str | None = None, first_node: bool = True) -> None:  # fmt: skip
        self.sessions = sessions
        self.sip_domain = sip_domain
        # Several FreeSWITCH nodes: this store sees only ``node``'s agents, queues and the
        # tiers of its agents (rows with no node are the first node's). None: everything.
        self.node = node
        self.first_node = first_node

    def _on_node(self, column: Any) -> Any:
        if self.node is None:
            return true()
        if self.first_node:
            return (column == self.node) | column.is_(None)
        return column == self.node

    def _new_node(self) -> str | None:
        """The node a row this store creates gets (NULL for the first node)."""
        return None if self.node is None or self.first_node else self.node

    def wanted(self, sip_domain: str | None = None) -> Wanted:
        """Everything the product wants; agents' contacts built with ``sip_domain`` (else
        the store's SIP_DOMAIN)."""
        domain = sip_domain or self.sip_domain
        with session_scope(self.sessions) as session:
            wanted = Wanted()
            rows = session.execute(select(Agent, User).join(User, Agent.user_id == User.id,
                                                            isouter=True)
                                   .where(self._on_node(Agent.node)))  # fmt: skip
            for agent, user in rows:
                wanted.agents[agent.name] = _agent_spec(agent, user, domain)
            for queue in session.scalars(select(Queue).where(self._on_node(Queue.node))
                                         .order_by(Queue.name)):  # fmt: skip
                wanted.queues[queue.name] = _queue_spec(queue)
            # Queues given another node by name (moved there): their tiers cannot be on
            # this switch. A queue with no node may also be in another switch's own
            # callcenter.conf.xml (one name on two nodes), so its tiers stay wanted.
            elsewhere = set()
            if self.node is not None:
                elsewhere = set(session.scalars(select(Queue.name).where(
                    Queue.node.is_not(None), Queue.node != self.node)))  # fmt: skip
            for tier in session.scalars(select(Tier).order_by(Tier.queue, Tier.level,
                                                              Tier.position)):  # fmt: skip
                if self.node is not None and tier.agent not in wanted.agents:
                    continue  # another node's agent: provisioned there
                if tier.queue in elsewhere:
                    continue
                wanted.tiers[(tier.queue, tier.agent)] = (tier.level, tier.position)
            return wanted

    # agents ..........................................................................

    def add_agent(self, name: str, *, username: str | None = None,
                  **settings: object) -> AgentSpec:  # fmt: skip
        v.name("agent", name)
        checked = {k.replace("-", "_"): check_agent_field(k, val) for k, val in settings.items()}
        with session_scope(self.sessions) as session:
            if session.scalar(select(Agent.id).where(Agent.name == name)) is not None:
                raise Conflict(f"agent {name} exists")
            user = None
            if username is not None:
                user = session.scalar(select(User).where(User.username == username))
                if user is None:
                    raise NotFound(f"no user {username}")
            # Created here with its settings: the database's values win from the start
            # (an agent of that name already on the switch is drift, not adopted).
            row = Agent(name=name, user_id=user.id if user else None, contact="",
                        agent_type="Callback", wrap_up_time=10, max_no_answer=3,
                        reject_delay_time=10, busy_delay_time=60, no_answer_delay_time=10,
                        adopted=True, node=self._new_node())  # fmt: skip
            self._apply_agent(row, checked)
            session.add(row)
            session.flush()
            return _agent_spec(row, user, self.sip_domain)

    def set_agent(self, name: str, **settings: object) -> AgentSpec:
        checked = {k.replace("-", "_"): check_agent_field(k, val) for k, val in settings.items()}
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Agent).where(Agent.name == name))
            if row is None:
                raise NotFound(f"no agent {name}")
            if "node" in checked and checked["node"] != row.node:
                _record_move(session, "agent", name, row.node)
            self._apply_agent(row, checked)
            user = session.get(User, row.user_id) if row.user_id else None
            return _agent_spec(row, user, self.sip_domain)

    @staticmethod
    def _apply_agent(row: Agent, checked: dict[str, object]) -> None:
        for key, value in checked.items():
            setattr(row, "agent_type" if key in ("type", "agent_type") else key, value)

    def del_agent(self, name: str) -> None:
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Agent).where(Agent.name == name))
            if row is None:
                raise NotFound(f"no agent {name}")
            for tier in session.scalars(select(Tier).where(Tier.agent == name)):
                session.delete(tier)
            session.delete(row)

    def adopt_agent(self, name: str, switch_row: dict[str, Any], tiers: list[TierRow]) -> None:
        """First sight of a product agent that the switch already had: take its settings
        and tiers in (the database wins from now on)."""
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Agent).where(Agent.name == name))
            if row is None:
                return
            if switch_row:
                row.contact = str(switch_row.get("contact") or row.contact)
                kind = str(switch_row.get("type") or "")
                if kind.lower() in AGENT_TYPES:
                    row.agent_type = _choice("type", kind, AGENT_TYPES)
                for key in AGENT_NUMBERS:
                    text = str(switch_row.get(key, ""))
                    if text.isascii() and text.isdigit():
                        setattr(row, key, int(text))
            row.adopted = True
            for queue, agent, level, position in tiers:
                exists = session.scalar(select(Tier.id).where(Tier.queue == queue,
                                                              Tier.agent == agent))  # fmt: skip
                if exists is None:
                    session.add(Tier(queue=queue, agent=agent, level=level, position=position))

    def mark_adopted(self, names: Iterable[str]) -> None:
        names = list(names)
        if not names:
            return
        with session_scope(self.sessions) as session:
            for row in session.scalars(select(Agent).where(Agent.name.in_(names))):
                row.adopted = True

    # queues ..........................................................................

    def add_queue(self, name: str, **settings: object) -> QueueSpec:
        v.name("queue", name)
        checked = {k.replace("-", "_"): check_queue_field(k, val) for k, val in settings.items()}
        with session_scope(self.sessions) as session:
            if session.scalar(select(Queue.id).where(Queue.name == name)) is not None:
                raise Conflict(f"queue {name} exists")
            row = Queue(name=name, node=self._new_node())
            for column, value in _queue_defaults().items():
                setattr(row, column, value)
            for column, value in checked.items():
                setattr(row, column, value)
            session.add(row)
            session.flush()
            return _queue_spec(row)

    def set_queue(self, name: str, **settings: object) -> QueueSpec:
        checked = {k.replace("-", "_"): check_queue_field(k, val) for k, val in settings.items()}
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Queue).where(Queue.name == name))
            if row is None:
                raise NotFound(f"no queue {name}")
            if "node" in checked and checked["node"] != row.node:
                _record_move(session, "queue", name, row.node)
            for column, value in checked.items():
                setattr(row, column, value)
            return _queue_spec(row)

    def del_queue(self, name: str) -> None:
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Queue).where(Queue.name == name))
            if row is None:
                raise NotFound(f"no queue {name}")
            for tier in session.scalars(select(Tier).where(Tier.queue == name)):
                session.delete(tier)
            session.delete(row)

    # moves between nodes ...........................................................

    def node_of(self, kind: str, name: str) -> str | None:
        """The node an agent or queue lives on now (None: the first node)."""
        model = Agent if kind == "agent" else Queue
        with session_scope(self.sessions) as session:
            row = session.execute(select(model.node).where(model.name == name)).first()
            if row is None:
                raise NotFound(f"no {kind} {name}")
            return row[0]

    def pending_moves(self) -> list[tuple[int, str, str]]:
        """(id, kind, name) of the agents and queues that left this store's node and may
        still be on its switch, oldest first."""
        with session_scope(self.sessions) as session:
            rows = session.execute(select(NodeMove.id, NodeMove.kind, NodeMove.name)
                                   .where(self._on_node(NodeMove.node))
                                   .order_by(NodeMove.id))  # fmt: skip
            return [(int(i), str(k), str(n)) for i, k, n in rows]

    def moves_done(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with session_scope(self.sessions) as session:
            for row in session.scalars(select(NodeMove).where(NodeMove.id.in_(ids))):
                session.delete(row)

    # tiers ...........................................................................

    def set_tier(self, queue: object, agent: object, level: object = None,
                 position: object = None, *, create: bool = True) -> TierRow:  # fmt: skip
        q, a, lvl, pos = check_tier(queue, agent, 1 if level is None else level,
                                    1 if position is None else position)  # fmt: skip
        with session_scope(self.sessions) as session:
            row = session.scalar(select(Tier).where(Tier.queue == q, Tier.agent == a))
            if row is None:
                if not create:
                    raise NotFound(f"no tier for {a} in {q}")
                row = Tier(queue=q, agent=a, level=lvl, position=pos)
                session.add(row)
            if level is not None:
                row.level = lvl
            if position is not None:
                row.position = pos
            return (row.queue, row.agent, row.level, row.position)

    def del_tier(self, queue: str, agent: str, *, missing_ok: bool = False) -> None:
        with session_scope(self.sessions) as session:
            rows = session.scalars(select(Tier).where(Tier.queue == queue,
                                                      Tier.agent == agent)).all()  # fmt: skip
            if not rows and not missing_ok:
                raise NotFound(f"no tier for {agent} in {queue}")
            for row in rows:
                session.delete(row)


def _record_move(session: Session, kind: str, name: str, left: str | None) -> None:
    """The agent or queue leaves node ``left``: its switch still has it until that node's
    provisioner deletes it (``Provisioner._moves``), whenever the node is reachable."""
    session.add(NodeMove(kind=kind, name=name, node=left, moved_at=datetime.now(UTC)))
    log.warning("%s %s leaves node %s: removed from that switch at its next provisioning",
                kind, name, left or "(the first)")  # fmt: skip


class Conflict(CallCenterError):
    code = "exists"
    http_status = 409


class NotFound(CallCenterError):
    """No such agent, queue or tier in the product's database."""

    code = "not_found"
    http_status = 404


def _queue_defaults() -> dict[str, object]:
    """The column defaults of a new queue (SQLAlchemy applies them only at insert)."""
    return {c.name: c.default.arg for c in Queue.__table__.columns
            if c.default is not None and not callable(c.default.arg)}  # fmt: skip


# -- callcenter.conf from the database ------------------------------------------------

# The product re-provisions after every load, so each start begins from the XML alone.
CONF_SETTINGS = {"truncate-agents-on-load": "true", "truncate-tiers-on-load": "true"}


def callcenter_conf_xml(wanted: Wanted, *, settings: dict[str, str] | None = None) -> str:
    """``callcenter.conf`` as mod_xml_curl serves it (and as the static fallback file):
    the product's queues with every parameter, its agents (without ``status``: a queue
    load re-applies every ``<agent>``, and a status there would log signed-in agents
    out) and its tiers."""
    out = ['<configuration name="callcenter.conf" description="CallCenter">', "  <settings>"]
    for name, value in (settings or {}).items():
        out.append(f"    <param name={quoteattr(name)} value={quoteattr(value)}/>")
    out += ["  </settings>", "  <queues>"]
    for queue in wanted.queues.values():
        out.append(f"    <queue name={quoteattr(queue.name)}>")
        for param, value in queue.params:
            out.append(f"      <param name={quoteattr(param)} value={quoteattr(value)}/>")
        out.append("    </queue>")
    out += ["  </queues>", "  <agents>"]
    for spec in wanted.agents.values():
        attrs = {"name": spec.name, "type": spec.type, "contact": spec.contact}
        attrs.update({k.replace("_", "-"): str(n) for k, n in spec.numbers})
        out.append("    <agent " + " ".join(f"{k}={quoteattr(x)}" for k, x in attrs.items()) + "/>")
    out += ["  </agents>", "  <tiers>"]
    for (queue_name, agent_name), (level, position) in wanted.tiers.items():
        out.append(f"    <tier agent={quoteattr(agent_name)} queue={quoteattr(queue_name)} "
                   f'level="{level}" position="{position}"/>')  # fmt: skip
    out += ["  </tiers>", "</configuration>"]
    return "\n".join(out) + "\n"


# -- bringing the switch in line ------------------------------------------------------


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.drift or self.failed)


def _type_word(kind: str) -> str:
    return "Callback" if kind == "callback" else "uuid-standby"


def _same_number(have: object, want: int) -> bool:
    return str(have).strip() == str(want)


class Provisioner(QueueWorker[str]):
    """One pass at a time, in its own greenlet; :meth:`sync` runs a pass now."""

    def __init__(self, api: ApiCall, store: ProvisioningStore, *, drift: str = "repair",
                 interval: float = 30.0) -> None:  # fmt: skip
        super().__init__()
        if drift not in DRIFT_MODES:
            raise InvalidArgument(f"CALLCENTER_DRIFT must be one of {', '.join(DRIFT_MODES)}")
        self.api = api
        self.store = store
        self.drift = drift
        self.interval = interval
        self.passes = 0
        self.last: Report | None = None
        self._timer: gevent.Greenlet | None = None
        self._pass_lock = RLock()
        self._ours: set[str] = set()
        self._switch_domain: str | None = None

    def start(self) -> None:
        super().start()
        if self._timer is None and self.interval > 0:
            self._timer = gevent.spawn(self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None
        super().stop()

    def _tick(self) -> None:
        while True:
            gevent.sleep(self.interval)
            if not self.backlog():
                self.submit("interval")

    def handle(self, item: str) -> None:
        self.sync(why=item)

    def sync(self, why: str = "change", *, changed: Iterable[str] = ()) -> Report:
        """Read the database and the switch, send what differs; blocking for the caller's
        greenlet, safe to call from several (passes do not interleave). ``changed`` names
        the agents (``agent``) and tiers (``queue agent``) the product has just changed:
        a difference there is the change to make, not drift, whatever CALLCENTER_DRIFT."""
        with self._pass_lock:
            self._ours = set(changed)
            report = Report()
            try:
                domain = self._domain()
                wanted = gevent.get_hub().threadpool.spawn(self.store.wanted, domain).get()
            except Exception as exc:
                log.error("provisioning: database unreadable (%s); nothing changed", exc)
                report.failed.append(f"database: {exc}")
                return report
            try:
                self._pass(wanted, report)
            except EslUnavailable as exc:
                # FreeSWITCH away: the pass after the reconnect's resync does the work.
                log.info("provisioning (%s): FreeSWITCH unavailable (%s)", why, exc.message)
                report.failed.append(exc.message)
            except CallCenterError as exc:
                log.error("provisioning (%s): %s", why, exc.message)
                report.failed.append(exc.message)
            self.passes += 1
            self.last = report
            if report.changed or report.drift:
                log.warning("provisioning (%s): %d change(s), %d drift", why,
                            len(report.changed), len(report.drift))  # fmt: skip
            return report

    def _domain(self) -> str | None:
        """SIP_DOMAIN, else the switch's own ``domain`` variable (so a contact built
        without SIP_DOMAIN is the same whoever provisions: the controller or the CLI)."""
        if self.store.sip_domain:
            return self.store.sip_domain
        if self._switch_domain is None:
            try:
                text = self.api(ch.global_getvar("domain")).strip()
            except CallCenterError:
                return None
            self._switch_domain = text if DOMAIN_RE.match(text) else ""
        return self._switch_domain or None

    # one pass ........................................................................

    def _list(self, what: str) -> list[dict[str, Any]]:
        return replies.json_api(self.api(cc.json_query(what)))

    def _send(self, report: Report, command: ApiCommand, what: str) -> bool:
        try:
            replies.expect_ok(self.api(command))
        except CallCenterError as exc:
            log.error("provisioning: %s failed: %s", what, exc.message)
            report.failed.append(f"{what}: {exc.message}")
            return False
        log.warning("provisioning: %s", what)
        report.changed.append(what)
        return True

    def _pass(self, wanted: Wanted, report: Report) -> None:
        queues = {str(r.get("name")): r for r in self._list("queue list")}
        agents = {str(r.get("name")): r for r in self._list("agent list")}
        tiers = {(str(r.get("queue")), str(r.get("agent"))): r for r in self._list("tier list")}
        self._moves(report, wanted, queues, agents, tiers)
        for name, queue in wanted.queues.items():
            row = queues.get(name)
            if row is None:
                self._send(report, cc.queue_action("load", name), f"queue load {name}")
                continue
            differs = [p for p, value in queue.params
                       if str(row.get(p.replace("-", "_"), value)) != value]  # fmt: skip
            if differs:
                report.drift.append(f"queue {name}: {', '.join(differs)} differ on the switch")
                log.warning("provisioning: queue %s differs on the switch (%s); `callcenter "
                            "queue reload` reloads it", name, ", ".join(differs))  # fmt: skip

        first_sight = [n for n, a in wanted.agents.items() if not a.adopted]
        if first_sight:
            self._first_sight(first_sight, agents, tiers, wanted)
        for name, agent in wanted.agents.items():
            self._agent(report, agent, agents.get(name))
        self._tiers(report, wanted, agents, tiers)
        self._adopt_queues(report, wanted, queues)

    def _moves(self, report: Report, wanted: Wanted, queues: dict[str, dict[str, Any]],
               agents: dict[str, dict[str, Any]],
               tiers: dict[TierKey, dict[str, Any]]) -> None:  # fmt: skip
        """Agents and queues given another node that this switch still has: ``agent del``
        (mod_callcenter deletes the agent's tiers with it) or ``queue unload`` and a ``tier
        del`` of the product's agents' tiers in it (unload leaves them). Not while the
        agent is on a call or callers wait in the queue: the move stays recorded and the
        next pass tries again, as it does while this node is down (its pass fails before
        this, so nothing is dropped)."""
        pool = gevent.get_hub().threadpool
        pending = pool.spawn(self.store.pending_moves).get()
        if not pending:
            return
        done: list[int] = []
        for move_id, kind, name in pending:
            if name in (wanted.agents if kind == "agent" else wanted.queues):
                done.append(move_id)  # moved back here (or never left): nothing to remove
            elif kind == "agent":
                if self._remove_agent(report, name, agents.get(name), tiers):
                    agents.pop(name, None)
                    done.append(move_id)
            elif self._remove_queue(report, name, name in queues, wanted, tiers):
                queues.pop(name, None)
                done.append(move_id)
        pool.spawn(self.store.moves_done, done).get()

    def _remove_agent(self, report: Report, name: str, row: dict[str, Any] | None,
                      tiers: dict[TierKey, dict[str, Any]]) -> bool:  # fmt: skip
        if row is None:
            return True  # not on this switch (any more)
        state = str(row.get("state") or "")
        if state in BUSY_AGENT_STATES:
            report.failed.append(f"agent del {name} waits: {state} on this switch")
            log.warning("provisioning: agent %s moved to another node but %s here: removed "
                        "after the call", name, state)  # fmt: skip
            return False
        if not self._send(report, cc.agent_del(name), f"agent del {name} (moved to another node)"):
            return False
        for key in [k for k in tiers if k[1] == name]:
            del tiers[key]
        return True

    def _remove_queue(self, report: Report, name: str, loaded: bool, wanted: Wanted,
                      tiers: dict[TierKey, dict[str, Any]]) -> bool:  # fmt: skip
        if loaded:
            members = replies.json_api(self.api(cc.json_query("queue list members", name)))
            waiting = [m for m in members if str(m.get("state") or "") in BUSY_MEMBER_STATES]
            if waiting:
                report.failed.append(f"queue unload {name} waits: {len(waiting)} caller(s) "
                                     "in it on this switch")  # fmt: skip
                log.warning("provisioning: queue %s moved to another node but %d caller(s) "
                            "are in it here: unloaded once they are gone", name,
                            len(waiting))  # fmt: skip
                return False
            if not self._send(report, cc.queue_action("unload", name),
                              f"queue unload {name} (moved to another node)"):  # fmt: skip
                return False
        # queue unload leaves the queue's tiers in mod_callcenter's table: the product's
        # agents' ones go too (the queue's agents on this node are no longer in it).
        for key in [k for k in tiers if k[0] == name and k[1] in wanted.agents]:
            if self._send(report, cc.tier_del(*key), f"tier del {key[0]} {key[1]} (queue moved)"):
                del tiers[key]
        return True

    def _first_sight(self, names: list[str], agents: dict[str, dict[str, Any]],
                     tiers: dict[TierKey, dict[str, Any]], wanted: Wanted) -> None:  # fmt: skip
        for name in names:
            row = agents.get(name)
            theirs = [(q, a, int(str(r.get("level") or 1)), int(str(r.get("position") or 1)))
                      for (q, a), r in tiers.items() if a == name]  # fmt: skip
            if row is None and not theirs:
                continue
            log.warning("provisioning: %s already on the switch: its settings and %d tier(s) "
                        "taken into the database", name, len(theirs))  # fmt: skip
            gevent.get_hub().threadpool.spawn(self.store.adopt_agent, name, row or {},
                                              theirs).get()  # fmt: skip
        fresh = gevent.get_hub().threadpool.spawn(self.store.wanted, self._domain()).get()
        wanted.agents.update(fresh.agents)
        wanted.tiers.update(fresh.tiers)
        gevent.get_hub().threadpool.spawn(self.store.mark_adopted, names).get()

    def _adopt_queues(self, report: Report, wanted: Wanted,
                      queues: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        """A queue the product's tiers are in that only the switch has (it came with an
        agent taken from callcenter.conf.xml) is taken into the database with the
        switch's settings. Otherwise, once the database has any queue, callcenter.conf
        served to mod_xml_curl would leave it out and a restart would drop it (seen on a
        real 1.10.12: "tier add ... Queue not found!" after every restart)."""
        missing = sorted({q for q, _ in wanted.tiers if q not in wanted.queues and q in queues})
        for name in missing:
            row = queues[name]
            settings: dict[str, object] = {}
            for param, _column, _kind in QUEUE_PARAMS:
                value = row.get(param.replace("-", "_"))
                if value not in (None, ""):
                    settings[param] = value
            try:
                spec = (
                    gevent.get_hub().threadpool.spawn(self._add_unless_known, name, settings).get()
                )
            except CallCenterError as exc:
                report.failed.append(f"adopt queue {name}: {exc.message}")
                log.error("provisioning: queue %s could not be taken into the database: %s",
                          name, exc.message)  # fmt: skip
                continue
            if spec is None:
                # Already the product's, on another node (several nodes: a queue of that
                # name in each switch's own callcenter.conf.xml): nothing to take in.
                continue
            wanted.queues[name] = spec
            report.changed.append(f"database: queue {name} adopted")
            log.warning("provisioning: queue %s (on the switch, holding the product's tiers) "
                        "taken into the database", name)  # fmt: skip

    def _add_unless_known(self, name: str, settings: dict[str, object]) -> QueueSpec | None:
        """The switch's queue into the database, or None when the database has it (in a
        thread: raising there would print a traceback for an expected case)."""
        try:
            return self.store.add_queue(name, **settings)
        except Conflict:
            return None

    def _agent(self, report: Report, agent: AgentSpec, row: dict[str, Any] | None) -> None:
        name = agent.name
        if row is None:
            if not self._send(
                report, cc.agent_add(name, _type_word(agent.type)), f"agent add {name}"
            ):
                return
            row = {}
            fresh = True
        else:
            fresh = False
        commands: list[tuple[ApiCommand, str, str, object]] = []  # command, what, key, theirs
        if not fresh and str(row.get("type", "")).lower() != agent.type:
            commands.append((cc.agent_set_type(name, _type_word(agent.type)), "type", "type",
                             row.get("type")))  # fmt: skip
        if agent.contact and str(row.get("contact", "")) != agent.contact:
            commands.append((cc.agent_set_contact(name, agent.contact), "contact", "contact",
                             row.get("contact")))  # fmt: skip
        for key, value in agent.numbers:
            if not _same_number(row.get(key, ""), value):
                commands.append((cc.agent_set_number(name, key, value), key, key, row.get(key)))
        if not commands:
            return
        if not fresh and name not in self._ours:
            shown = ", ".join(f"{key} {theirs!r} (wanted {self._wanted_value(agent, key)!r})"
                              for _, _, key, theirs in commands)  # fmt: skip
            report.drift.append(f"agent {name}: {shown}")
            log.warning("provisioning: drift on agent %s: %s", name, shown)
            if self.drift == "adopt":
                settings = {key: theirs for _, _, key, theirs in commands}
                try:
                    pool = gevent.get_hub().threadpool
                    pool.spawn(lambda: self.store.set_agent(name, **settings)).get()
                    report.changed.append(f"database: agent {name} adopted {sorted(settings)}")
                    log.warning("provisioning: agent %s: the switch's values taken", name)
                except CallCenterError as exc:
                    report.failed.append(f"adopt agent {name}: {exc.message}")
                return
        for command, what, key, _ in commands:
            self._send(report, command, f"agent set {what} {name} {self._wanted_value(agent, key)}")

    @staticmethod
    def _wanted_value(agent: AgentSpec, key: str) -> object:
        if key == "type":
            return agent.type
        if key == "contact":
            return agent.contact
        return dict(agent.numbers).get(key)

    def _tiers(self, report: Report, wanted: Wanted, agents: dict[str, dict[str, Any]],
               tiers: dict[TierKey, dict[str, Any]]) -> None:  # fmt: skip
        for (queue, agent), (level, position) in wanted.tiers.items():
            row = tiers.get((queue, agent))
            if row is None:
                what = f"tier add {queue} {agent} level {level} position {position}"
                self._send(report, cc.tier_add(queue, agent, level, position), what)
                continue
            differs = [(k, row.get(k), want)
                       for k, want in (("level", level), ("position", position))
                       if not _same_number(row.get(k, ""), want)]  # fmt: skip
            if not differs:
                continue
            ours = f"{queue} {agent}" in self._ours
            shown = ", ".join(f"{k} {theirs} (wanted {want})" for k, theirs, want in differs)
            if not ours:
                report.drift.append(f"tier {agent} in {queue}: {shown}")
                log.warning("provisioning: drift on tier %s in %s: %s", agent, queue, shown)
            if self.drift == "adopt" and not ours:
                values = {k: theirs for k, theirs, _ in differs}
                self._adopt_tier(report, wanted, queue, agent, values.get("level"),
                                 values.get("position"))  # fmt: skip
                continue
            for key, _, want in differs:
                self._send(report, cc.tier_set(key, queue, agent, want),
                           f"tier set {key} {queue} {agent} {want}")  # fmt: skip
        # Tiers of the product's agents that the product does not have.
        for (queue, agent), row in tiers.items():
            if agent not in wanted.agents or (queue, agent) in wanted.tiers:
                continue
            their_level, their_position = str(row.get("level") or 1), str(row.get("position") or 1)
            report.drift.append(f"tier {agent} in {queue}: on the switch, not in the database")
            log.warning("provisioning: drift: tier %s in %s is on the switch only", agent, queue)
            if self.drift == "adopt":
                self._adopt_tier(report, wanted, queue, agent, their_level, their_position)
            else:
                self._send(report, cc.tier_del(queue, agent), f"tier del {queue} {agent}")

    def _adopt_tier(self, report: Report, wanted: Wanted, queue: str, agent: str,
                    level: object, position: object) -> None:  # fmt: skip
        try:
            row = gevent.get_hub().threadpool.spawn(self.store.set_tier, queue, agent, level,
                                                    position).get()  # fmt: skip
        except CallCenterError as exc:
            report.failed.append(f"adopt tier {agent} in {queue}: {exc.message}")
            return
        wanted.tiers[(row[0], row[1])] = (row[2], row[3])
        report.changed.append(f"database: tier {agent} in {queue} adopted")
        log.warning("provisioning: tier %s in %s: the switch's values taken", agent, queue)


def provisioner_from_env(api: ApiCall, sessions: sessionmaker[Session],
                         sip_domain: str | None, *, node: str | None = None,
                         first_node: bool = True) -> Provisioner:  # fmt: skip
    """``CALLCENTER_DRIFT`` (``repair`` or ``adopt``) and ``PROVISION_INTERVAL`` (seconds
    between passes; 0: only at connect and after changes)."""
    import os

    drift = os.environ.get("CALLCENTER_DRIFT", "repair").strip().lower() or "repair"
    interval_text = os.environ.get("PROVISION_INTERVAL", "30").strip()
    try:
        interval = float(interval_text) if interval_text.isascii() else 30.0
    except ValueError:
        interval = 30.0
    store = ProvisioningStore(sessions, sip_domain, node=node, first_node=first_node)
    return Provisioner(api, store, drift=drift,
                       interval=max(0.0, interval))  # fmt: skip
