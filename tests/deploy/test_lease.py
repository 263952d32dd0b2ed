"""The controllers' lease in a real Redis: one holder at a time, a fencing token that
grows with every term, renewal only by the holder, a holder that steps down at once when
another holds the lease or before its lease can expire when Redis stops answering, and a
standby that takes over once the holder is gone."""

from __future__ import annotations

from typing import Any

import gevent

from esl_controller.cluster.lease import Lease, LeaseKeeper, Term
from esl_controller.cluster.settings import Keys
from tests.wire.conftest import wait_until


def lease_for(redis_client: Any, prefix: str, who: str, ttl: float = 3.0) -> Lease:
    keys = Keys(prefix)
    return Lease(redis_client, keys.lease, keys.fence, who, ttl)


class Watcher:
    """Records what a keeper tells its controller, and how long the lease key had left
    on the server at the moment it was told to stop (-2: the key was gone)."""

    def __init__(self, redis_client: Any = None, key: str = "") -> None:
        self.redis = redis_client
        self.key = key
        self.acquired: list[Term] = []
        self.lost: list[tuple[Term, str, int | None]] = []

    def on_acquired(self, term: Term) -> None:
        self.acquired.append(term)

    def on_lost(self, term: Term, why: str) -> None:
        left = int(self.redis.pttl(self.key)) if self.redis is not None else None
        self.lost.append((term, why, left))


def keeper_for(lease: Lease, watcher: Watcher, ttl: float) -> LeaseKeeper:
    return LeaseKeeper(lease, on_acquired=watcher.on_acquired, on_lost=watcher.on_lost,
                       renew_every=ttl / 3, poll_every=min(0.5, ttl / 6))  # fmt: skip


def test_one_holder_at_a_time_and_a_new_fence_every_term(redis_client: Any, prefix: str) -> None:
    a, b = lease_for(redis_client, prefix, "a"), lease_for(redis_client, prefix, "b")
    first = a.try_acquire()
    assert first is not None and first.controller == "a"
    assert b.try_acquire() is None  # held
    assert a.holder() == first
    assert a.renew(first)
    assert not b.renew(Term(first.fence, "b"))  # only the holder's own value renews
    assert not a.release(Term(first.fence + 1, "a"))
    assert a.holder() == first
    assert a.release(first)
    second = b.try_acquire()
    assert second is not None and second.controller == "b"
    assert second.fence > first.fence
    assert not a.renew(first)  # a term that ended never comes back


def test_a_holder_steps_down_at_once_when_another_holds_the_lease(
    redis_client: Any, prefix: str
) -> None:
    ttl = 0.9
    lease = lease_for(redis_client, prefix, "a", ttl)
    watcher = Watcher()
    keeper = keeper_for(lease, watcher, ttl)
    keeper.start()
    try:
        assert wait_until(lambda: watcher.acquired, 5)
        # Someone else's value in the key (an operator, or a controller after a split).
        redis_client.set(lease.key, "999:intruder", px=10_000)
        assert wait_until(lambda: watcher.lost, 5)
        term, why, _ = watcher.lost[0]
        assert term == watcher.acquired[0] and "another controller" in why
        assert not keeper.active
        assert lease.holder() == Term(999, "intruder")  # untouched by the loser
    finally:
        keeper.stop(release=False)


def test_a_holder_that_cannot_reach_redis_steps_down_before_its_lease_expires(
    redis_client: Any, prefix: str
) -> None:
    ttl = 1.2
    lease = lease_for(redis_client, prefix, "a", ttl)
    watcher = Watcher(redis_client, lease.key)
    keeper = keeper_for(lease, watcher, ttl)
    keeper.start()
    try:
        assert wait_until(lambda: watcher.acquired, 5)

        def unreachable(term: Term) -> bool:
            raise ConnectionError("Redis went away")

        lease.renew = unreachable  # type: ignore[method-assign]
        assert wait_until(lambda: watcher.lost, 5)
        _, why, left = watcher.lost[0]
        assert "Redis unreachable" in why
        # It stopped while its key still had time on the server: nobody else could have
        # taken the lease yet, so two controllers never act at once.
        assert left is not None and left > 0
    finally:
        keeper.stop(release=False)


def test_a_standby_takes_over_when_the_holder_dies(redis_client: Any, prefix: str) -> None:
    ttl = 0.9
    first, second = Watcher(), Watcher()
    holder = keeper_for(lease_for(redis_client, prefix, "a", ttl), first, ttl)
    standby = keeper_for(lease_for(redis_client, prefix, "b", ttl), second, ttl)
    holder.start()
    assert wait_until(lambda: first.acquired, 5)
    standby.start()
    try:
        gevent.sleep(ttl * 2)
        assert not second.acquired  # renewed all along: the standby waits
        assert holder._greenlet is not None
        holder._greenlet.kill(block=True)  # dies without a word (kill -9)
        assert wait_until(lambda: second.acquired, 10)
        assert second.acquired[0].fence > first.acquired[0].fence
        assert not first.lost  # the dead one was told nothing: its lease just expired
    finally:
        standby.stop(release=True)


def test_stopping_gives_the_lease_back_for_an_immediate_take_over(
    redis_client: Any, prefix: str
) -> None:
    lease = lease_for(redis_client, prefix, "a", 30.0)
    watcher = Watcher()
    keeper = keeper_for(lease, watcher, 30.0)
    keeper.start()
    assert wait_until(lambda: watcher.acquired, 5)
    keeper.stop(release=True)
    assert watcher.lost and "stopping" in watcher.lost[0][1]
    assert lease.holder() is None
    assert lease_for(redis_client, prefix, "b").try_acquire() is not None
