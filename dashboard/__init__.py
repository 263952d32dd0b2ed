"""The Flask dashboard: app factory, blueprints and Socket.IO on gevent.

``create_app(deps)`` builds everything from explicit dependencies (DESIGN.md §1): the
REST API (``dashboard.api``), the pages (``dashboard.pages``), Socket.IO push
(``dashboard.realtime``) and mod_xml_curl's directory (``dashboard.directory``).
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.api import PREFIX, build_api
from dashboard.api.context import EXTENSION_KEY
from dashboard.auth import LoginLimiter, RevokedSessions
from dashboard.console_socket import register_console
from dashboard.deps import Dependencies
from dashboard.errors import register_error_handlers
from dashboard.extension import CallCenter as CallCenter  # the product inside a host app
from dashboard.pages import build_pages
from dashboard.realtime import Publisher, register_socketio

VERSION = "0.1.0"
REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def create_app(
    deps: Dependencies,
    *,
    config: dict[str, Any] | None = None,
    socketio_options: dict[str, Any] | None = None,
    publisher_factory: Callable[[SocketIO, Dependencies], Publisher] = Publisher,
) -> Flask:
    """The dashboard for ``deps``. ``socketio_options`` go to Flask-SocketIO (a web worker
    passes ``message_queue`` and ``channel``); ``publisher_factory`` builds what feeds
    the pages (a web worker's publisher only greets its own clients: the controller emits
    the floor's changes through the message queue)."""
    app = Flask(__name__)
    settings = deps.settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="callcenter_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    if settings.proxies:
        n = settings.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    deps.extra.setdefault(
        "login_limiter", LoginLimiter(settings.login_attempts, settings.login_window)
    )
    app.extensions[EXTENSION_KEY] = deps
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    app.extensions["callcenter.revoked_sessions"] = RevokedSessions(lifetime)

    blueprint, api = build_api(VERSION)
    app.register_blueprint(blueprint)
    vendor = (
        pathlib.Path(settings.vendor_dir) if settings.vendor_dir else REPO_ROOT / "node_modules"
    )
    app.register_blueprint(build_pages(vendor))
    register_error_handlers(app, PREFIX)
    try:
        from dashboard.directory import directory_blueprint
    except ImportError:  # pragma: no cover - the directory arrives with the softphone work
        pass
    else:
        app.register_blueprint(directory_blueprint(
            deps.sessions, domain=settings.sip_domain or "",
            username=settings.xml_curl_username, password=settings.xml_curl_password,
            nodes=settings.esl_nodes,
        ))  # fmt: skip

    # One process (``serve``) or several web workers over a Redis message queue
    # (``serve --role web``, dashboard/cluster/).
    socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins=None,
                        **(socketio_options or {}))  # fmt: skip
    publisher = publisher_factory(socketio, deps)
    register_socketio(socketio, publisher, deps)
    register_console(socketio, deps)  # the engineers' ESL console (namespace /console)
    app.extensions["callcenter.publisher"] = publisher
    app.extensions["callcenter.api"] = api
    return app
