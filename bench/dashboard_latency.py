"""FreeSWITCH event -> browser latency through the dashboard's Publisher, against bare
Flask-SocketIO on the same server, clients and rate, in one run (DESIGN §6: p99 <= 50 ms
with 500 connected dashboards at 2,000 events/s).

Server (this process, gevent monkey-patched first): Flask + SocketIO(async_mode="gevent",
simple-websocket) on gevent.pywsgi.WSGIServer at 127.0.0.1:<free port>. Clients: one Node
process (bench/latency_clients.mjs, socket.io-client, websocket transport only) opens
``--agents`` agent dashboards (``1000@default``.., each in its own ``agent:<name>`` room)
and ``--supervisors`` supervisor dashboards (room ``supervisors``: every change; the
product sends them the floor batched, one ``floor_batch`` every 20 ms).

Phases, in this order, each ``--warmup`` + ``--seconds`` long at ``--rate`` events/s on an
absolute schedule, round-robin over the agents:

* baseline: bare Flask-SocketIO. The feeder greenlet calls ``socketio.emit("agent",
  {"t": time.time()}, to=[agent room, supervisors])``: no floor, no Publisher.
* ours: the product path. The feeder applies typed mod_callcenter events
  (AgentStatusChanged / AgentStateChanged, alternating, ``Meta.timestamp = time.time()``)
  to a :class:`Floor` and hands its changes to ``Publisher.on_changes`` exactly as the
  floor service does; the Publisher's greenlet builds the ``AgentOut`` payloads, emits
  each to the agent's room and sends the supervisors a batch every 20 ms. The floor
  starts with every agent on a break and idle, and the feed goes on across rounds where
  the last left it, so every event fed is a change (a repeat of an agent's current status
  or state is rightly not emitted, and would count as lost).

permessage-deflate: by default the clients do not offer it. Browsers do, and
simple-websocket then compresses every frame (a few microseconds a frame in this process),
but Node's ``ws`` inflates each socket's frames one at a time on libuv's threadpool (at
most 10 at once, process-wide), so with it on the Node process, not the server, caps what
one supervisor socket can take (~1,000 frames/s here) and needs about a core by itself
at 12,000 frames/s: on a small machine that measures the load generator. ``--deflate``
turns it on (the server then does the browsers' compression work; the client adds its
own delay). ``--rounds`` alternates the two phases several times and pools each phase's
samples (fairer when other work on the machine comes and goes).

Each change fed is (agent, field, send time): ``t`` for the baseline, otherwise the
``status_since`` / ``state_since`` it sets. A client has it when the first view of that
agent carrying that field at or after the send time arrives (an ``agent`` event, or the
``floor_batch`` that carries it): latency = arrival (``Date.now()``, same machine clock) -
send time; a change no view ever carries is lost. That is feed -> floor -> publisher ->
Socket.IO -> websocket -> client callback; ESL parsing is not in it (bench/pipeline.py
covers that path's cost). Changes fed during the warm-up are counted (every one must
arrive: losses are printed) but not in the percentiles.

Out of scope: the product's session sign-in on connect (``register_socketio``). A
bench-only connect handler joins the room named by the client's ``auth`` ({agent: name} or
{supervisor: true}) with ``join_room``; no snapshot is sent on connect.

The last line is ``ratio: <baseline p99 / ours p99>``, p99 being the worse of the agent
and supervisor classes in each phase: >= 1 means the product adds no latency beyond bare
Flask-SocketIO on this machine, at this load. Also printed, per phase, to tell where time
went: CPU of this process and of the Node clients, how busy the whole machine was (other
work included), how late the feeder ran behind its schedule (this process stalled), GC
pauses, the Node event loop's worst stall, and for ours the server's share (feed ->
Publisher emit of the agent event and of the batch carrying it; the Publisher's
SocketIO is wrapped in a pass-through that timestamps ``agent`` and ``floor_batch`` emits,
about a microsecond an agent). ``Date.now()`` has 1 ms resolution.

    .venv/bin/python bench/dashboard_latency.py [--agents 500] [--supervisors 5]
        [--rate 2000] [--seconds 10] [--warmup 2] [--rounds 1] [--deflate]
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from flask import Flask  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rooms import NodeClients, admit_by_auth, loopback_server  # noqa: E402  (bench/rooms.py)

from dashboard import events as ev  # noqa: E402
from dashboard.realtime import Publisher  # noqa: E402
from esl_controller.domain.floor import Floor  # noqa: E402
from esl_controller.esl import typed_events as te  # noqa: E402
from esl_controller.esl.client import Health  # noqa: E402

CLIENTS = ROOT / "bench" / "latency_clients.mjs"
TICK = 0.002  # the feeder wakes every 2 ms and sends what the schedule says is due
STATUSES = ("Available", "On Break")
STATES = ("Waiting", "Receiving", "In a queue call", "Idle")
CLASSES = ("agent", "supervisor")


# -- server ------------------------------------------------------------------------------


class TimedSocketIO:
    """What the Publisher sees as its SocketIO: emits pass straight through, and for each
    ``agent`` event, and each agent in a ``floor_batch``, (send time, seconds since the
    feed) is recorded: the server's share."""

    def __init__(self, socketio: SocketIO) -> None:
        self._socketio = socketio
        self.server = socketio.server
        self.waits: list[tuple[float, float]] = []  # agent events (the agent's room)
        self.batch_waits: list[tuple[float, float]] = []  # agents in batches (supervisors)

    def emit(self, event: str, data: Any, **kwargs: Any) -> None:
        if event == ev.AGENT:
            sent = max(data["status_since"] or 0.0, data["state_since"] or 0.0)
            self.waits.append((sent, time.time() - sent))
        elif event == ev.FLOOR_BATCH:
            now = time.time()
            for agent in data["agents"]:
                sent = max(agent["status_since"] or 0.0, agent["state_since"] or 0.0)
                self.batch_waits.append((sent, now - sent))
        self._socketio.emit(event, data, **kwargs)


class Server:
    def __init__(self) -> None:
        self.app = Flask(__name__)
        self.socketio = SocketIO(self.app, async_mode="gevent")
        self.floor = Floor()
        self.timed = TimedSocketIO(self.socketio)
        parts = types.SimpleNamespace(floor=self.floor, health=lambda: Health(state="connected"))
        self.publisher = Publisher(self.timed, parts)  # type: ignore[arg-type]

        admit_by_auth(self.socketio)  # bench-only: no session sign-in
        self.port, self.http = loopback_server(self.app, backlog=2048)

    def start(self) -> None:
        self.http.start()
        self.publisher.start()

    def stop(self) -> None:
        self.publisher.stop()
        self.http.stop(timeout=1)


# -- clients -----------------------------------------------------------------------------


class Clients(NodeClients):
    """bench/latency_clients.mjs: ``agents`` agent and ``supervisors`` supervisor pages."""

    def __init__(self, port: int, agents: int, supervisors: int, deflate: bool) -> None:
        url = f"http://127.0.0.1:{port}"
        mode = "deflate" if deflate else "no-deflate"
        super().__init__([str(CLIENTS), url, str(agents), str(supervisors), mode], ROOT)

    def close(self) -> None:
        try:
            self.proc.wait(timeout=3)  # it exits by itself after answering "stats"
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- load --------------------------------------------------------------------------------


class GcPauses:
    """How long the collector stops this process (every greenlet waits for it)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._began))

    def take(self) -> list[tuple[int, float]]:
        taken, self.pauses = self.pauses, []
        return taken


GC = GcPauses()


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


Fed = tuple[str, str, float]  # (agent, field: "t" | "status" | "state", send time)


def feed(rate: float, seconds: float, send: Callable[[int], Fed],
         fed: list[Fed]) -> tuple[int, float, float, float]:  # fmt: skip
    """Call ``send(i)`` for i = 0.. at ``rate``/s against an absolute schedule (a late tick
    catches up), appending what each sent to ``fed``; return (events sent, first and last
    send time, how late the feeder was at worst: a stall of this process)."""
    total = int(rate * seconds)
    start = time.perf_counter()
    sent, tick = 0, 0
    first = last = lag = 0.0
    while sent < total:
        now = time.perf_counter()
        lag = max(lag, now - (start + sent / rate))
        due = min(total, int((now - start) * rate) + 1)
        while sent < due:
            change = send(sent)
            fed.append(change)
            last = change[2]
            if sent == 0:
                first = last
            sent += 1
        tick += 1
        gevent.sleep(max(0.0, start + tick * TICK - time.perf_counter()))
    return sent, first, last, lag


def drain(name: str, clients: Clients, expected: dict[str, int],
          timeout: float) -> dict[str, Any]:  # fmt: skip
    """Wait until the clients recorded as many changes as were fed (or 3 s pass with
    nothing new, or ``timeout``: what is missing then is lost, or was coalesced into a
    later view; the stats tell which). Returns the last count answer."""
    deadline = time.perf_counter() + timeout
    last, still = None, time.perf_counter()
    while True:
        answer = clients.ask({"cmd": "count"})
        count = answer["count"]
        if all(count[c] >= expected[c] for c in expected):
            return answer
        if count != last:
            last, still = count, time.perf_counter()
        elif time.perf_counter() - still > 3.0:
            print(f"  {name}: nothing new for 3 s: {count} of {expected}")
            return answer
        if time.perf_counter() > deadline:
            print(f"  {name}: drain timed out: {count} of {expected}")
            return answer
        gevent.sleep(0.05)


def prime_floor(floor: Floor, names: list[str]) -> None:
    """A floor as after a resync, everyone signed in and on a break: the feed's first
    events (Available, then Waiting) are then changes too, so every event sent is one
    each client must get (a repeat of the current status or state emits nothing)."""
    for seq, n in enumerate(names):
        floor.apply(te.AgentStatusChanged(te.Meta(seq, time.time()), n, "On Break"))
        floor.apply(te.AgentStateChanged(te.Meta(seq, time.time()), n, "Idle"))


def floor_feeder(server: Server, names: list[str]) -> Callable[[int], Fed]:
    """The ours phase's ``send``: the next typed status or state event, round-robin over
    ``names``, applied to the server's floor and its changes handed to the Publisher as
    the floor service does. Its count goes on across rounds: each round goes on from the
    floor the last one left (ignores the phase's own index)."""
    seq = [len(names)]
    fed = [0]
    floor, on_changes = server.floor, server.publisher.on_changes

    def ours(_: int) -> Fed:
        i = fed[0]
        fed[0] += 1
        agent, k = names[i % len(names)], i // len(names)
        seq[0] += 1
        t = time.time()
        meta = te.Meta(seq[0], t)
        if k % 2 == 0:
            view: object = te.AgentStatusChanged(meta, agent, STATUSES[(k // 2) % 2])
        else:
            view = te.AgentStateChanged(meta, agent, STATES[(k // 2) % 4])
        changes = floor.apply(view)
        if changes:
            on_changes(changes)
        return agent, "status" if k % 2 == 0 else "state", t

    return ours


def run_phase(name: str, send: Callable[[int], Fed], args: argparse.Namespace,
              clients: Clients, expected: dict[str, int],
              drain_timeout: float = 15.0) -> dict[str, Any]:  # fmt: skip
    """Feed one phase (``args.warmup`` + ``args.seconds`` at ``args.rate``), then wait until
    every client class in ``expected`` got every change (an agent page its agent's, each
    of ``args.supervisors`` supervisor pages all of them), or ``drain_timeout`` passes:
    what is missing then is lost."""
    cpu0, node0, (busy0, all0) = cpu_self(), clients.ask({"cmd": "count"})["cpu"], machine_busy()
    wall0 = time.perf_counter()
    GC.take()
    fed: list[Fed] = []
    sent, first, last, lag = feed(args.rate, args.warmup + args.seconds, send, fed)
    fed_for = time.perf_counter() - wall0
    for cls in expected:
        expected[cls] += sent * (1 if cls == "agent" else args.supervisors)
    answer = drain(name, clients, expected, drain_timeout)
    wall = time.perf_counter() - wall0
    busy1, all1 = machine_busy()
    cores = os.cpu_count() or 1
    return {
        "name": name,
        "sent": sent,
        "fed": fed,
        "windows": [[first, first + args.warmup, last + 1e-6]],
        "fed_for": fed_for,
        "lag": lag,
        "gc": GC.take(),
        "cpu_server": cpu_self() - cpu0,
        "cpu_node": answer["cpu"] - node0,
        "cpu_machine": cores * (busy1 - busy0) / max(1.0, all1 - all0) * wall,
        "wall": wall,
        "drain": wall - fed_for,
    }


def run_rounds(bare: Callable[[int], Fed], ours: Callable[[int], Fed],
               args: argparse.Namespace, clients: Clients, classes: tuple[str, ...],
               drain_timeout: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                              dict[str, Any]]:  # fmt: skip
    """``args.rounds`` times the baseline phase then ours, each waited out (see
    :func:`run_phase`) for the client ``classes``; then the clients' stats over each
    phase's pooled rounds. Returns (the runs, the two pooled phases, the stats answer)."""
    expected = {c: 0 for c in classes}
    runs = []
    for _ in range(args.rounds):
        runs.append(run_phase("baseline", bare, args, clients, expected, drain_timeout))
        runs.append(run_phase("ours", ours, args, clients, expected, drain_timeout))
    phases = [pool([r for r in runs if r["name"] == name]) for name in ("baseline", "ours")]
    asked = {p["name"]: {"windows": p["windows"], "fed": p["fed"]} for p in phases}
    return runs, phases, clients.ask({"cmd": "stats", "phases": asked}, timeout=120.0)


def pool(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase's rounds together; CPU as a share of one core over its wall time."""
    wall = sum(r["wall"] for r in runs)
    return {
        "name": runs[0]["name"],
        "sent": sum(r["sent"] for r in runs),
        "fed": [f for r in runs for f in r["fed"]],
        "windows": [w for r in runs for w in r["windows"]],
        "rate": sum(r["sent"] for r in runs) / sum(r["fed_for"] for r in runs),
        "lag": max(r["lag"] for r in runs),
        "gc": [g for r in runs for g in r["gc"]],
        "cpu_server": sum(r["cpu_server"] for r in runs) / wall,
        "cpu_node": sum(r["cpu_node"] for r in runs) / wall,
        "cpu_machine": sum(r["cpu_machine"] for r in runs) / wall,
    }


def pct(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def measured_waits(timed: list[tuple[float, float]], windows: list[list[float]]) -> list[float]:
    """The server's waits (ms, sorted) of the changes sent in a measured window (after
    its warm-up), from :class:`TimedSocketIO`'s (send time, wait) records."""
    return sorted(w * 1000 for sent, w in timed
                  if any(warm <= sent < to for _, warm, to in windows))  # fmt: skip


def add_phase_options(parser: argparse.ArgumentParser) -> None:
    """The options every phase run by :func:`run_rounds` reads."""
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured, per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="excluded, per phase")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate baseline/ours this many times (pooled)")  # fmt: skip


def print_machine() -> int:
    """Print the machine's cores and load before the run; return the cores."""
    cores = os.cpu_count() or 1
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {cores} cores, load average {load} before the run")
    return cores


def print_ratio(p99: dict[str, float]) -> None:
    """The last line: ``ratio: <baseline p99 / ours p99>``."""
    ratio = p99["baseline"] / p99["ours"] if p99["ours"] > 0 else float("nan")
    print(f"ratio: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--supervisors", type=int, default=5)
    add_phase_options(parser)
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as browsers do")  # fmt: skip
    args = parser.parse_args()
    if args.agents < 1 or args.rate <= 0:
        parser.error("need at least one agent and a positive rate")

    cores = print_machine()
    names = [f"{1000 + i}@default" for i in range(args.agents)]
    rooms = [[ev.agent_room(n), ev.SUPERVISORS] for n in names]
    server = Server()
    prime_floor(server.floor, names)
    server.start()
    clients = Clients(server.port, args.agents, args.supervisors, args.deflate)
    try:
        began = time.perf_counter()
        ready = clients.read(timeout=90.0)
        print(f"clients: {ready['ready']} dashboards ({args.agents} agents, {args.supervisors} "
              f"supervisors) connected in {time.perf_counter() - began:.1f}s")  # fmt: skip

        emit = server.socketio.emit

        def bare(i: int) -> Fed:
            t = time.time()
            emit(ev.AGENT, {"name": names[i % args.agents], "t": t}, to=rooms[i % args.agents])
            return names[i % args.agents], "t", t

        ours = floor_feeder(server, names)

        _, phases, answer = run_rounds(bare, ours, args, clients, CLASSES, 15.0)
    finally:
        clients.close()
        server.stop()

    print(
        f"rate {args.rate:.0f} events/s, {args.rounds} round(s) of {args.warmup:g}s warm-up + "
        f"{args.seconds:g}s measured per phase; permessage-deflate "
        f"{'offered' if args.deflate else 'off'}; client disconnects: {answer['errors']}"
    )
    label = {"baseline": "bare Flask-SocketIO", "ours": "floor + Publisher"}
    p99 = {}
    lost_any = False
    for p in phases:
        stats = answer["stats"][p["name"]]
        print(f"{label[p['name']]}: fed {p['sent']} at {p['rate']:.0f}/s (feeder late by up "
              f"to {p['lag'] * 1000:.0f} ms); CPU: server "
              f"{p['cpu_server']:.0%}, node clients {p['cpu_node']:.0%}, whole machine "
              f"{p['cpu_machine']:.0%} of {cores} cores")  # fmt: skip
        for cls in CLASSES:
            s = stats[cls]
            want = p["sent"] * (1 if cls == "agent" else args.supervisors)
            lost = want - s["received"]
            lost_any = lost_any or lost != 0
            if s["measured"]:
                lat = f"p50 {s['p50']:6.1f} ms  p99 {s['p99']:6.1f} ms  max {s['max']:6.1f} ms"
            else:
                lat = "no samples"
            print(f"  {cls:10s} received {s['received']:7d}/{want:<7d} lost {lost:<5d} "
                  f"measured {s['measured']:7d}  {lat}")  # fmt: skip
        full = [t for g, t in p["gc"] if g == 2]
        where = (f"    server GC: {len(p['gc'])} collections, longest "
                 f"{max((t for _, t in p['gc']), default=0) * 1000:.1f} ms ({len(full)} full, "
                 f"longest {max(full, default=0) * 1000:.1f} ms); Node event loop stalled up to "
                 f"{stats['loop_lag_max']:.0f} ms")  # fmt: skip
        if p["name"] == "ours":
            for what, timed in (("agent event", server.timed.waits),
                                ("batch", server.timed.batch_waits)):  # fmt: skip
                waits = measured_waits(timed, p["windows"])
                if waits:
                    where += (f"; in the server (feed -> {what} emit) p50 "
                              f"{pct(waits, 0.5):.1f} ms p99 {pct(waits, 0.99):.1f} ms "
                              f"max {waits[-1]:.1f} ms")  # fmt: skip
        print(where)
        p99[p["name"]] = max((stats[c]["p99"] for c in CLASSES if stats[c]["p99"] is not None),
                             default=float("nan"))  # fmt: skip
    verdict = "met" if p99["ours"] <= 50.0 and not lost_any else "NOT met"
    load = f"{args.agents + args.supervisors} dashboards at {args.rate:.0f} events/s"
    print(
        f"p99 (worse class): bare {p99['baseline']:.1f} ms, ours {p99['ours']:.1f} ms; "
        f"p99 <= 50 ms with {load}: {verdict}" + (" (events lost)" if lost_any else "")
    )
    print_ratio(p99)


if __name__ == "__main__":
    main()
