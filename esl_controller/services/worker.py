"""Greenlets that do one service's work: :class:`Loop`, a service running its own loop,
and :class:`QueueWorker`, a greenlet fed through a queue (how a service listens to the
floor's change records without ever blocking the floor's own greenlet: it only
enqueues)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import gevent
import gevent.queue

log = logging.getLogger(__name__)
T = TypeVar("T")


class QueueWorker(Generic[T]):
    """Subclasses put work with :meth:`submit` and do it in :meth:`handle`, one item at
    a time and in order; a failing item is logged and the next one taken."""

    stall_after = 30.0

    def __init__(self) -> None:
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._worker: gevent.Greenlet | None = None
        self._progress_at = time.monotonic()

    def start(self) -> None:
        if self._worker is None:
            self._worker = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.kill(block=False)
            self._worker = None

    def submit(self, item: T) -> None:
        self._inbox.put(item)

    def backlog(self) -> int:
        return int(self._inbox.qsize())

    def handle(self, item: T) -> None:
        raise NotImplementedError

    def touch(self) -> None:
        """Still working (a long item, e.g. retrying while the database is down)."""
        self._progress_at = time.monotonic()

    def write_until_stored(
        self, write: Callable[[], None], what: str,
        retry: tuple[type[BaseException], ...] = (Exception,),
    ) -> bool:  # fmt: skip
        """``write`` in the hub's thread pool (a database write never blocks the hub),
        again with backoff up to 5 s while it raises one of ``retry`` (the database is
        down: later items wait behind this one, so order is kept). False when it raised
        anything else (logged; the item is given up)."""
        delay = 0.2
        while True:
            try:
                gevent.get_hub().threadpool.spawn(write).get()
                return True
            except retry as exc:
                log.warning("%s not saved yet (%s); retrying", what, type(exc).__name__)
                self.touch()
                gevent.sleep(delay)
                delay = min(5.0, delay * 2)
            except Exception as exc:
                log.error("%s not saved: %s", what, exc)
                return False

    def problem(self) -> str | None:
        """Why this worker is not doing its job, or None (for /health)."""
        name = type(self).__name__
        if self._worker is not None and self._worker.dead:
            return f"{name} has stopped"
        idle = time.monotonic() - self._progress_at
        if self.backlog() and idle > self.stall_after:
            return f"{name} has done nothing for {idle:.0f}s with {self.backlog()} waiting"
        return None

    def _run(self) -> None:
        while True:
            item = self._inbox.get()
            self.touch()
            try:
                self.handle(item)
            except Exception:
                log.exception("%s failed on %r", type(self).__name__, item)
            self.touch()


class Loop:
    """A service whose :meth:`_run` loops in a greenlet of its own: started once, killed
    (and waited for) on :meth:`stop`; :meth:`problem` says so once it died."""

    # What /health says when the loop died (None: "<class> has stopped").
    stopped: str | None = None
    _greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None

    def problem(self) -> str | None:
        if self._greenlet is not None and self._greenlet.dead:
            return self.stopped or f"{type(self).__name__} has stopped"
        return None

    def _run(self) -> None:
        raise NotImplementedError
