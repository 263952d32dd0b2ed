"""mod_xml_curl's directory lookups, answered from the dashboard's users table.

FreeSWITCH (``freeswitch_conf/autoload_configs/xml_curl.conf.xml``) POSTs a form to
``/freeswitch/directory`` for every directory lookup: each digest challenge answer of a
REGISTER or INVITE (``action=sip_auth``), each ``user/<ext>@<domain>`` dial
(``user_call``), ``user_data`` and the like. The fields read here are ``section``,
``tag_name``/``key_name``/``key_value`` (the domain being located), ``key`` (the user
attribute matched, always ``id`` for user lookups), ``user`` and ``domain``.

A user is served when its ``extension`` is the requested user, the domain is the SIP
domain, it is active and it has a SIP HA1. The answer carries the HA1 as ``a1-hash``
(never a password: none is stored), the domain's ``dial-string`` (without one,
``user/`` calls to the user fail), ``user_context``, caller-id, ``callcenter_role``,
``eavesdrop_group`` (the supervisor extensions find the user's calls by it) and, for a
user linked to a mod_callcenter agent (``cc_agents.user_id``), ``callcenter_agent``.
Anything else gets the ``not found`` result, on which FreeSWITCH falls back to the
static ``directory/*.xml``.

FreeSWITCH runs the answer through its XML pre-processor before parsing it: ``$${var}``
is expanded, a line holding ``<?`` is dropped and a line mentioning "X-PRE-PROCESS"
without ``<`` before it is dropped too. So every element is written on its own line
with no XML declaration, every value is XML-escaped, and free text (the display name)
loses control characters, braces and that keyword before it is written.

``/freeswitch/configuration`` answers the ``configuration`` binding for
``callcenter.conf`` only: the queues, agents and tiers of the database
(``services/provisioning.py``), so ``callcenter_config queue load`` picks up a queue
created in the product; settings are ``truncate-agents-on-load``/``-tiers-`` and, with
``CALLCENTER_ODBC_DSN``, ``odbc-dsn``. While the database has no queue it is "not found"
too (the product does not own the queues yet). Every other configuration is "not found"
and FreeSWITCH reads its own file.

Several FreeSWITCH nodes (``ESL_NODES``): each switch gets its own node's share, the
queues and agents whose ``node`` is that node (NULL: the first node) and its agents'
tiers, so a switch never loads another node's queue. mod_xml_curl posts only
``hostname`` (the switch's ``switchname``), ``section``, ``tag_name``, ``key_name``,
``key_value`` and the ``enable-post-var`` variables, nothing that names a node of ours;
but it keeps a query string written in ``gateway-url``, so each switch says which node it
is there: ``?node=$${callcenter_node}`` (``freeswitch_conf/vars.xml``). A node name
ESL_NODES does not list (or not a node name at all) gets "not found" and a warning: the
switch then reads its own ``callcenter.conf.xml``, rather than another node's queues. No
node (the variable empty, or an older xml_curl.conf.xml without the query) with one node:
everything, as before. With several nodes: the first node's share and a warning, because
a switch that does not say is the one that was there before ESL_NODES grew (its rows have
no node), and serving everything would load every node's queues on it.

Both answer only mod_xml_curl's basic auth (``gateway-credentials``, from vars.xml's
``callcenter_xml_curl_user``/``_password``; the product's ``XML_CURL_USERNAME``/
``XML_CURL_PASSWORD``): an HA1 is as good as the SIP password, and
"only loopback clients" protects nothing when a reverse proxy on the same host forwards
every client. Without a configured pair every request gets 503 (logged once at start);
a wrong pair gets 401, compared in constant time; a client address with too many
failures in a window gets 429 until the window passes (a process on the switch's own
address that keeps guessing locks FreeSWITCH out too for that long: the log names it).
mod_xml_curl takes any answer but 200 as "not found" (it logs ``Received HTTP error
<code> trying to fetch <url>`` at ERR) and FreeSWITCH falls back to its static files.
Who asked is logged (client address, whether the user name was right, the extension and
the outcome), never a password or a hash, and the same line at most once a minute.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.auth import LoginLimiter, TooManyAttempts
from dashboard.db import off_hub
from esl_controller.errors import InvalidArgument
from esl_controller.services.provisioning import (
    CONF_SETTINGS,
    ProvisioningStore,
    Wanted,
    callcenter_conf_xml,
    check_node,
)
from esl_controller.store.models import ROLES, Agent, User

log = logging.getLogger("callcenter.directory")

PATH = "/freeswitch/directory"
CONFIGURATION_PATH = "/freeswitch/configuration"
CONTENT_TYPE = "text/xml; charset=utf-8"
REALM = "freeswitch-directory"
NOT_FOUND = (
    '<document type="freeswitch/xml">\n'
    '  <section name="result">\n'
    '    <result status="not found"/>\n'
    "  </section>\n"
    "</document>\n"
)
# The same dial-string as freeswitch_conf/directory/default.xml's domain.
DIAL_STRING = (
    "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}"
    ":eavesdrop_group=${dialed_user}@${dialed_domain}}"
    "${sofia_contact(*/${dialed_user}@${dialed_domain})}"
)
USER_CONTEXT = "default"
MAX_FORM_BYTES = 16 * 1024
# Failed authentications one client address may make per window before it gets 429.
MAX_FAILURES = 10
FAILURE_WINDOW = 60.0
# The same access-log line (client, outcome) at most once per this many seconds.
LOG_QUIET = 60.0
PLAIN = "text/plain; charset=utf-8"
# freeswitch_conf/vars.xml's placeholder: public, so no protection at all.
SHIPPED_PASSWORD = "change-me-directory-password"  # noqa: S105

# What a requested user may be: the dashboard's extensions (users.EXTENSION_RE's
# grammar); anything else is not a user of ours and is not looked up.
_USER_RE = re.compile(r"^[0-9]{2,10}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_HA1_RE = re.compile(r"^[0-9a-fA-F]{32}$")
_AGENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]{0,63}@[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_PREPROCESSOR_RE = re.compile(r"x-pre-process", re.IGNORECASE)
MAX_CALLER_NAME = 64


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """What FreeSWITCH gets for one user (every field already validated)."""

    extension: str
    ha1: str
    caller_name: str
    role: str
    agent: str | None


def caller_id_text(value: str) -> str:
    """Free text made safe for a caller-id name: no control or format characters (no
    line breaks), no braces (no ``${...}``/``$${...}`` expansion by FreeSWITCH), no
    pre-processor keyword, single spaces, at most 64 characters."""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch not in "{}" and (ch.isspace() or not unicodedata.category(ch).startswith("C"))
    )
    kept = _PREPROCESSOR_RE.sub("", kept)
    return " ".join(kept.split())[:MAX_CALLER_NAME].strip()


def xml_attr(value: str) -> str:
    """A value for a double-quoted XML attribute."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def render_user(entry: DirectoryEntry, domain: str) -> str:
    """The directory document for one user, one element per line."""
    variables = [
        ("user_context", USER_CONTEXT),
        ("effective_caller_id_name", entry.caller_name),
        ("effective_caller_id_number", entry.extension),
        ("callcenter_role", entry.role),
        ("eavesdrop_group", f"{entry.extension}@{domain}"),
    ]
    if entry.agent is not None:
        variables.append(("callcenter_agent", entry.agent))
    lines = [
        '<document type="freeswitch/xml">',
        '  <section name="directory">',
        f'    <domain name="{xml_attr(domain)}">',
        "      <params>",
        f'        <param name="dial-string" value="{xml_attr(DIAL_STRING)}"/>',
        "      </params>",
        "      <users>",
        f'        <user id="{xml_attr(entry.extension)}">',
        "          <params>",
        f'            <param name="a1-hash" value="{xml_attr(entry.ha1)}"/>',
        "          </params>",
        "          <variables>",
        *(
            f'            <variable name="{xml_attr(name)}" value="{xml_attr(value)}"/>'
            for name, value in variables
        ),
        "          </variables>",
        "        </user>",
        "      </users>",
        "    </domain>",
        "  </section>",
        "</document>",
    ]
    return "\n".join(lines) + "\n"


def find_entry(session: Session, extension: str) -> DirectoryEntry | None:
    """The active user with this extension and a usable HA1, or None."""
    user = session.scalars(
        select(User).where(User.extension == extension, User.active.is_(True))
    ).first()
    if user is None:
        return None
    ha1 = user.sip_ha1 or ""
    if not _HA1_RE.match(ha1):
        log.debug("directory: user %s has no SIP HA1", extension)
        return None
    if user.role not in ROLES:
        log.warning("directory: user %s has an unknown role, not served", extension)
        return None
    agent_name = session.scalars(
        select(Agent.name).where(Agent.user_id == user.id).order_by(Agent.id)
    ).first()
    if agent_name is not None and not _AGENT_RE.match(agent_name):
        log.warning("directory: agent name of user %s is not usable, left out", extension)
        agent_name = None
    fallback = user.username if _USERNAME_RE.match(user.username or "") else extension
    return DirectoryEntry(
        extension=extension,
        ha1=ha1.lower(),
        caller_name=caller_id_text(user.display_name or "") or fallback,
        role=user.role,
        agent=agent_name,
    )


def _credentials_ok(header: str | None, username: str, password: str) -> tuple[bool, bool]:
    """Basic auth against the configured pair: (user name right, password right). Both
    are compared, as bytes and in constant time, whatever the first comparison gave."""
    sent_user, sent_password = b"", b""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        sent_user, _, sent_password = decoded.partition(b":")
    user_ok = hmac.compare_digest(sent_user, username.encode("utf-8"))
    password_ok = hmac.compare_digest(sent_password, password.encode("utf-8"))
    return user_ok, password_ok


def client_address(address: str | None) -> str:
    """The client's address for the log: an IP address as written, anything else
    (a unix socket, a forged header behind a misconfigured proxy) reduced to '?'."""
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return "?"


class AccessLog:
    """Who asked mod_xml_curl's endpoints, throttled: a line with the same key (client,
    outcome...) is written at most once per ``quiet`` seconds, and the next one says how
    many were left out, so a REGISTER storm or a guessing client cannot flood the log."""

    def __init__(self, logger: logging.Logger, quiet: float = LOG_QUIET,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.logger = logger
        self.quiet = quiet
        self.clock = clock
        self._last: dict[tuple[str, ...], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def note(self, level: int, key: tuple[str, ...], message: str) -> None:
        now = self.clock()
        with self._lock:
            last, skipped = self._last.get(key, (None, 0))
            if last is not None and now - last < self.quiet:
                self._last[key] = (last, skipped + 1)
                return
            self._last[key] = (now, 0)
            if len(self._last) > 10_000:  # bounded memory: forget quiet keys
                for old in [k for k, (t, _) in self._last.items() if now - t >= self.quiet]:
                    del self._last[old]
        more = f" ({skipped} more like it since the last such line)" if skipped else ""
        self.logger.log(level, "%s%s", message, more)


def render_callcenter_conf(wanted: Wanted) -> str:
    """The ``configuration`` section mod_xml_curl expects, holding ``callcenter.conf``
    (every element on its own line, values escaped: see the pre-processor note above)."""
    settings = dict(CONF_SETTINGS)
    dsn = os.environ.get("CALLCENTER_ODBC_DSN", "")
    if dsn and "\n" not in dsn and "${" not in dsn:
        settings["odbc-dsn"] = dsn
    body = callcenter_conf_xml(wanted, settings=settings)
    inner = "\n".join("    " + line for line in body.splitlines())
    return ('<document type="freeswitch/xml">\n  <section name="configuration">\n'
            f"{inner}\n  </section>\n</document>\n")  # fmt: skip


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=CONTENT_TYPE)


def _requested(form: Any, domain: str) -> str | None:
    """The extension a lookup asks for, or None when it is not a user lookup of ours
    (another section, another key, another domain, no user or a malformed one)."""
    if form.get("section") != "directory":
        return None
    if form.get("key", "id") != "id":
        return None
    if form.get("tag_name") and form.get("tag_name") != "domain":
        return None
    names = [form.get("domain", "")]
    if form.get("key_name") == "name" and form.get("key_value"):
        names.append(form.get("key_value", ""))
    if not domain or not any(names):
        return None
    for name in names:
        if name and name.lower() != domain.lower():
            return None
    user = form.get("user", "")
    if not isinstance(user, str) or not _USER_RE.match(user):
        return None
    return user


def directory_blueprint(
    session_factory: sessionmaker[Session],
    *,
    domain: str,
    username: str | None,
    password: str | None,
    limiter: LoginLimiter | None = None,
    access_log: AccessLog | None = None,
    nodes: Sequence[str] = (),
) -> Blueprint:
    """``POST /freeswitch/directory`` and ``/freeswitch/configuration`` for mod_xml_curl.
    ``domain`` is the SIP domain (SIP_DOMAIN; empty answers every lookup with not found);
    ``username``/``password`` are xml_curl.conf.xml's ``gateway-credentials`` (both, or
    neither: then every request is refused with 503). ``limiter`` counts failed
    authentications per client address (default: ``MAX_FAILURES`` per ``FAILURE_WINDOW``).
    ``nodes`` are ESL_NODES' names in order (empty: one node); with them each switch gets
    its own node's callcenter.conf (``?node=`` in the binding's URL)."""
    if domain and not _DOMAIN_RE.match(domain):
        raise ValueError(f"SIP domain {domain[:64]!r} is not a host name")
    if (username is None) != (password is None) or username == "" or password == "":
        raise ValueError("mod_xml_curl credentials need both a user name and a password")
    if username is not None and ":" in username:
        raise ValueError("the mod_xml_curl user name cannot contain ':'")
    if not domain:
        log.warning("SIP_DOMAIN is not set: the FreeSWITCH directory serves no users")
    if username is None:
        log.warning("mod_xml_curl: %s and %s are refused (503) until XML_CURL_USERNAME and "
                    "XML_CURL_PASSWORD are set to the pair FreeSWITCH sends (freeswitch_conf/"
                    "vars.xml: callcenter_xml_curl_user, callcenter_xml_curl_password); "
                    "FreeSWITCH uses its static directory meanwhile",
                    PATH, CONFIGURATION_PATH)  # fmt: skip
    elif password == SHIPPED_PASSWORD:
        log.warning("XML_CURL_PASSWORD is the placeholder shipped in freeswitch_conf/vars.xml: "
                    "anyone who has read the project can fetch SIP HA1s from %s; put a random "
                    "password in vars.xml (callcenter_xml_curl_password) and XML_CURL_PASSWORD",
                    PATH)  # fmt: skip
    limiter = limiter or LoginLimiter(MAX_FAILURES, FAILURE_WINDOW)
    access = access_log or AccessLog(log)
    node_names = tuple(nodes)

    def conf_store(asked: str, client: str) -> ProvisioningStore | None:
        """The store of the node the switch named (``?node=``); None: not ours to serve."""
        try:
            node = check_node(asked)
        except InvalidArgument:
            node = ""
        if node == "" or (node is not None and node not in node_names):
            shown = re.sub(r"[^A-Za-z0-9_-]", "?", asked[:32])
            listed = ", ".join(node_names) or "none: ESL_NODES is not set"
            access.note(logging.WARNING, (client, "unknown node"),
                        f"mod_xml_curl configuration: {client} asked for node {shown!r}, "
                        f"which ESL_NODES does not list ({listed}): not found, the switch "
                        "reads its own callcenter.conf.xml; set callcenter_node in its "
                        "vars.xml to its ESL_NODES name")  # fmt: skip
            return None
        if len(node_names) <= 1:
            return ProvisioningStore(session_factory, domain or None)
        if node is None:
            access.note(logging.WARNING, (client, "no node"),
                        f"mod_xml_curl configuration: {client} did not say which node it is "
                        f"(no ?node= in its gateway-url): given the first node's "
                        f"({node_names[0]}) callcenter.conf; set callcenter_node in its "
                        "vars.xml to its ESL_NODES name")  # fmt: skip
            node = node_names[0]
        return ProvisioningStore(session_factory, domain or None, node=node,
                                 first_node=node == node_names[0])  # fmt: skip

    blueprint = Blueprint("freeswitch_directory", __name__)

    def refused(what: str) -> Response | None:
        """None when the request may be answered; otherwise the refusal (logged)."""
        client = client_address(request.remote_addr)
        if username is None or password is None:
            access.note(logging.WARNING, (client, "unconfigured"),
                        f"mod_xml_curl {what}: {client} refused: XML_CURL_USERNAME/"
                        "XML_CURL_PASSWORD are not set")  # fmt: skip
            return Response("mod_xml_curl credentials are not configured\n", status=503,
                            content_type=PLAIN)  # fmt: skip
        try:
            limiter.check(client)
        except TooManyAttempts as exc:
            access.note(logging.WARNING, (client, "limited"),
                        f"mod_xml_curl {what}: {client} refused: too many failed "
                        f"authentications, again in {exc.retry_after} s")  # fmt: skip
            response = Response("too many failed authentications\n", status=429,
                                content_type=PLAIN)  # fmt: skip
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        user_ok, password_ok = _credentials_ok(request.headers.get("Authorization"),
                                               username, password)  # fmt: skip
        if not (user_ok and password_ok):
            limiter.failed(client)
            # The user name is named only when it is the configured one: a wrong one
            # may be a password typed into the wrong field.
            who = f"user {username!r} with a wrong password" if user_ok else "an unknown user"
            if not request.headers.get("Authorization"):
                who = "no credentials"
            access.note(logging.WARNING, (client, "failed"),
                        f"mod_xml_curl {what}: {client} refused: {who}")  # fmt: skip
            response = Response("authentication required\n", status=401, content_type=PLAIN)
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
            return response
        if (request.content_length or 0) > MAX_FORM_BYTES:
            return _xml(NOT_FOUND, 413)
        return None

    @blueprint.post(CONFIGURATION_PATH)
    def configuration() -> Response:
        """``callcenter.conf`` from the database (queues, agents, tiers); any other
        configuration gets "not found", so FreeSWITCH reads its own files."""
        answer = refused("configuration")
        if answer is not None:
            return answer
        form = request.form
        if (form.get("section") != "configuration" or form.get("key_name") != "name"
                or form.get("key_value") != "callcenter.conf"):  # fmt: skip
            return _xml(NOT_FOUND)
        client = client_address(request.remote_addr)
        store = conf_store(request.args.get("node", ""), client)
        if store is None:
            return _xml(NOT_FOUND)
        try:
            wanted = off_hub(store.wanted)
        except SQLAlchemyError:
            log.exception("configuration: database error reading callcenter.conf")
            return _xml(NOT_FOUND, 503)
        if not wanted.queues:
            # A site that has not put its queues in the product yet: serving this would
            # replace the switch's own callcenter.conf.xml with an empty one (no queue,
            # only the product's agents) at its next start. Checked on a real 1.10.12.
            log.info("configuration: the database has no queue yet; FreeSWITCH keeps "
                     "its own callcenter.conf.xml")  # fmt: skip
            return _xml(NOT_FOUND)
        of_node = f" of node {store.node}" if store.node else ""
        access.note(logging.INFO, (client, "callcenter.conf", store.node or ""),
                    f"mod_xml_curl configuration: {client} got callcenter.conf{of_node} "
                    f"({len(wanted.queues)} queues, {len(wanted.agents)} agents)")  # fmt: skip
        return _xml(render_callcenter_conf(wanted))

    @blueprint.post(PATH)
    def directory() -> Response:
        answer = refused("directory")
        if answer is not None:
            return answer
        extension = _requested(request.form, domain)
        if extension is None:
            return _xml(NOT_FOUND)

        def lookup() -> DirectoryEntry | None:
            with session_factory() as session:
                return find_entry(session, extension)

        try:
            entry = off_hub(lookup)
        except SQLAlchemyError:
            log.exception("directory: database error looking up %s", extension)
            return _xml(NOT_FOUND, 503)
        client = client_address(request.remote_addr)
        action = request.form.get("action", "")
        action = action if re.fullmatch(r"[a-z_-]{1,32}", action) else "lookup"
        outcome = "served" if entry is not None else "not found"
        access.note(logging.INFO, (client, outcome, extension),
                    f"mod_xml_curl directory: {client} asked for {extension}@{domain} "
                    f"({action}): {outcome}")  # fmt: skip
        return _xml(NOT_FOUND if entry is None else render_user(entry, domain))

    return blueprint
