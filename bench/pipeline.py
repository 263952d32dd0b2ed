"""The whole event path against bare greenswitch on the same stream, in one run.

Ours, as ``callcenter serve`` wires it: socket -> frames -> events -> the floor service
(``FloorService.on_event`` parses to typed views and queues them; its owner greenlet
applies them to the floor and hands the change records to its listeners) -> the
dashboard's Socket.IO publisher (payloads built and emitted to the agent rooms and the
supervisors' room of a real Flask-SocketIO server, each room with a real client
connected: a Node socket.io-client over websocket, so every packet is encoded and
written) and the recorder's queue. Timed from subscribe until the publisher has emitted
a marker that the floor service queued after the last event (so every change before it
was applied and emitted). Baseline: greenswitch 0.0.19 with a no-op handler on the same
stream. The stream is the recorded FreeSWITCH calls (channel events of 2-8 KB and
callcenter::info) repeated with fresh uuids per copy, so the floor really creates and
ends calls. Also printed: what the clients received, how large a floor one process holds
(agents, concurrent calls) and its memory, and the machine's CPUs and load.
The last line is ``ratio: <ours / greenswitch>`` (DESIGN's bar is >= 1.0).

    .venv/bin/python bench/pipeline.py [--copies 300] [--rounds 3]
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from flask import Flask  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402
from gevent.event import Event as GeventEvent  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from esl_throughput import Feeder, run_greenswitch  # noqa: E402
from rooms import NodeClients, admit_by_auth, loopback_server  # noqa: E402  (bench/rooms.py)

from dashboard import events as ev  # noqa: E402
from dashboard.realtime import Publisher  # noqa: E402
from esl_controller.domain.floor import Floor  # noqa: E402
from esl_controller.esl.client import Health  # noqa: E402
from esl_controller.esl.connection import EslConnection  # noqa: E402
from esl_controller.esl.events import Event  # noqa: E402
from esl_controller.services.floor_service import FloorService  # noqa: E402
from esl_controller.services.recorder import Recorder  # noqa: E402

CLIENTS = ROOT / "bench" / "pipeline_clients.mjs"
END = "bench: end of stream"

UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SCENARIOS = ("call_answered_plain", "call_abandoned", "no_answer_to_break")


def build_stream(copies: int) -> tuple[bytes, int]:
    frames: list[bytes] = []
    for name in SCENARIOS:
        path = ROOT / "tests" / "fixtures" / "esl" / f"{name}.jsonl"
        for line in path.read_text().splitlines()[1:]:
            item = json.loads(line)
            if item["dir"] == "recv" and "text/event-plain" in item["raw"][:60]:
                frames.append(item["raw"].encode())
    block = b"".join(frames)
    out = bytearray()
    for _ in range(copies):
        mapping: dict[bytes, bytes] = {}
        out += UUID_RE.sub(
            lambda m, seen=mapping: seen.setdefault(m.group(0), str(uuid.uuid4()).encode()),
            block,
        )
    return bytes(out), len(frames) * copies


def stream_agents(stream: bytes) -> list[str]:
    """The mod_callcenter agents the stream talks about: each gets a room with a client."""
    found = re.findall(rb"\nCC-Agent: ([^\n]+)\n", stream[:2_000_000])
    return sorted({urllib.parse.unquote(a.decode()) for a in found})


class MarkedSocketIO:
    """The publisher's SocketIO: emits pass straight through (encoded and written to the
    connected clients); counts them and notices the end marker."""

    def __init__(self, socketio: SocketIO) -> None:
        self._socketio = socketio
        self.server = socketio.server
        self.emits = 0
        self.done = GeventEvent()

    def emit(self, event: str, data: Any, **kwargs: Any) -> None:
        self._socketio.emit(event, data, **kwargs)
        self.emits += 1
        if event == ev.NOTICE and isinstance(data, dict) and data.get("text") == END:
            self.done.set()


class Server:
    """Flask-SocketIO on gevent's WSGI server, as the dashboard runs it. A bench-only
    connect handler joins the room the client names (the product's checks the web
    session instead; signing in is not part of the event path)."""

    def __init__(self) -> None:
        self.app = Flask(__name__)
        self.socketio = SocketIO(self.app, async_mode="gevent")

        admit_by_auth(self.socketio)  # bench-only: no session sign-in
        self.port, self.http = loopback_server(self.app, backlog=128)
        self.http.start()

    def stop(self) -> None:
        self.http.stop(timeout=1)


class Clients(NodeClients):
    """The Node process holding one socket per room."""

    def __init__(self, port: int, auths: list[dict[str, Any]]) -> None:
        super().__init__([str(CLIENTS), f"http://127.0.0.1:{port}", json.dumps(auths)], ROOT)
        ready = self.read(30)
        if "ready" not in ready:
            raise RuntimeError(f"the Node clients did not connect: {ready}")

    def close(self) -> None:
        try:
            self.ask({"cmd": "exit"})
            self.proc.wait(timeout=3)
        except (RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def run_ours(
    port: int, count: int, socketio: SocketIO, spill: pathlib.Path
) -> tuple[float, Floor, Recorder, int]:
    """One pass of the stream through the product's path; returns (events/s, the floor,
    the recorder, Socket.IO emits)."""
    service = FloorService(api=lambda command: "+OK\n")  # the stream is the switch: no resync
    recorder = Recorder(sessions=None, spill_path=spill, max_pending=10**7)  # type: ignore[arg-type]  # queue only: no writer
    marked = MarkedSocketIO(socketio)
    parts = types.SimpleNamespace(floor=service, health=lambda: Health(state="connected"))
    publisher = Publisher(marked, parts)  # type: ignore[arg-type]
    service.listeners += [recorder.on_changes, publisher.on_changes]
    publisher.start()
    service.start()
    seen = [0]

    def on_event(event: Event) -> None:
        service.on_event(event)
        seen[0] += 1
        if seen[0] == count:
            service.notice("bench", END)  # queued after the last event

    conn = EslConnection("127.0.0.1", port, "ClueCon", on_event=on_event)
    conn.connect()
    start = time.perf_counter()
    conn.send("event plain ALL")
    marked.done.wait()
    elapsed = time.perf_counter() - start
    conn.stop()
    service.stop()
    publisher.stop()
    return count / elapsed, service.floor, recorder, marked.emits


def floor_size(agents: int, calls: int) -> tuple[float, float]:
    """Apply a synthetic floor of this size; return (seconds to build, MB of RSS)."""
    from esl_controller.esl import typed_events as ev

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    floor = Floor()
    start = time.perf_counter()
    for i in range(agents):
        floor.apply(ev.AgentStatusChanged(ev.Meta(i, 1.0), f"{1000 + i}@default", "Available"))
        floor.apply(ev.AgentStateChanged(ev.Meta(i, 1.0), f"{1000 + i}@default", "Waiting"))
    for i in range(calls):
        member = ev.MemberInfo("support@default", str(uuid.uuid4()), str(uuid.uuid4()),
                               "Caller", f"555{i:07d}")  # fmt: skip
        floor.apply(ev.MemberQueueStart(ev.Meta(i, 2.0), member, False))
        floor.apply(ev.BridgeAgentStart(ev.Meta(i, 3.0), member, f"{1000 + i % agents}@default",
                                        None, 2.5, 3.0, 2.0))  # fmt: skip
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return elapsed, max(0, after - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stream, count = build_stream(args.copies)
    print(f"stream: {count} events ({len(stream) / 1e6:.1f} MB), {args.copies} copies of 3 calls")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    agents = stream_agents(stream)
    auths: list[dict[str, Any]] = [{"agent": a} for a in agents] + [{"supervisor": True}]
    server = Server()
    clients = Clients(server.port, auths)
    print(f"Socket.IO clients: one per agent room ({', '.join(agents)}) and one supervisor")
    best = {"greenswitch": 0.0, "ours": 0.0}
    # Events per CPU second of this process (the feeder's share is the same for both):
    # steadier than wall time when other work shares the machine.
    per_cpu = {"greenswitch": 0.0, "ours": 0.0}
    floor = recorder = None
    emits = 0
    try:
        with tempfile.TemporaryDirectory(prefix="pipeline-") as tmp:
            for rnd in range(args.rounds):
                feeder = Feeder(stream)
                cpu = time.process_time()
                rate = run_greenswitch(feeder.port, count)
                cpu_rate = count / (time.process_time() - cpu)
                feeder.stop()
                best["greenswitch"] = max(best["greenswitch"], rate)
                per_cpu["greenswitch"] = max(per_cpu["greenswitch"], cpu_rate)
                feeder = Feeder(stream)
                spill = pathlib.Path(tmp) / f"spill-{rnd}.jsonl"
                cpu = time.process_time()
                ours, floor, recorder, emits = run_ours(feeder.port, count, server.socketio, spill)
                ours_cpu = count / (time.process_time() - cpu)
                feeder.stop()
                best["ours"] = max(best["ours"], ours)
                per_cpu["ours"] = max(per_cpu["ours"], ours_cpu)
                print(f"round {rnd + 1}: greenswitch {rate:8.0f}/s ({cpu_rate:6.0f}/CPU s)  "
                      f"ours {ours:8.0f}/s ({ours_cpu:6.0f}/CPU s)  "
                      f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
            gevent.sleep(1.0)  # let the clients take the last packets before counting
            received = clients.ask({"cmd": "count"})["count"]
    finally:
        clients.close()
        server.stop()
    assert floor is not None and recorder is not None
    print(f"per round: {emits} Socket.IO emits; the clients received {sum(received)} events "
          f"in all rounds ({', '.join(str(n) for n in received)} per client)")  # fmt: skip
    print(f"floor after a round: {len(floor.queues)} queues, {len(recorder.pending)} records "
          f"queued for the database")  # fmt: skip
    seconds, mb = floor_size(2000, 1000)
    print(
        f"floor of 2,000 agents and 1,000 concurrent calls: built in {seconds:.2f}s, "
        f"+{mb:.0f} MB RSS (process max RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    print(f"machine: load average {os.getloadavg()[0]:.2f} at the end")
    print(f"greenswitch 0.0.19 (no-op handler): {best['greenswitch']:.0f} events/s")
    what = "parse, floor service and its owner greenlet, Socket.IO to clients, recorder queue"
    print(f"ours ({what}): {best['ours']:.0f} events/s")
    print(f"per CPU second: greenswitch {per_cpu['greenswitch']:.0f}, ours {per_cpu['ours']:.0f}, "
          f"ratio {per_cpu['ours'] / per_cpu['greenswitch']:.2f}")  # fmt: skip
    print(f"ratio: {best['ours'] / best['greenswitch']:.2f}")


if __name__ == "__main__":
    main()
