"""The OpenAPI 3.1 document, built from the endpoints' declarations and their pydantic
models (served at ``/call-center/api/openapi.json``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from dashboard.api.registry import EndpointDoc

ERROR_TEXT = {
    400: "Invalid request (bad JSON, a value that cannot go into a command)",
    401: "Not signed in, or wrong user name or password",
    403: "The user's role does not allow this, or the CSRF token is missing",
    404: "No such agent, call or record",
    409: "FreeSWITCH refused the command in the current state",
    429: "Too many failed sign-ins",
    503: "FreeSWITCH is unreachable",
    504: "FreeSWITCH did not answer in time",
}
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document(docs: list[EndpointDoc], prefix: str, error_model: type[BaseModel],
                   version: str) -> dict[str, Any]:  # fmt: skip
    components: dict[str, Any] = {}
    error_ref = _schema(error_model, components)
    paths: dict[str, dict[str, Any]] = {}
    for doc in docs:
        params = []
        for converter, name in _PARAM.findall(doc.rule):
            kind = {"int": "integer"}.get(converter, "string")
            schema: dict[str, Any] = {"type": kind}
            if kind == "integer":
                schema |= {"minimum": 0, "maximum": 2**31 - 1}
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        if doc.query is not None:
            props = doc.query.model_json_schema().get("properties", {})
            required = set(doc.query.model_json_schema().get("required", []))
            for name, prop in props.items():
                params.append({"name": name, "in": "query", "required": name in required,
                               "schema": prop})  # fmt: skip
        operation: dict[str, Any] = {
            "summary": doc.summary,
            "tags": [doc.tag],
            "operationId": f"{doc.method.lower()}_{doc.rule.strip('/').replace('/', '_')}".replace(
                "<", ""
            )
            .replace(">", "")
            .replace(":", "_")
            .replace("-", "_"),
        }
        if params:
            operation["parameters"] = params
        if doc.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(doc.body, components)}},
            }
        ok: dict[str, Any] = {"description": "Done"}
        if doc.response is not None:
            ok["content"] = {"application/json": {"schema": _schema(doc.response, components)}}
        responses: dict[str, Any] = {"200": ok}
        codes = set(doc.errors)
        if doc.body is not None or doc.query is not None or params:
            codes.add(400)
        if doc.role is not None:
            codes |= {401, 403}
        for code in sorted(codes):
            responses[str(code)] = {
                "description": ERROR_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": error_ref}},
            }
        operation["responses"] = responses
        if doc.role is not None:
            operation["security"] = [{"session": [], "csrf": []}]
            operation["description"] = f"Needs the {doc.role} role."
        path = prefix + _PARAM.sub(lambda m: "{" + m.group(2) + "}", doc.rule)
        paths.setdefault(path, {})[doc.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Call center API", "version": version,
                 "description": "Agents, calls and supervisors on FreeSWITCH mod_callcenter."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "callcenter_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }  # fmt: skip
