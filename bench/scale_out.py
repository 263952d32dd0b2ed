"""Scale-out bench over the reference deployment (deploy/trial.py): the same supervisor
pages and the same feed of agent status changes through nginx with one web worker, then
with two (same machine, same run), and the controller take-over time over ``--kills``
kills (``kill -9``) of the active controller.

Pages: ``--pages`` supervisor sessions signed in through nginx (each its own route
cookie, so spread over the workers), each a Socket.IO connection (websocket transport)
from the Node clients of bench/scale_out_clients.mjs. Feed: ``--rate`` status changes a
second for ``--seconds`` (``callcenter_config agent set status`` over ESL to the
simulator, round-robin over ``--agents`` simulated agents, alternating Available / On
Break); a change's latency is from the moment the bench sends it to FreeSWITCH (the
simulator) to its arrival in a page's ``floor_batch`` (same clock): FreeSWITCH event ->
controller floor -> Redis -> web worker -> nginx -> page.

Printed per configuration: pages, changes measured / lost, p50 / p99 / max (ms), CPU of
each web worker and of the controller; then ``ratio p99 1 worker / 2 workers`` (> 1: the
second worker helps at this load). Take-over: from the kill to the standby's /health
saying active and connected to FreeSWITCH (lease ``--lease-ttl`` s); median and max; the
killed controller is started again as the new standby between kills.

The machine is shared (the load generator, nginx, Redis and every process run on it):
read figures as this run's, not the product's ceiling.

    .venv/bin/python bench/scale_out.py [--pages 100] [--rate 20] [--seconds 20]
        [--agents 200] [--kills 10] [--lease-ttl 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT))

import trial  # noqa: E402  (deploy/trial.py)

from tests.browser.esl_api import EslApi  # noqa: E402

CLIENTS = ROOT / "bench" / "scale_out_clients.mjs"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def start(web: int, agents: int, lease_ttl: float, controllers: int = 1) -> trial.Deployment:
    instance = tempfile.mkdtemp(prefix="bench-scale-out-")
    args = trial.parse(["--port", "0", "--instance", instance, "--web", str(web),
                        "--controllers", str(controllers), "--agents", str(agents),
                        "--calls-per-minute", "0", "--lease-ttl", str(lease_ttl)])  # fmt: skip
    deployment = trial.Deployment(args)
    deployment.start_all()
    return deployment


def supervisor_cookies(url: str, count: int) -> list[str]:
    """``count`` signed-in supervisor sessions through nginx (route cookie included)."""
    cookies = []
    for _ in range(count):
        http = requests.Session()
        reply = http.post(f"{url}/call-center/api/agent/login", timeout=30,
                          json={"username": "sue", "password": "sue-demo-1"})  # fmt: skip
        reply.raise_for_status()
        cookies.append("; ".join(f"{k}={v}" for k, v in http.cookies.items()))
    return cookies


def simulated_agents(esl: EslApi, count: int) -> list[str]:
    lines = esl.api("callcenter_config agent list").splitlines()
    names = [line.split("|")[0] for line in lines[1:] if "|" in line and "@" in line]
    demo = {"1000@default", "1001@default"}  # the demo users' agents
    return [n for n in names if n not in demo][:count]


def feed(esl: EslApi, agents: list[str], rate: float, seconds: float) -> list[list[Any]]:
    """Status changes on an absolute schedule; returns [agent, status, sent at]."""
    fed: list[list[Any]] = []
    status = dict.fromkeys(agents, "Available")
    start_at = time.monotonic()
    for k in range(int(rate * seconds)):
        due = start_at + k / rate
        time.sleep(max(0.0, due - time.monotonic()))
        agent = agents[k % len(agents)]
        status[agent] = "On Break" if status[agent] == "Available" else "Available"
        sent = time.time()
        esl.ok(f"callcenter_config agent set status {agent} '{status[agent]}'")
        fed.append([agent, status[agent], sent])
    return fed


def measure(deployment: trial.Deployment, args: argparse.Namespace) -> dict[str, Any]:
    url = f"http://127.0.0.1:{deployment.port}"
    esl = EslApi(deployment.esl_port)
    agents = simulated_agents(esl, args.agents)
    cookies = Path(deployment.instance) / "cookies.json"
    cookies.write_text(json.dumps(supervisor_cookies(url, args.pages)))
    node = subprocess.Popen(["node", str(CLIENTS), url, str(cookies)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert node.stdout is not None and node.stdin is not None
    ready = json.loads(node.stdout.readline())
    assert ready.get("ready") == args.pages, ready
    time.sleep(2)  # the pages' snapshots are in
    webs = {n: p.pid for n, p in deployment.processes.items() if n.startswith("web-")}
    ctrl = deployment.processes["controller-1"].pid
    cpu0 = {n: cpu_seconds(pid) for n, pid in webs.items()} | {"controller": cpu_seconds(ctrl)}
    busy0, wall0, t0 = *machine_busy(), time.monotonic()
    fed = feed(esl, agents, args.rate, args.seconds)
    time.sleep(3)  # the last changes arrive
    took = time.monotonic() - t0
    busy1, wall1 = machine_busy()
    cpu = {n: (cpu_seconds(pid) - cpu0[n]) / took for n, pid in webs.items()}
    cpu["controller"] = (cpu_seconds(ctrl) - cpu0["controller"]) / took
    node.stdin.write(json.dumps({"fed": fed}) + "\n")
    node.stdin.flush()
    result = json.loads(node.stdout.readline())
    node.wait(30)
    return result | {"cpu": cpu, "machine": (busy1 - busy0) / (wall1 - wall0)}


def describe(web: int, pages: int, r: dict[str, Any]) -> str:
    cpu = ", ".join(f"{n} {v:.0%}" for n, v in r["cpu"].items())
    return (f"{web} web worker(s), {pages} pages: {r['received']} changes measured, "
            f"{r['lost']} lost; p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, "
            f"max {r['max']:.0f} ms; "
            f"CPU (of one core): {cpu}; whole machine {r['machine']:.0%} busy")  # fmt: skip


def take_over(deployment: trial.Deployment, kills: int) -> list[float]:
    times = []
    names = ["controller-1", "controller-2"]
    for _ in range(kills):
        health = {n: health_of(deployment, n) for n in names}
        active = next(n for n in names if health[n].get("role") == "active")
        standby = next(n for n in names if n != active)
        deployment.wait_health(standby, lambda body: body.get("role") == "standby")
        killed = time.monotonic()
        os.kill(deployment.processes[active].pid, signal.SIGKILL)
        deployment.processes[active].wait()
        while True:
            body = health_of(deployment, standby)
            if body.get("role") == "active" and body.get("http") == 200:
                break
            if time.monotonic() - killed > 60:
                raise SystemExit(f"{standby} did not take over within 60 s")
            time.sleep(0.02)
        times.append(time.monotonic() - killed)
        print(f"  take-over {len(times)}: {times[-1]:.2f} s ({active} killed)", flush=True)
        deployment.start_controller(active)  # the new standby
    return times


def health_of(deployment: trial.Deployment, name: str) -> dict[str, Any]:
    try:
        url = f"http://127.0.0.1:{deployment.ports[name]}/health"
        reply = requests.get(url, timeout=2)
        return dict(reply.json()) | {"http": reply.status_code}
    except (requests.RequestException, ValueError):
        return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="status changes a second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease-ttl", type=float, default=3.0)
    args = parser.parse_args()
    print(f"scale_out: {args.pages} supervisor pages, {args.rate:g} changes/s for "
          f"{args.seconds:g} s over {args.agents} agents; {os.cpu_count()} CPUs, shared",
          flush=True)  # fmt: skip
    results = {}
    for web in (1, 2):
        deployment = start(web, args.agents, args.lease_ttl)
        try:
            results[web] = measure(deployment, args)
            print(describe(web, args.pages, results[web]), flush=True)
        finally:
            deployment.stop_all()
    if results[1]["p99"] and results[2]["p99"]:
        print(f"ratio p99 1 worker / 2 workers: {results[1]['p99'] / results[2]['p99']:.2f}")
    if args.kills:
        deployment = start(1, 10, args.lease_ttl, controllers=2)
        try:
            times = take_over(deployment, args.kills)
        finally:
            deployment.stop_all()
        print(f"take-over over {len(times)} kills -9 (lease {args.lease_ttl:g} s): median "
              f"{statistics.median(times):.2f} s, max {max(times):.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
