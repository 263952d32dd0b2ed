"""What the dashboard is given by whoever starts it (the serve command, or a test).

Wiring is explicit: the app factory receives these objects and nothing reaches for a
global. ``calls``/``agents``/``supervisor`` speak to FreeSWITCH; ``users`` and
``sessions`` to the database; ``recorder`` queues writes that must not block a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from esl_controller.esl.client import Health
from esl_controller.services.agents import AgentService
from esl_controller.services.calls import CallService
from esl_controller.services.customers import CustomerLookup
from esl_controller.services.floor_service import FloorService
from esl_controller.services.history import HistoryService
from esl_controller.services.recorder import Recorder
from esl_controller.services.supervisor import SupervisorService
from esl_controller.services.users import UserService
from esl_controller.services.wrap_up import WrapUpService


@dataclass(frozen=True, slots=True)
class WebSettings:
    secret_key: str
    cookie_secure: bool = False
    sip_wss_url: str | None = None
    sip_domain: str | None = None
    crm_url_template: str | None = None
    crm_timeout: float = 1.5
    # "simulator": the simulator answers the agent's phone on request (uuid_answer);
    # "sip": the browser's SIP.js softphone is the phone.
    phone_driver: str = "simulator"
    login_attempts: int = 5  # failed logins per window per client and per user name
    login_window: float = 60.0
    vendor_dir: str | None = None  # node_modules with socket.io-client and sip.js
    xml_curl_username: str | None = None
    xml_curl_password: str | None = None
    # ESL_NODES' names in order (empty: one node): mod_xml_curl's callcenter.conf is served
    # per node (dashboard/directory.py).
    esl_nodes: tuple[str, ...] = ()
    # Reverse proxies in front (nginx...): their X-Forwarded-For / -Proto are trusted, so
    # the login limit counts real client addresses rather than the proxy's.
    proxies: int = 0
    # The supervisor console highlights calls and pauses longer than these (seconds).
    supervisor_long_call: float = 600.0
    supervisor_long_pause: float = 900.0
    # PhoneWatch: an agent paused "Phone offline" whose phone registers again within this
    # many seconds is put back Available (0: never).
    phone_resume_window: float = 60.0


class Watched(Protocol):
    """A part whose failure /health reports (the floor's owner, each worker)."""

    def problem(self) -> str | None: ...


@dataclass(slots=True)
class Dependencies:
    health: Callable[[], Health]
    floor: FloorService
    agents: AgentService
    calls: CallService
    supervisor: SupervisorService
    users: UserService
    sessions: sessionmaker[Session]
    recorder: Recorder
    customers: CustomerLookup
    wrap_up: WrapUpService
    settings: WebSettings
    history: HistoryService
    extra: dict[str, object] = field(default_factory=dict)
    watched: list[Watched] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [p for p in (part.problem() for part in self.watched) if p]
