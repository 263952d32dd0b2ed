"""The Flask dashboard (app factory). For now: a live floor summary page, ``/health`` and
``/call-center/api/floor`` (the agent and supervisor pages come with the dashboard work)."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Flask, jsonify

from esl_controller.domain.model import Snapshot
from esl_controller.esl.client import Health


def floor_json(snapshot: Snapshot) -> dict[str, Any]:
    now = time.time()
    return {
        "agents": [
            {**asdict(a), "in_wrap_up": a.in_wrap_up(now)} for a in snapshot.agents.values()
        ],
        "calls": [asdict(c) for c in snapshot.calls.values()],
        "queues": [
            {
                **asdict(q),
                "service_level": q.service_level,
                "average_speed_of_answer": q.average_speed_of_answer,
                "average_handle_time": q.average_handle_time,
            }
            for q in snapshot.queues.values()
        ],
    }


def create_app(
    health: Callable[[], Health],
    floor: Callable[[], Snapshot] | None = None,
    *,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the app; ``health`` gives the ESL link's health, ``floor`` the live model."""
    app = Flask(__name__)
    if test_config:
        app.config.update(test_config)

    @app.get("/health")
    def health_view() -> Any:
        record = health()
        status = 200 if record.connected else 503
        return jsonify({"freeswitch": asdict(record)}), status

    @app.get("/call-center/api/floor")
    def floor_view() -> Any:
        if floor is None:
            return jsonify({"error": {"code": "not_ready", "message": "no floor model"}}), 503
        return jsonify(floor_json(floor()))

    @app.get("/")
    def index() -> Any:
        record = health()
        state = "connected" if record.connected else record.state
        rows = ""
        if floor is not None:
            snap = floor()
            rows = "".join(
                f"<tr><td>{html.escape(a.name)}</td><td>{html.escape(a.status)}</td>"
                f"<td>{html.escape(a.state)}</td></tr>"
                for a in sorted(snap.agents.values(), key=lambda a: a.name)
            )
            queues = "".join(
                f"<li>{html.escape(q.name)}: {len(q.waiting)} waiting, {q.answered} answered,"
                f" {q.abandoned} abandoned</li>"
                for q in sorted(snap.queues.values(), key=lambda q: q.name)
            )
            rows = (
                f"<h2>Queues</h2><ul>{queues}</ul><h2>Agents</h2>"
                f"<table><tr><th>agent</th><th>status</th><th>state</th></tr>{rows}</table>"
            )
        return (
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=2>"
            "<title>Call center</title>"
            f"<h1>Call center</h1><p>FreeSWITCH: <strong>{state}</strong></p>{rows}"
            "<p>The agent and supervisor pages are being built; see README.</p>"
        )

    return app
