"""Settings of the split roles (environment, read once at start) and the Redis keys.

Every key starts with ``REDIS_PREFIX``, so two call centers (or two test runs) can share
one Redis without seeing each other.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esl_controller.errors import InvalidArgument

_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


@dataclass(frozen=True, slots=True)
class Keys:
    """Where each thing lives in Redis."""

    prefix: str

    @property
    def lease(self) -> str:  # "<fence>:<controller id>" of the active controller
        return f"{self.prefix}:lease"

    @property
    def fence(self) -> str:  # INCR counter: one fencing token per lease term
        return f"{self.prefix}:fence"

    def requests(self, fence: int) -> str:  # the active controller's request list
        return f"{self.prefix}:rpc:{fence}"

    def reply(self, request_id: str) -> str:
        return f"{self.prefix}:reply:{request_id}"

    @property
    def feed(self) -> str:  # pub/sub: the floor's changes, in order
        return f"{self.prefix}:feed"

    @property
    def web(self) -> str:  # pub/sub between web workers (a session signed out)
        return f"{self.prefix}:web"

    @property
    def calls(self) -> str:  # hash: the calls the active controller has open
        return f"{self.prefix}:calls"

    @property
    def health(self) -> str:  # the active controller's /health, refreshed
        return f"{self.prefix}:health"

    def revoked(self, session_id: str) -> str:
        return f"{self.prefix}:revoked:{session_id}"

    def login(self, digest: str) -> str:  # sorted set: failed sign-ins of one client or name
        return f"{self.prefix}:login:{digest}"

    def pages(self, agent: str) -> str:  # sorted set: web workers with a page of the agent
        return f"{self.prefix}:pages:{agent}"

    @property
    def socketio(self) -> str:  # Flask-SocketIO's message-queue channel
        return f"{self.prefix}:socketio"


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    redis_url: str
    prefix: str = "callcenter"
    controller_id: str = ""
    lease_ttl: float = 3.0  # seconds; the standby takes over within this plus a poll
    rpc_timeout: float = 15.0  # seconds a web worker waits for the controller's answer

    @property
    def keys(self) -> Keys:
        return Keys(self.prefix)

    @property
    def renew_every(self) -> float:
        return self.lease_ttl / 3

    @property
    def poll_every(self) -> float:
        """How often a standby looks for a free lease."""
        return min(0.5, self.lease_ttl / 6)


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw) if raw.isascii() else float("nan")
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also refuses nan
        raise InvalidArgument(f"{name} must be a number of seconds from {low:g} to {high:g}")
    return value


def load_cluster_settings(
    env: Mapping[str, str] | None = None, *, default_id: str | None = None
) -> ClusterSettings:
    """``REDIS_URL`` (required), ``REDIS_PREFIX``, ``CONTROLLER_ID`` (default: host name
    and port, stable across restarts so a controller finds its own spill file again),
    ``CONTROLLER_LEASE_TTL``, ``CONTROLLER_RPC_TIMEOUT``."""
    env = os.environ if env is None else env
    url = (env.get("REDIS_URL") or "").strip()
    if not url:
        raise InvalidArgument("REDIS_URL must be set for --role web or --role controller")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise InvalidArgument("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    prefix = (env.get("REDIS_PREFIX") or "callcenter").strip()
    if not _PREFIX.match(prefix):
        raise InvalidArgument("REDIS_PREFIX: letters, digits and _ . : - (at most 64)")
    ident = (env.get("CONTROLLER_ID") or default_id or socket.gethostname()).strip()
    if not _ID.match(ident):
        raise InvalidArgument("CONTROLLER_ID: letters, digits and _ . : @ - (at most 128)")
    return ClusterSettings(
        redis_url=url, prefix=prefix, controller_id=ident,
        lease_ttl=_seconds(env, "CONTROLLER_LEASE_TTL", 3.0, 0.5, 60.0),
        rpc_timeout=_seconds(env, "CONTROLLER_RPC_TIMEOUT", 15.0, 1.0, 300.0),
    )  # fmt: skip


# Connections one process may hold to Redis (each greenlet waiting on a page's request
# or a BLPOP holds one while it waits).
REDIS_MAX_CONNECTIONS = 512


def connect(settings: ClusterSettings, *, blocking: bool = False) -> Any:
    """A Redis client. Quick commands get a short socket timeout (a Redis that stops
    answering must not hold the lease keeper past its lease); the ``blocking`` client is
    for BLPOP (waits of at most 1 s) and pub/sub (polled every second), so a longer
    timeout there only catches a Redis that stopped answering."""
    import redis

    # redis-py caps a plain pool at 100 connections and *fails* the 101st: a burst of
    # pages connecting at once (a web worker died and its pages came here) would be
    # refused as "Redis unavailable". A blocking pool makes the burst wait its turn.
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=REDIS_MAX_CONNECTIONS,
        timeout=10.0 if blocking else max(0.5, settings.lease_ttl / 3),
        socket_connect_timeout=2.0,
        socket_timeout=10.0 if blocking else max(0.5, settings.lease_ttl / 3),
        health_check_interval=0 if blocking else 30,
    )  # fmt: skip
    return redis.Redis(connection_pool=pool)
