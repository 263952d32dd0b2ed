"""Soak: simulator traffic through the whole controller for a chosen time; is it flat?

Three processes, as in production: the simulator (``callcenter simulate`` with logged-in
agents and Poisson callers), the controller (``callcenter serve``: ESL link, floor,
recorder on SQLite, dashboard, reconcile loop) pointed at it, and this script, which signs
in ``--dashboards`` supervisors over HTTP and keeps their Socket.IO connections open (so
the publisher encodes packets all along). Every ``--interval`` seconds it prints the
controller's RSS and open file descriptors (from /proc), the simulator's RSS, the calls
recorded so far and the Socket.IO messages received; at the end a verdict on growth
after warm-up (RSS within max(8 MB, 5 %) and descriptors within 5 of the first sample
after warm-up, plus the RSS slope per hour over that period).

    .venv/bin/python bench/soak.py [--minutes 10] [--agents 60] [--calls-per-minute 240]

README's figures use ``--minutes 60``. The default is short so it can be tried quickly.
``--restart-every M`` also restarts the simulated FreeSWITCH every M minutes
(``sim_restart``, 2 s down): the controller must reconnect by itself each time, and the
growth verdict then covers reconnects and resyncs too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
import socketio

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "esl_controller.cli"]
SUPERVISOR = ("soak", "soak-password-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Dashboards:
    """Supervisors' Socket.IO connections, counting what the controller pushes."""

    url: str
    count: int
    received: int = 0
    clients: list[socketio.Client] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> None:
        for _ in range(self.count):
            http = requests.Session()
            reply = http.post(f"{self.url}/call-center/api/agent/login",
                              json={"username": SUPERVISOR[0], "password": SUPERVISOR[1]},
                              timeout=10)  # fmt: skip
            reply.raise_for_status()
            client = socketio.Client(http_session=http, reconnection=True)
            client.on("*", self._count)
            # Long-polling (the websocket-client package is not a dependency): every
            # packet is still encoded by the server's Socket.IO and delivered.
            client.connect(self.url, transports=["polling"], wait_timeout=10)
            self.clients.append(client)

    def _count(self, event: str, *args: object) -> None:
        with self._lock:
            self.received += 1

    def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.disconnect()


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def restart_switch(port: int, down: float = 2.0) -> str:
    """``api sim_restart`` over a raw ESL connection; returns the reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"auth ClueCon\n\napi sim_restart " + str(down).encode() + b"\n\n")
        data = b""
        while b"+OK restarting" not in data and b"-ERR" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    return "+OK" if b"+OK restarting" in data else data.decode(errors="replace")[-80:]


def calls_recorded(db: pathlib.Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM cc_calls").fetchone()[0])
    except sqlite3.Error:
        return -1


@contextlib.contextmanager
def processes(
    args: argparse.Namespace, work: pathlib.Path
) -> Iterator[tuple[subprocess.Popen, subprocess.Popen, str, pathlib.Path]]:  # type: ignore[type-arg]  # noqa: E501
    db = work / "soak.db"
    esl_port, web_port = free_port(), free_port()
    env = dict(os.environ, DB_URI=f"sqlite:///{db}", ESL_HOST="127.0.0.1",
               ESL_PORT=str(esl_port), ESL_PASSWORD="ClueCon", PYTHONUNBUFFERED="1")  # fmt: skip
    logs = (work / "simulator.log").open("w"), (work / "serve.log").open("w")
    sim = subprocess.Popen(
        [*CLI, "simulate", "--port", str(esl_port), "--agents", str(args.agents),
         "--calls-per-minute", str(args.calls_per_minute), "--seed", "7",
         "--conf", str(ROOT / "freeswitch_conf")],
        cwd=work, env=env, stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    serve = None
    try:
        subprocess.run([*CLI, "db", "upgrade"], cwd=work, env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([*CLI, "user", "add", SUPERVISOR[0], "--role", "supervisor",
                        "--password", SUPERVISOR[1]],
                       cwd=work, env=env, check=True, capture_output=True)  # fmt: skip
        serve = subprocess.Popen([*CLI, "serve", "--port", str(web_port)], cwd=work, env=env,
                                 stdout=logs[1], stderr=subprocess.STDOUT)  # fmt: skip
        url = f"http://127.0.0.1:{web_port}"
        wait_for(lambda: healthy(url), 60, "the controller's /health to say connected")
        yield sim, serve, url, db, esl_port
    finally:
        for proc in (serve, sim):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=15)
                if proc.poll() is None:
                    proc.kill()
        for log in logs:
            log.close()


def verdict(samples: list[tuple[float, float, int]], warmup: float) -> tuple[bool, str]:
    """samples: (minutes, RSS MB, fds). Growth after warm-up, and the RSS slope."""
    after = [s for s in samples if s[0] >= warmup] or samples[-1:]
    first, last = after[0], after[-1]
    growth, fd_growth = last[1] - first[1], last[2] - first[2]
    slope = 0.0
    if len(after) >= 2:
        n = len(after)
        mean_t = sum(s[0] for s in after) / n
        mean_r = sum(s[1] for s in after) / n
        var = sum((s[0] - mean_t) ** 2 for s in after)
        slope = sum((s[0] - mean_t) * (s[1] - mean_r) for s in after) / var * 60 if var else 0.0
    flat = growth <= max(8.0, 0.05 * first[1]) and fd_growth <= 5
    text = (f"RSS {first[1]:.1f} -> {last[1]:.1f} MB ({growth:+.1f} MB, slope {slope:+.1f} MB/h) "
            f"and fds {first[2]} -> {last[2]} ({fd_growth:+d}) from minute {first[0]:.0f} "
            f"to {last[0]:.0f}")  # fmt: skip
    return flat, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long (60 for README)")
    parser.add_argument("--agents", type=int, default=60, help="simulated agents logged in")
    parser.add_argument("--calls-per-minute", type=float, default=240.0)
    parser.add_argument("--dashboards", type=int, default=3, help="supervisor Socket.IO clients")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--restart-every", type=float, default=0.0,
                        help="minutes between simulated FreeSWITCH restarts (0: none)")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=None,
                        help="minutes before growth is judged (1/5 by default)")  # fmt: skip
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else max(1.0, args.minutes / 5)
    print(f"soak: {args.minutes:g} min, {args.agents} simulated agents, "
          f"{args.calls_per_minute:g} calls/min, {args.dashboards} supervisor dashboards, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    samples: list[tuple[float, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = pathlib.Path(tmp)
        with processes(args, work) as (sim, serve, url, db, esl_port):
            dashboards = Dashboards(url, args.dashboards)
            dashboards.open()
            start = time.monotonic()
            cpu0 = cpu_seconds(serve.pid)
            print("minute  controller RSS MB  fds  CPU %  simulator RSS MB  calls recorded  "
                  "socket.io messages  health", flush=True)  # fmt: skip
            next_at = start
            last_cpu, last_t = cpu0, start
            restarts: list[str] = []
            next_restart = start + args.restart_every * 60 if args.restart_every > 0 else None
            while True:
                now = time.monotonic()
                elapsed = (now - start) / 60
                if serve.poll() is not None or sim.poll() is not None:
                    print("a process died: see", work, flush=True)
                    return 1
                cpu = cpu_seconds(serve.pid)
                share = 100 * (cpu - last_cpu) / max(1e-6, now - last_t)
                last_cpu, last_t = cpu, now
                sample = (elapsed, rss_mb(serve.pid), open_fds(serve.pid))
                samples.append(sample)
                print(f"{elapsed:6.1f}  {sample[1]:17.1f}  {sample[2]:3d}  {share:5.1f}  "
                      f"{rss_mb(sim.pid):16.1f}  {calls_recorded(db):14d}  "
                      f"{dashboards.received:18d}  {'ok' if healthy(url) else 'DOWN'}",
                      flush=True)  # fmt: skip
                if elapsed >= args.minutes:
                    break
                next_at += args.interval
                end = start + args.minutes * 60
                while next_restart is not None and next_restart < min(next_at, end):
                    time.sleep(max(0.0, next_restart - time.monotonic()))
                    restarts.append(restart_switch(esl_port))
                    print(f"  restart {len(restarts)} of the simulated FreeSWITCH: {restarts[-1]}",
                          flush=True)  # fmt: skip
                    next_restart += args.restart_every * 60
                time.sleep(max(0.0, min(next_at, end) - time.monotonic()))
            dashboards.close()
            total_cpu = cpu_seconds(serve.pid) - cpu0
    flat, text = verdict(samples, warmup)
    minutes = samples[-1][0] if samples else 0
    print(f"controller CPU: {100 * total_cpu / max(1e-6, minutes * 60):.1f} % of a core on average")
    if args.restart_every > 0:
        print(f"simulated FreeSWITCH restarts: {len(restarts)} "
              f"({sum(r == '+OK' for r in restarts)} accepted)")  # fmt: skip
    print(f"verdict: {'flat' if flat else 'GROWING'}: {text}")
    return 0 if flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
