"""``callcenter conf check [DIR]``: what in a FreeSWITCH configuration (the shipped
``freeswitch_conf/`` by default, or an administrator's ``/etc/freeswitch``) will break
with this product, one line per finding with its file and line, then a summary.

The product's side comes from the same environment ``callcenter serve`` reads
(``ESL_*``, ``XML_CURL_*``, ``SIP_DOMAIN``, ``SIP_WSS_URL``, ``DB_URI``) and from
``--url`` / ``CALLCENTER_URL`` for the address serve listens on. Exit status 1 when
there is an error, 0 when there are only warnings and notes, 2 when the command itself
was given something unusable.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import sys
import urllib.parse
from collections.abc import Mapping
from typing import TextIO

from esl_controller.conf_check.checks import Expectations, Finding, Inventory, check, describe
from esl_controller.config import parse_nodes
from esl_controller.entrypoints.simulate import default_conf_dir
from esl_controller.errors import CallCenterError
from esl_controller.esl.client import EslSettings

DEFAULT_SERVE_URL = "http://127.0.0.1:5000"


class UsageError(Exception):
    pass


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def expectations(args: argparse.Namespace, env: Mapping[str, str]) -> Expectations:
    url = args.url or env.get("CALLCENTER_URL") or DEFAULT_SERVE_URL
    origin = ("--url" if args.url else "CALLCENTER_URL" if env.get("CALLCENTER_URL")
              else "callcenter serve's default; --url or CALLCENTER_URL to compare with "
                   "another")  # fmt: skip
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise UsageError(f"{url!r}: give the dashboard's address as http(s)://host:port")
    try:
        nodes = tuple(node.name for node in parse_nodes(env, EslSettings()))
    except CallCenterError as exc:
        raise UsageError(exc.message) from exc
    port_text = env.get("ESL_PORT") or "8021"
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise UsageError(f"ESL_PORT must be a TCP port, not {port_text!r}")
    return Expectations(
        serve_url=url.rstrip("/"), serve_url_origin=origin,
        xml_curl_username=_optional(env, "XML_CURL_USERNAME"),
        xml_curl_password=_optional(env, "XML_CURL_PASSWORD"),
        esl_host=env.get("ESL_HOST") or "127.0.0.1", esl_port=int(port_text),
        esl_password=_optional(env, "ESL_PASSWORD"),
        sip_domain=_optional(env, "SIP_DOMAIN"), sip_wss_url=_optional(env, "SIP_WSS_URL"),
        esl_nodes=nodes,
    )  # fmt: skip


def certs_dir(conf_dir: pathlib.Path, given: str | None) -> tuple[pathlib.Path, str | None]:
    """FreeSWITCH's certs_dir for this install, and a note when it is a guess."""
    if given:
        return pathlib.Path(given), None
    resolved = conf_dir.resolve()
    if resolved == pathlib.Path("/etc/freeswitch"):
        return resolved / "tls", None
    if resolved.name == "conf" and (resolved.parent / "bin" / "freeswitch").exists():
        return resolved.parent / "certs", None
    return resolved / "tls", (f"certs_dir taken as {resolved / 'tls'} (FreeSWITCH's own "
                              "depends on the install and -certs; --certs to say)")  # fmt: skip


def local_address() -> str:
    """This host's address on its default route, as FreeSWITCH's local_ip_v4 finds it
    (a UDP socket is connected, which sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only routes are looked up
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def inventory(env: Mapping[str, str]) -> Inventory:
    """The product's queues and agents, or why they cannot be read (nothing is created:
    an absent SQLite file is not made)."""
    url = env.get("DB_URI")
    if not url:
        default = pathlib.Path("instance") / "callcenter.db"
        if not default.is_file():
            return Inventory(
                skipped="DB_URI is not set and there is no instance/callcenter.db "
                "here (run it where `callcenter serve` runs, or set DB_URI)"
            )
        url = f"sqlite:///{default.resolve()}"
    if url.startswith("sqlite:///") and not pathlib.Path(url[len("sqlite:///") :]).is_file():
        return Inventory(skipped=f"{url} does not exist")  # opening it would create it
    try:
        from sqlalchemy.orm import sessionmaker

        from esl_controller.services.provisioning import ProvisioningStore
        from esl_controller.store.engine import make_engine

        engine = make_engine(url)
        try:
            wanted = ProvisioningStore(sessionmaker(engine)).wanted(env.get("SIP_DOMAIN") or None)
        finally:
            engine.dispose()
    except Exception as exc:  # any driver's error: the check is skipped and says why
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Inventory(skipped=f"the database ({url.split('@')[-1]}) could not be read: "
                         f"{reason}")  # fmt: skip
    return Inventory(queues=tuple(wanted.queues),
                     agents={n: a.contact for n, a in wanted.agents.items()})  # fmt: skip


def report(findings: list[Finding], conf_dir: pathlib.Path, out: TextIO) -> int:
    """Print the findings (errors first) and the summary; the exit status."""
    order = {"ERROR": 0, "WARN": 1, "NOTE": 2}
    for finding in sorted(findings, key=lambda f: order.get(f.level, 3)):
        place = describe(finding.where, conf_dir)
        print(f"{finding.level} {place}: {finding.message}" if place
              else f"{finding.level} {finding.message}", file=out)  # fmt: skip
    errors = sum(f.level == "ERROR" for f in findings)
    warnings = sum(f.level == "WARN" for f in findings)
    verdict = "will not work as it is" if errors else "no error"
    print(f"conf check {conf_dir}: {errors} error(s), {warnings} warning(s): {verdict}",
          file=out)  # fmt: skip
    return 1 if errors else 0


def run_conf_check(args: argparse.Namespace, env: Mapping[str, str] | None = None,
                   out: TextIO | None = None) -> int:  # fmt: skip
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    conf_dir = pathlib.Path(args.dir) if args.dir else default_conf_dir()
    try:
        expect = expectations(args, env)
    except UsageError as exc:
        print(f"callcenter conf check: {exc}", file=sys.stderr)
        return 2
    if not conf_dir.is_dir():
        print(f"callcenter conf check: {conf_dir} is not a folder", file=sys.stderr)
        return 2
    certs, guessed = certs_dir(conf_dir, args.certs)
    findings = check(conf_dir, expect, certs_dir=certs, local_ip=local_address(),
                     hostname=socket.gethostname(), inventory=inventory(env))  # fmt: skip
    if guessed:
        findings.append(Finding("NOTE", None, guessed))
    return report(findings, conf_dir, out)
