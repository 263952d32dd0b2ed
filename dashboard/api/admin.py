"""Admin endpoints: the agents, queues and tiers the product owns (its database is the
source of truth; ``services/provisioning.py`` brings mod_callcenter in line at once after
each change and reports what it sent).

Role matrix: supervisors list everything and change agents' settings and tiers;
engineers (the highest role) also create, change and delete queues. Values are checked
by the same rules as ``callcenter agent|queue|tier`` and the CSV import (400 with the
rule's message, nothing stored or sent). Every change is audited. A change of ``node``
(several FreeSWITCH nodes) moves the agent or queue: refused with 409 ``agent_on_call`` /
``queue_has_callers`` while the floor shows it busy; otherwise the old node's switch
gives it up and the new node's gets it in the same provisioning pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from dashboard.api import schemas as s
from dashboard.api.context import deps
from dashboard.api.registry import Api
from dashboard.db import off_hub as _off_hub
from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import validate as v
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.services.nodes import NodeFloors, move_refusal
from esl_controller.services.provisioning import (
    AGENT_NUMBERS,
    QUEUE_FIELDS,
    Provisioner,
    ProvisioningStore,
    check_node,
)
from esl_controller.services.users import UserRecord

ERRORS = (404, 409)
T = TypeVar("T")
Value = str | int | bool | None


class AgentIn(s.Strict):
    name: str = Field(min_length=1, max_length=128, description="mod_callcenter agent name")
    user: str | None = Field(default=None, max_length=64, description="who works as it")
    contact: str | None = Field(default=None, max_length=512,
                                description="dial string; empty: user/EXT@SIP_DOMAIN")  # fmt: skip
    type: str | None = Field(default=None, max_length=16, description="callback|uuid-standby")
    max_no_answer: int | str | None = None
    wrap_up_time: int | str | None = None
    reject_delay_time: int | str | None = None
    busy_delay_time: int | str | None = None
    no_answer_delay_time: int | str | None = None
    node: str | None = Field(default=None, max_length=32, description="the FreeSWITCH node "
                             "it lives on (ESL_NODES); empty: the first node")  # fmt: skip


class AgentChange(s.Strict):
    contact: str | None = Field(default=None, max_length=512)
    type: str | None = Field(default=None, max_length=16)
    max_no_answer: int | str | None = None
    wrap_up_time: int | str | None = None
    reject_delay_time: int | str | None = None
    busy_delay_time: int | str | None = None
    no_answer_delay_time: int | str | None = None
    node: str | None = Field(default=None, max_length=32, description="move it to this "
                             "FreeSWITCH node (ESL_NODES); empty: the first node")  # fmt: skip


class QueueIn(s.Strict):
    name: str = Field(min_length=1, max_length=128)
    settings: dict[str, Value] = Field(default_factory=dict, description=(
        "mod_callcenter queue parameters by name (strategy, moh-sound, max-wait-time, "
        "tier-rules-apply ...), service-level-seconds and node (ESL_NODES)"))  # fmt: skip


class QueueChange(s.Strict):
    settings: dict[str, Value] = Field(default_factory=dict)


class TierIn(s.Strict):
    queue: str = Field(min_length=1, max_length=128)
    agent: str = Field(min_length=1, max_length=128)
    level: int | str | None = None
    position: int | str | None = None


class TierKey(s.Strict):
    queue: str = Field(min_length=1, max_length=128)
    agent: str = Field(min_length=1, max_length=128)


class Provisioned(BaseModel):
    ok: bool = True
    changed: list[str] = Field(description="what was sent to FreeSWITCH")
    failed: list[str] = Field(description="what FreeSWITCH refused or could not be sent")


class AgentsOut(BaseModel):
    agents: list[dict[str, Any]]


class QueuesOut(BaseModel):
    queues: list[dict[str, Any]]
    parameters: list[str] = Field(description="every setting a queue takes")


class TiersOut(BaseModel):
    tiers: list[dict[str, Any]]


def off_hub(work: Callable[[], T]) -> T:
    """The database work in the thread pool; a refusal (400/404/409) is raised here, in
    the request's greenlet, rather than printed by the pool as a crash."""

    def caught() -> tuple[T | None, CallCenterError | None]:
        try:
            return work(), None
        except CallCenterError as exc:
            return None, exc

    result, error = _off_hub(caught)
    if error is not None:
        raise error
    return result  # type: ignore[return-value]


def _provisioner() -> Provisioner:
    found = deps().extra.get("provisioner")
    if not isinstance(found, Provisioner):
        raise CallCenterError("provisioning is not running", code="unavailable")
    return found


def _store() -> ProvisioningStore:
    return _provisioner().store


def _apply(user: UserRecord, action: str, target: str, details: dict[str, Any],
           *commands: ApiCommand, ours: tuple[str, ...] = ()) -> Provisioned:  # fmt: skip
    """After a database change: the commands the change needs beyond a provisioning pass
    (deletions, reloads), then the pass; audited with what was sent."""
    provisioner = _provisioner()
    changed: list[str] = []
    failed: list[str] = []
    for command in commands:
        text = str(command).removeprefix("callcenter_config ")
        try:
            reply = provisioner.api(command)
        except CallCenterError as exc:
            failed.append(f"{text}: {exc.message}")
            continue
        (changed if reply.startswith("+OK") else failed).append(f"{text}: {reply.strip()}")
    report = provisioner.sync(f"admin {action}", changed=ours)
    changed += report.changed
    failed += report.failed
    deps().recorder.audit(user.username, action, target, {**details, "sent": changed,
                                                           "failed": failed})  # fmt: skip
    return Provisioned(changed=changed, failed=failed)


def _check_move(kind: str, name: str, settings: Mapping[str, object]) -> bool:
    """A change of node: to a node ESL_NODES lists (400), and not while the agent is on a
    call or callers wait in the queue (409 agent_on_call / queue_has_callers). After the
    database change the old node's provisioner deletes it there (``agent del``, ``queue
    unload``) and the new node's adds it (services/provisioning.py ``_moves``). True when
    it moves."""
    key = next((k for k in settings if k.replace("-", "_") == "node"), None)
    if key is None:
        return False
    target = check_node(settings[key])
    floor = deps().floor
    if isinstance(floor, NodeFloors) and target is not None:
        names = [link.name for link in floor.links]
        if target not in names:
            raise InvalidArgument(f"no node {target} in ESL_NODES ({', '.join(names)})")
    if off_hub(lambda: _store().node_of(kind, name)) == target:
        return False
    refusal = move_refusal(floor.snapshot(), kind, name)
    if refusal is not None:
        raise refusal
    return True


def _settings(body: BaseModel, keys: tuple[str, ...]) -> dict[str, object]:
    return {k: getattr(body, k) for k in keys if getattr(body, k) is not None}


AGENT_KEYS = ("contact", "type", *AGENT_NUMBERS, "node")


def register(api: Api) -> None:
    # agents ..........................................................................

    @api.endpoint("GET", "/admin/agents", summary="The agents the product owns",
                  tag="admin", role="supervisor", response=AgentsOut)  # fmt: skip
    def agents_list(user: UserRecord) -> AgentsOut:
        wanted = off_hub(_store().wanted)
        return AgentsOut(agents=[a.row() for a in wanted.agents.values()])

    @api.endpoint("POST", "/admin/agents", summary="Create an agent (provisioned at once)",
                  tag="admin", role="supervisor", body=AgentIn, response=Provisioned,
                  errors=ERRORS)  # fmt: skip
    def agents_add(user: UserRecord, body: AgentIn) -> tuple[Provisioned, int]:
        settings = _settings(body, AGENT_KEYS)
        off_hub(lambda: _store().add_agent(body.name, username=body.user, **settings))
        return _apply(user, "agent_add", body.name, {"settings": settings}), 201

    @api.endpoint("POST", "/admin/agents/<agent>", summary="Change an agent's settings",
                  tag="admin", role="supervisor", body=AgentChange, response=Provisioned,
                  errors=ERRORS)  # fmt: skip
    def agents_set(user: UserRecord, agent: str, body: AgentChange) -> Provisioned:
        name = v.name("agent", agent)
        settings = _settings(body, AGENT_KEYS)
        if not settings:
            raise InvalidArgument("nothing to change")
        _check_move("agent", name, settings)
        off_hub(lambda: _store().set_agent(name, **settings))
        return _apply(user, "agent_set", name, {"settings": settings}, ours=(name,))

    @api.endpoint("DELETE", "/admin/agents/<agent>", summary="Delete an agent and its tiers",
                  tag="admin", role="supervisor", response=Provisioned, errors=ERRORS)  # fmt: skip
    def agents_del(user: UserRecord, agent: str) -> Provisioned:
        name = v.name("agent", agent)
        off_hub(lambda: _store().del_agent(name))
        return _apply(user, "agent_del", name, {}, cc.agent_del(name))

    # queues ..........................................................................

    @api.endpoint("GET", "/admin/queues", summary="The queues the product owns, with every "
                  "parameter", tag="admin", role="supervisor", response=QueuesOut)  # fmt: skip
    def queues_list(user: UserRecord) -> QueuesOut:
        wanted = off_hub(_store().wanted)
        return QueuesOut(queues=[q.row() for q in wanted.queues.values()],
                         parameters=[p for p, _ in QUEUE_FIELDS.values()])  # fmt: skip

    @api.endpoint("POST", "/admin/queues", summary="Create a queue (loaded at once through "
                  "mod_xml_curl's callcenter.conf)", tag="admin", role="engineer",
                  body=QueueIn, response=Provisioned, errors=ERRORS)  # fmt: skip
    def queues_add(user: UserRecord, body: QueueIn) -> tuple[Provisioned, int]:
        off_hub(lambda: _store().add_queue(body.name, **body.settings))
        return _apply(user, "queue_add", body.name, {"settings": body.settings}), 201

    @api.endpoint("POST", "/admin/queues/<queue>", summary="Change a queue (then queue "
                  "reload)", tag="admin", role="engineer", body=QueueChange,
                  response=Provisioned, errors=ERRORS)  # fmt: skip
    def queues_set(user: UserRecord, queue: str, body: QueueChange) -> Provisioned:
        name = v.name("queue", queue)
        if not body.settings:
            raise InvalidArgument("nothing to change")
        moving = _check_move("queue", name, body.settings)
        off_hub(lambda: _store().set_queue(name, **body.settings))
        # Moved: the new node's pass loads it (its callcenter.conf now has it) and the old
        # node's unloads it; a reload now would reach the old node.
        reload = () if moving else (cc.queue_action("reload", name),)
        return _apply(user, "queue_set", name, {"settings": body.settings}, *reload)

    @api.endpoint("DELETE", "/admin/queues/<queue>", summary="Delete a queue and its tiers "
                  "(queue unload)", tag="admin", role="engineer", response=Provisioned,
                  errors=ERRORS)  # fmt: skip
    def queues_del(user: UserRecord, queue: str) -> Provisioned:
        name = v.name("queue", queue)
        off_hub(lambda: _store().del_queue(name))
        return _apply(user, "queue_del", name, {}, cc.queue_action("unload", name))

    # tiers ...........................................................................

    @api.endpoint("GET", "/admin/tiers", summary="Every agent's place in every queue",
                  tag="admin", role="supervisor", response=TiersOut)  # fmt: skip
    def tiers_list(user: UserRecord) -> TiersOut:
        wanted = off_hub(_store().wanted)
        return TiersOut(tiers=[{"queue": q, "agent": a, "level": lv, "position": pos}
                               for (q, a), (lv, pos) in wanted.tiers.items()])  # fmt: skip

    @api.endpoint("POST", "/admin/tiers", summary="Put an agent in a queue or move it there "
                  "(level, position)", tag="admin", role="supervisor", body=TierIn,
                  response=Provisioned, errors=ERRORS)  # fmt: skip
    def tiers_set(user: UserRecord, body: TierIn) -> Provisioned:
        row = off_hub(lambda: _store().set_tier(body.queue, body.agent, body.level,
                                                body.position))  # fmt: skip
        details = {"queue": row[0], "level": row[2], "position": row[3]}
        return _apply(user, "tier_set", row[1], details, ours=(f"{row[0]} {row[1]}",))

    @api.endpoint("POST", "/admin/tiers/remove", summary="Take an agent out of a queue",
                  tag="admin", role="supervisor", body=TierKey, response=Provisioned,
                  errors=ERRORS)  # fmt: skip
    def tiers_del(user: UserRecord, body: TierKey) -> Provisioned:
        queue, agent = v.name("queue", body.queue), v.name("agent", body.agent)
        off_hub(lambda: _store().del_tier(queue, agent))
        return _apply(user, "tier_del", agent, {"queue": queue}, cc.tier_del(queue, agent))
