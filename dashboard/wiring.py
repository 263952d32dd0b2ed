"""Building the dashboard's dependencies from the controller's parts: one function for
the serve command and the tests alike, so both run the same wiring."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, cast

import gevent
from sqlalchemy.orm import Session, sessionmaker

from dashboard.deps import Dependencies, WebSettings
from dashboard.realtime import Publisher
from esl_controller.esl.client import Health
from esl_controller.esl.commands.base import ApiCall
from esl_controller.services.agents import AgentService
from esl_controller.services.calls import CallService
from esl_controller.services.customers import CustomerLookup
from esl_controller.services.floor_service import FloorService
from esl_controller.services.history import HistoryService
from esl_controller.services.nodes import NodeFloors
from esl_controller.services.phone_watch import PhoneWatch
from esl_controller.services.presence import PresenceStore, load_presence
from esl_controller.services.provisioning import (
    Provisioner,
    ProvisioningStore,
    provisioner_from_env,
)
from esl_controller.services.recorder import Recorder
from esl_controller.services.restore import RestoreService
from esl_controller.services.supervisor import SupervisorService, service_levels
from esl_controller.services.users import UserService
from esl_controller.services.wrap_up import WrapUpService


def build_dependencies(
    *,
    api: ApiCall,
    bgapi: ApiCall,
    health: Callable[[], Health],
    floor: FloorService,
    sessions: sessionmaker[Session],
    recorder: Recorder,
    settings: WebSettings,
    wrap_up_limit: int = 120,
) -> Dependencies:
    agents = AgentService(api, floor)
    calls = CallService(api, floor, bgapi=bgapi)
    tiers = ProvisioningStore(sessions, settings.sip_domain)
    supervisor = SupervisorService(api, calls, agents=agents, bgapi=bgapi,
                                   audit=recorder.audit, tiers=tiers)  # fmt: skip
    history = HistoryService(sessions)
    deps = Dependencies(
        health=health, floor=floor, agents=agents, calls=calls, supervisor=supervisor,
        users=UserService(sessions), sessions=sessions, recorder=recorder,
        customers=CustomerLookup(sessions, crm_url_template=settings.crm_url_template,
                                 timeout=settings.crm_timeout),
        wrap_up=WrapUpService(agents, recorder, history=history, floor=floor,
                              limit=wrap_up_limit, wanted=LinkedAgents(UserService(sessions)),
                              sessions=sessions),
        settings=settings, history=history,
    )  # fmt: skip
    return deps


class LinkedAgents:
    """Wrap-up holds only agents that people sign in as (the product's users); agents
    worked from desk phones alone keep mod_callcenter's own wrap-up time."""

    def __init__(self, users: UserService, ttl: float = 30.0) -> None:
        self.users = users
        self.ttl = ttl
        self._names: set[str] = set()
        self._until = 0.0

    def __call__(self, agent: str) -> bool:
        if time.monotonic() >= self._until:
            pool = gevent.get_hub().threadpool
            self._names = set(pool.spawn(self.users.agent_names).get())
            self._until = time.monotonic() + self.ttl
        return agent in self._names


class Part(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def start_dashboard_parts(deps: Dependencies, publisher: Publisher) -> list[Part]:
    """Listen to the floor and start the greenlets the dashboard needs; returns them so
    the caller can stop them."""
    phones = PhoneWatch(deps.agents, resume_window=deps.settings.phone_resume_window)
    phones.dropped.append(publisher.phone_dropped)  # the page's softphone registers again
    presence = PresenceStore(deps.sessions)
    # Agents, queues and tiers from the database into mod_callcenter (at every resync,
    # before the restore of signed-in agents, and every PROVISION_INTERVAL).
    # Several FreeSWITCH nodes: the serve command puts a provisioner per node in extra.
    make = cast(
        Callable[..., Provisioner], deps.extra.get("make_provisioner", provisioner_from_env)
    )
    provisioner = make(deps.agents.api, deps.sessions, deps.settings.sip_domain)
    # After every resync: agents, queues and tiers, then signed-in agents' statuses,
    # then the wrap-up holds still owed (read back by wrap_up.start() after a restart).
    restore = RestoreService(deps.agents.api, deps.floor, deps.agents,
                             provision=provisioner.sync,
                             after=deps.wrap_up._hold_again)  # fmt: skip
    deps.floor.listeners += [publisher.on_changes, deps.wrap_up.on_changes, phones.on_changes,
                             presence.on_changes, restore.on_changes]  # fmt: skip
    deps.watched += [deps.floor, deps.wrap_up, phones, presence, restore, provisioner,
                     deps.recorder]  # fmt: skip
    deps.extra["restore"] = restore
    if isinstance(deps.floor, NodeFloors):  # an agent moved to another node: put back there
        deps.floor.moved_listeners.append(restore.moved)
    deps.extra["provisioner"] = provisioner
    # Who was signed in before this process started (the controller restarted).
    deps.floor.load_presence(gevent.get_hub().threadpool.spawn(load_presence, deps.sessions).get())
    # Each product queue's service-level threshold (the supervisor console refreshes it).
    deps.floor.set_service_levels(
        gevent.get_hub().threadpool.spawn(service_levels, deps.sessions).get()
    )
    parts: list[Part] = [publisher, deps.wrap_up, phones, presence, restore, provisioner]
    for part in parts:
        part.start()
    return parts
