"""``callcenter serve``: the controller's ESL link and the dashboard, optionally with a
simulator in the same process (``--simulate``, what ``make run`` uses)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import pathlib
import secrets
import signal

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer
from sqlalchemy.orm import sessionmaker

from dashboard import create_app
from dashboard.deps import WebSettings
from dashboard.wiring import build_dependencies, start_dashboard_parts
from esl_controller.config import Settings, load_settings
from esl_controller.entrypoints.demo import (
    demo_caller_book,
    ensure_demo_customers,
    ensure_demo_users,
    product_agent_extensions,
)
from esl_controller.entrypoints.logs import setup_logging
from esl_controller.entrypoints.simulate import default_conf_dir
from esl_controller.esl.client import Health
from esl_controller.esl.commands import callcenter as cc
from esl_controller.services.recorder import Recorder
from esl_controller.services.switches import link_switches
from esl_controller.services.users import UserService
from esl_controller.services.xml_curl_check import start_address_check
from esl_controller.store.engine import database_url, make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.repositories import seed_defaults

log = logging.getLogger("callcenter.serve")
SIMULATOR_PORT_FILE = pathlib.Path("instance") / "simulator.port"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def describe(health: Health) -> str:
    parts = [health.state]
    if health.reconnects:
        parts.append(f"reconnects={health.reconnects}")
    if health.last_error and not health.connected:
        parts.append(f"last error: {health.last_error}")
    return ", ".join(parts)


def secret_key(settings: Settings) -> str:
    """SECRET_KEY, or one kept in instance/ so sessions survive a restart."""
    if settings.secret_key:
        return settings.secret_key
    path = pathlib.Path("instance") / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def start_simulator(args: argparse.Namespace, password: str):
    from esl_controller.simulator.wire.simulator import Simulator

    conf = pathlib.Path(args.conf) if args.conf else default_conf_dir()
    sim = Simulator(host="127.0.0.1", port=0, password=password,
                    conf_dir=conf if conf.is_dir() else None)  # fmt: skip
    sim.start()
    print(f"simulator: FreeSWITCH stand-in on 127.0.0.1:{sim.port} ({conf})")
    # `callcenter console` (without ESL_PORT) finds this simulator through this file,
    # e.g. `callcenter console -x "sim_restart 3"` or `-x sim_drop_esl`.
    SIMULATOR_PORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    SIMULATOR_PORT_FILE.write_text(f"{sim.port}\n")
    print("simulator: restart it with `callcenter console -x \"sim_restart 3\"` (3 s down), "
          "drop its ESL links with `-x sim_drop_esl`")  # fmt: skip
    return sim


def populate_simulated_floor(sim, demo_extensions: list[str], calls_per_minute: float,
                             agents: int | None = None) -> None:  # fmt: skip
    """A live floor to look at: ``agents`` simulated agents (default: every configured
    one) logged in with an auto-answering phone, except the demo users' agents, whose
    phones ring until the page answers; callers call from the demo customers' numbers."""
    count = (
        len(sim.callcenter.tables.agents)
        if agents is None
        else max(0, agents) + len(demo_extensions)
    )
    agents = sim.traffic.log_in_agents(count)
    humans = 0
    for extension in demo_extensions:
        name = f"{extension}@default"
        if sim.traffic.simulated_agents.pop(name, None) is not None:
            humans += 1
        sim.execute_api(str(cc.agent_set_status(name, "Logged Out")))
        sim.execute_api(f"sim_phone {extension} noanswer")
    sim.traffic.profile.callers = demo_caller_book()
    sim.traffic.start(calls_per_minute)
    print(f"simulator: {agents - humans} simulated agents taking calls, "
          f"{calls_per_minute:g} callers per minute")  # fmt: skip


def simulate_supervisor_phones(sim, users: UserService) -> None:
    """A registered, answering simulated phone for each user with an extension who is not
    an agent (supervisors: listen / whisper / barge ring it) and whom the simulator's XML
    directory lacks, as a real FreeSWITCH would find them through mod_xml_curl."""
    for extension, _name, agent in users.reachable():
        if agent is None and extension not in sim.phones.phones:
            for action in ("add", "register", "answer 1"):
                sim.execute_api(f"sim_phone {extension} {action}")


def web_settings(settings: Settings, host: str, sip_domain: str | None,
                 simulate: bool = False) -> WebSettings:  # fmt: skip
    """The dashboard's settings from the environment's (every role builds them so)."""
    return WebSettings(
        secret_key=secret_key(settings),
        cookie_secure=settings.cookie_secure
        if settings.cookie_secure is not None else host not in LOOPBACK,
        sip_wss_url=settings.sip_wss_url, sip_domain=sip_domain,
        crm_url_template=settings.crm_url_template,
        phone_driver="sip" if settings.sip_wss_url and not simulate else "simulator",
        xml_curl_username=os.environ.get("XML_CURL_USERNAME") or None,
        xml_curl_password=os.environ.get("XML_CURL_PASSWORD") or None,
        # ESL_NODES' names: mod_xml_curl's callcenter.conf is served per node.
        esl_nodes=tuple(node.name for node in settings.esl_nodes),
        proxies=settings.proxies,
        supervisor_long_call=settings.supervisor_long_call,
        supervisor_long_pause=settings.supervisor_long_pause,
        phone_resume_window=settings.phone_resume_window,
    )  # fmt: skip


def run_serve(args: argparse.Namespace) -> int:
    role = getattr(args, "role", "both")
    if role != "both":  # several processes over Redis (esl_controller/entrypoints/roles.py)
        from esl_controller.entrypoints.roles import run_role

        return run_role(args)
    setup_logging()
    settings = load_settings()
    esl = settings.esl
    sim = None
    if args.simulate:
        sim = start_simulator(args, esl.password)
        esl = dataclasses.replace(esl, host="127.0.0.1", port=sim.port)
    if settings.redis_url:
        log.info("REDIS_URL is set: used only by `serve --role web|controller`; this process "
                 "holds the ESL link and serves every dashboard itself")  # fmt: skip
    if not args.simulate and settings.default_esl_password:
        log.warning(
            "ESL_PASSWORD is FreeSWITCH's default 'ClueCon': change it in "
            "event_socket.conf.xml and set ESL_PASSWORD"
        )

    db_url = database_url()
    upgrade(db_url)  # idempotent: the embedded SQLite default is ready on first run
    sessions = sessionmaker(make_engine(db_url))
    with session_scope(sessions) as session:
        seed_defaults(session)  # pause reasons and dispositions a new call center starts with
    # One ESL client and floor per FreeSWITCH node (ESL_NODES); one node: as always.
    nodes = [(n.name, n.esl) for n in settings.nodes] if sim is None else [("sim", esl)]
    switches = link_switches(nodes, sessions)
    links, floor, several = switches.links, switches.floor, switches.several
    recorder = Recorder(sessions)
    users = UserService(sessions)
    sip_domain = settings.sip_domain or (sim.global_vars.get("domain") if sim else None)
    demo = ensure_demo_users(users, sip_domain or "") if args.simulate else []
    if sim is not None:
        added = ensure_demo_customers(sessions)
        if added:
            print(f"demo: {added} customers added (the simulated callers' numbers)")
        # Every agent that belongs to a user of the product (demo or not) is left to
        # its person; the simulated floor takes the rest.
        populate_simulated_floor(sim, product_agent_extensions(users), args.calls_per_minute,
                                 getattr(args, "agents", None))  # fmt: skip
        simulate_supervisor_phones(sim, users)

    web = web_settings(settings, args.host, sip_domain, args.simulate)
    deps = build_dependencies(
        api=switches.api, bgapi=switches.bgapi, health=switches.health, floor=floor,
        sessions=sessions, recorder=recorder, settings=web,
        wrap_up_limit=settings.wrap_up_limit,
    )  # fmt: skip
    switches.add_to(deps.extra)
    app = create_app(deps)
    floor.listeners.append(recorder.on_changes)
    parts = start_dashboard_parts(deps, app.extensions["callcenter.publisher"])
    for link in links if sim is None else []:
        # Does this FreeSWITCH's callcenter_url reach us? (a simulator fetches nothing)
        parts.append(start_address_check(link.client.api, link.client_health,
                                         deps.watched, serve_host=args.host,
                                         serve_port=args.port,
                                         esl_host=link.client.settings.host))  # fmt: skip
    recorder.start()
    floor.start()
    reconcilers = switches.reconcilers(interval=30.0)
    for reconciler in reconcilers:
        reconciler.start()
    print(f"history: {db_url.split('@')[-1]}")
    switches.start_links()
    # Everything built so far lives as long as the process: move it out of the
    # collector's reach, or each full collection walks it and stalls every greenlet
    # (~100 ms here, measured by bench/supervisor_fanout.py --gc-freeze).
    gc.freeze()
    server = WSGIServer((args.host, args.port), app, log=None)
    server.start()
    print(f"dashboard: http://{args.host}:{args.port}/  (health: /health, "
          f"API: /call-center/api/openapi.json)")  # fmt: skip
    for name, role, password, extension in demo:
        where = f", extension {extension}" if extension else ""
        print(f"  demo {role:<10} {name:<6} password {password}{where}")
    if not demo:
        print("users: create them with `callcenter user add NAME --role ROLE ...`")

    last: dict[str, str] = {}
    # systemd, Docker and `kill` stop a service with SIGTERM: shut down as for Ctrl-C, so
    # the recorder writes (or spills to disk) what it still holds.
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    try:
        while not stopping.is_set():
            for link in links:
                now = describe(link.client.health)
                if now != last.get(link.name):
                    where = f"{link.client.settings.host}:{link.client.settings.port}"
                    label = f"{link.name} ({where})" if several else where
                    print(f"FreeSWITCH {label}: {now}", flush=True)
                    last[link.name] = now
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        switches.stop_links()
        floor.stop()
        for reconciler in reconcilers:
            reconciler.stop()
        for part in parts:
            part.stop()
        recorder.drained(timeout=5)
        recorder.stop()
        if sim is not None:
            sim.stop()
            SIMULATOR_PORT_FILE.unlink(missing_ok=True)
    return 0
