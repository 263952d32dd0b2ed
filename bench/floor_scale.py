"""Floor scale: one controller (``serve --role controller``) fed a floor of ``--agents``
agents (10,000) and ``--calls`` concurrent calls (5,000) by the FreeSWITCH simulator, in
the reference deployment (deploy/trial.py: one web worker behind nginx, Redis, SQLite).

Measured, on the controller process alone (from /proc): its CPU share (of one core) while
the calls are up and ``--rate`` agent status changes a second are fed for ``--seconds``,
and its largest RSS over the run; event -> supervisor page p99 over that window (the
change sent to the simulator over ESL -> the controller's floor -> Redis -> the web
worker -> nginx -> ``--pages`` supervisor pages' ``floor_batch``, bench/scale_out_clients.mjs);
resync time: the simulator drops the ESL link (``sim_drop_esl``: calls, members and agents
stay) and the controller reconnects and reads the whole floor again — from the drop to
/health connected, and to a change sent right after that reconnect reaching the pages
(the floor applies events buffered during a resync only once it is done).

The callers are patient (``sim_caller``: queued until an agent answers) and talk for 20
simulated hours on average (``sim_traffic talk``), so the calls placed stay up through
the window; the concurrent count (the controller's floor) is printed with the figures.
Goal (issue 14): under one core and 300 MB.

The simulator, the web worker, nginx, Redis and the Node clients share the machine with
the controller (and, here, with other work): the figures are this run's.

    .venv/bin/python bench/floor_scale.py [--agents 10000] [--calls 5000] [--pages 5]
        [--rate 20] [--seconds 20] [--speed 0.5]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from scale_out import (  # bench/scale_out.py (this script's directory is on sys.path)
    CLIENTS,
    ROOT,
    cpu_seconds,
    feed,
    health_of,
    rss_mb,
    simulated_agents,
    supervisor_cookies,
    trial,
)

from tests.browser.esl_api import EslApi

# freeswitch_conf's support (longest-idle-agent) and billing (top-down) queues. Not sales
# (5001): ring-all rings every available agent of the queue for each caller, thousands of
# phone legs per call at this size, which is mod_callcenter's behaviour but not a floor.
QUEUE_EXTENSIONS = ("5000", "5002")
# Mean talk time of the callers in simulated seconds: long enough that nearly every call
# placed is still up when the window ends (exponential talk times).
MEAN_TALK = 20 * 3600


class Esl(EslApi):
    """One authenticated ESL connection for many ``api`` commands in a row."""

    def __enter__(self) -> Esl:
        self.sock = socket.create_connection(self.address, timeout=30)
        self.stream = self.sock.makefile("rb")
        self._read(self.stream)
        self.sock.sendall(f"auth {self.password}\n\n".encode())
        self._read(self.stream)
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def run(self, command: str) -> str:
        self.sock.sendall(f"api {command}\n\n".encode())
        return self._read(self.stream)[1]


class Floor:
    """The floor as a supervisor's REST client sees it (GET /call-center/api/floor)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        sue = {"username": "sue", "password": "sue-demo-1"}
        reply = self.http.post(f"{url}/call-center/api/agent/login", json=sue, timeout=30)
        reply.raise_for_status()

    def counts(self) -> tuple[int, int]:
        """(agents, calls) on the controller's floor."""
        body = self.http.get(f"{self.url}/call-center/api/floor", timeout=60).json()
        return len(body["agents"]), len(body["calls"])


class RssWatch(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--speed", type=float, default=0.5)
    args = parser.parse_args()
    print(f"floor_scale: {args.agents} agents, {args.calls} callers, {args.pages} supervisor "
          f"pages, {args.rate:g} changes/s for {args.seconds:g} s, simulator speed "
          f"{args.speed:g}; shared machine", flush=True)  # fmt: skip
    instance = tempfile.mkdtemp(prefix="bench-floor-scale-")
    opts = trial.parse(["--port", "0", "--instance", instance, "--web", "1",
                        "--controllers", "1", "--agents", str(args.agents),
                        "--calls-per-minute", "0", "--speed", str(args.speed)])  # fmt: skip
    deployment = trial.Deployment(opts)
    began = time.monotonic()
    deployment.start_all()
    ctrl = deployment.processes["controller-1"].pid
    watch = RssWatch(ctrl)
    watch.start()
    print(f"up in {time.monotonic() - began:.1f} s (controller active and resynced with "
          f"{args.agents} agents); controller RSS {rss_mb(ctrl):.0f} MB", flush=True)  # fmt: skip
    node = None
    try:
        esl = EslApi(deployment.esl_port)
        agents = simulated_agents(esl, 400)
        placed, placing_cpu = time.monotonic(), cpu_seconds(ctrl)
        with Esl(deployment.esl_port) as conn:
            conn.run(f"sim_traffic talk {MEAN_TALK}")
            for i in range(args.calls):
                extension = QUEUE_EXTENSIONS[i % len(QUEUE_EXTENSIONS)]
                conn.run(f"sim_caller {extension} 555{i:07d} Caller")
        print(f"{args.calls} callers placed in {time.monotonic() - placed:.1f} s", flush=True)
        url = f"http://127.0.0.1:{deployment.port}"
        floor = Floor(url)
        deadline = time.monotonic() + 180
        on_floor, up = floor.counts()
        while up < args.calls * 0.95 and time.monotonic() < deadline:
            time.sleep(5)
            on_floor, up = floor.counts()
        busy = (cpu_seconds(ctrl) - placing_cpu) / (time.monotonic() - placed)
        print(f"the controller's floor: {on_floor} agents, {up} calls; controller RSS "
              f"{rss_mb(ctrl):.0f} MB; CPU {busy:.0%} of one core while the callers were "
              "placed and answered", flush=True)  # fmt: skip
        cookies = Path(instance) / "cookies.json"
        cookies.write_text(json.dumps(supervisor_cookies(url, args.pages)))
        command = ["node", str(CLIENTS), url, str(cookies)]
        node = subprocess.Popen(command, cwd=ROOT, text=True, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)  # fmt: skip
        assert node.stdout is not None and node.stdin is not None
        ready = json.loads(node.stdout.readline())
        assert ready.get("ready") == args.pages, ready
        time.sleep(2)

        cpu0, t0 = cpu_seconds(ctrl), time.monotonic()
        fed = feed(esl, agents, args.rate, args.seconds)
        time.sleep(2)
        cpu = (cpu_seconds(ctrl) - cpu0) / (time.monotonic() - t0)
        up_after = floor.counts()[1]

        def ask(changes: list[list[Any]]) -> dict[str, Any]:
            assert node is not None and node.stdin is not None and node.stdout is not None
            node.stdin.write(json.dumps({"fed": changes, "exit": False}) + "\n")
            node.stdin.flush()
            return dict(json.loads(node.stdout.readline()))

        pages = ask(fed)
        p50, p99, top = (f"{pages[k]:.0f}" if pages[k] is not None else "-"
                         for k in ("p50", "p99", "max"))  # fmt: skip
        print(f"window: controller CPU {cpu:.0%} of one core; calls up {up} -> {up_after}; "
              f"event -> supervisor page: {pages['received']} measured, {pages['lost']} "
              f"lost, p50 {p50} ms, p99 {p99} ms, max {top} ms", flush=True)  # fmt: skip

        # Resync: the ESL link dropped under the full floor.
        def reconnected(after: float) -> bool:
            link = health_of(deployment, "controller-1").get("freeswitch", {})
            return bool(link.get("connected")) and float(link.get("since") or 0) >= after

        dropped = time.time()
        esl.api("sim_drop_esl")
        deadline = time.monotonic() + 120
        while not reconnected(dropped) and time.monotonic() < deadline:
            time.sleep(0.02)
        connected = time.time() - dropped
        probe = agents[0]
        status = "Logged Out"  # a status the feed never set: its first view is the probe's
        esl.ok(f"callcenter_config agent set status {probe} '{status}'")
        deadline = time.monotonic() + 120
        resync = None
        while time.monotonic() < deadline:
            answer = ask([[probe, status, dropped]])
            if answer["received"] == args.pages:
                resync = answer["max"] / 1000
                break
            time.sleep(0.2)
        print(f"resync after sim_drop_esl: /health connected {connected:.2f} s, a change "
              f"made then on every page {resync if resync is None else f'{resync:.2f}'} s",
              flush=True)  # fmt: skip
        watch.running = False
        watch.join()
        print(f"controller RSS max {watch.peak:.0f} MB (now {rss_mb(ctrl):.0f} MB); "
              f"goal: under one core and 300 MB", flush=True)  # fmt: skip
    finally:
        if node is not None and node.stdin is not None:
            node.stdin.close()
            node.kill()
            node.wait(10)
        deployment.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
