"""How many events per second the simulator emits on one core, and whether our ESL
client keeps up with it.

The simulator runs in a child process (its own core) with agents and Poisson callers at a
high speed factor; this process connects one ESL client subscribed to everything the
controller uses and counts what arrives. The simulator's own count (Event-Sequence) and
the client's count over the same window give the rate each side sustains. The last line
is ``ratio: <events received / events emitted>``: 1.0 means the client keeps up.

    .venv/bin/python bench/simulator_events.py [--seconds 15] [--agents 300] [--cpm 3000]
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import time

import gevent

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from esl_controller.esl.connection import EslConnection  # noqa: E402
from esl_controller.esl.events import Event  # noqa: E402
from esl_controller.esl.typed_events import typed_event  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--cpm", type=float, default=3000.0)
    parser.add_argument("--speed", type=float, default=10.0)
    args = parser.parse_args()
    port = 18700 + (int(time.time()) % 200)
    sim = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "esl_controller.cli", "simulate", "--port", str(port),
         "--agents", str(args.agents), "--calls-per-minute", str(args.cpm),
         "--speed", str(args.speed), "--seed", "1", "--duration",
         str(args.seconds * args.speed + 5 * args.speed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    received = [0]

    def on_event(event: Event) -> None:
        typed_event(event)
        received[0] += 1

    conn = None
    for _ in range(100):
        try:
            conn = EslConnection("127.0.0.1", port, "ClueCon", on_event=on_event)
            conn.connect()
            break
        except Exception:
            gevent.sleep(0.1)
    assert conn is not None
    conn.send(
        "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE "
        "CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_CALLSTATE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE "
        "CHANNEL_DESTROY HEARTBEAT CUSTOM callcenter::info sofia::register sofia::unregister"
    )
    gevent.sleep(2)  # let traffic build up
    seq0 = int(conn.send("api sim_sequence").text or 0)
    got0, t0 = received[0], time.perf_counter()
    gevent.sleep(args.seconds)
    seq1 = int(conn.send("api sim_sequence").text or 0)
    got1, t1 = received[0], time.perf_counter()
    conn.stop()
    sim.terminate()
    sim.wait(timeout=10)
    emitted = (seq1 - seq0) / (t1 - t0)
    taken = (got1 - got0) / (t1 - t0)
    print(f"simulator: {args.agents} agents, {args.cpm:g} calls/min at {args.speed:g}x")
    print(f"simulator emitted: {emitted:.0f} events/s (all events, one core)")
    print(f"client received:   {taken:.0f} events/s (subscribed set, parsed and typed)")
    print(f"ratio: {taken / emitted:.2f}" if emitted else "ratio: 0")


if __name__ == "__main__":
    main()
