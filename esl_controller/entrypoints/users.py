"""``callcenter user add``: create a user (DB_URI; the schema is brought up to date first).

Agents get an extension and a mod_callcenter agent name (``<extension>@default`` unless
``--agent`` says otherwise), and tiers with ``--queue QUEUE[:level[:position]]``
(repeatable); the agent is then provisioned into FreeSWITCH at once when it is reachable
(else by the running controller at its next pass). ``--sip-password`` is turned into the
digest HA1 for the softphone and the FreeSWITCH directory; the SIP password itself is not
stored.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy.orm import sessionmaker

from esl_controller.entrypoints.provision import push_to_switch
from esl_controller.errors import CallCenterError
from esl_controller.services.users import UserService
from esl_controller.store.engine import database_url, make_engine
from esl_controller.store.migrate import upgrade


def run_user(args: argparse.Namespace) -> int:
    if not args.name or not args.role:
        print("usage: callcenter user add NAME --role agent|supervisor|engineer "
              "[--password P] [--extension EXT] [--agent NAME] [--sip-password S] "
              "[--queue QUEUE[:level[:position]]]...",
              file=sys.stderr)  # fmt: skip
        return 2
    password = args.password or os.environ.get("CALLCENTER_PASSWORD")
    if password is None:
        password = getpass.getpass(f"password for {args.name}: ")
    url = database_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        user = UserService(sessionmaker(engine)).add(
            args.name, args.role, password, extension=args.extension, agent=args.agent,
            display_name=args.display_name or "", sip_password=args.sip_password,
            sip_realm=os.environ.get("SIP_DOMAIN", ""), queues=args.queue or [],
        )  # fmt: skip
    except CallCenterError as exc:
        print(f"callcenter user add: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    extra = f", extension {user.extension}" if user.extension else ""
    extra += f", agent {user.agent}" if user.agent else ""
    extra += ", SIP HA1 stored" if user.sip_ha1 else ""
    extra += "".join(f", tier in {q}" for q in args.queue or [])
    print(f"user {user.username} ({user.role}{extra}) created")
    if user.agent:
        push_to_switch()
    return 0
