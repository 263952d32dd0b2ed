"""The simulated FreeSWITCH process: listener, sessions, event bus, API table, heartbeat.

Modules plug in through three things: ``api`` (an :class:`ApiRegistry`), ``fire`` (a
:class:`SimEvent` goes out to every subscribed connection) and a few providers that the
channel engine and the phones replace (``channel_rows``, ``registrations``,
``contact_for``, ``channel_exists``, ``execute_sendmsg``). ``stop()`` behaves like a
FreeSWITCH that dies (sockets dropped, no goodbye); ``pause()`` like one that hangs
(sockets open, nothing answered, no HEARTBEAT) until ``resume()``.
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
from esl_controller.simulator.conf.xmlconf import load_vars
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
        self.json_handlers: dict[str, Callable[[dict[str, Any]], str]] = {}
        self.gate = GeventEvent()
        self.gate.set()
        self.connections_accepted = 0
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
        register_core(self)
        conf = pathlib.Path(conf_dir) if conf_dir is not None else None
        self.global_vars.update(load_vars(conf))
        self.callcenter = CallCenterModule(
            callcenter_config.load(conf, self.global_vars), self.fire, clock
        )
        self.callcenter.register(self.api, self.json_handlers)
        self.core = CallCore(
            self.fire, conf_dir=conf, global_vars=self.global_vars, clock=clock,
            hostname=hostname, speed=speed,
        )  # fmt: skip
        register_channel_api(self.api, self.core)
        self.queues = QueueManager(self.callcenter, self.core)
        self.phones = Phones(load_directory(conf, self.global_vars), self.fire)
        self.core.outbound.phones = self.phones
        self.phones.register_api(self.api, self.core)
        self.registrations = self.phones.registration_blocks
        self.contact_for = self.phones.contact_for
        self.traffic = Traffic(self, seed)
        self.traffic.register_api()
        self.channel_rows = self.core.engine.rows
        self.channel_exists = lambda uuid_: self.core.engine.get(uuid_) is not None
        self.session_count = lambda: len(self.core.engine.channels)
        self.sessions_since_startup = lambda: self.core.engine.sessions_since_startup
        self.session_peak = lambda: self.core.engine.peak

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            return self.bind[1]
        return int(self._server.server_port)

    def start(self) -> None:
        self._started = time.monotonic()
        self._server = gevent.server.StreamServer(self.bind, self._accept)
        self._server.start()
        self._heartbeat = gevent.spawn(self._heartbeat_loop)
        self.queues.start()
        log.info("simulator listening on %s:%s", self.bind[0], self.port)

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

    def disconnect_all(self) -> None:
        """Close every connection politely, as FreeSWITCH does when mod_event_socket is
        unloaded or the listener is killed: a disconnect notice, then FIN."""
        for session in list(self._sessions):
            session.send(encode.typed_frame("text/disconnect-notice", encode.DISCONNECT_TEXT))
            session.close_after_flush()

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
        word, _, args = line.strip().partition(" ")
        handler = self.api.get(word)
        if handler is None:
            return f"-ERR {word} Command not found!\n"
        try:
            output = handler(args.strip())
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
