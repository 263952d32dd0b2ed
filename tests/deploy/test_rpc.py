"""Requests from a web worker to the active controller over a real Redis: answers and
typed errors come back as the controller's service gave them; no holder is 503
``no_controller`` at once; a controller that goes away mid-request is 503 within a
second or so, not after the timeout; silence is 504; a request older than its timeout is
not run; what crosses keeps its types (views, tuples, dataclasses) and nothing but the
product's own dataclasses is rebuilt from the wire."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from esl_controller.cluster import codec
from esl_controller.cluster.lease import Lease, Term
from esl_controller.cluster.rpc import ControllerTimeout, NoController, RpcClient, RpcServer
from esl_controller.cluster.settings import Keys
from esl_controller.domain.floor import new_agent, new_queue
from esl_controller.domain.model import CallView, Snapshot
from esl_controller.errors import CommandFailed, NotFound
from esl_controller.services.wrap_up import HistoryUnavailable, Owed


def a_call(uuid: str) -> CallView:
    return CallView(uuid=uuid, direction="inbound", queue="support@default", member_uuid=uuid,
                    agent="agent1000", agent_leg="leg-1", cid_name="Ann ${x}",
                    cid_number="5550001", joined_at=1.0, offered_at=2.0, answered_at=3.0,
                    held_since=None, hold_seconds=0.5, transferred_at=None, ended_at=None,
                    cause=None, outcome=None)  # fmt: skip


def test_views_and_results_cross_with_their_types() -> None:
    queue = new_queue("support@default")
    snapshot = Snapshot({"agent1000": new_agent("agent1000")}, {"c1": a_call("c1")},
                        {"support@default": queue}, 12.5)  # fmt: skip
    owed = [Owed("c1", "agent1000", "inbound", "Ann", "5550001", "answered", 4.0, 9.0)]
    value = {"snapshot": snapshot, "owed": owed, "pair": ("c1", 9.0),
             "odd keys": {"$t": 1, "$dc": "os:system"}}  # fmt: skip
    back = codec.loads(codec.dumps(value))
    assert back == value
    assert isinstance(back["snapshot"].calls["c1"], CallView)
    assert isinstance(back["snapshot"].queues["support@default"].waiting, tuple)
    assert back["pair"] == ("c1", 9.0)


def test_only_the_products_own_dataclasses_are_rebuilt() -> None:
    with pytest.raises(ValueError):
        codec.loads(json.dumps({"$dc": "subprocess:Popen", "f": {"args": "true"}}))
    with pytest.raises(ValueError):
        codec.loads(json.dumps({"$dc": "esl_controller.errors:CallCenterError", "f": {}}))
    # An error naming a class from elsewhere comes back as a plain typed error.
    error = codec.decode_error({"type": "builtins:SystemExit", "code": "x", "message": "m",
                                "http_status": 409})  # fmt: skip
    assert type(error) is codec.RemoteError and error.http_status == 409


def test_typed_errors_come_back_as_raised() -> None:
    for raised in (NotFound("no call", code="no_wrap_up"),
                   CommandFailed("-ERR no", reply="-ERR no", code="already_dispositioned"),
                   HistoryUnavailable("database down")):  # fmt: skip
        back = codec.decode_error(json.loads(json.dumps(codec.encode_error(raised))))
        assert type(back) is type(raised)
        assert (back.code, back.message, back.http_status) == (
            raised.code, raised.message, raised.http_status)  # fmt: skip
    crash = codec.decode_error(codec.encode_error(KeyError("secret detail")))
    assert crash.http_status == 500 and "secret detail" not in crash.message


class Controller:
    """A controller's request server for one lease term, in a thread of its own."""

    def __init__(self, redis_client: Any, keys: Keys, handle: Any) -> None:
        lease = Lease(redis_client, keys.lease, keys.fence, "ctl", 30.0)
        term = lease.try_acquire()
        assert term is not None
        self.lease, self.term = lease, term
        self.server = RpcServer(redis_client, redis_client, keys, term, handle)
        self.keys = keys
        self.redis = redis_client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # The server's loop body, one request at a time (no gevent hub in this thread).
        while not self._stop.is_set():
            got = self.redis.blpop([self.keys.requests(self.term.fence)], timeout=0.2)
            if got:
                self.server._serve(got[1])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix)


def client(redis_client: Any, keys: Keys, timeout: float = 5.0) -> RpcClient:
    return RpcClient(redis_client, redis_client, keys, timeout)


def test_an_answer_and_a_typed_error(redis_client: Any, keys: Keys) -> None:
    def handle(target: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if method == "waiting_for":
            return ("c1", 9.5)
        raise NotFound(f"no disposition is awaited for call {args[1]}", code="no_wrap_up")

    controller = Controller(redis_client, keys, handle)
    try:
        rpc = client(redis_client, keys)
        assert rpc.call("wrap_up", "waiting_for", "agent1000") == ("c1", 9.5)
        with pytest.raises(NotFound) as raised:
            rpc.call("wrap_up", "close", "agent1000", "c9", actor="alice")
        assert raised.value.code == "no_wrap_up" and raised.value.http_status == 404
    finally:
        controller.stop()


def test_no_holder_is_no_controller_without_queuing(redis_client: Any, keys: Keys) -> None:
    with pytest.raises(NoController) as raised:
        client(redis_client, keys).call("agents", "ready", "agent1000")
    assert raised.value.http_status == 503
    assert not redis_client.keys(f"{keys.prefix}:rpc:*")


def test_a_controller_gone_mid_request_is_no_controller_before_the_timeout(
    redis_client: Any, keys: Keys
) -> None:
    lease = Lease(redis_client, keys.lease, keys.fence, "ctl", 30.0)
    term = lease.try_acquire()
    assert term is not None
    threading.Timer(0.5, lambda: lease.release(term)).start()  # it dies; nobody reads
    with pytest.raises(NoController):
        client(redis_client, keys, timeout=60.0).call("agents", "ready", "agent1000")


def test_silence_is_a_timeout(redis_client: Any, keys: Keys) -> None:
    lease = Lease(redis_client, keys.lease, keys.fence, "ctl", 30.0)
    assert lease.try_acquire() is not None  # held, but nobody serves the requests
    with pytest.raises(ControllerTimeout) as raised:
        client(redis_client, keys, timeout=1.0).call("agents", "ready", "agent1000")
    assert raised.value.http_status == 504


def test_a_request_its_caller_gave_up_on_is_not_run(redis_client: Any, keys: Keys) -> None:
    ran: list[str] = []
    server = RpcServer(redis_client, redis_client, keys, Term(1, "ctl"),
                       lambda *a: ran.append(a[1]))  # fmt: skip
    old = {"id": "x", "reply": keys.reply("x"), "target": "agents", "method": "ready",
           "args": ["agent1000"], "kwargs": {}, "sent_at": 0, "timeout": 15}  # fmt: skip
    server._serve(json.dumps(old).encode())
    elsewhere = {**old, "reply": "other:key", "sent_at": 9e99}
    server._serve(json.dumps(elsewhere).encode())  # a reply key outside the prefix
    assert ran == []
    assert not redis_client.exists(keys.reply("x")) and not redis_client.exists("other:key")
