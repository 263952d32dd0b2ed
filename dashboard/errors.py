"""Every error leaves as JSON ``{"error": {"code", "message"}}`` with a 4xx status (5xx
only for FreeSWITCH being unreachable or a bug) — never an HTML page or a traceback.
Pages (not under the API prefix) answer 401 with a redirect to sign in and 403 with a
redirect to the user's own home page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from dashboard.auth import Forbidden, NotSignedIn, TooManyAttempts
from dashboard.mount import url_for
from esl_controller.errors import CallCenterError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, status: int) -> Any:
    return jsonify({"error": {"code": code, "message": message}}), status


def register_error_handlers(app: Flask | Blueprint, api_prefix: str,
                            login_url: Callable[[str], str] | None = None) -> None:  # fmt: skip
    """On the app (the product on its own) or on the product's blueprint inside a host
    app, whose other errors stay the host's; ``login_url`` (the host's sign-in page for
    a path to come back to) replaces the product's own."""

    @app.errorhandler(CallCenterError)
    def typed(exc: CallCenterError) -> Any:
        if not request.path.startswith(api_prefix):
            if isinstance(exc, NotSignedIn):
                if login_url is not None:
                    return redirect(login_url(request.path))
                return redirect(url_for("pages.login", next=request.path))
            if isinstance(exc, Forbidden):  # a page for another role: back to one's own
                return redirect(url_for("pages.index"))
        reply = error_body(exc.code, exc.message, exc.http_status)
        if isinstance(exc, TooManyAttempts):
            reply[0].headers["Retry-After"] = str(exc.retry_after)
        return reply

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_body(code, exc.description or exc.name, exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body("internal_error", "unexpected server error", 500)
