"""``callcenter serve --role web`` and ``--role controller``: the call center as several
processes over Redis (README "Several processes"). ``--role both`` (the default) is the
embedded process of :mod:`esl_controller.entrypoints.serve`."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer
from sqlalchemy.orm import sessionmaker

from esl_controller.cluster.settings import load_cluster_settings
from esl_controller.config import load_settings
from esl_controller.entrypoints.logs import setup_logging
from esl_controller.errors import InvalidArgument
from esl_controller.store.engine import database_url, make_engine

log = logging.getLogger("callcenter.serve")


def run_role(args: argparse.Namespace) -> int:
    setup_logging()
    if args.simulate:
        print("serve --role web|controller takes no --simulate: run `callcenter simulate` "
              "and point ESL_HOST/ESL_PORT at it", file=sys.stderr)  # fmt: skip
        return 2
    try:
        settings = load_settings()
        cluster = load_cluster_settings(default_id=f"{socket.gethostname()}-{args.port}")
    except InvalidArgument as exc:
        print(f"callcenter serve --role {args.role}: {exc.message}", file=sys.stderr)
        return 2
    # ESL_NODES, or the one node of ESL_HOST: the controller links to each; a web worker's
    # ESL console page connects to the first.
    nodes = [(node.name, node.esl) for node in settings.nodes]
    db_url = database_url()
    sessions = sessionmaker(make_engine(db_url))
    from esl_controller.entrypoints.serve import web_settings

    web = web_settings(settings, args.host, settings.sip_domain)
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    if args.role == "web":
        if not settings.secret_key:
            print("callcenter serve --role web: SECRET_KEY must be set (every web worker "
                  "signs the session cookies with the same key)", file=sys.stderr)  # fmt: skip
            return 2
        from dashboard.cluster.web import build_web_worker

        worker = build_web_worker(cluster, sessions, web, nodes[0][1],
                                  worker=f"{socket.gethostname()}-{args.port}")  # fmt: skip
        worker.start()
        gc.freeze()  # start-up objects out of the collector's walk (see serve.py)
        server = WSGIServer((args.host, args.port), worker.app, log=None)
        server.start()
        print(f"web worker: http://{args.host}:{args.port}/ (Redis prefix {cluster.prefix!r}; "
              f"health: /health)", flush=True)  # fmt: skip
        try:
            watch(stopping, lambda: describe_web(worker))
        finally:
            server.stop()
            worker.stop()
        return 0

    from dashboard.cluster.controller import ControllerRole, health_app, make_context

    ctx = make_context(cluster, nodes, db_url, sessions, web, settings.wrap_up_limit)
    role = ControllerRole(ctx)
    gc.freeze()  # start-up objects out of the collector's walk (see serve.py)
    server = WSGIServer((args.host, args.port), health_app(role), log=None)
    server.start()
    role.start()
    print(f"controller {cluster.controller_id}: standby until it holds the lease "
          f"(Redis prefix {cluster.prefix!r}, lease {cluster.lease_ttl:g} s); health: "
          f"http://{args.host}:{args.port}/health", flush=True)  # fmt: skip
    try:
        watch(stopping, lambda: describe_controller(role))
    finally:
        server.stop()
        role.stop()  # the link first, then the lease given back: a standby takes over
    return 0


def describe_web(worker: object) -> str:
    from dashboard.cluster.web import WebWorker

    assert isinstance(worker, WebWorker)
    health = worker.app.extensions["callcenter"].health()
    return f"controller link: {health.state}"


def describe_controller(role: object) -> str:
    from dashboard.cluster.controller import ControllerRole

    assert isinstance(role, ControllerRole)
    body, _ = role.health()
    if body["role"] != "active":
        return f"standby (lease held by {body['lease_holder']})"
    state = body.get("freeswitch", {}).get("state", "starting")
    nodes = body.get("nodes") or []
    if len(nodes) > 1:  # ESL_NODES: each node's link
        state += " (" + ", ".join(f"{n['name']} {n['state']}" for n in nodes) + ")"
    return f"active (fence {body['fence']}), FreeSWITCH {state}"


def watch(stopping: gevent.event.Event, describe: Callable[[], str]) -> None:
    """Print the process's state when it changes, until SIGTERM or Ctrl-C."""
    last = ""
    try:
        while not stopping.is_set():
            try:
                now = describe()
            except Exception as exc:  # noqa: BLE001 - printing must not stop the process
                now = f"state unreadable: {exc}"
            if now != last:
                print(now, flush=True)
                last = now
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
