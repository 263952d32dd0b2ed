"""``callcenter simulate``: the FreeSWITCH simulator alone, listening for ESL clients."""

from __future__ import annotations

import argparse
import logging
import pathlib

import gevent

from esl_controller.entrypoints.logs import setup_logging
from esl_controller.simulator.wire.simulator import Simulator

log = logging.getLogger("callcenter.simulate")


def default_conf_dir() -> pathlib.Path:
    """``freeswitch_conf/`` of the checkout (or the current directory's)."""
    here = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"
    return here if here.is_dir() else pathlib.Path("freeswitch_conf")


def run_simulate(args: argparse.Namespace) -> int:

    setup_logging()
    conf = pathlib.Path(args.conf) if args.conf else default_conf_dir()
    sim = Simulator(
        host=args.host,
        port=args.port,
        password=args.password,
        heartbeat_interval=args.heartbeat,
        conf_dir=conf if conf.is_dir() else None,
        speed=args.speed,
        seed=args.seed,
    )
    sim.start()
    print(f"FreeSWITCH simulator: ESL on {args.host}:{sim.port}, password {args.password!r}")
    print(f"configuration: {conf if conf.is_dir() else '(none found, built-in defaults)'}")
    if args.agents:
        print(f"agents logged in with registered phones: {sim.traffic.log_in_agents(args.agents)}")
    if args.calls_per_minute:
        sim.traffic.start(args.calls_per_minute)
        print(f"callers: {args.calls_per_minute:g} per minute (speed {args.speed:g}x)")
    try:
        if args.duration is not None:
            sim.core.sleep(args.duration)
            print(summary(sim))
        else:
            while True:
                gevent.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def summary(sim: Simulator) -> str:
    queues = sim.callcenter.tables.queues.values()
    answered = sum(q.calls_answered for q in queues)
    abandoned = sum(q.calls_abandoned for q in queues)
    return (
        f"callers: {sim.traffic.callers_started}, answered: {answered}, "
        f"abandoned: {abandoned}, events fired: {sim.bus.sequence}, "
        f"channels up: {len(sim.core.engine.channels)}"
    )
