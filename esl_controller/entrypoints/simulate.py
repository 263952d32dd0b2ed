"""``callcenter simulate``: the FreeSWITCH simulator alone, listening for ESL clients."""

from __future__ import annotations

import argparse
import logging
import pathlib

import gevent

from esl_controller.entrypoints.logs import setup_logging

log = logging.getLogger("callcenter.simulate")


def default_conf_dir() -> pathlib.Path:
    """``freeswitch_conf/`` of the checkout (or the current directory's)."""
    here = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"
    return here if here.is_dir() else pathlib.Path("freeswitch_conf")


def run_simulate(args: argparse.Namespace) -> int:
    from esl_controller.simulator.wire.simulator import Simulator

    setup_logging()
    conf = pathlib.Path(args.conf) if args.conf else default_conf_dir()
    sim = Simulator(
        host=args.host,
        port=args.port,
        password=args.password,
        heartbeat_interval=args.heartbeat,
        conf_dir=conf if conf.is_dir() else None,
    )
    sim.start()
    print(f"FreeSWITCH simulator: ESL on {args.host}:{sim.port}, password {args.password!r}")
    print(f"configuration: {conf if conf.is_dir() else '(none found, built-in defaults)'}")
    try:
        while True:
            gevent.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
