"""The controller's link to FreeSWITCH: two supervised ESL connections.

* The **event** connection subscribes to what the product uses and feeds ``on_event``.
* The **command** connection carries ``api`` and ``bgapi``. FreeSWITCH runs an ``api``
  command inside the connection's reader thread, so a slow command (originate waits for
  answer, a callcenter list on a slow database) would stop event delivery if both shared
  one socket. It subscribes only to BACKGROUND_JOB (to collect bgapi results, which
  FreeSWITCH delivers only to subscribed connections) and HEARTBEAT (its own watchdog).

Each connection has a supervisor greenlet: connect, subscribe, watch (EOF, disconnect
notice, no bytes for ``heartbeat_timeout`` — FreeSWITCH sends a HEARTBEAT every 20 s),
and reconnect with capped exponential backoff and jitter. The supervisor also watches the
connection's reader and handler greenlets: a dead one, or a handler stuck on one event
while others wait for ``handler_stall_timeout``, ends the connection (reconnect + resync)
and :class:`Health` says why, instead of a link that looks alive while nothing is applied.
A refused password is logged as an error on every attempt and retried at a slow pace
(``auth_retry_interval``): hammering FreeSWITCH with a bad password fixes nothing, but a
FreeSWITCH briefly replaced by one with another password must not need a restart of ours.
When the event connection is (re)subscribed and the command connection is up, the
``on_connected`` hook runs so the owner can resync: events first, then the snapshot, so
nothing that happens in between is missed.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import gevent
from gevent.event import AsyncResult
from gevent.event import Event as GeventEvent

from esl_controller.errors import (
    EslAuthFailed,
    EslConnectionLost,
    EslError,
    EslTimeout,
    EslUnavailable,
)
from esl_controller.esl.commands.base import ApiCommand, checked
from esl_controller.esl.connection import EslConnection
from esl_controller.esl.events import Event
from esl_controller.esl.frames import Frame
from esl_controller.esl.typed_events import CHANNEL_EVENTS

log = logging.getLogger(__name__)

# What the controller listens to. CUSTOM must come last: FreeSWITCH reads every word
# after it as an event subclass.
DEFAULT_EVENTS: tuple[str, ...] = (
    "HEARTBEAT",
    "SHUTDOWN",
    *sorted(CHANNEL_EVENTS),
    # Hold music really playing to the caller (the agent page claims music only then).
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "CUSTOM",
    "callcenter::info",
    "sofia::register",
    "sofia::unregister",
    "sofia::expire",
)
COMMAND_EVENTS: tuple[str, ...] = ("HEARTBEAT", "BACKGROUND_JOB")


@dataclass(frozen=True, slots=True)
class EslSettings:
    """Where FreeSWITCH is and how patient to be with it."""

    host: str = "127.0.0.1"
    port: int = 8021
    # FreeSWITCH's shipped default; the CLI warns loudly when it is used for real.
    password: str = "ClueCon"  # noqa: S105
    connect_timeout: float = 5.0
    command_timeout: float = 10.0
    bgapi_timeout: float = 90.0
    # Three missed 20 s HEARTBEATs; the simulator's tests use a short interval.
    heartbeat_timeout: float = 65.0
    backoff_initial: float = 0.1
    # Capped low on purpose: a restarted FreeSWITCH is back in service within 2 s.
    backoff_max: float = 1.5
    # Seconds between attempts while FreeSWITCH refuses the password (slow on purpose).
    auth_retry_interval: float = 30.0
    # Seconds the event handler may spend on one event while others wait before the link
    # is declared stalled and reset. Handlers only parse and enqueue: far below this.
    handler_stall_timeout: float = 30.0
    events: tuple[str, ...] = DEFAULT_EVENTS
    event_format: str = "plain"


@dataclass(frozen=True, slots=True)
class Health:
    """What the console, /health and the dashboard banner show about FreeSWITCH."""

    state: str = "stopped"  # connecting | connected | reconnecting | auth_failed | stopped
    connected: bool = False
    commands_connected: bool = False
    since: float | None = None  # wall clock of the last (re)connect, or of the loss
    last_event_at: float | None = None
    reconnects: int = 0
    last_error: str | None = None


def backoff_delay(attempt: int, initial: float, cap: float, rng: random.Random) -> float:
    """Capped exponential backoff with jitter (50-100% of the step)."""
    step = min(cap, initial * (2 ** min(attempt, 20)))
    return step * (0.5 + rng.random() / 2)


@dataclass
class _Role:
    name: str
    events: tuple[str, ...]
    conn: EslConnection | None = None
    ready: GeventEvent = field(default_factory=GeventEvent)


class EslClient:
    """Supervised event + command connections to one FreeSWITCH."""

    def __init__(
        self,
        settings: EslSettings,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_connected: Callable[[], None] | None = None,
        on_log: Callable[[Frame], None] | None = None,
        connection_factory: Callable[..., EslConnection] = EslConnection,
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.on_connected = on_connected
        self.on_log = on_log
        self._factory = connection_factory
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._events = _Role("events", settings.events)
        self._commands = _Role("commands", COMMAND_EVENTS)
        self._jobs: dict[str, AsyncResult] = {}
        self._running = False
        self._greenlets: list[gevent.Greenlet] = []
        self._resync_pending = False
        self._events_seen = False
        self._health = Health()
        self._last_event_at: float | None = None
        self.fatal: EslError | None = None
        # Set by stop() and by a successful auth: wakes the slow auth-retry wait.
        self._wake = GeventEvent()
        self._auth_accepted = 0  # how many times the password was accepted

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self.fatal = None
        self._wake.clear()
        self._set_health(state="connecting", last_error=None)
        self._greenlets = [
            gevent.spawn(self._supervise, self._events),
            gevent.spawn(self._supervise, self._commands),
        ]

    def stop(self) -> None:
        self._running = False
        self._wake.set()
        for role in (self._events, self._commands):
            if role.conn is not None:
                role.conn.stop()
        gevent.joinall(self._greenlets, timeout=5.0)
        gevent.killall([g for g in self._greenlets if not g.dead], timeout=1.0)
        self._fail_jobs(EslConnectionLost("client stopped"))
        self._set_health(state="stopped", connected=False, commands_connected=False)

    @property
    def health(self) -> Health:
        if self._last_event_at != self._health.last_event_at:
            self._health = replace(self._health, last_event_at=self._last_event_at)
        return self._health

    def wait_connected(self, timeout: float) -> bool:
        """Block until both connections are up (for start-up and tests)."""
        deadline = time.monotonic() + timeout
        for role in (self._events, self._commands):
            if not role.ready.wait(timeout=max(0.0, deadline - time.monotonic())):
                return False
        return True

    # -- commands --------------------------------------------------------------------

    def api(self, command: ApiCommand, timeout: float | None = None) -> str:
        """Run ``api <command>`` on the command connection; returns the response body."""
        conn = self._command_conn()
        frame = conn.send(f"api {checked(command)}", timeout=timeout)
        return frame.text

    def bgapi(self, command: ApiCommand, timeout: float | None = None) -> str:
        """Run ``bgapi <command>`` with our own Job-UUID; returns the BACKGROUND_JOB body."""
        checked(command)
        conn = self._command_conn()
        job_uuid = str(uuid.uuid4())
        waiter: AsyncResult = AsyncResult()
        self._jobs[job_uuid] = waiter
        try:
            reply = conn.send(f"bgapi {command}", headers={"Job-UUID": job_uuid})
            text = reply.headers.get("Reply-Text", "")
            if not text.startswith("+OK"):
                raise EslError(f"bgapi refused: {text}")
            limit = self.settings.bgapi_timeout if timeout is None else timeout
            try:
                body: str = waiter.get(timeout=limit)
            except gevent.Timeout:
                raise EslTimeout(f"no BACKGROUND_JOB for {job_uuid} within {limit:g}s") from None
            return body
        finally:
            self._jobs.pop(job_uuid, None)

    def _command_conn(self) -> EslConnection:
        conn = self._commands.conn
        if conn is None or not self._commands.ready.is_set():
            if self.fatal is not None:
                raise self.fatal
            raise EslUnavailable("FreeSWITCH is not connected")
        return conn

    def _on_command_event(self, event: Event) -> None:
        if event.name == "BACKGROUND_JOB":
            waiter = self._jobs.get(event.get("Job-UUID") or "")
            if waiter is not None:
                waiter.set(event.body)

    def _fail_jobs(self, error: Exception) -> None:
        jobs, self._jobs = self._jobs, {}
        for waiter in jobs.values():
            waiter.set_exception(error)

    # -- events ----------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        # Every event passes here: a plain attribute, folded into Health when read, not
        # a new Health per event.
        self._last_event_at = time.time()
        if self.on_event is not None:
            self.on_event(event)

    # -- supervision -----------------------------------------------------------------

    def _supervise(self, role: _Role) -> None:
        """One role's supervisor greenlet; it must outlive any bug in what it calls."""
        while self._running:
            try:
                self._supervise_loop(role)
            except Exception as exc:
                log.exception("ESL %s: supervisor failed; reconnecting", role.name)
                if role.conn is not None:
                    role.conn.abort(f"supervisor failed: {exc}")
                role.ready.clear()
                self._set_health(last_error=f"supervisor failed: {type(exc).__name__}: {exc}")
                self._update_connected_state()
                gevent.sleep(self.settings.backoff_max)

    def _supervise_loop(self, role: _Role) -> None:
        attempt = 0
        s = self.settings
        while self._running:
            conn = self._factory(
                s.host,
                s.port,
                s.password,
                connect_timeout=s.connect_timeout,
                command_timeout=s.command_timeout,
                on_event=self._on_event if role is self._events else self._on_command_event,
                on_log=self.on_log if role is self._events else None,
                name=role.name,
            )
            accepted_before = self._auth_accepted
            try:
                conn.connect()
                self._subscribe(conn, role)
            except EslAuthFailed as exc:
                conn.abort("auth failed")
                self._auth_refused(role, exc, accepted_before)
                continue
            except EslError as exc:
                conn.abort(str(exc))
                delay = backoff_delay(attempt, s.backoff_initial, s.backoff_max, self._rng)
                attempt += 1
                if attempt == 1 or attempt % 20 == 0:
                    log.warning("ESL %s: %s; retrying in %.2fs", role.name, exc, delay)
                self._set_health(last_error=str(exc))
                gevent.sleep(delay)
                continue
            attempt = 0
            self._auth_accepted += 1
            if self.fatal is not None:
                # The password is accepted again: the other role need not wait its turn.
                log.warning("ESL %s: the password is accepted again", role.name)
                self.fatal = None
                self._wake.set()
            self._connected(role, conn)
            self._watch(conn)
            self._disconnected(role, conn)

    def _auth_refused(self, role: _Role, exc: EslAuthFailed, accepted_before: int) -> None:
        """Say it loudly, every time, and try again slowly (API calls meanwhile raise
        ``exc``: 503 ``freeswitch_auth_failed`` at the edge)."""
        if self._auth_accepted != accepted_before:
            return  # the other role got in meanwhile: the password works again, retry now
        interval = self.settings.auth_retry_interval
        log.error("ESL %s: %s; retrying in %gs", role.name, exc, interval)
        self.fatal = exc
        self._set_health(state="auth_failed", last_error=str(exc))
        self._wake.clear()
        self._wake.wait(timeout=interval)

    def _subscribe(self, conn: EslConnection, role: _Role) -> None:
        words = " ".join(role.events)
        reply = conn.send(f"event {self.settings.event_format} {words}")
        text = reply.headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise EslError(f"subscription refused: {text}")

    def _watch(self, conn: EslConnection) -> None:
        """Until the connection ends: end it ourselves when it is silent, when its reader
        or handler greenlet died, or when the handler stalled with events waiting."""
        limit = self.settings.heartbeat_timeout
        stall = self.settings.handler_stall_timeout
        tick = min(1.0, limit / 4, stall / 4)
        while self._running and not conn.lost.is_set():
            conn.lost.wait(timeout=tick)
            if conn.lost.is_set():
                break
            dead = conn.greenlets_dead()
            if dead is not None:
                log.error("ESL %s: the %s greenlet died; reconnecting", conn.name, dead)
                conn.abort(f"{dead} greenlet died", kill_handler=True)
            elif conn.handler_stalled_for() > stall:
                waiting = conn.pending_events()
                log.error(
                    "ESL %s: event handler stalled (%d events waiting, no progress for "
                    "%gs); reconnecting",
                    conn.name,
                    waiting,
                    stall,
                )
                conn.abort(
                    f"event handler stalled: {waiting} events waiting, no progress for {stall:g}s",
                    kill_handler=True,
                )
            elif conn.idle_for() > limit:
                conn.abort(f"no HEARTBEAT or other data for {limit:g}s")

    def _connected(self, role: _Role, conn: EslConnection) -> None:
        role.conn = conn
        role.ready.set()
        if role is self._events:
            self._resync_pending = True
            if self._events_seen:
                self._set_health(reconnects=self._health.reconnects + 1)
            self._events_seen = True
        log.info("ESL %s connected to %s:%s", role.name, self.settings.host, self.settings.port)
        self._update_connected_state()
        if self._resync_pending and self._events.ready.is_set() and self._commands.ready.is_set():
            self._resync_pending = False
            if self.on_connected is not None:
                gevent.spawn(self._run_hook)

    def _run_hook(self) -> None:
        try:
            assert self.on_connected is not None
            self.on_connected()
        except Exception:
            log.exception("resync after connect failed")

    def _disconnected(self, role: _Role, conn: EslConnection) -> None:
        role.ready.clear()
        if role is self._commands:
            self._fail_jobs(EslConnectionLost(f"commands: {conn.lost_reason}"))
        if self._running:
            log.warning("ESL %s lost: %s; reconnecting", role.name, conn.lost_reason)
            self._set_health(last_error=conn.lost_reason)
        self._update_connected_state()

    def _update_connected_state(self) -> None:
        events_up = self._events.ready.is_set()
        commands_up = self._commands.ready.is_set()
        up = events_up and commands_up
        if up:
            state = "connected"
        elif not self._running:
            state = "stopped"
        elif self.fatal is not None:
            state = "auth_failed"
        else:
            state = "reconnecting" if self._events_seen else "connecting"
        since = self._health.since
        if up != self._health.connected or since is None:
            since = time.time()
        self._set_health(state=state, connected=up, commands_connected=commands_up, since=since)

    def _set_health(self, **changes: object) -> None:
        self._health = replace(self._health, **changes)  # type: ignore[arg-type]
