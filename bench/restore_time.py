"""How long after a FreeSWITCH restart every signed-in agent is back as they left it.

The controller's real parts (ESL client with its production reconnect backoff, the floor
service, the agent service and the restore worker) run in this process against the
simulator; ``--agents`` agents are signed in through the product (half Ready, half On
Break with a reason). Each round restarts the simulator (``Simulator.restart``: every
connection closed, agents reloaded Logged Out from callcenter.conf.xml, ``--down`` seconds
refusing connections) and measures, from the moment it listens again:

* reconnect: both ESL connections up;
* restored: FreeSWITCH itself reports every signed-in agent in the status they had.

The baseline in the same run is the switch's own readiness (0 s by construction), so the
figures are the product's delay on top of FreeSWITCH coming back.

    .venv/bin/python bench/restore_time.py [--rounds 10] [--agents 200] [--down 1.0]
"""

from __future__ import annotations

import argparse
import logging
import pathlib
import socket
import statistics
import sys
import time

import gevent

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from esl_controller.esl.client import EslSettings  # noqa: E402
from esl_controller.services.agents import AgentService  # noqa: E402
from esl_controller.services.link import link_floor  # noqa: E402
from esl_controller.services.restore import RestoreService  # noqa: E402
from esl_controller.simulator.wire.simulator import Simulator  # noqa: E402

CONF = ROOT / "freeswitch_conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--down", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    port = free_port()
    sim = Simulator(port=port, conf_dir=CONF)
    sim.start()
    # Runtime agents beyond the configuration's, as a bigger floor would have; added to
    # the configuration's XML would be truer, but truncate-agents-on-load keeps only the
    # XML's agents, so these are re-added after each restart below (as provisioning would).
    client, floor = link_floor(EslSettings(port=port))  # production backoff
    agents = AgentService(client.api, floor)
    restore = RestoreService(client.api, floor, agents)
    floor.listeners.append(restore.on_changes)
    floor.start()
    restore.start()
    client.start()
    assert client.wait_connected(10)
    names = sorted(sim.callcenter.tables.agents)
    extra = max(0, args.agents - len(names))
    added = [f"{3000 + i}@default" for i in range(extra)]

    def provision() -> None:
        for name in added:
            sim.execute_api(f"callcenter_config agent add {name} Callback")

    provision()
    signed = names + added
    for index, name in enumerate(signed):
        agents.login(name)
        if index % 2 == 0:
            agents.ready(name)
        else:
            agents.not_ready(name, "Lunch")
    want = {n: ("Available" if i % 2 == 0 else "On Break") for i, n in enumerate(signed)}
    gevent.sleep(1.0)
    reconnects, restored = [], []
    for _ in range(args.rounds):
        sim.restart(down=args.down)
        provision()  # the runtime agents exist again, Logged Out, as after a real restart
        ready = time.monotonic()
        while not client.health.connected:
            gevent.sleep(0.005)
        reconnects.append(time.monotonic() - ready)
        deadline = time.monotonic() + 30
        while True:
            tables = sim.callcenter.tables.agents
            wrong = [n for n, s in want.items() if n in tables and tables[n].status != s]
            if not wrong:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not restored within 30 s: {wrong[:5]}")
            gevent.sleep(0.005)
        restored.append(time.monotonic() - ready)
        gevent.sleep(0.5)
    client.stop()
    floor.stop()
    restore.stop()
    sim.stop()

    def line(label: str, values: list[float]) -> str:
        return (f"{label:<10} median {statistics.median(values):.2f} s, "
                f"max {max(values):.2f} s")  # fmt: skip

    print(f"{len(signed)} signed-in agents, {args.rounds} restarts, {args.down:g} s down each")
    print(line("reconnect", reconnects))
    print(line("restored", restored))


if __name__ == "__main__":
    main()
