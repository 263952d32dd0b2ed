"""The simulated FreeSWITCH process: listener, sessions, event bus, API table, heartbeat.

Modules plug in through three things: ``api`` (an :class:`ApiRegistry`), ``fire`` (a
:class:`SimEvent` goes out to every subscribed connection) and a few providers that the
channel engine and the phones replace (``channel_rows``, ``registrations``,
``contact_for``, ``channel_exists``, ``execute_sendmsg``). ``stop()`` behaves like a
FreeSWITCH that dies (sockets dropped, no goodbye); ``pause()`` like one that hangs
(sockets open, nothing answered, no HEARTBEAT) until ``resume()``.

Faults for tests and for a user of ``make run`` (also as API commands, so
``callcenter console -x "sim_restart 3"`` works against ``serve --simulate``):

* ``restart(down)`` / ``sim_restart [seconds]``: FreeSWITCH restarted. Every ESL
  connection gets mod_event_socket's shutdown notice and is closed, every channel is gone
  without a single event to anyone, the listener refuses connections for ``down``
  seconds, then the switch comes back on the same port as a new process would: a new
  Core-UUID, Event-Sequence from 1, mod_callcenter loaded again from
  ``callcenter.conf.xml`` (with ``truncate-agents-on-load`` every agent and tier is back
  exactly as configured, runtime changes lost; members are gone), no registrations until
  the phones register again.
* ``disconnect_all()`` / ``sim_drop_esl``: only the ESL connections are closed (as when
  mod_event_socket's listeners are killed); calls, members, agents and registrations stay.
"""

from __future__ import annotations

import ipaddress
import logging
import pathlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
import gevent.server
from gevent.event import Event as GeventEvent

from esl_controller.simulator.api_registry import ApiRegistry
from esl_controller.simulator.channels.api import register as register_channel_api
from esl_controller.simulator.channels.core import CallCore
from esl_controller.simulator.clock import SimClock
from esl_controller.simulator.conf.directory import load_directory
from esl_controller.simulator.conf.xmlconf import core_vars, load_vars
from esl_controller.simulator.mod_callcenter import config as callcenter_config
from esl_controller.simulator.mod_callcenter.module import CallCenterModule
from esl_controller.simulator.mod_callcenter.queueing import QueueManager
from esl_controller.simulator.phones import Phones
from esl_controller.simulator.sim_event import SimEvent
from esl_controller.simulator.traffic import Traffic
from esl_controller.simulator.wire import encode
from esl_controller.simulator.wire.bus import EventBus, HostIdentity, StampedEvent
from esl_controller.simulator.wire.core_api import VERSION_SHORT, register_core, uptime_text
from esl_controller.simulator.wire.session import EslSession

log = logging.getLogger(__name__)

LEVEL_NAMES = ["CONSOLE", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"]


class Simulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8021,
        password: str = "ClueCon",  # noqa: S107 - FreeSWITCH's default, as shipped
        *,
        heartbeat_interval: float = 20.0,
        acl: list[str] | None = None,
        hostname: str = "sim",
        global_vars: dict[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        conf_dir: Any = None,
        speed: float = 1.0,
        seed: int | None = None,
    ) -> None:
        if clock is None:
            clock = SimClock(speed).now if speed != 1.0 else time.time
        self.speed = speed
        self.bind = (host, port)
        self.password = password
        self.heartbeat_interval = heartbeat_interval
        self.acl = [ipaddress.ip_network(a, strict=False) for a in acl] if acl else None
        self.clock = clock
        self.conf_dir = conf_dir
        self.host = HostIdentity(hostname=hostname)
        self.bus = EventBus(self.host, clock)
        self.api = ApiRegistry()
        self.global_vars: dict[str, str] = {"domain": "127.0.0.1", "hostname": hostname}
        self.global_vars.update(global_vars or {})
        self._base_vars = dict(self.global_vars)
        self.json_handlers: dict[str, Callable[[dict[str, Any]], str]] = {}
        self.gate = GeventEvent()
        self.gate.set()
        self.connections_accepted = 0
        self.restarts = 0
        self.restarting = False
        # Phones that were registered when the switch went down register again this long
        # after it is back (see restart()).
        self.reregister_after = 1.0
        self._generation = 0
        self._sessions: set[EslSession] = set()
        self._server: gevent.server.StreamServer | None = None
        self._heartbeat: gevent.Greenlet | None = None
        self._started = time.monotonic()
        # Providers the channel engine and phones replace.
        self.channel_rows: Callable[[str], list[dict[str, str]]] = lambda what: []
        self.registrations: Callable[[str, str | None], list[str]] = lambda p, f: []
        self.contact_for: Callable[[str], str | None] = lambda user: None
        self.channel_exists: Callable[[str], bool] = lambda uuid_: False
        self.execute_sendmsg: Callable[[str, dict[str, str], str], None] = lambda u, h, b: None
        self.session_count: Callable[[], int] = lambda: 0
        self.sessions_since_startup: Callable[[], int] = lambda: 0
        self.session_peak: Callable[[], int] = lambda: 0
        self.bus.add_listener(self._deliver)
        self.traffic = Traffic(self, seed)
        self._load_switch()

    def _load_switch(self) -> None:
        """What a FreeSWITCH process builds at start: the API table, the core with its
        channels and dialplan, mod_callcenter from its configuration, the phones' registry.

        Everything the modules fire goes through a gate tied to this load: once the
        switch is restarted, greenlets of the old process that are still winding down
        (a caller's timer, an offer in flight) can no longer reach any connection."""
        generation = self._generation

        def fire(event: SimEvent) -> StampedEvent | None:
            if generation != self._generation:
                return None  # a module of a switch that has been restarted since
            return self.bus.fire(event)

        def module_log(level: int, text: str, file: str, func: str, line: int) -> None:
            if generation == self._generation:  # as for fire: this process only
                self.log(level, text, file, func, line)

        self.api = ApiRegistry()
        self.json_handlers = {}
        register_core(self)
        conf = pathlib.Path(self.conf_dir) if self.conf_dir is not None else None
        self.global_vars.clear()  # global_setvar does not outlive the process
        self.global_vars.update(self._base_vars)
        self.global_vars.update(load_vars(conf, core_vars(conf)))
        self.callcenter = CallCenterModule(
            callcenter_config.load(conf, self.global_vars), fire, self.clock
        )
        self.callcenter.register(self.api, self.json_handlers)
        self.core = CallCore(
            fire, conf_dir=conf, global_vars=self.global_vars, clock=self.clock,
            hostname=self.host.hostname, speed=self.speed, log=module_log,
        )  # fmt: skip
        self.core.hold_music.register_api(self.api)
        register_channel_api(self.api, self.core)
        self.queues = QueueManager(self.callcenter, self.core)
        self.phones = Phones(load_directory(conf, self.global_vars), fire)
        self.core.outbound.phones = self.phones
        self.phones.register_api(self.api, self.core)
        self.registrations = self.phones.registration_blocks
        self.contact_for = self.phones.contact_for
        self.traffic.register_api()
        self.api.register("sim_restart", self._sim_restart)
        self.api.register("sim_drop_esl", self._sim_drop_esl)
        engine = self.core.engine
        self.channel_rows = engine.rows
        self.channel_exists = lambda uuid_: engine.get(uuid_) is not None
        self.session_count = lambda: len(engine.channels)
        self.sessions_since_startup = lambda: engine.sessions_since_startup
        self.session_peak = lambda: engine.peak

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            return self.bind[1]
        return int(self._server.server_port)

    def start(self) -> None:
        self._started = time.monotonic()
        self._listen()
        self._heartbeat = gevent.spawn(self._heartbeat_loop)
        self.queues.start()
        log.info("simulator listening on %s:%s", self.bind[0], self.port)

    def _listen(self) -> None:
        self._server = gevent.server.StreamServer(self.bind, self._accept)
        self._server.start()
        # A restart must come back on the port it had, even when it was chosen by the OS.
        self.bind = (self.bind[0], int(self._server.server_port))

    def stop(self) -> None:
        """Die like a crashed FreeSWITCH: listener gone, every socket dropped."""
        self.gate.set()
        if self._heartbeat is not None:
            self._heartbeat.kill(block=False)
        self.queues.stop()
        self.traffic.stop()
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.kill()
        self._sessions.clear()

    def disconnect_all(self, notice: str | None = encode.DISCONNECT_TEXT) -> None:
        """Close every ESL connection and nothing else: the switch keeps its calls,
        members, agents and registrations, and accepts new connections at once.

        With the default ``notice`` a ``text/disconnect-notice`` comes first, then FIN,
        as a client sees mod_event_socket end a session; ``notice=None`` just closes the
        socket, as when a listener is killed for lost events (``kill_listener`` with no
        message) or the network drops the connection."""
        for session in list(self._sessions):
            if notice is None:
                session.shutdown(None)
                continue
            session.send(encode.typed_frame("text/disconnect-notice", notice))
            session.close_after_flush()

    def restart(self, down: float = 0.5, *, crash: bool = False) -> None:
        """FreeSWITCH restarted (``fsctl shutdown`` and a service manager starting it
        again, or a crash with ``crash=True``); returns once it listens again.

        * mod_event_socket's shutdown (``kill_all_listeners``) writes
          ``text/disconnect-notice`` "The system is being shut down." to every
          connection and closes it; a crash closes them with no word.
        * Every channel is gone and no connection hears of it: a real shutdown hangs
          the calls up first, but whether those hangups reach a listener is a race with
          the module unload, and a crash sends none. Controllers must resync, not wait
          for hangups.
        * While down, connections are refused (nothing listens on the port).
        * Back up: a new process. New Core-UUID and Event-Sequence from 1; the
          configuration read again; mod_callcenter loaded as at boot (with
          ``truncate-agents-on-load`` / ``truncate-tiers-on-load``, which
          ``freeswitch_conf/`` sets, agents and tiers are exactly the XML's: status
          Logged Out, runtime changes lost; without them the old rows stay, reset as
          mod_callcenter's load does); members are gone.
        * Registrations are gone too; the phones register again ``reregister_after``
          seconds later (1 s by default: the browser softphone's driver reconnects its
          WebSocket after 1 s and re-registers at once, then backs off exponentially),
          keeping their own settings (auto-answer delay, reject, ...).
        * The demo traffic (callers, and agents signed in with ``sim_agents``, which
          stand for the rest of the floor and have their own software) carries on once
          the switch is up; agents signed in through the product stay Logged Out until
          the product puts them back.
        """
        if self.restarting:
            raise RuntimeError("the simulated FreeSWITCH is already restarting")
        self.restarting = True
        try:
            self._restart(down, crash)
        finally:
            self.restarting = False

    def _restart(self, down: float, crash: bool) -> None:
        self.restarts += 1
        phones = {user: (p.mode, p.answer_after)
                  for user, p in self.phones.phones.items() if p.registered}  # fmt: skip
        old_tables = self.callcenter.tables
        traffic_rate = self.traffic.running_rate()
        if not crash:
            self._announce_shutdown()
        # Shutdown: listeners killed first, then the listening socket closed.
        sessions = list(self._sessions)
        for session in sessions:
            if crash:
                session.kill()
            else:
                session.shutdown("The system is being shut down.\n")
        if self._server is not None:
            self._server.close()
            self._server = None
        self.traffic.stop()
        self.queues.stop()
        self._generation += 1  # nothing of the old process reaches anyone any more
        self.core.shut_down()
        self._close_stragglers(sessions)
        gevent.sleep(max(0.0, down))
        # Boot.
        self.host.core_uuid = str(uuid.uuid4())
        self.bus.sequence = 0
        self._load_switch()
        self.callcenter.carry_over(old_tables)
        self._started = time.monotonic()
        self._listen()
        self.queues.start()
        log.info("simulator restarted on %s:%s after %.1f s down", self.bind[0], self.port, down)
        self.traffic.after_restart(traffic_rate)
        if phones:
            gevent.spawn_later(self.reregister_after, self._reregister, self._generation, phones)

    def _announce_shutdown(self) -> None:
        """What a real 1.10.12 sends its listeners on ``fsctl shutdown`` before the
        disconnect notice (seen on one built from source): SHUTDOWN, then every channel
        hung up with SYSTEM_SHUTDOWN (its HANGUP, HANGUP_COMPLETE and DESTROY), and
        mod_callcenter ending each waiting caller as if they had left (member-queue-end
        Cancel, BREAK_OUT). The MODULE_UNLOAD events that follow are left out."""
        self.fire(SimEvent("SHUTDOWN", [("Event-Info", "System Shutting Down")],
                           calling=("switch_core.c", "switch_core_destroy", 2989)))  # fmt: skip
        for channel in list(self.core.engine.channels.values()):
            self.core.engine.hangup(channel, "SYSTEM_SHUTDOWN")

    def _close_stragglers(self, sessions: list[EslSession], grace: float = 1.0) -> None:
        """A connection whose client stopped reading cannot take its notice: drop it."""

        def drop() -> None:
            for session in sessions:
                session.kill()

        gevent.spawn_later(grace, drop)

    def _reregister(self, generation: int, phones: dict[str, tuple[str, float]]) -> None:
        if generation != self._generation:
            return  # restarted again meanwhile
        for user, (mode, answer_after) in phones.items():
            phone = self.phones.phones.get(user)
            if phone is None:
                continue
            phone.mode, phone.answer_after = mode, answer_after
            self.phones.register(user)

    def _sim_restart(self, args: str) -> str:
        """``sim_restart [seconds]``: the reply goes out first, then the restart."""
        word = args.strip() or "0.5"
        try:
            down = float(word)
        except ValueError:
            return "-ERR usage: sim_restart [seconds down]\n"
        if not 0 <= down <= 3600:
            return "-ERR usage: sim_restart [seconds down] (0 to 3600)\n"
        if self.restarting:
            return "-ERR already restarting\n"
        self.restarting = True  # until the restart's greenlet takes over

        def run() -> None:
            self.restarting = False
            self.restart(down)

        gevent.spawn(run)
        return f"+OK restarting, down for {down:g} s\n"

    def _sim_drop_esl(self, args: str) -> str:
        """``sim_drop_esl [silent]``: the reply goes out first, then every connection is
        closed (with a disconnect notice, or none with ``silent``)."""
        word = args.strip()
        if word not in ("", "silent"):
            return "-ERR usage: sim_drop_esl [silent]\n"

        def drop() -> None:
            # After the reply: the api frame is queued before anything this puts.
            self.disconnect_all(None if word == "silent" else encode.DISCONNECT_TEXT)

        gevent.spawn(drop)
        return "+OK dropping every ESL connection\n"

    def pause(self) -> None:
        """Hang like a stuck FreeSWITCH: nothing read, written or sent until resume()."""
        self.gate.clear()

    def resume(self) -> None:
        self.gate.set()

    def uptime(self) -> float:
        return time.monotonic() - self._started

    def acl_allows(self, address: str) -> bool:
        if self.acl is None:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.acl)

    def _accept(self, sock: Any, address: tuple[str, int]) -> None:
        self.connections_accepted += 1
        session = EslSession(self, sock, address)
        self._sessions.add(session)
        session.run()

    def forget(self, session: EslSession) -> None:
        self._sessions.discard(session)

    # -- events and logs -------------------------------------------------------------

    def fire(self, event: SimEvent) -> StampedEvent:
        return self.bus.fire(event)

    def _deliver(self, event: StampedEvent) -> None:
        for session in list(self._sessions):
            session.deliver(event)

    def log(self, level: int, text: str, file: str, func: str, line: int, channel: int = 0) -> None:
        now = self.clock()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        micros = int((now % 1) * 1_000_000)
        body = f"{stamp}.{micros:06d} 99.57% [{LEVEL_NAMES[level]}] {file}:{line} {text}\n"
        frame = encode.typed_frame(
            "log/data",
            body,
            [
                ("Log-Level", str(level)),
                ("Text-Channel", str(channel)),
                ("Log-File", file),
                ("Log-Func", func),
                ("Log-Line", str(line)),
                ("User-Data", ""),
            ],
        )
        for session in list(self._sessions):
            session.deliver_log(level, frame)

    def _heartbeat_loop(self) -> None:
        while True:
            gevent.sleep(self.heartbeat_interval)
            self.gate.wait()
            up = self.uptime()
            self.fire(
                SimEvent(
                    "HEARTBEAT",
                    [
                        ("Event-Info", "System Ready"),
                        ("Up-Time", uptime_text(up)),
                        ("FreeSWITCH-Version", VERSION_SHORT),
                        ("Uptime-msec", str(int(up * 1000))),
                        ("Session-Count", str(self.session_count())),
                        ("Max-Sessions", "1000"),
                        ("Session-Per-Sec", "100"),
                        ("Session-Per-Sec-Last", "0"),
                        ("Session-Per-Sec-Max", "0"),
                        ("Session-Per-Sec-FiveMin", "0"),
                        ("Session-Since-Startup", str(self.sessions_since_startup())),
                        ("Session-Peak-Max", str(self.session_peak())),
                        ("Session-Peak-FiveMin", str(self.session_peak())),
                        ("Idle-CPU", "99.533333"),
                    ],
                    calling=("switch_core.c", "send_heartbeat", 95),
                )
            )

    # -- api -------------------------------------------------------------------------

    def execute_api(self, line: str) -> str:
        """``api <line>`` with mod_event_socket's rules for unknown and empty output."""
        # FreeSWITCH hands the argument over as sent, trailing spaces included (checked
        # on 1.10.12: `console_complete callcenter_config ` lists the next words).
        word, _, args = line.lstrip().partition(" ")
        word = word.rstrip()
        handler = self.api.get(word)
        if handler is None:
            return f"-ERR {word} Command not found!\n"
        try:
            output = handler(args.lstrip(" "))
        except Exception:
            log.exception("simulated api %r failed", line)
            output = f"-ERR {word} failed\n"
        return output if output else "-ERR no reply\n"

    def run_background_job(self, job_uuid: str, line: str) -> None:
        output = self.execute_api(line)
        word, _, args = line.strip().partition(" ")
        headers = [("Job-UUID", job_uuid), ("Job-Command", word)]
        if args.strip():
            headers.append(("Job-Command-Arg", args.strip()))
        self.fire(
            SimEvent(
                "BACKGROUND_JOB",
                headers,
                calling=("mod_event_socket.c", "api_exec", 1572),
                body=output,
            )
        )

    def fire_custom(self, name: str, headers: dict[str, str], body: str) -> str:
        """``sendevent``: fire what the client described; returns the new Event-UUID."""
        event_uuid = str(uuid.uuid4())
        subclass = headers.pop("Event-Subclass", None)
        items = [(k, v) for k, v in headers.items() if k not in ("Content-Length",)]
        items.append(("Event-UUID", event_uuid))
        self.fire(
            SimEvent(
                name.upper() or "CUSTOM",
                items,
                subclass=subclass,
                calling=("mod_event_socket.c", "parse_command", 2093),
                body=body or None,
            )
        )
        return event_uuid
