"""The ``callcenter`` command line (see DESIGN.md §3)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="dashboard + controller")
    serve.add_argument("--simulate", action="store_true")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    sim = sub.add_parser("simulate", help="the FreeSWITCH simulator alone")
    sim.add_argument("--port", type=int, default=8021)
    sim.add_argument("--password", default="ClueCon")
    sim.add_argument("--conf", default="freeswitch_conf")
    sim.add_argument("--agents", type=int, default=0)
    sim.add_argument("--calls-per-minute", type=float, default=0.0)
    sim.add_argument("--seed", type=int, default=None)
    console = sub.add_parser("console", help="terminal ESL console")
    console.add_argument("-x", dest="execute", default=None)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade"])
    user = sub.add_parser("user", help="users")
    user.add_argument("action", choices=["add"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"callcenter {args.command}: not built yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
