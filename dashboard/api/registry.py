"""How an API endpoint is declared: one decorator gives auth, CSRF, body validation and
the endpoint's entry in the OpenAPI document, so the document is generated from the code
and cannot drift from it.

A view receives the validated body (a pydantic model) and the signed-in user, and returns
a pydantic model or a dict; errors are raised as typed :class:`CallCenterError` and turned
into ``{"error": {"code", "message"}}`` by the app's error handlers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ValidationError

from dashboard.auth import check_csrf, require
from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.services.users import UserRecord, UserService

View = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class EndpointDoc:
    method: str
    rule: str  # Flask rule under the blueprint prefix
    summary: str
    tag: str
    role: str | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    query: type[BaseModel] | None
    errors: tuple[int, ...]


class InvalidJson(CallCenterError):
    code = "invalid_json"
    http_status = 400


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}"


def parse_model(model: type[BaseModel], data: object) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgument(first_error(exc)) from None


class Api:
    """A blueprint plus the list of what it serves (for the OpenAPI document)."""

    def __init__(self, blueprint: Blueprint, users: Callable[[], UserService]) -> None:
        self.blueprint = blueprint
        self.users = users
        self.docs: list[EndpointDoc] = []

    def endpoint(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        tag: str,
        role: str | None = "agent",
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (),
    ) -> Callable[[View], View]:
        def register(view: View) -> View:
            @functools.wraps(view)
            def handler(**path: Any) -> Any:
                user: UserRecord | None = None
                if role is not None:
                    user = require(self.users(), role)
                    check_csrf()
                kwargs: dict[str, Any] = dict(path)
                if body is not None:
                    data = request.get_json(silent=True)
                    if data is None:
                        raise InvalidJson("the request body must be a JSON object")
                    kwargs["body"] = parse_model(body, data)
                if query is not None:
                    kwargs["query"] = parse_model(query, request.args.to_dict())
                if role is not None:
                    kwargs["user"] = user
                result = view(**kwargs)
                if isinstance(result, tuple):
                    payload, status = result
                else:
                    payload, status = result, 200
                if isinstance(payload, BaseModel):
                    payload = payload.model_dump(mode="json")
                return jsonify(payload), status

            self.blueprint.add_url_rule(rule, view.__name__ + "_" + method.lower(), handler,
                                        methods=[method])  # fmt: skip
            self.docs.append(EndpointDoc(method, rule, summary, tag, role, body, response,
                                         query, errors))  # fmt: skip
            return view

        return register
