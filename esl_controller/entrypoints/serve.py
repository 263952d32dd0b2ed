"""``callcenter serve``: the controller's ESL link and the dashboard, optionally with a
simulator in the same process (``--simulate``, what ``make run`` uses)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import pathlib

import gevent
from gevent.pywsgi import WSGIServer
from sqlalchemy.orm import sessionmaker

from dashboard import create_app
from esl_controller.config import load_settings
from esl_controller.entrypoints.logs import setup_logging
from esl_controller.entrypoints.simulate import default_conf_dir
from esl_controller.esl.client import EslClient, Health
from esl_controller.services.floor_service import FloorService
from esl_controller.services.reconcile import Reconciler
from esl_controller.services.recorder import Recorder
from esl_controller.store.engine import database_url, make_engine
from esl_controller.store.migrate import upgrade

log = logging.getLogger("callcenter.serve")


def describe(health: Health) -> str:
    parts = [health.state]
    if health.reconnects:
        parts.append(f"reconnects={health.reconnects}")
    if health.last_error and not health.connected:
        parts.append(f"last error: {health.last_error}")
    return ", ".join(parts)


def run_serve(args: argparse.Namespace) -> int:
    setup_logging()
    settings = load_settings()
    esl = settings.esl
    sim = None
    if args.simulate:
        from esl_controller.simulator.wire.simulator import Simulator

        conf = pathlib.Path(args.conf) if args.conf else default_conf_dir()
        sim = Simulator(
            host="127.0.0.1",
            port=0,
            password=esl.password,
            conf_dir=conf if conf.is_dir() else None,
        )
        sim.start()
        esl = dataclasses.replace(esl, host="127.0.0.1", port=sim.port)
        print(f"simulator: FreeSWITCH stand-in on 127.0.0.1:{sim.port} ({conf})")
        # A live floor to look at: every configured agent logged in with a registered
        # phone, and a few callers a minute into the queues.
        agents = sim.traffic.log_in_agents(len(sim.callcenter.tables.agents))
        sim.traffic.start(4.0)
        print(f"simulator: {agents} agents logged in, 4 callers per minute")
    elif settings.default_esl_password:
        log.warning(
            "ESL_PASSWORD is FreeSWITCH's default 'ClueCon': change it in "
            "event_socket.conf.xml and set ESL_PASSWORD"
        )

    holder: dict[str, FloorService] = {}
    client = EslClient(
        esl,
        on_event=lambda event: holder["floor"].on_event(event),
        on_connected=lambda: holder["floor"].on_connected(),
    )
    floor = FloorService(client.api)
    holder["floor"] = floor
    db_url = database_url()
    upgrade(db_url)  # idempotent: the embedded SQLite default is ready on first run
    recorder = Recorder(sessionmaker(make_engine(db_url)))
    floor.listeners.append(recorder.on_changes)
    recorder.start()
    floor.start()
    reconciler = Reconciler(client.api, floor, interval=30.0)
    reconciler.start()
    print(f"history: {db_url.split('@')[-1]}")
    client.start()
    app = create_app(lambda: client.health, floor.snapshot)
    server = WSGIServer((args.host, args.port), app, log=None)
    server.start()
    print(
        f"dashboard: http://{args.host}:{args.port}/  (health: /health, "
        "floor: /call-center/api/floor)"
    )
    print("users: none yet; the login pages arrive with the dashboard work (see README)")

    last = ""
    try:
        while True:
            now = describe(client.health)
            if now != last:
                print(f"FreeSWITCH {esl.host}:{esl.port}: {now}", flush=True)
                last = now
            gevent.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        client.stop()
        floor.stop()
        reconciler.stop()
        recorder.drained(timeout=5)
        recorder.stop()
        if sim is not None:
            sim.stop()
    return 0
