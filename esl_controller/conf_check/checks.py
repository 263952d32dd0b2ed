"""The checks of ``callcenter conf check``: what in a FreeSWITCH configuration will break
with this product, each finding with the file and line to edit.

Levels: ERROR (it will not work: a wrong address, password or port, a missing
music folder, a module the product cannot do without), WARN (it works badly or only in
some places: a self-signed certificate, LAN candidates refused, a module many builds
lack), NOTE (a check that could not be made here, and why). Values the product reads
from its environment (``ESL_PASSWORD``, ``XML_CURL_*``, ``SIP_DOMAIN``...) are compared
only when they are given: conf check often runs on the FreeSWITCH host, away from the
controller's environment, and says so.

Everything here is pure: the parsed tree, the files the configuration names, and the
:class:`Expectations` and :class:`Inventory` handed in by the entrypoint.
"""

from __future__ import annotations

import ipaddress
import pathlib
import re
import ssl
import time
import urllib.parse
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

from esl_controller.conf_check.acl import NetworkList, allowed, known, load_lists
from esl_controller.conf_check.preprocess import Node, Result, Where, preprocess

DIRECTORY_PATH = "/freeswitch/directory"  # dashboard.directory.PATH
CONFIGURATION_PATH = "/freeswitch/configuration"  # dashboard.directory.CONFIGURATION_PATH
URL_VARIABLE = "callcenter_url"
NODE_VARIABLE = "callcenter_node"  # ?node= of the configuration binding (several nodes)
PLACEHOLDER = "change-me"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
# Modules the product cannot work without (event socket, SIP, queues, dialplan...).
REQUIRED_MODULES = {
    "mod_event_socket": "the controller's ESL connection",
    "mod_sofia": "SIP: the browsers' softphones",
    "mod_callcenter": "the queues",
    "mod_commands": "the API commands the controller sends (originate, uuid_*, show...)",
    "mod_dptools": "answer, bridge, transfer and the other dialplan applications",
    "mod_dialplan_xml": "the XML dialplan",
}
# Listed in many example configurations, missing from many builds (each missing one is a
# CRIT "Error Loading module" at every start).
OFTEN_NOT_BUILT = {
    "mod_spandsp": "needs the spandsp library at build time; only G722, fax and tone "
                   "detection, which the browsers and the carrier do not need",
    "mod_verto": "needs libks; the product's softphone speaks SIP over WSS (mod_sofia)",
    "mod_signalwire": "needs libks and signalwire-c; only SignalWire's cloud connector",
    "mod_av": "needs FFmpeg libraries",
    "mod_lua": "needs the Lua development package",
    "mod_shout": "needs libshout and mpg123 (mp3)",
    "mod_png": "needs libpng and libyuv",
    "mod_amr": "needs opencore-amr (not free to distribute)",
    "mod_amrwb": "needs opencore-amrwb (not free to distribute)",
    "mod_pgsql": "needs libpq; only for a pgsql:// odbc-dsn",
    "mod_enum": "needs libldns",
}  # fmt: skip
AUDIO_SUFFIXES = (".wav",)
RATES = (8000, 16000, 48000)  # G.711, G722, OPUS


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the product is (or will be) run with; None: not given, not compared."""

    serve_url: str = "http://127.0.0.1:5000"
    serve_url_origin: str = "callcenter serve's default"
    xml_curl_username: str | None = None
    xml_curl_password: str | None = None
    esl_host: str = "127.0.0.1"
    esl_port: int = 8021
    esl_password: str | None = None
    sip_domain: str | None = None
    sip_wss_url: str | None = None
    esl_nodes: tuple[str, ...] = ()  # ESL_NODES' names in order; empty: one node


@dataclass(frozen=True, slots=True)
class Inventory:
    """The product's queues and agents (its database), or why they are not known."""

    queues: tuple[str, ...] = ()
    agents: dict[str, str] = field(default_factory=dict)  # name -> contact
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # ERROR, WARN, NOTE
    where: Where | None
    message: str


@dataclass(slots=True)
class Context:
    conf_dir: pathlib.Path
    result: Result
    expect: Expectations
    certs_dir: pathlib.Path
    local_ip: str
    findings: list[Finding] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)

    def once(self, key: str) -> bool:
        """True the first time ``key`` is seen (one finding per variable or folder)."""
        if key in self.reported:
            return False
        self.reported.add(key)
        return True

    @property
    def root(self) -> Node:
        assert self.result.root is not None
        return self.result.root

    def add(self, level: str, where: Where | None, message: str) -> None:
        self.findings.append(Finding(level, where, message))

    def config(self, name: str) -> Node | None:
        for section in self.root.find_all("section", name="configuration"):
            found = section.find("configuration", name=name)
            if found is not None:
                return found
        return None

    def var(self, name: str) -> str | None:
        return self.result.variables.get(name)

    def origin(self, node: Node, variable: str | None = None) -> Where:
        """Where to edit the value of ``node``: the ``set`` line of the variable it was
        built from (``variable``, else the only one its line used), else its own line."""
        names = [variable] if variable else list(node.where.variables)
        if len(names) == 1 and names[0] in self.result.set_at:
            return self.result.set_at[names[0]]
        return node.where

    def show(self, where: Where | None) -> str:
        return describe(where, self.conf_dir)

    def lists(self) -> dict[str, NetworkList]:
        return load_lists(self.config("acl.conf"), self.local_ip, "255.255.255.0")


def describe(where: Where | None, conf_dir: pathlib.Path) -> str:
    """``file:line`` (relative to the conf folder when inside it), or "" without one."""
    if where is None:
        return ""
    try:
        path = str(where.path.resolve().relative_to(conf_dir.resolve()))
    except ValueError:
        path = str(where.path)
    return f"{path}:{where.line}"


# -- the whole run -----------------------------------------------------------------------


def core_variables(conf_dir: pathlib.Path, certs_dir: pathlib.Path, local_ip: str,
                   hostname: str) -> dict[str, str]:  # fmt: skip
    """What the core has set before it reads freeswitch.xml, for this install."""
    base = conf_dir.resolve().parent
    return {
        "hostname": hostname, "local_ip_v4": local_ip, "local_mask_v4": "255.255.255.0",
        "local_ip_v6": "::1", "base_dir": str(base), "conf_dir": str(conf_dir.resolve()),
        "certs_dir": str(certs_dir), "sounds_dir": str(base / "sounds"),
        "recordings_dir": str(base / "recordings"), "log_dir": str(base / "log"),
        "db_dir": str(base / "db"), "run_dir": str(base / "run"),
        "mod_dir": str(base / "mod"), "temp_dir": "/tmp",  # noqa: S108 - a name to expand, not a file to write "script_dir": str(base / "scripts"),
        "storage_dir": str(base / "storage"), "cache_dir": str(base / "cache"),
        "data_dir": str(base), "localstate_dir": str(base), "grammar_dir": str(base / "grammar"),
        "fonts_dir": str(base / "fonts"), "images_dir": str(base / "images"),
        "htdocs_dir": str(base / "htdocs"), "nat_public_addr": local_ip,
        "nat_private_addr": local_ip, "nat_type": "none", "switch_serial": "0",
    }  # fmt: skip


def check(conf_dir: pathlib.Path, expect: Expectations, *, certs_dir: pathlib.Path,
          local_ip: str = "127.0.0.1", hostname: str = "localhost",
          inventory: Inventory | None = None) -> list[Finding]:  # fmt: skip
    """Every check over the configuration whose root is ``conf_dir/freeswitch.xml``."""
    root = conf_dir / "freeswitch.xml"
    if not root.is_file():
        return [Finding("ERROR", None, f"{root} does not exist: FreeSWITCH reads its whole "
                        "configuration from freeswitch.xml in its conf folder")]  # fmt: skip
    result = preprocess(root, core_variables(conf_dir, certs_dir, local_ip, hostname))
    ctx = Context(conf_dir, result, expect, certs_dir, local_ip)
    for issue in result.issues:
        ctx.add(issue.level, issue.where, issue.message)
    if result.root is None:
        return ctx.findings
    for run_one in CHECKS:
        run_one(ctx)
    check_inventory(ctx, inventory)
    return ctx.findings


# -- mod_xml_curl ----------------------------------------------------------------------


def _port(parts: urllib.parse.SplitResult) -> int | None:
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def _loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same_address(url: str, serve_url: str) -> bool:
    """Whether FreeSWITCH fetching ``url`` reaches the dashboard at ``serve_url`` (same
    host, or both loopback, or a dashboard listening on every address; same port)."""
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(serve_url)
    if a.scheme != b.scheme or _port(a) != _port(b) or _port(a) is None:
        return False
    host_a, host_b = (a.hostname or "").lower(), (b.hostname or "").lower()
    if host_b in ("0.0.0.0", "::", ""):  # noqa: S104 - serve listening everywhere
        return True
    return host_a == host_b or (_loopback(host_a) and _loopback(host_b))


def check_xml_curl(ctx: Context) -> None:
    conf = ctx.config("xml_curl.conf")
    ours: dict[str, Node] = {}
    if conf is not None:
        for binding in conf.iter("binding"):
            url = binding.param("gateway-url")
            if url is None:
                continue
            path = urllib.parse.urlsplit(url.get("value")).path.rstrip("/")
            for wanted in (DIRECTORY_PATH, CONFIGURATION_PATH):
                if path.endswith(wanted):
                    ours[wanted] = binding
                    _check_binding(ctx, binding, url, wanted)
    if DIRECTORY_PATH not in ours:
        ctx.add(
            "WARN",
            conf.where if conf is not None else None,
            f"no mod_xml_curl binding asks the dashboard ({DIRECTORY_PATH}): users "
            "created in the product cannot register, only the static directory's",
        )
    if CONFIGURATION_PATH not in ours:
        ctx.add("NOTE", conf.where if conf is not None else None,
                f"no binding for {CONFIGURATION_PATH}: queues added in the product load only "
                "after `callcenter queue xml` into callcenter.conf.xml and reloadxml")  # fmt: skip
    modules = _modules(ctx)
    if ours and modules is not None and "mod_xml_curl" not in modules:
        ctx.add("ERROR", _modules_where(ctx), "mod_xml_curl is not loaded: its bindings "
                "to the dashboard are never used")  # fmt: skip


def _check_node(ctx: Context, url: Node, query: str) -> None:
    """The configuration binding's ``?node=``: with several nodes (ESL_NODES) it says which
    node's queues and agents this switch is given (dashboard/directory.py)."""
    asked = urllib.parse.parse_qs(query, keep_blank_values=True).get("node", [""])[-1].strip()
    nodes = ctx.expect.esl_nodes
    where = ctx.origin(url, NODE_VARIABLE if NODE_VARIABLE in url.where.variables else None)
    if asked and asked not in nodes:
        listed = ", ".join(nodes) if nodes else "ESL_NODES is not set"
        ctx.add("ERROR", where, f"callcenter.conf is asked for node {asked!r}, which "
                f"ESL_NODES does not list ({listed}): the dashboard answers \"not found\" "
                "and this switch loads its own callcenter.conf.xml")  # fmt: skip
    elif not asked and len(nodes) > 1:
        ctx.add("WARN", where, f"several nodes ({', '.join(nodes)}) but this switch does not "
                f"say which it is (set {NODE_VARIABLE} in vars.xml and end the gateway-url "
                f"with ?node=$${{{NODE_VARIABLE}}}): it is given the first node's "
                f"({nodes[0]}) queues and agents")  # fmt: skip


def _check_binding(ctx: Context, binding: Node, url: Node, path: str) -> None:
    value = url.get("value")
    what = "directory" if path == DIRECTORY_PATH else "callcenter.conf"
    uses_var = URL_VARIABLE in url.where.variables
    if not uses_var:
        ctx.add("WARN", url.where, f"gateway-url {value} is written out: use "
                f"$${{{URL_VARIABLE}}}{path} so that `callcenter serve` can read the "
                "address FreeSWITCH uses and warn when it does not answer")  # fmt: skip
    parts = urllib.parse.urlsplit(value)
    bare = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    base = bare[: -len(path)] if bare.rstrip("/").endswith(path) else bare
    if path == CONFIGURATION_PATH:
        _check_node(ctx, url, parts.query)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        ctx.add("ERROR", ctx.origin(url, URL_VARIABLE if uses_var else None),
                f"gateway-url {value!r} is not an http(s) URL")  # fmt: skip
        return
    if not same_address(value, ctx.expect.serve_url):
        where = ctx.origin(url, URL_VARIABLE if uses_var else None)
        if ctx.once(f"url {where.path}:{where.line}"):
            ctx.add("ERROR", where, f"mod_xml_curl fetches {base} "
                    f"({ctx.show(url.where)}) but callcenter serve listens on "
                    f"{ctx.expect.serve_url} ({ctx.expect.serve_url_origin}): nothing "
                    f"answers there, so the {what} lookups fail (\"Received HTTP error 0\" "
                    "in the log) and dashboard users cannot register")  # fmt: skip
    if parts.scheme == "http" and not _loopback(parts.hostname):
        ctx.add(
            "WARN",
            url.where,
            f"{what} over plain http to another host: the answers "
            "carry users' a1-hash in clear text; use https with enable-cacert-check",
        )
    if parts.scheme == "https":
        cacert = binding.param("enable-cacert-check")
        if cacert is None or cacert.get("value").lower() not in ("true", "yes", "on", "1"):
            ctx.add("WARN", url.where, "https without enable-cacert-check: mod_xml_curl "
                    "accepts any certificate")  # fmt: skip
    _check_credentials(ctx, binding, what)
    timeout = binding.param("timeout")
    if timeout is not None and timeout.get("value").isdigit() and int(timeout.get("value")) > 10:
        ctx.add("WARN", timeout.where, f"timeout {timeout.get('value')} s: every REGISTER "
                "waits that long when the dashboard hangs")  # fmt: skip


def _check_credentials(ctx: Context, binding: Node, what: str) -> None:
    creds = binding.param("gateway-credentials")
    if creds is None or ":" not in creds.get("value"):
        ctx.add("ERROR", (creds or binding).where, f"no gateway-credentials (user:password) "
                f"for the {what}: the dashboard refuses mod_xml_curl without "
                "XML_CURL_USERNAME/XML_CURL_PASSWORD (401)")  # fmt: skip
        return
    scheme = binding.param("auth-scheme")
    if scheme is not None and scheme.get("value").lower() != "basic":
        ctx.add("WARN", scheme.where, f"auth-scheme {scheme.get('value')}: the dashboard "
                "speaks basic")  # fmt: skip
    user, _, password = creds.get("value").partition(":")
    variables = creds.where.variables
    user_at = ctx.origin(creds, variables[0]) if variables else creds.where
    password_at = ctx.origin(creds, variables[-1]) if variables else creds.where
    if PLACEHOLDER in password and ctx.once(f"placeholder {password_at}"):
        ctx.add("WARN", password_at, "the xml_curl password is still the shipped placeholder: "
                "set a random one here and the same in XML_CURL_PASSWORD")  # fmt: skip
    expect = ctx.expect
    if expect.xml_curl_username is None and expect.xml_curl_password is None:
        if ctx.once("xml_curl env"):
            ctx.add("NOTE", password_at, "XML_CURL_USERNAME / XML_CURL_PASSWORD are not set "
                    "here: the credentials are not compared (and the dashboard refuses "
                    "mod_xml_curl until they are set)")  # fmt: skip
        return
    if not ctx.once(f"credentials {user_at} {password_at}"):
        return
    if expect.xml_curl_username is not None and user != expect.xml_curl_username:
        ctx.add("ERROR", user_at, f"the xml_curl user is {user!r} but XML_CURL_USERNAME is "
                f"{expect.xml_curl_username!r}: the dashboard answers 401 (\"Received HTTP "
                "error 401\")")  # fmt: skip
    if expect.xml_curl_password is not None and password != expect.xml_curl_password:
        ctx.add(
            "ERROR",
            password_at,
            "the xml_curl password differs from "
            'XML_CURL_PASSWORD: the dashboard answers 401 ("Received HTTP error 401")',
        )


# -- the event socket ------------------------------------------------------------------


def check_event_socket(ctx: Context) -> None:
    conf = ctx.config("event_socket.conf")
    if conf is None:
        ctx.add("ERROR", None, "no event_socket.conf: mod_event_socket listens on "
                "127.0.0.1:8021 with the password ClueCon")  # fmt: skip
        return
    password = conf.param("password", ("settings",))
    ip = conf.param("listen-ip", ("settings",))
    port = conf.param("listen-port", ("settings",))
    acls = [p for p in conf.params(("settings",)) if p.get("name").lower() == "apply-inbound-acl"
            and p.get("value")]  # fmt: skip
    value = password.get("value") if password is not None else ""
    where = ctx.origin(password) if password is not None else conf.where
    expect = ctx.expect
    if not value or value.lower() == "cluecon":
        ctx.add("ERROR", where, "the ESL password is ClueCon (FreeSWITCH's default): every "
                "scanner tries it and the event socket runs any command; set a long random "
                "one and give the controller the same in ESL_PASSWORD")  # fmt: skip
    elif PLACEHOLDER in value:
        ctx.add("WARN", where, "the ESL password is still the shipped placeholder: set a "
                "random one (openssl rand -hex 24) and the same in ESL_PASSWORD")  # fmt: skip
    if expect.esl_password is None:
        ctx.add("NOTE", where, "ESL_PASSWORD is not set here: the password is not compared "
                "(run conf check with the controller's environment)")  # fmt: skip
    elif value and expect.esl_password != value:
        ctx.add("ERROR", where, "ESL_PASSWORD differs from this password: FreeSWITCH refuses "
                "the controller (\"-ERR invalid\")")  # fmt: skip
    text = port.get("value") if port is not None else ""
    listen_port = int(text) if text.isdigit() else 8021
    if listen_port != expect.esl_port:
        ctx.add("ERROR", ctx.origin(port) if port is not None else conf.where,
                f"mod_event_socket listens on port {listen_port} but the controller "
                f"connects to {expect.esl_port} (ESL_PORT)")  # fmt: skip
    listen_ip = (ip.get("value") if ip is not None else "") or "127.0.0.1"
    local = _loopback(expect.esl_host)
    everywhere = listen_ip in ("0.0.0.0", "::", "[::]")  # noqa: S104
    ip_where = ctx.origin(ip) if ip is not None else conf.where
    if local and not (_loopback(listen_ip) or everywhere):
        ctx.add("ERROR", ip_where, f"listen-ip {listen_ip} but the controller connects to "
                f"{expect.esl_host} (ESL_HOST): nothing listens there")  # fmt: skip
    if not local and _loopback(listen_ip):
        ctx.add("ERROR", ip_where, f"listen-ip {listen_ip} is loopback but the controller "
                f"connects to {expect.esl_host} (ESL_HOST) from another host")  # fmt: skip
    names = [p.get("value") for p in acls] or ["loopback.auto"]
    acl_where = acls[0].where if acls else conf.where
    lists = ctx.lists()
    for name in names:
        if not known(lists, name):
            ctx.add("ERROR", acl_where, f"apply-inbound-acl {name}: no such list in "
                    "acl.conf.xml, so every connection is refused")  # fmt: skip
    if local:
        refused = [n for n in names if not allowed(lists, n, "127.0.0.1")]
        if refused:
            ctx.add("ERROR", _list_where(lists, refused[0]) or acl_where,
                    f"ACL {refused[0]} refuses 127.0.0.1: the controller on this host gets "
                    "a rude rejection before the password is asked")  # fmt: skip
    elif all(_only_loopback(lists, n) for n in names):
        ctx.add("ERROR", _list_where(lists, names[0]) or acl_where,
                f"ACL {names[0]} admits only loopback but the controller connects from "
                f"another host ({expect.esl_host} is ESL_HOST): add the controller's "
                "address")  # fmt: skip
    if everywhere and all(allowed(lists, n, "203.0.113.9") for n in names):
        ctx.add("WARN", acl_where, "the event socket listens on every address and its ACL "
                "admits any address: limit it to the controller")  # fmt: skip


def _list_where(lists: dict[str, NetworkList], name: str) -> Where | None:
    found = lists.get(name)
    return found.where if found is not None else None


def _only_loopback(lists: dict[str, NetworkList], name: str) -> bool:
    samples = ("10.0.0.5", "172.16.0.5", "192.168.1.5", "198.51.100.7", "100.64.0.5")
    return not any(allowed(lists, name, s) for s in samples)


# -- WSS and certificates --------------------------------------------------------------


def _profiles(ctx: Context) -> list[Node]:
    sofia = ctx.config("sofia.conf")
    return sofia.iter("profile") if sofia is not None else []


def _webrtc_profiles(ctx: Context) -> list[Node]:
    return [p for p in _profiles(ctx) if p.param("wss-binding", ("settings",)) is not None
            or p.param("ws-binding", ("settings",)) is not None]  # fmt: skip


def check_wss(ctx: Context) -> None:
    profiles = _webrtc_profiles(ctx)
    wss_url = ctx.expect.sip_wss_url
    if not profiles:
        sofia = ctx.config("sofia.conf")
        ctx.add("ERROR" if wss_url else "WARN", sofia.where if sofia is not None else None,
                "no sofia profile has a wss-binding: the browsers' softphones have nothing "
                "to connect to")  # fmt: skip
        return
    ports = []
    for profile in profiles:
        wss = profile.param("wss-binding", ("settings",))
        ws = profile.param("ws-binding", ("settings",))
        if ws is not None:
            ctx.add("WARN", ws.where, "ws-binding: plain WebSocket carries SIP (digest "
                    "answers included) in clear text, and an https agent page may not use "
                    "it")  # fmt: skip
        if wss is None:
            continue
        port = wss.get("value").rpartition(":")[2]
        ports.append((port, wss))
        cert_dir_param = profile.param("tls-cert-dir", ("settings",))
        cert_dir = pathlib.Path(cert_dir_param.get("value")) if cert_dir_param is not None \
            else ctx.certs_dir  # fmt: skip
        _check_certificate(ctx, cert_dir, cert_dir_param.where if cert_dir_param is not None
                           else wss.where, wss_url)  # fmt: skip
    if wss_url:
        parts = urllib.parse.urlsplit(wss_url)
        try:
            wanted = str(parts.port or 443)
        except ValueError:
            wanted = "?"
        if parts.scheme != "wss":
            ctx.add("ERROR", None, f"SIP_WSS_URL {wss_url} is not wss://: an https agent "
                    "page may only open wss://")  # fmt: skip
        elif ports and all(p != wanted for p, _ in ports):
            port, node = ports[0]
            ctx.add("ERROR", ctx.origin(node), f"wss-binding listens on port {port} but "
                    f"SIP_WSS_URL is {wss_url}: the softphone connects to nothing")  # fmt: skip


def _check_certificate(ctx: Context, cert_dir: pathlib.Path, where: Where,
                       wss_url: str | None) -> None:  # fmt: skip
    pair = (cert_dir / "wss.crt", cert_dir / "wss.key")
    pem = cert_dir / "wss.pem"
    if all(p.is_file() for p in pair):
        cert = pair[0]
    elif pem.is_file():
        cert = pem
        if any(p.is_file() for p in pair):
            ctx.add("WARN", where, f"only one of wss.crt / wss.key in {cert_dir}: FreeSWITCH "
                    "uses wss.pem instead")  # fmt: skip
    else:
        missing = "" if cert_dir.is_dir() else " (the folder does not exist)"
        ctx.add(
            "WARN",
            where,
            f"no certificate for WSS in {cert_dir}{missing}: FreeSWITCH "
            "will generate a self-signed wss.pem, which browsers refuse (the softphone "
            "never connects); put wss.pem (key + certificate chain) or wss.crt + wss.key "
            "there (a source build's certs_dir does not follow -conf: give -certs too)",
        )
        return
    info = _decode_certificate(cert)
    if info is None:
        ctx.add("ERROR", where, f"{cert} holds no readable certificate (PEM): TLS on the "
                "WSS port fails")  # fmt: skip
        return
    not_after = info.get("notAfter")
    if isinstance(not_after, str):
        try:
            expires = ssl.cert_time_to_seconds(not_after)
        except ValueError:
            expires = None
        if expires is not None and expires < time.time():
            ctx.add("ERROR", where, f"the WSS certificate {cert} expired on {not_after}: "
                    "browsers refuse it")  # fmt: skip
    subject = _names(info.get("subject"))
    issuer = _names(info.get("issuer"))
    if subject and subject == issuer:
        ctx.add("WARN", where, f"{cert} is self-signed: browsers refuse wss:// to it unless "
                "every agent's machine trusts it")  # fmt: skip
    host = urllib.parse.urlsplit(wss_url).hostname if wss_url else None
    if host:
        alt = info.get("subjectAltName", ())
        pairs = alt if isinstance(alt, tuple) else ()
        names = [str(v) for k, v in pairs if k in ("DNS", "IP Address")]
        if names and not any(_host_matches(host, n) for n in names):
            ctx.add("ERROR", where, f"{cert} is for {', '.join(names)}, not {host} "
                    "(SIP_WSS_URL): browsers refuse the connection")  # fmt: skip


def _decode_certificate(path: pathlib.Path) -> dict[str, object] | None:
    """The first certificate of a PEM file, decoded by Python's own ssl module."""
    text = path.read_text("ascii", errors="replace")
    begin = text.find("-----BEGIN CERTIFICATE-----")
    end = text.find("-----END CERTIFICATE-----", begin)
    if begin < 0 or end < 0:
        return None
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".pem") as one:
        one.write(text[begin : end + len("-----END CERTIFICATE-----")] + "\n")
        one.flush()
        try:
            # CPython's own decoder (what getpeercert() returns), without a new dependency.
            decoded: dict[str, object] = ssl._ssl._test_decode_cert(one.name)  # type: ignore[attr-defined]  # noqa: SLF001
        except (ssl.SSLError, OSError, ValueError, AttributeError):
            return None
    return decoded


def _names(rdns: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(rdns, tuple):
        return ()
    return tuple(pair for rdn in rdns for pair in rdn)


def _host_matches(host: str, name: str) -> bool:
    host, name = host.lower(), name.lower()
    if name.startswith("*."):
        return host.endswith(name[1:]) and host.count(".") == name.count(".")
    return host == name


# -- the SIP domain --------------------------------------------------------------------


def check_domain(ctx: Context) -> None:
    domain = ctx.var("domain")
    where = ctx.result.set_at.get("domain")
    if domain is None:
        ctx.add("WARN", None, "vars.xml sets no domain: the product's agents' contacts use "
                "the switch's domain variable")  # fmt: skip
        return
    wanted = ctx.expect.sip_domain
    if wanted is None:
        ctx.add("NOTE", where, f"SIP_DOMAIN is not set here: not compared with {domain} (the "
                "controller then uses the switch's domain)")  # fmt: skip
    elif wanted.lower() != domain.lower():
        ctx.add("ERROR", where, f"domain is {domain} but SIP_DOMAIN is {wanted}: dashboard "
                "users' a1-hash is computed for SIP_DOMAIN, so their REGISTER gets 403, and "
                f"agents' contacts (user/EXT@{wanted}) find no user")  # fmt: skip
    for profile in _webrtc_profiles(ctx):
        for name in ("challenge-realm", "force-register-domain"):
            param = profile.param(name, ("settings",))
            if param is not None and param.get("value") not in (domain, "auto_from",
                                                                 "auto_to"):  # fmt: skip
                ctx.add("WARN", param.where, f"{name} {param.get('value')} is not the domain "
                        f"{domain}: a1-hash values are md5(user:realm:password), so logins "
                        "computed for the domain fail")  # fmt: skip


# -- music on hold ---------------------------------------------------------------------


def _music_uses(ctx: Context) -> list[tuple[str, Where]]:
    uses: list[tuple[str, Where]] = []
    if ctx.var("hold_music"):
        uses.append((ctx.var("hold_music") or "", ctx.result.set_at["hold_music"]))
    for profile in _profiles(ctx):
        param = profile.param("hold-music", ("settings",))
        if param is not None and param.get("value"):
            uses.append((param.get("value"), param.where))
    callcenter = ctx.config("callcenter.conf")
    if callcenter is not None:
        for queue in callcenter.iter("queue"):
            param = queue.param("moh-sound")
            if param is not None and param.get("value"):
                uses.append((param.get("value"), param.where))
    return uses


def check_music(ctx: Context) -> None:
    modules = _modules(ctx)
    seen: set[str] = set()
    for url, where in _music_uses(ctx):
        if url in seen:
            continue
        seen.add(url)
        if url.startswith("local_stream://"):
            if modules is not None and "mod_local_stream" not in modules:
                ctx.add("ERROR", where, f"{url} needs mod_local_stream, which is not loaded: "
                        "callers on hold hear silence")  # fmt: skip
            _check_stream(ctx, url[len("local_stream://") :].split("?")[0] or "default", where)
        elif url.startswith("tone_stream://"):
            if modules is not None and "mod_tone_stream" not in modules:
                ctx.add("ERROR", where, f"{url} needs mod_tone_stream, which is not loaded")
        elif url.startswith("/") and not pathlib.Path(url).is_file():
            ctx.add("ERROR", where, f"hold music {url} does not exist: callers on hold hear "
                    "silence and the log fills with errors")  # fmt: skip


def _check_stream(ctx: Context, name: str, where: Where) -> None:
    conf = ctx.config("local_stream.conf")
    streams = {d.get("name"): d for d in conf.iter("directory")} if conf is not None else {}
    for rate in RATES:
        for candidate in (f"{name}/{rate}", name, "default"):
            if candidate in streams:
                break
        else:
            ctx.add("ERROR", conf.where if conf is not None else where,
                    f"local_stream://{name} has no stream for {rate} Hz calls (no {name}/"
                    f"{rate}, {name} or default in local_stream.conf): every hold logs "
                    "\"Unknown source\" in a loop and the caller hears silence")  # fmt: skip
    for stream_name, directory in streams.items():
        if not (stream_name == name or stream_name.startswith(f"{name}/")
                or stream_name == "default"):  # fmt: skip
            continue
        _check_folder(ctx, directory)


def _check_folder(ctx: Context, directory: Node) -> None:
    path = directory.get("path")
    if not ctx.once(f"folder {path}"):
        return
    where = ctx.origin(directory) if directory.where.variables else directory.where
    folder = pathlib.Path(path)
    if not folder.is_dir():
        ctx.add("ERROR", where, f"music folder {path} does not exist (stream "
                f"{directory.get('name')}, {ctx.show(directory.where)}): mod_local_stream "
                "drops the stream, every hold logs \"Unknown source\" thousands of times a "
                "minute, and callers hear silence")  # fmt: skip
        return
    files = sorted(p for p in folder.iterdir() if p.is_file())
    audio = [p for p in files if p.suffix.lower() in AUDIO_SUFFIXES and _readable_wav(p)]
    others = [p for p in files if p not in audio]
    if not audio:
        ctx.add("ERROR" if others else "WARN", where, f"music folder {path} has no audio "
                "file: callers on hold hear silence")  # fmt: skip
    for other in others:
        ctx.add(
            "WARN",
            where,
            f"{other} in the music folder is not a wav FreeSWITCH can "
            'play: mod_local_stream logs "Can\'t open" each time the loop reaches it',
        )


def _readable_wav(path: pathlib.Path) -> bool:
    try:
        with wave.open(str(path)) as w:
            return w.getnframes() > 0
    except (OSError, EOFError, wave.Error):
        return False


# -- modules ---------------------------------------------------------------------------


def _modules(ctx: Context) -> list[str] | None:
    conf = ctx.config("modules.conf")
    if conf is None:
        return None
    return [m.get("module") for m in conf.iter("load") if m.get("module")]


def _modules_where(ctx: Context) -> Where | None:
    conf = ctx.config("modules.conf")
    return conf.where if conf is not None else None


def check_modules(ctx: Context) -> None:
    conf = ctx.config("modules.conf")
    if conf is None:
        ctx.add("ERROR", None, "no modules.conf: FreeSWITCH loads no module")
        return
    loads = {m.get("module"): m for m in conf.iter("load") if m.get("module")}
    for module, why in REQUIRED_MODULES.items():
        if module not in loads:
            ctx.add("ERROR", conf.where, f"{module} is not loaded: the product needs it for "
                    f"{why}")  # fmt: skip
    for module, why in OFTEN_NOT_BUILT.items():
        if module in loads:
            ctx.add("WARN", loads[module].where, f"{module} is missing from many builds "
                    f"({why}); where it is missing FreeSWITCH logs CRIT \"Error Loading "
                    "module\" at every start")  # fmt: skip
    if "mod_opus" in loads and ctx.config("opus.conf") is None:
        ctx.add(
            "WARN",
            loads["mod_opus"].where,
            'mod_opus without opus.conf.xml: "[ERR] '
            'Opening of opus.conf failed" at every start, and no FEC for the browsers',
        )
    if _webrtc_profiles(ctx) and "mod_opus" not in loads:
        ctx.add("WARN", conf.where, "mod_opus is not loaded: browsers fall back to G.711")


# -- ICE candidates --------------------------------------------------------------------


def check_candidates(ctx: Context) -> None:
    lists = ctx.lists()
    for profile in _webrtc_profiles(ctx):
        params = [p for p in profile.params(("settings",))
                  if p.get("name").lower() == "apply-candidate-acl" and p.get("value")]  # fmt: skip
        names = [p.get("value") for p in params]
        where = params[0].where if params else profile.where
        if "none" in [n.lower() for n in names]:
            continue
        if not names:
            ctx.add("WARN", where, "no apply-candidate-acl: FreeSWITCH logs \"NO candidate "
                    "ACL defined, Defaulting to wan.auto\" and ignores every private "
                    "address, so agents on the LAN or a VPN get no audio")  # fmt: skip
            names = ["wan.auto"]
        for name in names:
            if not known(lists, name):
                ctx.add("WARN", where, f"apply-candidate-acl {name}: no such list in "
                        "acl.conf.xml (it admits nothing)")  # fmt: skip
        for network in ("192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"):
            sample = str(ipaddress.ip_network(network).network_address + 20)
            if not any(allowed(lists, n, sample) for n in names):
                refusing = next((lists[n] for n in names if n in lists and lists[n].where),
                                None)  # fmt: skip
                ctx.add("WARN", refusing.where if refusing is not None else where,
                        f"the candidate ACLs ({', '.join(names)}) refuse {network}: browsers "
                        "on such a LAN (or a VPN using it) get calls without audio; add "
                        f"<node type=\"allow\" cidr=\"{network}\"/> to the list if agents "
                        "work there")  # fmt: skip
        if not any(allowed(lists, n, "127.0.0.1") for n in names):
            ctx.add("NOTE", where, "the candidate ACLs refuse loopback: a browser on this "
                    "host (a local test) gets no audio")  # fmt: skip


# -- registrations ---------------------------------------------------------------------


def check_registrations(ctx: Context) -> None:
    for profile in _webrtc_profiles(ctx):
        param = profile.param("multiple-registrations", ("settings",))
        value = param.get("value").lower() if param is not None else ""
        if value in ("", "false", "no", "off", "0"):
            ctx.add("WARN", (param or profile).where, "no multiple-registrations: one "
                    "device's un-REGISTER (a desk phone rebooting, a second tab closing) "
                    "removes every registration of the user, the browser stays offline "
                    "until it registers again and the product pauses the agent \"Phone "
                    "offline\"; set it to contact")  # fmt: skip


# -- the product's database ------------------------------------------------------------

_EXTENSION_RE = re.compile(r"^user/([^@/]+)(?:@(.+))?$")


def check_inventory(ctx: Context, inventory: Inventory | None) -> None:
    if inventory is None or inventory.skipped is not None:
        reason = inventory.skipped if inventory is not None else "no database given"
        ctx.add("NOTE", None, f"queues and agents not compared with the product's "
                f"database: {reason}")  # fmt: skip
        return
    callcenter = ctx.config("callcenter.conf")
    xml_queues = {q.get("name"): q for q in callcenter.iter("queue")} if callcenter else {}
    xml_agents = {a.get("name"): a for a in callcenter.iter("agent")} if callcenter else {}
    binding = any(urllib.parse.urlsplit(b.get("value")).path.rstrip("/")
                  .endswith(CONFIGURATION_PATH)
                  for conf in [ctx.config("xml_curl.conf")] if conf is not None
                  for b in conf.iter("param") if b.get("name") == "gateway-url")  # fmt: skip
    where = callcenter.where if callcenter is not None else None
    if binding and inventory.queues:
        for name, queue in xml_queues.items():
            if name not in inventory.queues:
                ctx.add("WARN", queue.where, f"queue {name} is only in this file: the "
                        "configuration binding serves callcenter.conf from the database, "
                        "which has queues, so it is gone after the next restart or "
                        "reloadxml; add it with `callcenter queue add`")  # fmt: skip
        gone = [n for n in xml_agents if n not in inventory.agents]
        if gone:
            ctx.add("WARN", xml_agents[gone[0]].where, f"{len(gone)} agent(s) only in this "
                    f"file ({', '.join(gone[:4])}{'...' if len(gone) > 4 else ''}): gone "
                    "after the next restart for the same reason; `callcenter import "
                    "agents.csv` takes them in")  # fmt: skip
    if not binding:
        for name in inventory.queues:
            if name not in xml_queues:
                ctx.add("WARN", where, f"queue {name} is in the product's database but not "
                        "in callcenter.conf.xml, and no binding serves callcenter.conf: "
                        f"`callcenter_config queue load {name}` fails; write `callcenter "
                        "queue xml` into callcenter.conf.xml")  # fmt: skip
    domain = (ctx.var("domain") or "").lower()
    for name, contact in sorted(inventory.agents.items()):
        found = _EXTENSION_RE.match(contact.split("]")[-1])
        if found is None:
            continue
        extension, agent_domain = found.groups()
        if domain and agent_domain and agent_domain.lower() != domain:
            ctx.add("ERROR", ctx.result.set_at.get("domain"), f"agent {name} rings "
                    f"{contact}, but the switch's domain is {domain}: every offer fails "
                    "(no such user)")  # fmt: skip
        if not re.fullmatch(r"[1-4]\d{3}", extension):
            ctx.add(
                "WARN",
                None,
                f"agent {name} has extension {extension}: the dialplan "
                "routes only 1000-4999 to people, so calls and transfers to it fail",
            )
    ctx.add("NOTE", None, f"the product's database: {len(inventory.queues)} queue(s), "
            f"{len(inventory.agents)} agent(s) compared")  # fmt: skip


CHECKS: list[Callable[[Context], None]] = [
    check_xml_curl, check_event_socket, check_wss, check_domain, check_music, check_modules,
    check_candidates, check_registrations,
]  # fmt: skip
