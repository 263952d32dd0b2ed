"""Events per second through our ESL connection vs bare greenswitch, same stream, same run.

A gevent server on 127.0.0.1 plays FreeSWITCH: ``auth/request``, ``+OK accepted``, the
subscription reply, then a stream of real full-size events taken from the recorded
FreeSWITCH fixtures (CHANNEL_* of 2-8 KB with ~130 headers, mixed with callcenter::info).
Each client reads until it has seen every event:

* baseline: greenswitch 0.0.19 ``InboundESL`` with a no-op handler;
* ours: :class:`EslConnection` (framing, per-value decoding, body split) plus the typed
  dispatch the controller uses (``typed_event``).

Both run several rounds alternately; the best round of each is compared. The last line is
``ratio: <ours / greenswitch>`` (higher is better; the bar is >= 1.0).

    .venv/bin/python bench/esl_throughput.py [--events 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import gevent
import gevent.server
from gevent.event import Event as GeventEvent
from greenswitch.esl import InboundESL

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from esl_controller.esl.connection import EslConnection  # noqa: E402
from esl_controller.esl.events import Event  # noqa: E402

try:  # typed views arrive with the typed-events module; fall back to the raw event
    from esl_controller.esl.typed_events import typed_event  # noqa: E402
except ImportError:  # pragma: no cover
    typed_event = None

FIXTURE = ROOT / "tests" / "fixtures" / "esl" / "call_answered_plain.jsonl"


def load_stream(count: int) -> tuple[bytes, int, int]:
    """Full-size event frames from a real capture, repeated to ``count`` events."""
    frames = []
    for line in FIXTURE.read_text().splitlines()[1:]:
        item = json.loads(line)
        if item["dir"] == "recv" and "text/event-plain" in item["raw"][:60]:
            frames.append(item["raw"].encode())
    stream = bytearray()
    for i in range(count):
        stream += frames[i % len(frames)]
    avg = len(stream) // count
    return bytes(stream), count, avg


class Feeder:
    """A one-connection-at-a-time fake FreeSWITCH that blasts the stream after subscribe."""

    def __init__(self, stream: bytes) -> None:
        self.stream = stream
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self.handle)
        self.server.start()
        self.port = self.server.server_port

    def handle(self, sock, _addr) -> None:  # type: ignore[no-untyped-def]
        sock.sendall(b"Content-Type: auth/request\n\n")
        reader = sock.makefile("rb")
        for reply in (b"+OK accepted", b"+OK event listener enabled plain"):
            while reader.readline() not in (b"\n", b""):
                pass
            sock.sendall(b"Content-Type: command/reply\nReply-Text: " + reply + b"\n\n")
        sock.sendall(self.stream)
        while reader.readline() not in (b"\n", b""):  # the client's "exit"
            pass
        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n")
        sock.close()

    def stop(self) -> None:
        self.server.stop()


def run_greenswitch(port: int, count: int) -> float:
    done = GeventEvent()
    seen = [0]

    def noop(_event: object) -> None:
        seen[0] += 1
        if seen[0] == count:
            done.set()

    client = InboundESL("127.0.0.1", port, "ClueCon")
    client.connect()
    for name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE"):
        client.register_handle(name, noop)
    client.register_handle("*", noop)
    start = time.perf_counter()
    client.send("event plain ALL")
    done.wait()
    elapsed = time.perf_counter() - start
    client.stop()
    return count / elapsed


def run_ours(port: int, count: int) -> float:
    done = GeventEvent()
    seen = [0]
    kinds: dict[str, int] = {}

    def on_event(event: Event) -> None:
        view = typed_event(event) if typed_event is not None else event
        name = type(view).__name__
        kinds[name] = kinds.get(name, 0) + 1
        seen[0] += 1
        if seen[0] == count:
            done.set()

    conn = EslConnection("127.0.0.1", port, "ClueCon", on_event=on_event)
    conn.connect()
    start = time.perf_counter()
    conn.send("event plain ALL")
    done.wait()
    elapsed = time.perf_counter() - start
    conn.stop()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stream, count, avg = load_stream(args.events)
    print(f"stream: {count} events, {len(stream) / 1e6:.1f} MB, {avg} bytes/event on average")
    best = {"greenswitch": 0.0, "ours": 0.0}
    for rnd in range(args.rounds):
        for name, runner in (("greenswitch", run_greenswitch), ("ours", run_ours)):
            feeder = Feeder(stream)
            try:
                rate = runner(feeder.port, count)
            finally:
                feeder.stop()
            best[name] = max(best[name], rate)
            print(f"round {rnd + 1} {name:12s} {rate:10.0f} events/s")
    print(f"greenswitch 0.0.19 (no-op handler): {best['greenswitch']:.0f} events/s")
    print(f"ours (parse + typed dispatch):      {best['ours']:.0f} events/s")
    print(f"ratio: {best['ours'] / best['greenswitch']:.2f}")


if __name__ == "__main__":
    main()
