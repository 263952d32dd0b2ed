"""``callcenter agent|queue|tier list/add/set/del`` and ``callcenter import FILE``.

These change the product's database (DB_URI), the source of truth for agents, queues and
tiers. After a change the command brings FreeSWITCH in line at once when it can reach it
(ESL_HOST/ESL_PORT/ESL_PASSWORD, or the simulator of a running ``serve --simulate``);
otherwise the running controller does at its next pass (``PROVISION_INTERVAL``) or
reconnect, and the command says so. With ``ESL_NODES`` each node is provisioned with its
own agents, queues and tiers (and gives up what was moved off it); ``--node`` of ``agent
set`` / ``queue set`` is refused while the old node's switch has the agent on a call or
callers in the queue.
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
from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.esl.client import EslSettings
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands.base import ApiCall, ApiCommand, checked
from esl_controller.esl.connection import EslConnection
from esl_controller.services import imports
from esl_controller.services.nodes import switch_move_refusal
from esl_controller.services.provisioning import (
    AGENT_NUMBERS,
    CONF_SETTINGS,
    Provisioner,
    ProvisioningStore,
    Report,
    callcenter_conf_xml,
    check_node,
)
from esl_controller.store.engine import database_url, make_engine
from esl_controller.store.migrate import upgrade


def _sessions() -> sessionmaker[Session]:
    url = database_url()
    upgrade(url)
    return sessionmaker(make_engine(url))


def _store(sessions: sessionmaker[Session]) -> ProvisioningStore:
    return ProvisioningStore(sessions, os.environ.get("SIP_DOMAIN") or None)


def _switches() -> list[tuple[str | None, EslSettings]]:
    """Each FreeSWITCH the CLI provisions: every node of ESL_NODES (name, settings), or
    the one switch of ESL_HOST (or of a running ``serve --simulate``) as (None, ...)."""
    from esl_controller.entrypoints.console import simulator_port

    settings = load_settings()
    if settings.esl_nodes:
        return [(node.name, node.esl) for node in settings.esl_nodes]
    esl = settings.esl
    port = simulator_port()
    if port is not None:
        esl = dataclasses.replace(esl, host="127.0.0.1", port=port)
    return [(None, esl)]


def _connect(name: str | None, settings: EslSettings) -> EslConnection | None:
    conn = EslConnection(settings.host, settings.port, settings.password,
                         connect_timeout=settings.connect_timeout,
                         command_timeout=settings.command_timeout, name="provision")  # fmt: skip
    try:
        conn.connect()
    except CallCenterError as exc:
        which = f"node {name} " if name else ""
        print(f"FreeSWITCH {which}{settings.host}:{settings.port} not reachable "
              f"({exc.message}): the running controller applies this at its next pass")  # fmt: skip
        return None
    return conn


def _api(conn: EslConnection) -> ApiCall:
    def api(command: ApiCommand) -> str:
        return conn.send(f"api {checked(command)}").text

    return api


def push_to_switch(sessions: sessionmaker[Session] | None = None,
                   then: Callable[[ApiCall], None] | None = None,
                   changed: tuple[str, ...] = (), *,
                   then_node: str | None = None) -> Report | None:  # fmt: skip
    """One provisioning pass over a short-lived ESL connection to each switch (with
    ESL_NODES, each node's pass with its own agents, queues and tiers, and the removals
    of what moved off it); None if no switch was reachable (the running controller will
    do it). ``then`` runs first on the switch of node ``then_node`` (None: the first)."""
    sessions = sessions or _sessions()
    switches = _switches()
    logging.getLogger("esl_controller.services.provisioning").setLevel(logging.ERROR)
    total: Report | None = None
    for index, (name, settings) in enumerate(switches):
        conn = _connect(name, settings)
        if conn is None:
            continue
        try:
            api = _api(conn)
            if then is not None and (then_node == name or (then_node is None and index == 0)
                                     or len(switches) == 1):  # fmt: skip
                then(api)
            store = ProvisioningStore(sessions, os.environ.get("SIP_DOMAIN") or None,
                                      node=name, first_node=index == 0)  # fmt: skip
            report = Provisioner(api, store, drift=_drift(),
                                 interval=0).sync("cli", changed=changed)  # fmt: skip
        finally:
            conn.stop()
        which = f"FreeSWITCH {name}" if name else "FreeSWITCH"
        for line in report.changed:
            print(f"{which}: {line}")
        for line in report.drift:
            print(f"drift: {line}")
        for line in report.failed:
            print(f"failed: {line}", file=sys.stderr)
        if not report:
            print(f"{which} already in line")
        total = total or Report()
        total.changed += report.changed
        total.drift += report.drift
        total.failed += report.failed
    return total


def check_move(store: ProvisioningStore, kind: str, name: str, node: object) -> bool:
    """``--node`` of ``agent set`` / ``queue set``: True when it changes the node. The
    target must be a node of ESL_NODES; refused (CallCenterError agent_on_call /
    queue_has_callers) while the old node's switch has the agent on a call or callers in
    the queue. An old node that cannot be reached is not asked: its provisioner removes
    the agent or queue there once it can (the move is recorded)."""
    target = check_node(node)
    switches = _switches()
    names = [n for n, _ in switches if n is not None]
    if names and target is not None and target not in names:
        raise InvalidArgument(f"no node {target} in ESL_NODES ({', '.join(names)})")
    old = store.node_of(kind, name)
    if old == target:
        return False
    index = names.index(old) if old in names else 0
    conn = _connect(*switches[index]) if switches else None
    if conn is not None:
        try:
            refusal = switch_move_refusal(_api(conn), kind, name)
        finally:
            conn.stop()
        if refusal is not None:
            raise refusal
    return True


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
        moving = "node" in settings and check_move(store, "agent", name, settings["node"])
        store.set_agent(name, **settings)
        print(f"agent {name} changed" + (" (moved: removed from its old node's switch)"
                                          if moving else ""))  # fmt: skip
        push_to_switch(sessions, changed=(name,))
        return 0
    else:
        node = store.node_of("agent", name)
        store.del_agent(name)
        print(f"agent {name} deleted (with its tiers)")
        push_to_switch(sessions, then=lambda api: _quiet(api, cc.agent_del(name)),
                       then_node=node)  # fmt: skip
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
        node = store.node_of("queue", name)
        store.del_queue(name)
        print(f"queue {name} deleted (with its tiers)")
        push_to_switch(sessions, then=lambda api: _quiet(api, cc.queue_action("unload", name)),
                       then_node=node)  # fmt: skip
        return 0
    if args.action == "set":
        settings = _queue_settings(args)
        if not settings:
            raise CallCenterError("nothing to set", code="invalid_argument")
        node_key = next((k for k in settings if k.replace("-", "_") == "node"), None)
        if node_key is not None and check_move(store, "queue", name, settings[node_key]):
            store.set_queue(name, **settings)
            # The new node's pass loads it, the old node's unloads it: no reload.
            print(f"queue {name} changed (moved: unloaded from its old node's switch)")
            push_to_switch(sessions)
            return 0
        store.set_queue(name, **settings)
        print(f"queue {name} changed")
    # set and reload: FreeSWITCH reads the queue's XML again (mod_xml_curl or the file).
    push_to_switch(sessions, then=lambda api: _quiet(api, cc.queue_action("reload", name)),
                   then_node=store.node_of("queue", name))  # fmt: skip
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
        try:
            node = store.node_of("agent", agent)
        except CallCenterError:
            node = None  # an agent the product does not own: the first node's
        push_to_switch(sessions, then=lambda api: _quiet(api, cc.tier_del(queue, agent)),
                       then_node=node)  # fmt: skip
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
