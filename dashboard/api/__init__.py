"""The REST API under ``/call-center/api/`` (DESIGN.md §3) and its OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from dashboard.api import admin, agent, call, console, directory, reports, supervisor
from dashboard.api.context import deps
from dashboard.api.openapi import build_document
from dashboard.api.registry import Api
from dashboard.api.schemas import Error

PREFIX = "/call-center/api"


def build_api(version: str) -> tuple[Blueprint, Api]:
    blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
    api = Api(blueprint, lambda: deps().users)
    for module in (agent, call, directory, supervisor, console, admin, reports):
        module.register(api)
    document = build_document(api.docs, PREFIX, Error, version)

    @blueprint.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(document)

    return blueprint, api
