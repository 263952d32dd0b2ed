"""The Flask dashboard (app factory). For now: a status page and ``/health``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Flask, jsonify

from esl_controller.esl.client import Health


def create_app(health: Callable[[], Health], *, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``health`` returns the ESL link's current health record."""
    app = Flask(__name__)
    if test_config:
        app.config.update(test_config)

    @app.get("/health")
    def health_view() -> Any:
        record = health()
        status = 200 if record.connected else 503
        return jsonify({"freeswitch": asdict(record)}), status

    @app.get("/")
    def index() -> Any:
        record = health()
        state = "connected" if record.connected else record.state
        return (
            "<!doctype html><title>Call center</title>"
            f"<h1>Call center</h1><p>FreeSWITCH: <strong>{state}</strong></p>"
            "<p>The agent and supervisor pages are being built; see README.</p>"
        )

    return app
