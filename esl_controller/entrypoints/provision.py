"""``callcenter agent|queue|tier list/add/set/del`` and ``callcenter import FILE``.

These change the product's database (DB_URI), the source of truth for agents, queues and
tiers. After a change the command brings FreeSWITCH in line at once when it can reach it
(ESL_HOST/ESL_PORT/ESL_PASSWORD, or the simulator of a running ``serve --simulate``);
otherwise the running controller does at its next pass (``PROVISION_INTERVAL``) or
reconnect, and the command says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import pathlib
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from esl_controller.config import load_settings
from esl_controller.errors import CallCenterError
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands.base import ApiCall, ApiCommand, checked
from esl_controller.esl.connection import EslConnection
from esl_controller.services import imports
from esl_controller.services.provisioning import (
    AGENT_NUMBERS,
    CONF_SETTINGS,
    Provisioner,
    ProvisioningStore,
    Report,
    callcenter_conf_xml,
)
from esl_controller.store.engine import database_url, make_engine
from esl_controller.store.migrate import upgrade


def _sessions() -> sessionmaker[Session]:
    url = database_url()
    upgrade(url)
    return sessionmaker(make_engine(url))


def _store(sessions: sessionmaker[Session]) -> ProvisioningStore:
    return ProvisioningStore(sessions, os.environ.get("SIP_DOMAIN") or None)


def push_to_switch(sessions: sessionmaker[Session] | None = None,
                   then: Callable[[ApiCall], None] | None = None,
                   changed: tuple[str, ...] = ()) -> Report | None:  # fmt: skip
    """One provisioning pass over a short-lived ESL connection; None if FreeSWITCH is not
    reachable (the running controller will do it)."""
    from esl_controller.entrypoints.console import simulator_port

    settings = load_settings().esl
    port = simulator_port()
    if port is not None:
        settings = dataclasses.replace(settings, host="127.0.0.1", port=port)
    conn = EslConnection(settings.host, settings.port, settings.password,
                         connect_timeout=settings.connect_timeout,
                         command_timeout=settings.command_timeout, name="provision")  # fmt: skip
    try:
        conn.connect()
    except CallCenterError as exc:
        print(f"FreeSWITCH {settings.host}:{settings.port} not reachable ({exc.message}): "
              "the running controller applies this at its next pass")  # fmt: skip
        return None
    logging.getLogger("esl_controller.services.provisioning").setLevel(logging.ERROR)
    try:

        def api(command: ApiCommand) -> str:
            return conn.send(f"api {checked(command)}").text

        if then is not None:
            then(api)
        report = Provisioner(api, _store(sessions or _sessions()), drift=_drift(),
                             interval=0).sync("cli", changed=changed)  # fmt: skip
    finally:
        conn.stop()
    for line in report.changed:
        print(f"FreeSWITCH: {line}")
    for line in report.drift:
        print(f"drift: {line}")
    for line in report.failed:
        print(f"failed: {line}", file=sys.stderr)
    if not report:
        print("FreeSWITCH already in line")
    return report


def _drift() -> str:
    return os.environ.get("CALLCENTER_DRIFT", "repair").strip().lower() or "repair"


def _print_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    print("|".join(columns))
    for row in rows:
        print("|".join("" if row.get(c) is None else str(row.get(c)) for c in columns))


def _agent_settings(args: argparse.Namespace) -> dict[str, object]:
    settings: dict[str, object] = {}
    if args.contact is not None:
        settings["contact"] = args.contact
    if args.type is not None:
        settings["type"] = args.type
    if getattr(args, "node", None) is not None:
        settings["node"] = args.node
    for key in AGENT_NUMBERS:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    return settings


def _queue_settings(args: argparse.Namespace) -> dict[str, object]:
    settings: dict[str, object] = {}
    if args.strategy is not None:
        settings["strategy"] = args.strategy
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise CallCenterError(f"--param {item!r}: NAME=VALUE", code="invalid_argument")
        settings[key.strip()] = value.strip()
    return settings


def run_provisioning_command(args: argparse.Namespace) -> int:
    command = args.command
    try:
        if command == "import":
            return _run_import(args)
        sessions = _sessions()
        store = _store(sessions)
        if command == "agent":
            return _run_agent(args, store, sessions)
        if command == "queue":
            return _run_queue(args, store, sessions)
        return _run_tier(args, store, sessions)
    except CallCenterError as exc:
        print(f"callcenter {command}: {exc.message}", file=sys.stderr)
        return 1


def _need(value: str | None, what: str) -> str:
    if not value:
        raise CallCenterError(f"{what} is required", code="invalid_argument")
    return value


def _run_agent(args: argparse.Namespace, store: ProvisioningStore,
               sessions: sessionmaker[Session]) -> int:  # fmt: skip
    if args.action == "list":
        rows = [a.row() for a in store.wanted().agents.values()]
        _print_rows(rows, ["name", "user", "type", "contact", *AGENT_NUMBERS, "node"])
        return 0
    name = _need(args.name, "an agent name")
    if args.action == "add":
        store.add_agent(name, username=args.user, **_agent_settings(args))
        print(f"agent {name} added")
    elif args.action == "set":
        settings = _agent_settings(args)
        if not settings:
            raise CallCenterError("nothing to set", code="invalid_argument")
        store.set_agent(name, **settings)
        print(f"agent {name} changed")
        push_to_switch(sessions, changed=(name,))
        return 0
    else:
        store.del_agent(name)
        print(f"agent {name} deleted (with its tiers)")
        push_to_switch(sessions, then=lambda api: _quiet(api, cc.agent_del(name)))
        return 0
    push_to_switch(sessions)
    return 0


def _quiet(api: ApiCall, command: ApiCommand) -> None:
    print(f"FreeSWITCH: {str(command).removeprefix('callcenter_config ')}: "
          f"{api(command).strip()}")  # fmt: skip


def _run_queue(args: argparse.Namespace, store: ProvisioningStore,
               sessions: sessionmaker[Session]) -> int:  # fmt: skip
    if args.action == "list":
        rows = [q.row() for q in store.wanted().queues.values()]
        columns = ["name", "strategy", "moh-sound", "max-wait-time", "service-level-seconds",
                   "node"]  # fmt: skip
        _print_rows(rows, columns)
        return 0
    if args.action == "xml":
        # For a FreeSWITCH without mod_xml_curl: write this to
        # autoload_configs/callcenter.conf.xml, then `reloadxml` and `queue load`.
        print(callcenter_conf_xml(store.wanted(), settings=CONF_SETTINGS), end="")
        return 0
    name = _need(args.name, "a queue name")
    if args.action == "add":
        store.add_queue(name, **_queue_settings(args))
        print(f"queue {name} added")
        push_to_switch(sessions)
        return 0
    if args.action == "del":
        store.del_queue(name)
        print(f"queue {name} deleted (with its tiers)")
        push_to_switch(sessions, then=lambda api: _quiet(api, cc.queue_action("unload", name)))
        return 0
    if args.action == "set":
        settings = _queue_settings(args)
        if not settings:
            raise CallCenterError("nothing to set", code="invalid_argument")
        store.set_queue(name, **settings)
        print(f"queue {name} changed")
    # set and reload: FreeSWITCH reads the queue's XML again (mod_xml_curl or the file).
    push_to_switch(sessions, then=lambda api: _quiet(api, cc.queue_action("reload", name)))
    return 0


def _run_tier(args: argparse.Namespace, store: ProvisioningStore,
              sessions: sessionmaker[Session]) -> int:  # fmt: skip
    if args.action == "list":
        rows = [{"queue": q, "agent": a, "level": lv, "position": pos}
                for (q, a), (lv, pos) in store.wanted().tiers.items()]  # fmt: skip
        _print_rows(rows, ["queue", "agent", "level", "position"])
        return 0
    queue = _need(args.queue, "a queue")
    agent = _need(args.agent, "an agent")
    if args.action == "del":
        store.del_tier(queue, agent)
        print(f"tier {agent} in {queue} deleted")
        push_to_switch(sessions, then=lambda api: _quiet(api, cc.tier_del(queue, agent)))
        return 0
    row = store.set_tier(queue, agent, args.level, args.position, create=args.action == "add")
    print(f"tier {row[1]} in {row[0]}: level {row[2]}, position {row[3]}")
    push_to_switch(sessions, changed=(f"{row[0]} {row[1]}",))
    return 0


def _run_import(args: argparse.Namespace) -> int:
    path = pathlib.Path(args.file)
    kind = args.kind
    if kind is None:
        stem = path.name.lower()
        kind = next((k for k in ("agents", "customers") if stem.startswith(k)), None)
    if kind is None:
        print("callcenter import: say --kind agents or --kind customers", file=sys.stderr)
        return 2
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"callcenter import: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    sessions = _sessions()
    run = imports.import_agents if kind == "agents" else imports.import_customers
    report = run(sessions, text)
    for line in report.lines():
        print(line, file=sys.stdout if report.ok else sys.stderr)
    if not report.ok:
        return 1
    if kind == "agents" and report.written:
        push_to_switch(sessions)
    return 0
