"""Run the example host app (host.py) with the call center mounted at /callcenter.

    python examples/host_app/app.py --simulate      # with the FreeSWITCH simulator
    python examples/host_app/app.py                 # FreeSWITCH from ESL_HOST/ESL_PORT/...

The host's accounts: ann / ann-password (the agent alice), sam / sam-password (the
supervisor sue), max / max-password (no call center account). Its database is DB_URI
(default: SQLite in ./instance/host_app.db), shared with the call center.
"""

from __future__ import annotations

import argparse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--simulate", action="store_true",
                        help="the FreeSWITCH simulator in this process, demo users")  # fmt: skip
    parser.add_argument("--conf", help="the simulator's FreeSWITCH conf folder")
    parser.add_argument("--calls-per-minute", type=float, default=2.0)
    args = parser.parse_args()

    # gevent first, as `callcenter serve` does: the call center runs on its greenlets.
    from gevent import monkey

    monkey.patch_all()
    import signal

    import gevent
    from gevent.pywsgi import WSGIServer

    from esl_controller.entrypoints.logs import setup_logging
    from esl_controller.store.engine import enable_gevent_db

    enable_gevent_db()
    setup_logging()
    config: dict[str, object] = {}
    sim = None
    if args.simulate:
        from esl_controller.entrypoints.serve import start_simulator

        password = "ClueCon"  # noqa: S105 - the simulator's, on loopback
        sim = start_simulator(argparse.Namespace(conf=args.conf), password)
        config.update(CALLCENTER_ESL_HOST="127.0.0.1", CALLCENTER_ESL_PORT=sim.port,
                      CALLCENTER_ESL_PASSWORD=password, CALLCENTER_SIP_WSS_URL="",
                      CALLCENTER_SIP_DOMAIN=sim.global_vars.get("domain") or "")  # fmt: skip

    from host import create_host_app  # beside this file

    app, _socketio, callcenter = create_host_app(config)
    if sim is not None:
        from esl_controller.entrypoints.demo import ensure_demo_users, product_agent_extensions
        from esl_controller.entrypoints.serve import populate_simulated_floor

        assert callcenter.deps is not None
        users = callcenter.deps.users
        ensure_demo_users(users, str(config["CALLCENTER_SIP_DOMAIN"]))
        populate_simulated_floor(sim, product_agent_extensions(users), args.calls_per_minute)

    server = WSGIServer((args.host, args.port), app, log=None)
    server.start()
    print(f"host app: http://{args.host}:{args.port}/  (the call center: /callcenter/)",
          flush=True)  # fmt: skip
    print("  accounts: ann / ann-password (agent alice), sam / sam-password (supervisor sue), "
          "max / max-password (no call center account)", flush=True)  # fmt: skip
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        callcenter.stop()
        if sim is not None:
            sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
