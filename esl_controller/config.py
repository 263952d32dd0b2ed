"""Settings from the environment (documented in README), with safe defaults.

One frozen object built once at start-up and handed to whatever needs it; nothing reads
``os.environ`` anywhere else.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from esl_controller.errors import InvalidArgument
from esl_controller.esl.client import EslSettings

DEFAULT_ESL_PASSWORD = "ClueCon"  # noqa: S105 - FreeSWITCH's shipped default, warned about


# A node's name: what the pages show and what cc_agents.node / cc_queues.node hold.
NODE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
MAX_NODES = 16
_HOST = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*|[0-9A-Fa-f:]+)$")  # a name, IPv4 or IPv6


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """One FreeSWITCH the controller links to (ESL_NODES), by the name the product uses."""

    name: str
    esl: EslSettings


@dataclass(frozen=True, slots=True)
class Settings:
    esl: EslSettings
    db_uri: str | None
    redis_url: str | None
    secret_key: str | None
    sip_wss_url: str | None
    sip_domain: str | None
    crm_url_template: str | None
    cookie_secure: bool | None = None  # None: secure unless serving on loopback
    wrap_up_limit: int = 120
    proxies: int = 0  # reverse proxies in front of the dashboard
    # The supervisor console highlights a call or a pause longer than these (seconds).
    supervisor_long_call: float = 600.0
    supervisor_long_pause: float = 900.0
    # An agent paused "Phone offline" whose phone registers again within this many seconds
    # (a page reload) is put back Available; 0: never (Ready by hand).
    phone_resume_window: float = 60.0
    # ESL_NODES; empty: one node, ESL_HOST:ESL_PORT, named after ESL_HOST.
    esl_nodes: tuple[NodeSettings, ...] = ()

    @property
    def default_esl_password(self) -> bool:
        return any(node.esl.password == DEFAULT_ESL_PASSWORD for node in self.nodes)

    @property
    def nodes(self) -> tuple[NodeSettings, ...]:
        """Every FreeSWITCH node, the first being where unassigned agents and queues live."""
        return self.esl_nodes or (NodeSettings(self.esl.host, self.esl),)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise InvalidArgument(f"{name} must be positive")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds, 0 or more (0 means "off")."""
    raw = (env.get(name) or "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a number, not {raw!r}") from None
    if not 0 <= value < 1e9:  # also refuses nan and inf
        raise InvalidArgument(f"{name} must be a number of seconds, 0 or more")
    return value


def _count(env: Mapping[str, str], name: str) -> int:
    raw = (env.get(name) or "0").strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 5:
        raise InvalidArgument(f"{name} must be a number of proxies from 0 to 5, not {raw!r}")
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise InvalidArgument(f"{name} must be true or false, not {raw!r}")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        raise InvalidArgument(f"{name} must be a TCP port, not {raw!r}")
    return int(raw)


def parse_nodes(env: Mapping[str, str], base: EslSettings) -> tuple[NodeSettings, ...]:
    """``ESL_NODES="fs1=10.0.0.5:8021,fs2=10.0.0.6"`` (port 8021 when left out). Each
    node's password is ``ESL_PASSWORD_<NAME>`` (the name upper-cased, ``-`` as ``_``),
    else ESL_PASSWORD; timeouts are ESL_*'s for every node."""
    raw = (env.get("ESL_NODES") or "").strip()
    if not raw:
        return ()
    nodes: list[NodeSettings] = []
    for item in raw.split(","):
        name, sep, address = item.strip().partition("=")
        name, address = name.strip(), address.strip()
        if not sep or not NODE_NAME.match(name):
            raise InvalidArgument(
                f"ESL_NODES: {item.strip()!r} is not name=host[:port] (a name is a letter "
                "then up to 31 letters, digits, - or _)"
            )
        if any(node.name == name for node in nodes):
            raise InvalidArgument(f"ESL_NODES: node {name} is listed twice")
        host, colon, port_text = address.rpartition(":") if ":" in address else (address, "", "")
        host = host.strip("[]")
        if not _HOST.match(host):
            raise InvalidArgument(f"ESL_NODES: {name} has no valid host")
        label = f"ESL_NODES: the port of {name}"
        port = _port({label: port_text}, label, 8021) if colon else 8021
        password = env.get(f"ESL_PASSWORD_{name.upper().replace('-', '_')}") or base.password
        nodes.append(NodeSettings(name, dataclasses.replace(base, host=host, port=port,
                                                            password=password)))  # fmt: skip
    if len(nodes) > MAX_NODES:
        raise InvalidArgument(f"ESL_NODES: at most {MAX_NODES} nodes")
    return tuple(nodes)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the environment (or a given mapping, for tests)."""
    env = os.environ if env is None else env
    esl = EslSettings(
        host=env.get("ESL_HOST", "127.0.0.1"),
        port=_port(env, "ESL_PORT", 8021),
        password=env.get("ESL_PASSWORD", DEFAULT_ESL_PASSWORD),
        connect_timeout=_float(env, "ESL_CONNECT_TIMEOUT", 5.0),
        command_timeout=_float(env, "ESL_COMMAND_TIMEOUT", 10.0),
        heartbeat_timeout=_float(env, "ESL_HEARTBEAT_TIMEOUT", 65.0),
        auth_retry_interval=_float(env, "ESL_AUTH_RETRY", 30.0),
        handler_stall_timeout=_float(env, "ESL_HANDLER_STALL_TIMEOUT", 30.0),
    )
    return Settings(
        esl=esl,
        esl_nodes=parse_nodes(env, esl),
        db_uri=env.get("DB_URI") or None,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=env.get("SECRET_KEY") or None,
        sip_wss_url=env.get("SIP_WSS_URL") or None,
        sip_domain=env.get("SIP_DOMAIN") or None,
        crm_url_template=env.get("CRM_URL_TEMPLATE") or None,
        cookie_secure=_flag(env, "SESSION_COOKIE_SECURE"),
        wrap_up_limit=int(_float(env, "WRAP_UP_LIMIT", 120.0)),
        proxies=_count(env, "BEHIND_PROXIES"),
        supervisor_long_call=_float(env, "SUPERVISOR_LONG_CALL", 600.0),
        supervisor_long_pause=_float(env, "SUPERVISOR_LONG_PAUSE", 900.0),
        phone_resume_window=_seconds(env, "PHONE_RESUME_WINDOW", 60.0),
    )
