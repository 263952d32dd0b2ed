"""The simulated FreeSWITCH process: listener, sessions, event bus, API table, heartbeat.

Modules plug in through three things: ``api`` (an :class:`ApiRegistry`), ``fire`` (a
:class:`SimEvent` goes out to every subscribed connection) and a few providers that the
channel engine and the phones replace (``channel_rows``, ``registrations``,
``contact_for``, ``channel_exists``, ``channel_name``, ``channel_var``,
``execute_sendmsg``). ``stop()`` behaves like a FreeSWITCH that dies (sockets dropped,
no goodbye); ``shutdown()`` like one that is shut down ("The system is being shut
down."); ``pause()`` like one that hangs (sockets open, nothing answered, no HEARTBEAT)
until ``resume()``.
"""

from __future__ import annotations

import ipaddress
import logging
import pathlib
import time
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
from esl_controller.simulator.wire import api_exec, encode
from esl_controller.simulator.wire.bus import EventBus, HostIdentity, StampedEvent
from esl_controller.simulator.wire.core_api import register_core
from esl_controller.simulator.wire.packet import Command
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
        ipv4: str = "127.0.0.1",
        ipv6: str = "::1",
        global_vars: dict[str, str] | None = None,
        auth_timeout: float = 25.0,
        event_queue_limit: int = 100_000,
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
        self.host = HostIdentity(hostname=hostname, ipv4=ipv4, ipv6=ipv6)
        # mod_event_socket: 25 s for the first command, 100,000 queued events per listener.
        self.auth_timeout = auth_timeout
        self.event_queue_limit = event_queue_limit
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
        self.channel_name: Callable[[str], str | None] = lambda uuid_: None
        self.channel_var: Callable[[str, str], str | None] = lambda uuid_, name: None
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
        self.channel_name = self._channel_name
        self.channel_var = self._channel_var
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

    def shutdown(self) -> None:
        """``fsctl shutdown``: every listener gets "The system is being shut down.", then
        the process is gone."""
        for session in list(self._sessions):
            session.kill_listener(encode.SHUTDOWN_TEXT)
        self.stop()

    def disconnect_all(self) -> None:
        """End every connection as its listener thread ends: the goodbye notice, then FIN."""
        for session in list(self._sessions):
            session.finish()

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
            self.fire(api_exec.heartbeat(self))

    # -- api -------------------------------------------------------------------------

    def execute_api(self, line: str) -> str:
        """``api <line>``: the api/response body, with mod_event_socket's rules."""
        cmd, sep, arg = line.partition(" ")
        return self.api_output(cmd, arg if sep else None)

    def api_output(self, cmd: str, arg: str | None) -> str:
        return api_exec.api_output(self, cmd, arg)

    def start_background_job(self, job_uuid: str, cmd: str, arg: str | None) -> None:
        """``bgapi``: run in its own greenlet (FreeSWITCH: its own thread)."""
        gevent.spawn(api_exec.background_job, self, job_uuid, cmd, arg)

    def run_background_job(self, job_uuid: str, line: str) -> None:
        cmd, sep, arg = line.partition(" ")
        api_exec.background_job(self, job_uuid, cmd, arg if sep else None)

    def fire_sendevent(
        self, name: str, subclass: str | None, command: Command, event_uuid: str
    ) -> None:
        api_exec.sendevent(self, name, subclass, command, event_uuid)

    def _channel_name(self, uuid_: str) -> str | None:
        channel = self.core.engine.get(uuid_)
        return channel.name if channel is not None else None

    def _channel_var(self, uuid_: str, name: str) -> str | None:
        channel = self.core.engine.get(uuid_)
        return channel.variables.get(name) if channel is not None else None
