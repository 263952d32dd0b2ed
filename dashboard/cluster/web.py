"""A web worker (``serve --role web``): the pages, the REST API and Socket.IO, with no
link to FreeSWITCH of its own.

Its :class:`~dashboard.deps.Dependencies` differ from the embedded process's only in
what they are made of: the operations are proxies to the active controller
(:mod:`dashboard.cluster.remote`), the floor is a copy kept by the controller's feed
(:class:`~esl_controller.cluster.feed.FloorMirror`), ``health()`` is the controller's
beacon; users, sessions, customers and history are read from the shared database here.

Socket.IO runs on the Redis message queue: the controller emits the floor's changes to
the rooms, and each worker delivers them to its own clients. A worker itself sends only
what concerns its own clients: the snapshot on connect (built by the controller from its
floor), fresh snapshots after a resync, and the link banner (local emits, not queued).
Signing out ends the session on every worker: revoked session ids live in Redis, and the
worker that signed it out tells the others to drop that session's sockets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import gevent
import socketio
from flask import Flask
from flask_socketio import SocketIO, join_room
from sqlalchemy.orm import Session, sessionmaker

from dashboard import create_app
from dashboard import events as ev
from dashboard.auth import LoginLimiter, RevokedSessions, TooManyAttempts
from dashboard.cluster.controller import spill_path_for
from dashboard.cluster.remote import (
    RemoteConsole,
    RemoteProvisioner,
    RemoteService,
    controller_only,
    exposed,
)
from dashboard.deps import Dependencies, WebSettings
from dashboard.realtime import Publisher
from esl_controller.cluster.feed import FloorMirror
from esl_controller.cluster.lease import parse_term
from esl_controller.cluster.rpc import RedisUnavailable, RpcClient
from esl_controller.cluster.settings import ClusterSettings, Keys, connect
from esl_controller.errors import CallCenterError
from esl_controller.esl.client import EslSettings, Health
from esl_controller.services.agents import AgentService
from esl_controller.services.calls import CallService
from esl_controller.services.customers import CustomerLookup
from esl_controller.services.floor_service import FloorService
from esl_controller.services.history import HistoryService
from esl_controller.services.provisioning import ProvisioningStore
from esl_controller.services.recorder import Recorder
from esl_controller.services.supervisor import SupervisorService
from esl_controller.services.users import UserRecord, UserService
from esl_controller.services.wrap_up import WrapUpService

log = logging.getLogger(__name__)

NO_CONTROLLER = "no_controller"
PAGE_TTL = 30.0  # a worker that died stops counting as "the agent's page is open" after this


class WebFloor(FloorMirror):
    """The floor as a web worker sees it: the controller's, copied."""

    def __init__(self, redis: Any, blocking: Any, keys: Keys, rpc: RpcClient) -> None:
        super().__init__(redis, blocking, keys, self._fetch)
        self.rpc = rpc
        self.service_level_seconds = 20.0

    def _fetch(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.rpc.call("floor", "snapshot")
        self.service_level_seconds = float(answer.get("service_level_seconds") or 20.0)
        return answer

    def set_service_levels(self, levels: dict[str, float]) -> None:
        self.rpc.call("floor", "set_service_levels", dict(levels))


class ControllerWatch:
    """The active controller as a web worker sees it: the lease and the beacon, read at
    most every quarter second."""

    def __init__(self, redis: Any, keys: Keys, floor: FloorMirror) -> None:
        self.redis = redis
        self.keys = keys
        self.floor = floor
        self._read_at = 0.0
        self._holder: str | None = None
        self._beacon: dict[str, Any] | None = None
        self._error: str | None = None
        self._lost_since: float | None = time.time()

    def _refresh(self) -> None:
        if time.monotonic() - self._read_at < 0.25:
            return
        self._read_at = time.monotonic()
        try:
            holder_raw, beacon_raw = self.redis.mget([self.keys.lease, self.keys.health])
            self._error = None
        except Exception as exc:  # noqa: BLE001
            holder_raw, beacon_raw = None, None
            self._error = f"Redis unreachable ({type(exc).__name__})"
        term = parse_term(holder_raw)
        beacon = json.loads(beacon_raw) if beacon_raw else None
        if term is None or beacon is None or beacon.get("fence") != term.fence:
            beacon = None  # the beacon of a controller that no longer holds the lease
        self._holder = term.value if term else None
        self._beacon = beacon
        if beacon is None and self._lost_since is None:
            self._lost_since = time.time()
        elif beacon is not None:
            self._lost_since = None

    def health(self) -> Health:
        self._refresh()
        beacon = self._beacon
        if beacon is None:
            why = self._error or "no controller holds the lease (a take-over may be under way)"
            return Health(state=NO_CONTROLLER, connected=False, since=self._lost_since,
                          last_error=why)  # fmt: skip
        fs = beacon.get("freeswitch") or {}
        return Health(state=str(fs.get("state") or "unknown"), connected=bool(fs.get("connected")),
                      since=fs.get("since"), reconnects=int(fs.get("reconnects") or 0),
                      last_error=fs.get("reason"))  # fmt: skip

    def problem(self) -> str | None:
        self._refresh()
        if self._error:
            return self._error
        if self._beacon is None:
            return "no controller holds the lease"
        found = [f"controller: {p}" for p in self._beacon.get("problems") or []]
        return "; ".join(found) or None

    def nodes(self) -> list[dict[str, Any]]:
        """``/health``'s ``nodes`` on a web worker: each FreeSWITCH node's link as the
        active controller last told (none while no controller holds the lease)."""
        self._refresh()
        found = (self._beacon or {}).get("nodes")
        return [n for n in found if isinstance(n, dict)] if isinstance(found, list) else []

    def cluster(self) -> dict[str, Any]:
        """``/health``'s ``cluster`` on a web worker."""
        self._refresh()
        beacon = self._beacon or {}
        return {
            "lease_holder": self._holder, "controller": beacon.get("controller"),
            "fence": beacon.get("fence"), "redis": {"reachable": self._error is None},
            "controller_history": beacon.get("history"),
            "floor_copy": {"in_sync": self.floor.in_sync, "epoch": self.floor.epoch,
                           "batch": self.floor.seq, "fetches": self.floor.fetches},
        }  # fmt: skip


class RedisRevokedSessions(RevokedSessions):
    """Signed-out session ids shared by every web worker. While Redis cannot be asked,
    a session this worker has not seen signed out is neither trusted nor sent to sign in
    again: the request is 503 ``redis_unavailable`` (a sign-out on another worker could
    not be checked), and works again once Redis is back."""

    def __init__(self, redis: Any, keys: Keys, lifetime: float) -> None:
        super().__init__(lifetime)
        self.redis = redis
        self.keys = keys

    def revoke(self, session_id: str) -> None:
        super().revoke(session_id)
        try:
            self.redis.set(self.keys.revoked(session_id), b"1", px=int(self.lifetime * 1000))
        except Exception as exc:  # noqa: BLE001 - this worker still refuses it
            log.error("sign-out of a session not shared (Redis: %s)", exc)

    def __contains__(self, session_id: object) -> bool:
        if not isinstance(session_id, str):
            return False
        if super().__contains__(session_id):
            return True
        try:
            return bool(self.redis.exists(self.keys.revoked(session_id)))
        except Exception as exc:  # noqa: BLE001
            raise RedisUnavailable("cannot check the session now: Redis is unreachable") from exc


class RedisLoginLimiter(LoginLimiter):
    """Failed sign-ins counted across every web worker (per client address and per user
    name, as the embedded limiter does), so spreading guesses over workers gains
    nothing; this worker's own count while Redis cannot be asked."""

    def __init__(self, redis: Any, keys: Keys, attempts: int, window: float) -> None:
        super().__init__(attempts, window)
        self.redis = redis
        self.keys = keys

    def _key(self, key: str) -> str:
        return self.keys.login(hashlib.sha256(key.encode()).hexdigest()[:32])

    def check(self, *keys: str) -> None:
        now = time.time()
        try:
            pipe = self.redis.pipeline()
            for key in keys:
                pipe.zremrangebyscore(self._key(key), 0, now - self.window)
                pipe.zrange(self._key(key), 0, 0, withscores=True)
                pipe.zcard(self._key(key))
            replies = pipe.execute()
        except Exception:  # noqa: BLE001 - Redis away: this worker's own count
            super().check(*keys)
            return
        for at in range(len(keys)):
            oldest, count = replies[3 * at + 1], replies[3 * at + 2]
            if count >= self.attempts and oldest:
                raise TooManyAttempts(max(1, int(oldest[0][1] + self.window - now) + 1))

    def failed(self, *keys: str) -> None:
        super().failed(*keys)
        now = time.time()
        with contextlib.suppress(Exception):  # Redis away: counted here only
            pipe = self.redis.pipeline()
            for key in keys:
                pipe.zadd(self._key(key), {uuid.uuid4().hex: now})
                pipe.pexpire(self._key(key), int(self.window * 1000) + 1000)
            pipe.execute()

    def succeeded(self, username_key: str) -> None:
        super().succeeded(username_key)
        with contextlib.suppress(Exception):
            self.redis.delete(self._key(username_key))


class QueueManager(socketio.RedisManager):
    """Flask-SocketIO's Redis message queue, listening again within a second after Redis
    comes back (the stock manager waits 1, 2, 4... up to 60 s between attempts), and
    telling ``on_subscribed`` each time: what was published meanwhile is lost, so the
    worker's pages get fresh snapshots."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel,
                         redis_options={"socket_connect_timeout": 2.0,
                                        "socket_keepalive": True})  # fmt: skip
        self.on_subscribed: list[Callable[[], None]] = []
        self.subscriptions = 0

    def _redis_listen_with_retries(self) -> Any:
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    self.subscriptions += 1
                    if self.subscriptions > 1:
                        log.warning("Socket.IO message queue: listening again")
                        for hook in list(self.on_subscribed):
                            hook()
                yield from self.pubsub.listen()
            except Exception as exc:  # noqa: BLE001 - Redis away: listen again soon
                if subscribed:
                    log.warning("Socket.IO message queue: Redis lost (%s)", exc)
                subscribed = False
                time.sleep(0.5)  # gevent's, under monkey-patching


class WebPublisher(Publisher):
    """Greets this worker's own clients; the controller's emitter sends the floor."""

    def __init__(self, socketio: SocketIO, deps: Dependencies, *, rpc: RpcClient, redis: Any,
                 keys: Keys, worker: str) -> None:  # fmt: skip
        super().__init__(socketio, deps)
        self.rpc = rpc
        self.redis = redis
        self.keys = keys
        self.worker = worker
        self._resending = False
        self._again = False

    def start(self) -> None:
        if not self._greenlets:
            self._greenlets = [gevent.spawn(self._watch_link), gevent.spawn(self._pages_alive)]

    # -- the floor copy's changes: only a whole floor concerns this worker's clients -----

    def on_changes(self, changes: list[Any]) -> None:
        if any(change.kind == "snapshot" for change in changes):
            self.resend_snapshots()

    def resend_snapshots(self) -> None:
        """Every page of this worker gets a fresh snapshot (from the controller)."""
        if self._resending:
            self._again = True
        else:
            self._resending = True
            gevent.spawn(self._resend)

    def _resend(self) -> None:
        try:
            while True:
                self._again = False
                clients = list(self.clients.items())
                if clients:
                    asks = [self._who(user) for _, user in clients]
                    try:
                        payloads = self.rpc.call("page", "snapshots", asks)
                    except CallCenterError as exc:
                        log.warning("fresh snapshots not sent: %s", exc.message)
                        payloads = []
                    for (sid, _), payload in zip(clients, payloads, strict=False):
                        self.socketio.emit(ev.SNAPSHOT, payload, to=sid, ignore_queue=True)
                if not self._again:
                    return
        finally:
            self._resending = False

    # -- clients ---------------------------------------------------------------------

    @staticmethod
    def _who(user: UserRecord) -> list[Any]:
        who = {"username": user.username, "role": user.role, "agent": user.agent,
               "extension": user.extension, "display_name": user.display_name}  # fmt: skip
        return [who, user.agent, user.has_role("supervisor")]

    def connect(self, sid: str, user: UserRecord, session_id: str = "") -> None:
        self.clients[sid] = user
        self.sessions[sid] = session_id
        if user.agent:
            join_room(ev.agent_room(user.agent))
            self.agents_online[user.agent] += 1
            self._page_seen(user.agent)
        if user.has_role("supervisor"):
            join_room(ev.SUPERVISORS)
        self.socketio.emit(ev.SNAPSHOT, self.snapshot_for(user), to=sid, ignore_queue=True)

    def snapshot_for(self, user: UserRecord) -> dict[str, Any]:
        """From the controller's floor; while there is none, from this worker's copy with
        the link down (the page shows the outage and recovers with the next snapshot)."""
        try:
            payload: dict[str, Any] = self.rpc.call("page", "snapshot", *self._who(user))
            return payload
        except CallCenterError as exc:
            log.info("snapshot from the copy (%s)", exc.message)
        who, agent, supervisor = self._who(user)
        return ev.snapshot_payload(who, agent, supervisor, self.deps.floor.snapshot(),
                                   self.deps.health(), time.time(), None)  # fmt: skip

    def disconnect(self, sid: str) -> None:
        user = self.clients.get(sid)
        super().disconnect(sid)
        if user is not None and user.agent and not self.agents_online.get(user.agent):
            with contextlib.suppress(Exception):  # it expires by itself
                self.redis.zrem(self.keys.pages(user.agent), self.worker)

    def signed_out(self, session_id: str) -> None:
        super().signed_out(session_id)
        try:
            self.redis.publish(self.keys.web, json.dumps({"signed_out": session_id}))
        except Exception as exc:  # noqa: BLE001 - revoked anyway: their next request fails
            log.warning("other workers not told of a sign-out (Redis: %s)", exc)

    def on_web(self, body: dict[str, Any]) -> None:
        """Another worker's message (a session signed out there)."""
        session_id = body.get("signed_out")
        if isinstance(session_id, str):
            Publisher.signed_out(self, session_id)

    # -- whether an agent has a page open anywhere ---------------------------------------

    def page_open(self, agent: str) -> bool:
        if self.agents_online.get(agent):
            return True
        try:
            return bool(self.redis.zcount(self.keys.pages(agent), time.time(), "+inf"))
        except Exception:  # noqa: BLE001
            return False

    def _page_seen(self, agent: str) -> None:
        with contextlib.suppress(Exception):  # the next heartbeat tries again
            self.redis.zadd(self.keys.pages(agent), {self.worker: time.time() + PAGE_TTL})

    def _pages_alive(self) -> None:
        while True:
            gevent.sleep(PAGE_TTL / 3)
            for agent in list(Counter(self.agents_online)):
                self._page_seen(agent)

    def _watch_link(self) -> None:
        """The link banner of this worker's pages, from the controller's beacon."""
        while True:
            link = ev.link_payload(self.deps.health())
            if link != self._link:
                self._link = link
                self.socketio.emit(ev.LINK, link, ignore_queue=True)
            gevent.sleep(0.5)


class WebWorker:
    """Everything a web worker runs besides its HTTP server."""

    def __init__(self, app: Flask, floor: WebFloor, recorder: Recorder,
                 publisher: WebPublisher) -> None:  # fmt: skip
        self.app = app
        self.floor = floor
        self.recorder = recorder
        self.publisher = publisher

    def start(self) -> None:
        self.recorder.start()
        self.floor.start()
        self.publisher.start()

    def stop(self) -> None:
        self.publisher.stop()
        self.floor.stop()
        self.recorder.drained(timeout=5)
        self.recorder.stop()


def build_web_worker(cluster: ClusterSettings, sessions: sessionmaker[Session],
                     web: WebSettings, esl: EslSettings, *, worker: str) -> WebWorker:  # fmt: skip
    """The web worker's app and parts (unstarted)."""
    keys = cluster.keys
    redis, blocking = connect(cluster), connect(cluster, blocking=True)
    rpc = RpcClient(redis, blocking, keys, cluster.rpc_timeout)
    floor = WebFloor(redis, blocking, keys, rpc)
    watch = ControllerWatch(redis, keys, floor)
    # Audit entries made here (admin changes, console slash commands); one spill file
    # per worker.
    recorder = Recorder(sessions, spill_path=spill_path_for(sessions, f"web-{worker}"))
    agents = RemoteService(rpc, "agents", exposed(AgentService))
    calls = RemoteService(rpc, "calls", exposed(CallService))
    local_supervisor = SupervisorService(controller_only, cast(CallService, calls),
                                         agents=cast(AgentService, agents),
                                         audit=recorder.audit)  # fmt: skip
    supervisor = RemoteService(rpc, "supervisor", exposed(SupervisorService),
                               local=local_supervisor, local_methods={"send_message"})  # fmt: skip
    deps = Dependencies(
        health=watch.health, floor=cast(FloorService, floor),
        agents=cast(AgentService, agents), calls=cast(CallService, calls),
        supervisor=cast(SupervisorService, supervisor), users=UserService(sessions),
        sessions=sessions, recorder=recorder,
        customers=CustomerLookup(sessions, crm_url_template=web.crm_url_template,
                                 timeout=web.crm_timeout),
        wrap_up=cast(WrapUpService, RemoteService(rpc, "wrap_up", exposed(WrapUpService))),
        settings=web, history=HistoryService(sessions),
    )  # fmt: skip
    deps.extra.update({
        "role": "web", "console": RemoteConsole(rpc, audit=recorder.audit),
        "provisioner": RemoteProvisioner(rpc, ProvisioningStore(sessions, web.sip_domain)),
        # The console page's own /log and /event connection goes to FreeSWITCH directly.
        "esl_settings": esl, "cluster_health": watch.cluster, "nodes_health": watch.nodes,
    })  # fmt: skip
    deps.watched += [floor, watch, recorder]
    deps.extra["login_limiter"] = RedisLoginLimiter(redis, keys, web.login_attempts,
                                                    web.login_window)  # fmt: skip

    def publisher_factory(socketio: SocketIO, d: Dependencies) -> Publisher:
        return WebPublisher(socketio, d, rpc=rpc, redis=redis, keys=keys, worker=worker)

    manager = QueueManager(cluster.redis_url, keys.socketio)
    app = create_app(deps, socketio_options={"client_manager": manager},
                     publisher_factory=publisher_factory)  # fmt: skip
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    app.extensions["callcenter.revoked_sessions"] = RedisRevokedSessions(redis, keys, lifetime)
    publisher = app.extensions["callcenter.publisher"]
    assert isinstance(publisher, WebPublisher)
    floor.listeners.append(publisher.on_changes)
    floor.on_web.append(publisher.on_web)
    manager.on_subscribed.append(publisher.resend_snapshots)
    return WebWorker(app, floor, recorder, publisher)
