"""One active controller at a time: a lease in Redis with a fencing token.

* Taking it: when the key is free, ``INCR`` the fence counter, then ``SET lease
  "<fence>:<controller id>" NX PX ttl``. The fence grows with every term, so anything
  written under an older term can be told from the current one (the request list of a
  term, the floor feed's epoch, the scripts below).
* Keeping it: every ttl/3 a script renews it only if it still holds our value
  (compare-and-renew: a controller never extends a lease someone else took).
* Losing it: the script answers 0 (another controller holds it), or Redis cannot be
  reached until the lease may have expired: ``on_lost`` runs at once, and the controller
  stops its ESL link and recorder before another one can have taken over. It counts from
  the moment the last successful renewal was *sent*, so it always steps down before the
  key expires on the server.
* A standby polls every ``poll_every`` (0.5 s) and takes the lease as soon as it is free:
  ``kill -9`` of the active controller → taken over at most ttl + poll later (3.5 s with
  the defaults), then the ESL connect and resync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent

from esl_controller.services.worker import Loop

log = logging.getLogger(__name__)

RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Term:
    """One controller's hold of the lease."""

    fence: int
    controller: str

    @property
    def value(self) -> str:
        return f"{self.fence}:{self.controller}"


def parse_term(raw: object) -> Term | None:
    """The lease key's value, or None when it is absent or not ours to read."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or ":" not in raw:
        return None
    fence, controller = raw.split(":", 1)
    if not (fence.isascii() and fence.isdigit()):
        return None
    return Term(int(fence), controller)


class Lease:
    """The lease operations themselves (no timing: see :class:`LeaseKeeper`)."""

    def __init__(self, redis: Any, key: str, fence_key: str, controller: str,
                 ttl: float) -> None:  # fmt: skip
        self.redis = redis
        self.key = key
        self.fence_key = fence_key
        self.controller = controller
        self.ttl_ms = max(100, int(ttl * 1000))
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)

    def holder(self) -> Term | None:
        return parse_term(self.redis.get(self.key))

    def try_acquire(self) -> Term | None:
        """The lease if it is free (a new fencing token), else None."""
        if self.redis.exists(self.key):
            return None
        term = Term(int(self.redis.incr(self.fence_key)), self.controller)
        if self.redis.set(self.key, term.value, nx=True, px=self.ttl_ms):
            return term
        return None  # another controller was quicker; this fence number goes unused

    def renew(self, term: Term) -> bool:
        return bool(self._renew(keys=[self.key], args=[term.value, self.ttl_ms]))

    def release(self, term: Term) -> bool:
        return bool(self._release(keys=[self.key], args=[term.value]))


class LeaseKeeper(Loop):
    """The greenlet that takes, keeps and gives up the lease.

    ``on_acquired(term)`` runs in a greenlet of its own (activation may take a while:
    renewals go on meanwhile); ``on_lost(term, why)`` runs in the keeper's greenlet at
    once and must stop whatever acts as the active controller before returning.
    """

    def __init__(
        self,
        lease: Lease,
        *,
        on_acquired: Callable[[Term], None],
        on_lost: Callable[[Term, str], None],
        renew_every: float,
        poll_every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease = lease
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.renew_every = renew_every
        self.poll_every = poll_every
        self.clock = clock
        self.term: Term | None = None
        self.terms = 0  # how many times this process became active
        self.last_error: str | None = None
        self._confirmed = 0.0  # when the last successful acquire or renewal was sent
        self._pause_until = 0.0

    @property
    def active(self) -> bool:
        return self.term is not None

    def stop(self, *, release: bool = True) -> None:
        """Stop (SIGTERM): the active part is stopped first, then the lease is given back
        so a standby takes over at its next poll instead of waiting for the expiry."""
        super().stop()
        term, self.term = self.term, None
        if term is not None:
            self._lose(term, "this controller is stopping")
            if release:
                try:
                    self.lease.release(term)
                except Exception as exc:  # noqa: BLE001 - it expires by itself anyway
                    log.warning("lease: could not give it back (%s); it expires by itself", exc)

    def give_up(self, term: Term, *, pause: float) -> None:
        """Activation failed: hand the lease back and stay standby for ``pause`` seconds
        (two controllers that cannot start do not trade the lease back and forth)."""
        if self.term is term:
            self.term = None
            self._pause_until = self.clock() + pause
            try:
                self.lease.release(term)
            except Exception as exc:  # noqa: BLE001 - it expires by itself anyway
                self._note_error(exc)

    def _run(self) -> None:
        while True:
            if self.term is None:
                self._standby_once()
                gevent.sleep(self.poll_every if self.term is None else self.renew_every)
            else:
                self._keep_once()

    def _standby_once(self) -> None:
        sent = self.clock()
        if sent < self._pause_until:
            return
        try:
            term = self.lease.try_acquire()
            self.last_error = None
        except Exception as exc:  # noqa: BLE001 - Redis away: keep polling
            self._note_error(exc)
            return
        if term is not None:
            self.term = term
            self._confirmed = sent
            self.terms += 1
            log.warning("lease: this controller (%s) is active, fence %d", term.controller,
                        term.fence)  # fmt: skip
            gevent.spawn(self.on_acquired, term)

    def _keep_once(self) -> None:
        """One renewal, retried while the lease is surely still ours: until 80 % of the
        ttl after the last renewal that succeeded was sent (the server's expiry counts
        from when it received it, which is later)."""
        term = self.term
        assert term is not None
        ttl = self.lease.ttl_ms / 1000
        while True:
            if self.clock() >= self._confirmed + ttl * 0.8:
                self._step_down(term, f"Redis unreachable ({self.last_error}); the lease "
                                      "may expire before it is renewed")  # fmt: skip
                return
            sent = self.clock()
            try:
                ours = self.lease.renew(term)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - Redis away: retry while it is ours
                self._note_error(exc)
                gevent.sleep(min(0.2, self.renew_every / 2))
                continue
            if not ours:
                self._step_down(term, "another controller holds the lease")
                return
            self._confirmed = sent
            gevent.sleep(max(0.0, self.renew_every - (self.clock() - sent)))
            return

    def _step_down(self, term: Term, why: str) -> None:
        if self.term is term:
            self.term = None
            self._lose(term, why)

    def _lose(self, term: Term, why: str) -> None:
        log.error("lease: fence %d lost: %s; stopping the ESL link and the recorder",
                  term.fence, why)  # fmt: skip
        try:
            self.on_lost(term, why)
        except Exception:
            log.exception("lease: stopping the active controller failed")

    def _note_error(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        if text != self.last_error:
            log.warning("lease: Redis: %s", text)
        self.last_error = text
