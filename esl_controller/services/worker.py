"""A greenlet fed through a queue: how a service listens to the floor's change records
without ever blocking the floor's own greenlet (it only enqueues)."""

from __future__ import annotations

import logging
from typing import Generic, TypeVar

import gevent
import gevent.queue

log = logging.getLogger(__name__)
T = TypeVar("T")


class QueueWorker(Generic[T]):
    """Subclasses put work with :meth:`submit` and do it in :meth:`handle`, one item at
    a time and in order; a failing item is logged and the next one taken."""

    def __init__(self) -> None:
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._worker: gevent.Greenlet | None = None

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

    def _run(self) -> None:
        while True:
            item = self._inbox.get()
            try:
                self.handle(item)
            except Exception:
                log.exception("%s failed on %r", type(self).__name__, item)
