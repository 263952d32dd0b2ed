"""A controller process (``serve --role controller``): standby until it holds the lease,
then the ESL link, the floor, the recorder and the dashboard's parts exactly as the
embedded ``serve`` wires them, plus what lets web workers use them: the request server,
the floor feed, the health beacon and a Socket.IO emitter on the message queue.

Every term builds its parts afresh (:class:`ActiveController`) and a lost lease tears
them down — the ESL link and the recorder first, at once — so a controller that was
deposed never acts on FreeSWITCH or the history next to the one that replaced it, and can
become active again later with a fresh floor.
"""

from __future__ import annotations

import logging
import pathlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from flask_socketio import SocketIO
from sqlalchemy.orm import Session, sessionmaker

from dashboard import events as ev
from dashboard.api.console import console_allow
from dashboard.cluster.remote import check_provisioning_line, exposed
from dashboard.deps import Dependencies, WebSettings
from dashboard.realtime import Publisher
from dashboard.wiring import Part, build_dependencies, start_dashboard_parts
from esl_controller.cluster.feed import FloorFeed, HealthBeacon, load_handover
from esl_controller.cluster.lease import Lease, LeaseKeeper, Term
from esl_controller.cluster.rpc import RpcServer
from esl_controller.cluster.settings import ClusterSettings, connect
from esl_controller.domain.model import Change
from esl_controller.errors import InvalidArgument
from esl_controller.esl.client import EslSettings, Health
from esl_controller.esl.console_policy import ConsolePolicy
from esl_controller.services.agents import AgentService
from esl_controller.services.calls import CallService
from esl_controller.services.console import ConsoleService
from esl_controller.services.provisioning import Provisioner
from esl_controller.services.recorder import Recorder, default_spill_path
from esl_controller.services.supervisor import SupervisorService
from esl_controller.services.switches import Nodes, Switches, link_switches
from esl_controller.services.wrap_up import WrapUpService
from esl_controller.store.engine import session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.repositories import seed_defaults

log = logging.getLogger(__name__)


class EmitterPublisher(Publisher):
    """The floor's changes to every page of every web worker, through the message queue
    (rooms span the workers). This process has no Socket.IO clients: the link banner
    and the per-page snapshots after a resync are the web workers' (from the beacon and
    the feed)."""

    def start(self) -> None:
        if not self._greenlets:
            self._greenlets = [gevent.spawn(self._run)]


def health_body(health: Health, problems: list[str], history: dict[str, Any],
                nodes: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """The controller's ``/health`` (and its beacon, what web workers' ``/health``
    shows): the link, the problems, the history and each FreeSWITCH node's link."""
    return {
        "freeswitch": {
            "state": health.state, "connected": health.connected, "since": health.since,
            "reconnects": health.reconnects,
            "reason": None if health.connected else (health.last_error or health.state),
        },
        "link": ev.link_payload(health), "problems": problems, "history": history,
        "nodes": nodes or [],
    }  # fmt: skip


class Handler:
    """What a web worker may ask the active controller (see dashboard/cluster/remote.py)."""

    def __init__(self, deps: Dependencies, feed: FloorFeed, console: ConsoleService,
                 provisioner: Provisioner) -> None:  # fmt: skip
        self.deps = deps
        self.feed = feed
        self.provisioner = provisioner
        self.services: dict[str, tuple[object, frozenset[str]]] = {
            "agents": (deps.agents, exposed(AgentService)),
            "calls": (deps.calls, exposed(CallService)),
            "supervisor": (deps.supervisor, exposed(SupervisorService) - {"send_message"}),
            "wrap_up": (deps.wrap_up, exposed(WrapUpService)),
            "console": (console, frozenset({"run", "complete"})),
        }

    def __call__(self, target: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if target == "floor" and method == "snapshot":
            # The sequence number first: no greenlet switch between the two reads, so the
            # snapshot holds every batch up to it (a later one applied twice is harmless).
            seq = self.feed.seq
            return {"epoch": self.feed.term.fence, "seq": seq,
                    "snapshot": self.deps.floor.snapshot(),
                    "service_level_seconds": self.deps.floor.service_level_seconds}  # fmt: skip
        if target == "floor" and method == "set_service_levels":
            levels = args[0] if args else {}
            if not isinstance(levels, dict):
                raise InvalidArgument("service levels are a mapping of queue to seconds")
            self.deps.floor.set_service_levels(levels)
            return None
        if target == "page" and method == "snapshot":
            return self.page_snapshot(*args)
        if target == "page" and method == "snapshots":
            return [self.page_snapshot(*item) for item in (args[0] if args else [])]
        if target == "provisioner" and method == "api":
            return self.provisioner.api(check_provisioning_line(args[0] if args else None))
        if target == "provisioner" and method == "sync":
            changed = [str(c) for c in kwargs.get("changed", [])]
            return self.provisioner.sync(str(args[0]) if args else "change", changed=changed)
        found = self.services.get(target)
        if found is None or method not in found[1]:
            raise InvalidArgument(f"the controller has no operation {target}.{method}",
                                  code="unknown_operation")  # fmt: skip
        return getattr(found[0], method)(*args, **kwargs)

    def page_snapshot(self, who: dict[str, Any], agent: str | None,
                      supervisor: bool) -> dict[str, Any]:  # fmt: skip
        """What a page gets on connect: from this floor, as the embedded publisher
        builds it."""
        wrap_up = self.deps.wrap_up.waiting_for(agent) if agent else None
        return ev.snapshot_payload(who, agent, bool(supervisor), self.deps.floor.snapshot(),
                                   self.deps.health(), time.time(), wrap_up)  # fmt: skip


def spill_path_for(sessions: sessionmaker[Session], owner: str) -> pathlib.Path:
    """One spill file per process (several share a host and a database): the default
    path with the owner's id in its name, stable across restarts of that process."""
    base = default_spill_path(sessions)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", owner)[:80]
    return base.with_name(f"{base.stem}.{safe}{base.suffix}")


@dataclass
class ControllerContext:
    """What every term of this controller shares."""

    cluster: ClusterSettings
    nodes: Nodes  # [(name, settings)]: ESL_NODES, or the one node of ESL_HOST
    db_url: str
    sessions: sessionmaker[Session]
    web: WebSettings
    wrap_up_limit: int
    redis: Any
    blocking: Any
    emitter: SocketIO

    @property
    def esl(self) -> EslSettings:
        """The first node's settings (the ESL console's own connection goes there)."""
        return self.nodes[0][1]


class ActiveController:
    """One lease term's parts (built in :meth:`start`, torn down in :meth:`stop`)."""

    def __init__(self, ctx: ControllerContext, term: Term) -> None:
        self.ctx = ctx
        self.term = term
        self.deps: Dependencies | None = None
        self.switches: Switches | None = None
        self.recorder: Recorder | None = None
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self.started_at = time.monotonic()
        self.ready = False

    def start(self) -> None:
        ctx, keys = self.ctx, self.ctx.cluster.keys
        # Under the lease: only one controller migrates or seeds at a time (in a thread:
        # the lease keeper renews meanwhile).
        gevent.get_hub().threadpool.spawn(prepare_database, ctx.db_url, ctx.sessions).get()
        # One ESL client and floor per FreeSWITCH node (ESL_NODES), as `serve` links them.
        switches = link_switches(ctx.nodes, ctx.sessions)
        floor = switches.floor
        spill = spill_path_for(ctx.sessions, ctx.cluster.controller_id)
        recorder = Recorder(ctx.sessions, spill_path=spill)
        deps = build_dependencies(
            api=switches.api, bgapi=switches.bgapi, health=switches.health, floor=floor,
            sessions=ctx.sessions, recorder=recorder, settings=ctx.web,
            wrap_up_limit=ctx.wrap_up_limit,
        )  # fmt: skip
        switches.add_to(deps.extra)
        deps.extra["role"] = "active"
        deps.extra["esl_settings"] = ctx.esl
        self.deps, self.switches, self.recorder = deps, switches, recorder
        feed = FloorFeed(ctx.redis, keys, self.term)
        floor.listeners.append(recorder.on_changes)
        floor.listeners.append(feed.on_changes)
        recorder.written_listeners.append(feed.on_written)
        parts: list[Part] = start_dashboard_parts(deps, EmitterPublisher(ctx.emitter, deps))

        def stop_parts() -> None:
            for part in parts:
                part.stop()

        self._stops.append(("dashboard parts", stop_parts))
        # What the previous controller had not finished: calls it saw end are recorded as
        # they ended; open ones join this floor before its first resync.
        ended, still_open = load_handover(ctx.redis, keys)
        switches.adopt_calls(still_open)
        if ended:
            recorder.on_changes([Change("call_ended", v.uuid, v) for v in ended])
        log.warning("take-over: %d calls open, %d ended and not yet recorded, from the "
                    "previous controller", len(still_open), len(ended))  # fmt: skip
        recorder.start()
        feed.start()
        self._stops.append(("feed", feed.stop))
        floor.start()
        self._stops.append(("floor", floor.stop))
        for reconciler in switches.reconcilers(interval=30.0):
            reconciler.start()
            self._stops.append(("reconciler", reconciler.stop))
        provisioner = deps.extra["provisioner"]
        assert isinstance(provisioner, Provisioner)
        console = ConsoleService(switches.api, bgapi=switches.bgapi, audit=recorder.audit,
                                 policy=ConsolePolicy(console_allow()))  # fmt: skip
        server = RpcServer(ctx.redis, ctx.blocking, keys, self.term,
                           Handler(deps, feed, console, provisioner))  # fmt: skip
        deps.watched += [server, feed]
        server.start()
        self._stops.append(("requests", server.stop))
        beacon = HealthBeacon(ctx.redis, keys, self.term, self.health)
        beacon.start()
        self._stops.append(("beacon", beacon.stop))
        switches.start_links()
        self.ready = True
        log.warning("controller %s active (fence %d): connecting to FreeSWITCH %s",
                    self.term.controller, self.term.fence, switches.describe())  # fmt: skip

    def health(self) -> dict[str, Any]:
        deps = self.deps
        if deps is None:
            return health_body(Health(state="starting"), ["the controller is starting"], {})
        nodes = self.switches.nodes_health() if self.switches is not None else []
        return health_body(deps.health(), deps.problems(), deps.recorder.stats(), nodes)

    def stop_link(self) -> None:
        """At once, when the lease is lost: no command to FreeSWITCH, no history write
        from here any more (what the recorder still held goes to its spill file). Safe to
        call again."""
        links = self.switches.links if self.switches is not None else []
        parts = [(f"the ESL link to {link.name}", link.client) for link in links]
        for name, part in [*parts, ("the recorder", self.recorder)]:
            if part is None:
                continue
            try:
                part.stop()
            except Exception:
                log.exception("stopping %s failed", name)

    def quiesce(self, timeout: float = 5.0) -> None:
        """A stop asked for (SIGTERM), the lease still held: no more events, and what the
        recorder holds written before the next controller takes over."""
        if self.switches is not None:
            self.switches.stop_links()
        if self.recorder is not None and not self.recorder.drained(timeout):
            log.warning("stopping with %d history records not written (kept in %s)",
                        self.recorder.waiting, self.recorder.spill.path)  # fmt: skip

    def stop(self) -> None:
        self.stop_link()
        for name, stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)
        self._stops = []


def prepare_database(db_url: str, sessions: sessionmaker[Session]) -> None:
    """Migrations to head and the default pause reasons and dispositions (idempotent)."""
    upgrade(db_url)
    with session_scope(sessions) as session:
        seed_defaults(session)


class ControllerRole:
    """The lease keeper and the current term, for the process's whole life."""

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        cluster = ctx.cluster
        lease = Lease(ctx.redis, cluster.keys.lease, cluster.keys.fence, cluster.controller_id,
                      cluster.lease_ttl)  # fmt: skip
        self.keeper = LeaseKeeper(lease, on_acquired=self._acquired, on_lost=self._lost,
                                  renew_every=cluster.renew_every,
                                  poll_every=cluster.poll_every)  # fmt: skip
        self.active: ActiveController | None = None
        self._starting: gevent.Greenlet | None = None

    def start(self) -> None:
        self.keeper.start()

    def stop(self) -> None:
        """SIGTERM: the link stopped and the history written while the lease is still
        held, then everything stopped and the lease given back (a standby takes over at
        its next poll)."""
        if self.active is not None and self._starting is None:
            self.active.quiesce()
        self.keeper.stop(release=True)  # runs _lost

    def _acquired(self, term: Term) -> None:
        active = ActiveController(self.ctx, term)
        self.active = active
        self._starting = gevent.getcurrent()
        try:
            active.start()
        except Exception:
            log.exception("the controller could not start its parts; giving the lease up")
            active.stop()
            if self.active is active:
                self.active = None
            self.keeper.give_up(term, pause=5.0)  # another controller may do better
        finally:
            self._starting = None

    def _lost(self, term: Term, why: str) -> None:
        active, self.active = self.active, None
        starting, self._starting = self._starting, None
        # An activation under way is ended first (it starts the link last, so nothing of
        # it can start after this), then the link and the recorder, then the rest.
        if starting is not None and starting is not gevent.getcurrent():
            starting.kill(block=True)
        if active is not None:
            active.stop_link()
            active.stop()

    def health(self) -> tuple[dict[str, Any], int]:
        """``/health`` of the controller: active or standby, and the lease's holder."""
        keeper = self.keeper
        try:
            holder = keeper.lease.holder()
            holder_text = holder.value if holder else None
            redis_ok = True
        except Exception as exc:  # noqa: BLE001
            holder_text, redis_ok = None, False
            keeper.last_error = keeper.last_error or f"{type(exc).__name__}: {exc}"
        active = self.active
        body: dict[str, Any] = {
            "role": "active" if keeper.active else "standby",
            "controller": self.ctx.cluster.controller_id,
            "fence": keeper.term.fence if keeper.term else None,
            "lease_holder": holder_text, "terms": keeper.terms,
            "redis": {"reachable": redis_ok, "last_error": keeper.last_error},
        }  # fmt: skip
        if body["role"] == "standby":
            return body, 200 if redis_ok else 503
        if active is None or not active.ready:  # the lease is ours, the parts are starting
            body.update(health_body(Health(state="starting"), ["the controller is starting"],
                                    {}))  # fmt: skip
            return body, 503
        body.update(active.health())
        healthy = body["freeswitch"]["connected"] and not body["problems"]
        return body, 200 if healthy else 503


def health_app(role: ControllerRole) -> Callable[..., Any]:
    """The controller's only HTTP: ``GET /health`` (JSON), for load balancers and tests."""
    import json

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/health" or environ.get("REQUEST_METHOD") not in (
            "GET", "HEAD",
        ):  # fmt: skip
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "not_found", "message": "only /health here"}}']
        body, status = role.health()
        text = json.dumps(body, default=str).encode()
        reason = "OK" if status == 200 else "Service Unavailable"
        start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                             ("Content-Length", str(len(text)))])  # fmt: skip
        return [text]

    return app


def make_context(cluster: ClusterSettings, nodes: Nodes, db_url: str,
                 sessions: sessionmaker[Session], web: WebSettings,
                 wrap_up_limit: int) -> ControllerContext:  # fmt: skip
    emitter = SocketIO(message_queue=cluster.redis_url, channel=cluster.keys.socketio,
                       async_mode="gevent")  # fmt: skip
    redis, blocking = connect(cluster), connect(cluster, blocking=True)
    return ControllerContext(cluster, list(nodes), db_url, sessions, web, wrap_up_limit, redis,
                             blocking, emitter)  # fmt: skip
