"""Supervisor fan-out: every event of a floor of ``--agents`` agents (2,000) at ``--rate``
events/s (2,000) to each of ``--supervisors`` supervisor pages (50) — 100,000 frames/s —
through the dashboard's Publisher, against bare Flask-SocketIO on the same server,
clients and rate, in one run (issue 11: p99 <= 50 ms, no loss).

In the style of bench/dashboard_latency.py and built from its parts (the server with the
real :class:`Floor` and :class:`Publisher`, the Node clients of
bench/latency_clients.mjs, the absolute-schedule feeder), with these differences:

* only supervisor sockets connect (room ``supervisors``); the floor still has every
  agent, and the Publisher still emits each change to the agent's room (empty here:
  supervisors are what is measured) and sends the supervisors a ``floor_batch`` every
  ``--batch-ms`` (20): the latest view of each agent that changed since the last one;
* the baseline emits one ``AgentOut``-shaped frame per change (one agent's real payload
  with a send time ``t``) to each supervisor: what bare Flask-SocketIO does with the
  same changes, sent one by one.

Phases, in order, each ``--warmup`` + ``--seconds`` at ``--rate``, round-robin over the
agents: baseline (bare ``socketio.emit(..., to=[agent room, supervisors])`` from the
feeder), then ours (typed mod_callcenter status/state events applied to the Floor, its
changes handed to ``Publisher.on_changes``, the Publisher's greenlet builds the payloads
and batches them). ``--rounds`` alternates them and pools the samples.

Each change fed is (agent, field, send time): ``t`` for the baseline, the
``status_since`` / ``state_since`` it sets for ours. A supervisor has it when the first
view of that agent carrying that field at or after the send time arrives: the baseline's
frame, or the batch that carries it (every change in a batch arrives when the batch
does). Latency = that arrival (``Date.now()``, same clock) - send time; a change no view
ever carries is lost (one replaced by a later change of the same agent and field before
its batch went out is carried by that later view: the page shows the agent as it is).
Events sent during the warm-up must arrive too (losses are counted over the whole phase)
but are not in the percentiles. Printed per phase: changes delivered and lost, p50 / p99 /
max, CPU of this process, of the Node clients and of the whole machine (other work
included: on a shared machine the load generator competes with the server), the
feeder's worst lateness and GC pauses. The last line is ``ratio: <bare p99 / ours
p99>`` (>= 1: supervisors see changes no later than bare Flask-SocketIO sending each
change as its own frame, at this load, on this machine).

    .venv/bin/python bench/supervisor_fanout.py [--agents 2000] [--supervisors 50]
        [--rate 2000] [--seconds 10] [--warmup 2] [--rounds 1] [--batch-ms 20] [--deflate]
        [--gc-freeze]

``--gc-freeze`` calls ``gc.freeze()`` once the server and its floor are set up: a full
collection then leaves the import-time heap alone (here about 130,000 objects, a pause
of ~100 ms on this machine, about once a phase), which is what ``serve`` would gain by
doing the same after its start-up. Off by default: the product does not do it.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402

from dashboard_latency import (  # noqa: E402  (bench/dashboard_latency.py)
    Clients,
    Fed,
    Server,
    add_phase_options,
    floor_feeder,
    measured_waits,
    pct,
    prime_floor,
    print_machine,
    print_ratio,
    run_rounds,
)

from dashboard import events as ev  # noqa: E402

BAR_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000, help="agents on the floor")
    parser.add_argument("--supervisors", type=int, default=50, help="supervisor pages")
    add_phase_options(parser)
    parser.add_argument("--batch-ms", type=float, default=20.0,
                        help="the Publisher's batch interval for supervisors")  # fmt: skip
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after the set-up (see above)")  # fmt: skip
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as browsers do")  # fmt: skip
    args = parser.parse_args()
    if args.agents < 1 or args.supervisors < 1 or args.rate <= 0:
        parser.error("need agents, supervisors and a positive rate")

    cores = print_machine()
    names = [f"{1000 + i}@default" for i in range(args.agents)]
    rooms = [[ev.agent_room(n), ev.SUPERVISORS] for n in names]
    server = Server()
    server.publisher.batch_interval = args.batch_ms / 1000
    prime_floor(server.floor, names)
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    server.start()
    clients = Clients(server.port, 0, args.supervisors, args.deflate)
    try:
        began = time.perf_counter()
        ready = clients.read(timeout=90.0)
        print(f"clients: {ready['ready']} supervisor pages connected in "
              f"{time.perf_counter() - began:.1f}s; floor of {args.agents} agents")  # fmt: skip

        emit = server.socketio.emit
        # The baseline's payload: a real AgentOut of this floor, plus the send time.
        shape = ev.agent_payload(server.floor.snapshot().agents[names[0]], time.time())

        def bare(i: int) -> Fed:
            t = time.time()
            emit(ev.AGENT, {**shape, "name": names[i % args.agents], "t": t},
                 to=rooms[i % args.agents])  # fmt: skip
            return names[i % args.agents], "t", t

        ours = floor_feeder(server, names)

        # 30 s to drain: 50 supervisors' frames take longer than the dashboards'
        runs, phases, answer = run_rounds(bare, ours, args, clients, ("supervisor",), 30.0)
        drains = {name: max(r["drain"] for r in runs if r["name"] == name)
                  for name in ("baseline", "ours")}  # fmt: skip
    finally:
        clients.close()
        server.stop()

    frames = args.rate * args.supervisors
    print(
        f"rate {args.rate:.0f} events/s x {args.supervisors} supervisors = {frames:.0f} frames/s; "
        f"{args.rounds} round(s) of {args.warmup:g}s warm-up + {args.seconds:g}s measured per "
        f"phase; ours batches every {args.batch_ms:g} ms; gc.freeze() "
        f"{'after the set-up' if args.gc_freeze else 'off'}; permessage-deflate "
        f"{'offered' if args.deflate else 'off'}; client disconnects: {answer['errors']}"
    )
    label = {"baseline": "bare Flask-SocketIO", "ours": "floor + Publisher"}
    p99: dict[str, float] = {}
    lost_any = False
    for p in phases:
        stats = answer["stats"][p["name"]]
        s = stats["supervisor"]
        want = p["sent"] * args.supervisors
        lost = want - s["received"]
        lost_any = lost_any or lost != 0
        cpu = (f"CPU: server {p['cpu_server']:.0%}, node clients {p['cpu_node']:.0%}, whole "
               f"machine {p['cpu_machine']:.0%} of {cores} cores")  # fmt: skip
        print(f"{label[p['name']]}: fed {p['sent']} events at {p['rate']:.0f}/s (feeder late by "
              f"up to {p['lag'] * 1000:.0f} ms; last frames in {drains[p['name']]:.1f}s after "
              f"the feed); {cpu}")  # fmt: skip
        if s["measured"]:
            lat = f"p50 {s['p50']:7.1f} ms  p99 {s['p99']:7.1f} ms  max {s['max']:7.1f} ms"
        else:
            lat = "no samples"
        print(f"  supervisors received {s['received']:8d}/{want:<8d} lost {lost:<6d} "
              f"measured {s['measured']:8d}  {lat}")  # fmt: skip
        full = [t for g, t in p["gc"] if g == 2]
        print(f"    server GC: {len(p['gc'])} collections, longest "
              f"{max((t for _, t in p['gc']), default=0) * 1000:.1f} ms ({len(full)} full); "
              f"Node event loop stalled up to {stats['loop_lag_max']:.0f} ms")  # fmt: skip
        if p["name"] == "ours":
            waits = measured_waits(server.timed.batch_waits, p["windows"])
            if waits:
                print(f"    in the server (feed -> batch emit) p50 {pct(waits, 0.5):.1f} ms "
                      f"p99 {pct(waits, 0.99):.1f} ms max {waits[-1]:.1f} ms")  # fmt: skip
        p99[p["name"]] = s["p99"] if s["p99"] is not None else float("nan")
    verdict = "met" if p99["ours"] <= BAR_MS and not lost_any else "NOT met"
    print(
        f"p99: bare {p99['baseline']:.1f} ms, ours {p99['ours']:.1f} ms; p99 <= {BAR_MS:.0f} ms "
        f"and no loss with {args.supervisors} supervisors, {args.agents} agents at "
        f"{args.rate:.0f} events/s: {verdict}" + (" (events lost)" if lost_any else "")
    )
    print_ratio(p99)


if __name__ == "__main__":
    main()
