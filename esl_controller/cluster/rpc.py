"""A web worker's requests to the active controller, over Redis lists.

Why Redis request/reply rather than an HTTP API on the controller: every process already
holds Redis for the Socket.IO queue and the lease, so there is no second port to open,
no address to discover (the request list is named by the lease's fencing token: whoever
holds the lease reads it) and no second authentication to run between the processes.

* A request is ``RPUSH`` ed on ``<prefix>:rpc:<fence>`` (the current term's list, which
  expires if nobody reads it) with a reply key of its own; the controller ``BLPOP`` s it,
  runs it in a greenlet of a bounded pool and ``RPUSH`` es the answer on the reply key.
* The web worker waits on the reply key a second at a time; between waits it reads the
  lease: gone or held by another term → 503 ``no_controller`` at once (the request may or
  may not have run on the controller that went away), rather than waiting out the
  timeout. No holder at all when it asks → 503 ``no_controller`` without queuing.
* Past ``CONTROLLER_RPC_TIMEOUT`` → 504 ``controller_timeout``; a request older than its
  timeout when the controller gets to it is dropped (the worker has already answered).
* Errors come back typed (:mod:`.codec`): the class, code, message and HTTP status the
  controller's service raised, so the API answers exactly as the embedded process does.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
import gevent.pool

from esl_controller.cluster import codec
from esl_controller.cluster.lease import Term, parse_term
from esl_controller.cluster.settings import Keys
from esl_controller.errors import CallCenterError
from esl_controller.services.worker import Loop

log = logging.getLogger(__name__)

Handler = Callable[[str, str, list[Any], dict[str, Any]], Any]


class NoController(CallCenterError):
    """No controller holds the lease (a take-over is under way, or none is running)."""

    code = "no_controller"
    http_status = 503


class ControllerTimeout(CallCenterError):
    code = "controller_timeout"
    http_status = 504


class RedisUnavailable(CallCenterError):
    code = "redis_unavailable"
    http_status = 503


class RpcClient:
    """Calls ``target.method(*args, **kwargs)`` on the active controller."""

    def __init__(self, quick: Any, blocking: Any, keys: Keys, timeout: float) -> None:
        self.quick = quick
        self.blocking = blocking
        self.keys = keys
        self.timeout = timeout

    def holder(self) -> Term | None:
        try:
            return parse_term(self.quick.get(self.keys.lease))
        except Exception as exc:  # noqa: BLE001 - redis-py raises several kinds
            raise RedisUnavailable(f"Redis unreachable: {type(exc).__name__}") from None

    def call(self, target: str, method: str, *args: Any, **kwargs: Any) -> Any:
        term = self.holder()
        if term is None:
            raise NoController("no controller holds the lease (a take-over may be under way)")
        request_id = uuid.uuid4().hex
        reply = self.keys.reply(request_id)
        request = json.dumps({
            "id": request_id, "reply": reply, "target": target, "method": method,
            "args": codec.encode(list(args)), "kwargs": codec.encode(kwargs),
            "sent_at": time.time(), "timeout": self.timeout,
        }, separators=(",", ":"))  # fmt: skip
        queue = self.keys.requests(term.fence)
        try:
            pipe = self.quick.pipeline()
            pipe.rpush(queue, request)
            pipe.pexpire(queue, int((self.timeout + 5) * 1000))
            pipe.execute()
        except Exception as exc:  # noqa: BLE001
            raise RedisUnavailable(f"Redis unreachable: {type(exc).__name__}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ControllerTimeout(f"the controller did not answer {target}.{method} "
                                        f"within {self.timeout:g} s")  # fmt: skip
            try:
                got = self.blocking.blpop([reply], timeout=min(1.0, max(0.01, left)))
            except Exception as exc:  # noqa: BLE001
                raise RedisUnavailable(f"Redis unreachable: {type(exc).__name__}") from None
            if got:
                return self._answer(got[1])
            if self.holder() != term:
                raise NoController("the controller went away while handling the request "
                                   "(it may or may not have been done)")  # fmt: skip

    @staticmethod
    def _answer(raw: bytes) -> Any:
        body = json.loads(raw)
        if "error" in body:
            raise codec.decode_error(body["error"])
        return codec.decode(body.get("ok"))


class RpcServer(Loop):
    """The active controller's side: one term's request list, served until :meth:`stop`."""

    stopped = "the controller's request reader has stopped"

    def __init__(self, quick: Any, blocking: Any, keys: Keys, term: Term, handle: Handler,
                 *, concurrency: int = 200) -> None:  # fmt: skip
        self.quick = quick
        self.blocking = blocking
        self.keys = keys
        self.term = term
        self.handle = handle
        self.served = 0
        self.failed = 0
        self._pool = gevent.pool.Pool(concurrency)

    def stop(self) -> None:
        super().stop()
        self._pool.kill(block=False)

    def _run(self) -> None:
        queue = self.keys.requests(self.term.fence)
        while True:
            try:
                got = self.blocking.blpop([queue], timeout=1)
            except Exception as exc:  # noqa: BLE001 - Redis away: the lease keeper decides
                log.warning("rpc: Redis: %s", exc)
                gevent.sleep(0.5)
                continue
            if got:
                self._pool.spawn(self._serve, got[1])

    def _serve(self, raw: bytes) -> None:
        try:
            request = json.loads(raw)
            reply = request["reply"]
            if not (isinstance(reply, str) and reply.startswith(self.keys.reply(""))):
                raise ValueError("reply key outside this prefix")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("rpc: unreadable request dropped (%s)", exc)
            return
        age = time.time() - float(request.get("sent_at") or 0)
        if age > float(request.get("timeout") or 0):
            log.warning("rpc: %s.%s dropped: %.1f s old, its caller has given up",
                        request.get("target"), request.get("method"), age)  # fmt: skip
            return
        try:
            args = codec.decode(request.get("args") or [])
            kwargs = codec.decode(request.get("kwargs") or {})
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise CallCenterError("malformed arguments", code="invalid_request")
            result = self.handle(str(request.get("target")), str(request.get("method")),
                                 args, kwargs)  # fmt: skip
            text = f'{{"ok":{_result_text(result)}}}'
            self.served += 1
        except Exception as exc:  # every failure goes back typed; the loop goes on
            self.failed += 1
            if not isinstance(exc, CallCenterError):
                log.exception("rpc: %s.%s failed", request.get("target"), request.get("method"))
            text = json.dumps({"error": codec.encode_error(exc)}, separators=(",", ":"))
        try:
            pipe = self.quick.pipeline()
            pipe.rpush(reply, text)
            pipe.pexpire(reply, 60_000)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the caller times out or sees no_controller
            log.warning("rpc: could not send the reply (%s)", exc)


def _result_text(result: Any) -> str:
    """``json.dumps(codec.encode(result))``, a list item by item: ``page.snapshots`` is
    a whole floor per page, so only one page is held as a tree of dicts at a time, and
    the other greenlets (the lease keeper) get a turn between pages."""
    if type(result) is not list:
        return _dumps(codec.encode(result))
    items = []
    for item in result:
        items.append(_dumps(codec.encode(item)))
        gevent.sleep(0)
    return f"[{','.join(items)}]"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
