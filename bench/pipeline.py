"""The whole event path against bare greenswitch on the same stream, in one run.

Ours: socket -> frames -> events -> typed views -> floor reducers (one owner) -> change
fan-out -> Socket.IO publisher (payloads built, emitted to the agent and supervisor
rooms of a real Flask-SocketIO server) and recorder queue; timed until the publisher
has emitted the last change. Baseline: greenswitch 0.0.19 with a no-op handler. The stream
is the recorded FreeSWITCH calls (channel events of 2-8 KB and callcenter::info) repeated
with fresh uuids per copy, so the floor really creates and ends calls. Also printed: how
large a floor one process holds (agents, concurrent calls) and its memory.
The last line is ``ratio: <ours / greenswitch>`` (the bar is >= 0.7).

    .venv/bin/python bench/pipeline.py [--copies 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import resource
import sys
import time
import types
import uuid

import gevent
from flask import Flask
from flask_socketio import SocketIO
from gevent.event import Event as GeventEvent

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from esl_throughput import Feeder, run_greenswitch  # noqa: E402

from dashboard.realtime import Publisher  # noqa: E402
from esl_controller.domain.floor import Floor  # noqa: E402
from esl_controller.esl.client import Health  # noqa: E402
from esl_controller.esl.connection import EslConnection  # noqa: E402
from esl_controller.esl.events import Event  # noqa: E402
from esl_controller.esl.typed_events import typed_event  # noqa: E402
from esl_controller.services.recorder import Recorder  # noqa: E402

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


def make_publisher(floor: Floor) -> Publisher:
    """The dashboard's publisher on a real Socket.IO server (no browser connected)."""
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent")
    parts = types.SimpleNamespace(floor=floor, health=lambda: Health(state="connected"))
    return Publisher(socketio, parts)  # type: ignore[arg-type]


def run_ours(port: int, count: int) -> tuple[float, Floor, Recorder]:
    done = GeventEvent()
    seen = [0]
    floor = Floor()
    recorder = Recorder(sessions=None)  # type: ignore[arg-type]  # queue only: no writer
    publisher = make_publisher(floor)
    publisher.start()
    listeners = [recorder.on_changes, publisher.on_changes]

    def on_event(event: Event) -> None:
        view = typed_event(event)
        if view is not None:
            changes = floor.apply(view)
            if changes:
                for listener in listeners:
                    listener(changes)
        seen[0] += 1
        if seen[0] == count:
            done.set()

    conn = EslConnection("127.0.0.1", port, "ClueCon", on_event=on_event)
    conn.connect()
    start = time.perf_counter()
    conn.send("event plain ALL")
    done.wait()
    while publisher._inbox.qsize():  # everything the floor changed has been emitted
        gevent.sleep(0.001)
    elapsed = time.perf_counter() - start
    conn.stop()
    publisher.stop()
    return count / elapsed, floor, recorder


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
    best = {"greenswitch": 0.0, "ours": 0.0}
    floor = recorder = None
    for rnd in range(args.rounds):
        feeder = Feeder(stream)
        rate = run_greenswitch(feeder.port, count)
        feeder.stop()
        best["greenswitch"] = max(best["greenswitch"], rate)
        feeder = Feeder(stream)
        ours, floor, recorder = run_ours(feeder.port, count)
        feeder.stop()
        best["ours"] = max(best["ours"], ours)
        print(f"round {rnd + 1}: greenswitch {rate:8.0f}/s  ours {ours:8.0f}/s")
    assert floor is not None and recorder is not None
    print(f"floor after a round: {len(floor.queues)} queues, {len(recorder.pending)} records "
          f"queued for the database")  # fmt: skip
    seconds, mb = floor_size(2000, 1000)
    print(
        f"floor of 2,000 agents and 1,000 concurrent calls: built in {seconds:.2f}s, "
        f"+{mb:.0f} MB RSS (process max RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    print(f"greenswitch 0.0.19 (no-op handler): {best['greenswitch']:.0f} events/s")
    what = "parse, typed, floor, Socket.IO publish, recorder queue"
    print(f"ours ({what}): {best['ours']:.0f} events/s")
    print(f"ratio: {best['ours'] / best['greenswitch']:.2f}")


if __name__ == "__main__":
    main()
