"""The ``callcenter`` command line (DESIGN.md §3).

gevent's monkey-patching must happen before anything imports sockets, ssl or database
drivers, so this module imports only the standard library at the top and patches in
:func:`main` before loading the rest.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter", description="Contact center on FreeSWITCH mod_callcenter."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="dashboard + controller")
    serve.add_argument("--simulate", action="store_true", help="run an in-process simulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--conf", default=None, help="FreeSWITCH conf dir for --simulate")
    serve.add_argument("--calls-per-minute", type=float, default=4.0,
                       help="--simulate: demo callers per minute (0: none)")  # fmt: skip
    serve.add_argument("--agents", type=int, default=None,
                       help="--simulate: simulated agents taking calls besides the demo "
                            "users (default: every agent of the configuration)")  # fmt: skip
    serve.add_argument(
        "--role", choices=["both", "web", "controller"], default="both",
        help="both (default): one process does everything; web: pages, API and Socket.IO "
        "over REDIS_URL (any number); controller: the ESL link, one active by a lease in "
        "Redis (--port serves /health)",
    )  # fmt: skip

    sim = sub.add_parser("simulate", help="the FreeSWITCH simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8021)
    sim.add_argument("--password", default="ClueCon")
    sim.add_argument("--conf", default=None, help="FreeSWITCH conf dir (default freeswitch_conf/)")
    sim.add_argument("--agents", type=int, default=0)
    sim.add_argument("--calls-per-minute", type=float, default=0.0)
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--heartbeat", type=float, default=20.0, help="HEARTBEAT interval, s")
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    sim.add_argument("--duration", type=float, default=None,
                     help="stop after this many simulated seconds and print a summary")  # fmt: skip

    console = sub.add_parser("console", help="terminal ESL console (like fs_cli)")
    console.add_argument("-x", dest="execute", default=None, help="run one command and exit")
    console.add_argument("--user", default=None,
                         help="sign in as this engineer (password asked, or CALLCENTER_PASSWORD); "
                         "the audit log names them")  # fmt: skip

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade"])

    user = sub.add_parser("user", help="users")
    user.add_argument("action", choices=["add"])
    user.add_argument("name", nargs="?")
    user.add_argument("--role", choices=["agent", "supervisor", "engineer"])
    user.add_argument("--password")
    user.add_argument("--extension")
    user.add_argument("--agent", help="mod_callcenter agent name (default EXT@default)")
    user.add_argument("--display-name", dest="display_name")
    user.add_argument("--sip-password", dest="sip_password",
                      help="stored only as the digest HA1 (realm SIP_DOMAIN)")  # fmt: skip
    user.add_argument("--queue", action="append", metavar="QUEUE[:LEVEL[:POSITION]]",
                      help="agents: a tier in this queue (repeatable)")  # fmt: skip
    add_provisioning_commands(sub)
    conf = sub.add_parser("conf", help="check a FreeSWITCH configuration against the product")
    conf.add_argument("action", choices=["check"])
    conf.add_argument(
        "dir",
        nargs="?",
        default=None,
        help="the folder holding freeswitch.xml (default: freeswitch_conf/)",
    )
    conf.add_argument(
        "--url",
        default=None,
        help="where `callcenter serve` listens "
        "(default CALLCENTER_URL, else http://127.0.0.1:5000)",
    )
    conf.add_argument("--certs", default=None, help="FreeSWITCH's certs_dir (-certs)")
    return parser


def add_provisioning_commands(sub: argparse._SubParsersAction) -> None:
    """``callcenter agent|queue|tier list/add/set/del`` and ``callcenter import``."""
    agent = sub.add_parser("agent", help="mod_callcenter agents owned by the product")
    agent.add_argument("action", choices=["list", "add", "set", "del"])
    agent.add_argument("name", nargs="?")
    agent.add_argument("--user", help="the user who works as this agent")
    agent.add_argument("--contact", help="dial string (default user/EXT@SIP_DOMAIN)")
    agent.add_argument("--type", choices=["callback", "uuid-standby"])
    agent.add_argument("--node", help="the FreeSWITCH node it lives on (an ESL_NODES name; "
                       "'' for the first node)")  # fmt: skip
    for option in ("max-no-answer", "wrap-up-time", "reject-delay-time", "busy-delay-time",
                   "no-answer-delay-time"):  # fmt: skip
        agent.add_argument(f"--{option}", dest=option.replace("-", "_"))
    queue = sub.add_parser("queue", help="mod_callcenter queues owned by the product")
    queue.add_argument("action", choices=["list", "add", "set", "del", "reload", "xml"],
                       help="xml: print callcenter.conf from the database")  # fmt: skip
    queue.add_argument("name", nargs="?")
    queue.add_argument("--strategy")
    queue.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="any queue parameter, e.g. max-wait-time=120 (repeatable)")  # fmt: skip
    tier = sub.add_parser("tier", help="agents' places in queues")
    tier.add_argument("action", choices=["list", "add", "set", "del"])
    tier.add_argument("queue", nargs="?")
    tier.add_argument("agent", nargs="?")
    tier.add_argument("--level")
    tier.add_argument("--position")
    imp = sub.add_parser("import", help="import agents.csv or customers.csv (all or nothing)")
    imp.add_argument("file", help="a CSV file with a header row")
    imp.add_argument("--kind", choices=["agents", "customers"],
                     help="default: from the file name (agents*.csv, customers*.csv)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from gevent import monkey

    monkey.patch_all()
    from esl_controller.store.engine import enable_gevent_db

    enable_gevent_db()  # psycopg2 is C: without this a PostgreSQL query stalls the hub

    if args.command == "serve":
        from esl_controller.entrypoints.serve import run_serve

        return run_serve(args)
    if args.command == "simulate":
        from esl_controller.entrypoints.simulate import run_simulate

        return run_simulate(args)
    if args.command == "db":
        from esl_controller.entrypoints.db import run_db

        return run_db(args)
    if args.command == "console":
        from esl_controller.entrypoints.console import run_console

        return run_console(args)
    if args.command == "user":
        from esl_controller.entrypoints.users import run_user

        return run_user(args)
    if args.command == "conf":
        from esl_controller.entrypoints.conf_check import run_conf_check

        return run_conf_check(args)
    if args.command in ("agent", "queue", "tier", "import"):
        from esl_controller.entrypoints.provision import run_provisioning_command

        return run_provisioning_command(args)
    print(f"callcenter: unknown command {args.command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
