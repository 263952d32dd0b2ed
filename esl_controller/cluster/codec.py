"""What crosses Redis between processes: JSON, with the product's frozen views and
results (dataclasses), tuples and typed errors tagged so they come back as they were.

Only dataclasses of this product's own modules are rebuilt (never an arbitrary class
named by the wire), and only from their declared fields: a field the other side does not
know is ignored and a missing one takes its default, so a web worker and a controller
one release apart still understand each other.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from datetime import datetime
from typing import Any

from esl_controller.errors import CallCenterError

OWN_MODULES = ("esl_controller.", "dashboard.")


def encode(value: Any) -> Any:
    """A JSON-able form of ``value`` (views, results, containers of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    # Plain items are taken as they are without a call each: a whole floor, or a page
    # snapshot per supervisor, is millions of them.
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [v if type(v) in _PLAIN else encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return [encode(v) for v in sorted(value, key=repr)]
    if isinstance(value, dict):
        body = {}
        tagged = False
        for k, v in value.items():
            key = k if type(k) is str else str(k)
            tagged = tagged or key[:1] == "$"
            body[key] = v if type(v) in _PLAIN else encode(v)
        return {"$m": body} if tagged else body
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    shape = _SHAPES.get(type(value))
    if shape is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        names = tuple(f.name for f in dataclasses.fields(value))
        shape = _SHAPES[cls] = (f"{cls.__module__}:{cls.__qualname__}", names)
    if shape is not None:
        tag, names = shape
        fields = {}
        for name in names:
            item = getattr(value, name)
            fields[name] = item if type(item) in _PLAIN else encode(item)
        return {"$dc": tag, "f": fields}
    raise TypeError(f"cannot send a {type(value).__name__} between processes")


# Dataclass -> (its tag, its field names): read once per class, not once per view (a
# whole floor is tens of thousands of views).
_SHAPES: dict[type, tuple[str, tuple[str, ...]]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$t" in value and len(value) == 1:
        return tuple(decode(v) for v in value["$t"])
    if "$m" in value and len(value) == 1:
        return {k: decode(v) for k, v in value["$m"].items()}
    if "$dt" in value and len(value) == 1:
        return datetime.fromisoformat(value["$dt"])
    if "$dc" in value and set(value) == {"$dc", "f"}:
        return _dataclass(value["$dc"], value["f"])
    return {k: decode(v) for k, v in value.items()}


def _own(path: object) -> Any:
    if not isinstance(path, str) or ":" not in path:
        raise ValueError(f"not a class path: {path!r}")
    module, name = path.split(":", 1)
    if not module.startswith(OWN_MODULES) or "." in name or not name.isidentifier():
        raise ValueError(f"refused to rebuild {path!r}")
    return getattr(importlib.import_module(module), name)


def _dataclass(path: str, fields: dict[str, Any]) -> Any:
    found = _CLASSES.get(path) if isinstance(path, str) else None
    if found is None:
        cls = _own(path)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"{path} is not a dataclass")
        tuples = {f.name: str(f.type).startswith("tuple") for f in dataclasses.fields(cls)
                  if f.init}  # fmt: skip
        found = _CLASSES[path] = (cls, tuples)
    cls, tuple_typed = found
    kwargs = {}
    for name, raw in fields.items():
        if name in tuple_typed:
            item = decode(raw) if isinstance(raw, (list, dict)) else raw
            # A tuple-typed field sent by an older peer as a plain list.
            if isinstance(item, list) and tuple_typed[name]:
                item = tuple(item)
            kwargs[name] = item
    return cls(**kwargs)


# Class path -> (the class, its init fields: whether each is tuple-typed), once checked.
_CLASSES: dict[str, tuple[type, dict[str, bool]]] = {}


def dumps(value: Any) -> str:
    return json.dumps(encode(value), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return decode(json.loads(text))


# -- errors --------------------------------------------------------------------------


def encode_error(exc: BaseException) -> dict[str, Any]:
    """A typed error as the web worker will raise it again (code, status, message)."""
    if isinstance(exc, CallCenterError):
        cls = type(exc)
        return {"type": f"{cls.__module__}:{cls.__qualname__}", "code": exc.code,
                "message": exc.message, "http_status": exc.http_status}  # fmt: skip
    return {"type": None, "code": "controller_error", "http_status": 500,
            "message": f"the controller failed: {type(exc).__name__}"}  # fmt: skip


class RemoteError(CallCenterError):
    """An error the controller raised whose class this process cannot rebuild: same
    code, message and HTTP status."""

    def __init__(self, message: str, *, code: str, http_status: int) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status


def decode_error(body: object) -> CallCenterError:
    if not isinstance(body, dict):
        return RemoteError("the controller sent an unreadable error", code="controller_error",
                           http_status=502)  # fmt: skip
    message = str(body.get("message") or "the controller refused the request")
    code = str(body.get("code") or "controller_error")
    status = body.get("http_status")
    status = status if isinstance(status, int) and 400 <= status < 600 else 500
    try:
        cls = _own(body.get("type"))
    except (ValueError, ImportError, AttributeError):
        cls = None
    if isinstance(cls, type) and issubclass(cls, CallCenterError):
        # Built without its own __init__ (some take other arguments): the same class, so
        # ``except NotFound`` and the error handlers see what the controller raised.
        exc = cls.__new__(cls)
        CallCenterError.__init__(exc, message, code=code)
        if exc.http_status != status:
            exc.http_status = status
        return exc
    return RemoteError(message, code=code, http_status=status)
