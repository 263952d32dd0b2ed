"""The floor across processes: the active controller publishes its floor's changes in
order; each web worker keeps a copy to answer reads (``GET floor``, an agent's status,
the API's wait for an event's echo) without asking the controller each time.

Controller side (:class:`FloorFeed`, a floor listener):

* Every batch of changes the floor's owner greenlet hands out gets the next sequence
  number at once (in that greenlet, so numbers follow the floor's order); a greenlet of
  the feed sends what has piled up in one script call, which checks that this controller
  still holds the lease (fencing: a deposed controller's late batch is dropped) and
  ``PUBLISH`` es ``{"epoch": fence, "batches": [[seq, changes], ...]}``.
* The same script keeps ``<prefix>:calls``, every call the controller has open or has
  ended but not yet written to the history (a call leaves it only once the recorder has
  committed its row). A controller taking over reads it: calls that ended before it
  could write them are recorded with their outcome, and open calls are put on its new
  floor, so its first resync keeps those FreeSWITCH still has and records the others
  ``lost`` — each call in the history once, whichever process wrote it.
* :class:`HealthBeacon` keeps ``<prefix>:health`` (the link, the problems, the history
  counters) fresh for the web workers' ``/health`` and their pages' link banner.

Web side (:class:`FloorMirror`): subscribes, then fetches a whole snapshot with its
sequence number from the controller, applies the batches that follow it and fetches
again on a gap, on a new epoch (another controller) or when the controller's own
resync sends a whole floor. Views are replaced whole (no deltas), so a batch applied
twice is harmless.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.queue

from esl_controller.cluster import codec
from esl_controller.cluster.lease import Term, parse_term
from esl_controller.cluster.settings import Keys
from esl_controller.domain.model import CallView, Change, Snapshot
from esl_controller.services.worker import Loop

log = logging.getLogger(__name__)

# What a web worker's copy needs (the rest stays in the controller).
FEED_KINDS = frozenset({"agent", "call", "call_ended", "queue", "snapshot", "presence"})

PUBLISH = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local sets = tonumber(ARGV[3])
for i = 0, sets - 1 do
  redis.call('hset', KEYS[2], ARGV[4 + 2 * i], ARGV[5 + 2 * i])
end
local at = 4 + 2 * sets
local dels = tonumber(ARGV[at])
for j = 1, dels do
  redis.call('hdel', KEYS[2], ARGV[at + j])
end
if ARGV[2] ~= '' then redis.call('publish', KEYS[3], ARGV[2]) end
return 1
"""

BEACON = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""


# Changes encoded between two yields of the feed's greenlet.
YIELD_EVERY = 2000


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def encode_change(change: Change) -> dict[str, Any]:
    return {"k": change.kind, "key": change.key, "v": codec.encode(change.view)}


def decode_change(item: dict[str, Any]) -> Change:
    return Change(str(item["k"]), str(item["key"]), codec.decode(item["v"]))


class FloorFeed(Loop):
    """The active controller's floor listener (see the module docstring)."""

    stopped = "the floor feed to the web workers has stopped"

    def __init__(self, redis: Any, keys: Keys, term: Term) -> None:
        self.redis = redis
        self.keys = keys
        self.term = term
        self.seq = 0  # the last batch number handed out
        self.sent = 0
        self.dropped = 0  # batches not sent (Redis away, or the lease gone)
        self._numbers = itertools.count(1)
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._script = redis.register_script(PUBLISH)

    # -- from the floor's owner greenlet and the recorder: never block ----------------

    def on_changes(self, changes: list[Change]) -> None:
        self.seq = next(self._numbers)
        self._queue.put(("batch", self.seq, changes))

    def on_written(self, kinds_and_records: list[tuple[str, dict[str, Any]]]) -> None:
        """Recorder hook: these records are committed; their calls leave the hand-over."""
        done = [r["call_uuid"] for kind, r in kinds_and_records
                if kind == "call" and r.get("ended_at") and r.get("call_uuid")]  # fmt: skip
        if done:
            self._queue.put(("written", 0, done))

    # -- the feed's greenlet ----------------------------------------------------------

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            while not self._queue.empty() and len(items) < 500:
                items.append(self._queue.get_nowait())
            self._send(items)

    def _send(self, items: list[tuple[str, int, Any]]) -> None:
        batches: list[str] = []
        upserts: dict[str, str] = {}
        written: list[str] = []
        encoded = 0
        for kind, seq, payload in items:
            if kind == "written":
                written += payload
                for uuid in payload:
                    upserts.pop(uuid, None)
                continue
            # Each change goes to JSON text at once (the message is the same text
            # json.dumps of the whole would give): a resync's batch is tens of thousands
            # of views, and their dict forms all at once were the controller's peak RSS.
            out = []
            for change in payload:
                if change.kind in ("call", "call_ended") and isinstance(change.view, CallView):
                    upserts[change.view.uuid] = codec.dumps(change.view)
                    if change.view.uuid in written:
                        written.remove(change.view.uuid)
                if change.kind in FEED_KINDS:
                    out.append(_dumps(encode_change(change)))
                encoded += 1
                if encoded % YIELD_EVERY == 0:
                    gevent.sleep(0)  # the lease keeper must not wait for a whole floor
            batches.append(f"[{seq},[{','.join(out)}]]")
        message = (
            f'{{"epoch":{_dumps(self.term.fence)},"batches":[{",".join(batches)}]}}'
            if batches else ""
        )  # fmt: skip
        args: list[Any] = [self.term.value, message, len(upserts)]
        for uuid, view in upserts.items():
            args += [uuid, view]
        args += [len(written), *written]
        for attempt in range(3):
            try:
                if not self._script(keys=[self.keys.lease, self.keys.calls, self.keys.feed],
                                    args=args):  # fmt: skip
                    self.dropped += len(batches)
                    log.warning("feed: the lease is no longer ours; %d batches dropped",
                                len(batches))  # fmt: skip
                    return
                self.sent += len(batches)
                return
            except Exception as exc:  # noqa: BLE001 - Redis away: a few tries, then the
                # web workers see the gap and fetch a whole snapshot again.
                log.warning("feed: Redis: %s", exc)
                gevent.sleep(0.2 * (attempt + 1))
        self.dropped += len(batches)


def load_handover(redis: Any, keys: Keys) -> tuple[list[CallView], list[CallView]]:
    """The calls the previous controller left: (ended but not written, still open)."""
    ended: list[CallView] = []
    open_calls: list[CallView] = []
    for uuid, raw in (redis.hgetall(keys.calls) or {}).items():
        try:
            view = codec.loads(raw)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("hand-over: unreadable call %r dropped (%s)", uuid, exc)
            continue
        if isinstance(view, CallView):
            (ended if view.ended_at is not None else open_calls).append(view)
    return ended, open_calls


class HealthBeacon(Loop):
    """Keeps ``<prefix>:health`` fresh while this controller holds the lease."""

    def __init__(self, redis: Any, keys: Keys, term: Term, read: Callable[[], dict[str, Any]],
                 *, every: float = 0.5) -> None:  # fmt: skip
        self.redis = redis
        self.keys = keys
        self.term = term
        self.read = read
        self.every = every
        self._script = redis.register_script(BEACON)

    def beat(self) -> None:
        body = json.dumps({**self.read(), "fence": self.term.fence,
                           "controller": self.term.controller, "at": time.time()},
                          default=str)  # fmt: skip
        self._script(keys=[self.keys.lease, self.keys.health],
                     args=[self.term.value, body, int(self.every * 4000)])  # fmt: skip

    def _run(self) -> None:
        while True:
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("health beacon: %s", exc)
            gevent.sleep(self.every)


def empty_snapshot() -> Snapshot:
    return Snapshot({}, {}, {}, None, {})


class FloorMirror(Loop):
    """A web worker's copy of the active controller's floor (read-only).

    ``fetch()`` asks the controller for ``{"epoch", "seq", "snapshot"}``; listeners get
    the changes applied (and a ``snapshot`` change after every whole fetch); ``on_web``
    gets the messages web workers send each other.
    """

    def __init__(self, redis: Any, blocking: Any, keys: Keys,
                 fetch: Callable[[], dict[str, Any]]) -> None:  # fmt: skip
        self.redis = redis
        self.blocking = blocking
        self.keys = keys
        self.fetch = fetch
        self.listeners: list[Callable[[list[Change]], None]] = []
        self.on_web: list[Callable[[dict[str, Any]], None]] = []
        self.epoch: int | None = None
        self.seq = 0
        self.in_sync = False
        self.fetches = 0
        self.last_error: str | None = None
        self._agents: dict[str, Any] = {}
        self._calls: dict[str, Any] = {}
        self._queues: dict[str, Any] = {}
        self._presence: dict[str, Any] = {}
        self._taken_at: float | None = None
        self._subscribed = gevent.event.Event()

    # -- what the dashboard reads -----------------------------------------------------

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self._agents), dict(self._calls), dict(self._queues),
                        self._taken_at, dict(self._presence))  # fmt: skip

    def ringing_leg(self, agent: str) -> str | None:
        return None  # only the controller knows which leg rings (its services use it)

    def backlog(self) -> int:
        return 0

    stopped = "this web worker's copy of the floor has stopped following"

    def problem(self) -> str | None:
        dead = super().problem()
        if dead:
            return dead
        if not self.in_sync:
            return f"this web worker's copy of the floor is not current ({self.last_error})"
        return None

    # -- following --------------------------------------------------------------------

    def wait_subscribed(self, timeout: float) -> bool:
        return bool(self._subscribed.wait(timeout))

    def _run(self) -> None:
        while True:
            pubsub = self.blocking.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.keys.feed, self.keys.web)
                self._subscribed.set()
                self.in_sync = False  # anything may have been missed while away
                self._refetch("subscribed")
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        self._check_holder()
                    elif message.get("type") == "message":
                        self._dispatch(message)
            except gevent.GreenletExit:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: subscribe again
                self.in_sync = False
                self.last_error = f"Redis: {type(exc).__name__}: {exc}"
                log.warning("floor mirror: %s; subscribing again", self.last_error)
                gevent.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):  # closing a broken connection
                    pubsub.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        channel = channel.decode() if isinstance(channel, bytes) else channel
        try:
            body = json.loads(message["data"])
        except (ValueError, TypeError) as exc:
            log.warning("floor mirror: unreadable message on %s (%s)", channel, exc)
            return
        if channel == self.keys.web:
            for listener in list(self.on_web):
                try:
                    listener(body)
                except Exception:
                    log.exception("web message listener failed")
            return
        self._on_feed(body)

    def _on_feed(self, body: dict[str, Any]) -> None:
        epoch = body.get("epoch")
        batches = body.get("batches") or []
        if not self.in_sync or epoch != self.epoch:
            self._refetch(f"epoch {epoch}")
            if not self.in_sync or epoch != self.epoch:
                return
        for seq, changes in batches:
            if seq <= self.seq:
                continue  # already in the snapshot fetched
            if seq != self.seq + 1:
                self._refetch(f"gap: batch {seq} after {self.seq}")
                return
            self._apply([decode_change(c) for c in changes])
            self.seq = seq

    def _check_holder(self) -> None:
        try:
            holder = parse_term(self.redis.get(self.keys.lease))
        except Exception as exc:  # noqa: BLE001
            self.in_sync = False
            self.last_error = f"Redis: {type(exc).__name__}"
            return
        if holder is None:
            if self.in_sync:
                self.in_sync = False
                self.last_error = "no controller holds the lease"
            return
        if not self.in_sync or holder.fence != self.epoch:
            self._refetch(f"controller {holder.controller} (fence {holder.fence})")

    def _refetch(self, why: str) -> None:
        try:
            answer = self.fetch()
        except Exception as exc:  # noqa: BLE001 - no controller yet: the next tick tries
            self.in_sync = False
            self.last_error = getattr(exc, "message", None) or type(exc).__name__
            return
        snap = answer["snapshot"]
        self.epoch = int(answer["epoch"])
        self.seq = int(answer["seq"])
        self.fetches += 1
        self.in_sync = True
        self.last_error = None
        log.info("floor mirror: whole floor fetched (%s): epoch %d, batch %d", why,
                 self.epoch, self.seq)  # fmt: skip
        self._apply([Change("snapshot", "floor", snap)])

    def _apply(self, changes: list[Change]) -> None:
        for change in changes:
            view = change.view
            if change.kind == "agent":
                self._agents[change.key] = view
            elif change.kind == "call":
                self._calls[change.key] = view
            elif change.kind == "call_ended":
                self._calls.pop(change.key, None)
            elif change.kind == "queue":
                self._queues[change.key] = view
            elif change.kind == "presence":
                self._presence[change.key] = view
            elif change.kind == "snapshot" and isinstance(view, Snapshot):
                self._agents = dict(view.agents)
                self._calls = dict(view.calls)
                self._queues = dict(view.queues)
                self._presence = dict(view.presence)
                self._taken_at = view.taken_at
        for listener in list(self.listeners):
            try:
                listener(changes)
            except Exception:
                log.exception("floor mirror listener failed")
