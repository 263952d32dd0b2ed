"""The HTML pages: sign-in / sign-out forms, the agent's page, the supervisor's floor,
and the browser libraries the pages load (socket.io client, SIP.js) from node_modules."""

from __future__ import annotations

import contextlib
import pathlib
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, abort, redirect, request, send_from_directory
from markupsafe import escape

from dashboard.api.context import deps
from dashboard.auth import (
    TooManyAttempts,
    check_csrf,
    client_key,
    csrf_token,
    current_user,
    require,
    sign_in,
    sign_out,
)
from dashboard.db import off_hub
from dashboard.mount import render_template, url_for  # the product's names, mounted or not
from esl_controller.errors import CallCenterError

VENDOR_PACKAGES = {
    "socket.io-client": "socket.io-client/dist",
    "sip.js": "sip.js",
    "xterm": "@xterm/xterm",
    "chart.js": "chart.js/dist",
}


def home_for(role: str) -> str:
    """Where a user lands after signing in: agents on their page, engineers on the ESL
    console, supervisors on the floor."""
    if role == "agent":
        return url_for("pages.agent")
    if role == "engineer":
        return url_for("pages.console")
    return url_for("pages.supervisor")


def safe_next(target: str | None) -> str | None:
    """A path on this site to go to after signing in, or None.

    Judged as a browser will read it: browsers drop tabs and newlines from a URL (so
    ``/\t/evil.example`` becomes ``//evil.example``, another site) and read ``\\`` as
    ``/``; such targets are refused, as is anything with a scheme or a host. What is left
    is rebuilt from its normalised path (dot segments resolved, repeated slashes folded)
    and query, percent-encoded, so the Location header is always a plain local path.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    segments: list[str] = []
    for segment in parts.path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    path = "/" + "/".join(segments)
    if parts.path.endswith("/") and segments:
        path += "/"
    local = quote(path, safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        local += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return local


def build_pages(vendor_dir: pathlib.Path) -> Blueprint:
    pages = Blueprint("pages", __name__)

    @pages.get("/")
    def index() -> Any:
        user = current_user(deps().users)
        return redirect(home_for(user.role) if user else url_for("pages.login"))

    @pages.get("/health")
    def health() -> Any:
        record = deps().health()
        body: dict[str, Any] = {
            "freeswitch": {
                "state": record.state,
                "connected": record.connected,
                "since": record.since,
                "reconnects": record.reconnects,
                # Why it is not healthy (refused password, stalled handler, ...); null
                # while connected.
                "reason": None if record.connected else (record.last_error or record.state),
            }
        }
        # A dead or stalled part inside the controller (the floor's owner, a worker)
        # makes the floor untrustworthy even with a live link.
        problems = deps().problems()
        body["problems"] = problems
        # The history's own state (records waiting in memory or on disk, dead letters):
        # the database being down does not make the floor wrong, so it is not a 503.
        body["history"] = deps().recorder.stats()
        # Which part this process plays: "active" (holds the ESL link: the embedded
        # default, or the controller holding the lease) or "web" (serve --role web); a
        # web worker adds the active controller's id and whether its floor copy follows.
        body["role"] = deps().extra.get("role", "active")
        cluster = deps().extra.get("cluster_health")
        if callable(cluster):
            body["cluster"] = cluster()
        nodes = deps().extra.get("nodes_health")  # ESL_NODES: each node's link
        if callable(nodes):
            body["nodes"] = nodes()
        return body, (200 if record.connected and not problems else 503)

    @pages.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = None
        status = 200
        if request.method == "POST":
            check_csrf()
            username = request.form.get("username", "")[:64]
            password = request.form.get("password", "")[:256]
            limiter = deps().extra["login_limiter"]
            keys = (client_key(), f"user:{username.lower()}")
            try:
                limiter.check(*keys)  # type: ignore[attr-defined]
                user = off_hub(lambda: deps().users.authenticate(username, password))
                if user is None:
                    limiter.failed(*keys)  # type: ignore[attr-defined]
                    error, status = "Wrong user name or password.", 401
                else:
                    limiter.succeeded(keys[1])  # type: ignore[attr-defined]
                    if user.agent is not None:
                        deps().agents.login(user.agent)
                    sign_in(user)
                    return redirect(safe_next(request.args.get("next")) or home_for(user.role))
            except TooManyAttempts as exc:
                error, status = exc.message, 429
            except CallCenterError as exc:
                error, status = f"Cannot sign you in to the queues: {exc.message}", 503
        return render_template("login.html", error=error, csrf_token=csrf_token()), status

    @pages.post("/logout")
    def logout() -> Any:
        check_csrf()
        user = current_user(deps().users)
        if user is not None and user.agent is not None:
            # FreeSWITCH down: the web session still ends; the agent stays as it was there.
            with contextlib.suppress(CallCenterError):
                deps().agents.logout(user.agent)
        sign_out()
        return redirect(url_for("pages.login"))

    @pages.get("/agent")
    def agent() -> Any:
        user = require(deps().users, "agent")
        if user.agent is None:
            return redirect(url_for("pages.supervisor"))
        settings = deps().settings
        return render_template("agent.html", user=user, csrf_token=csrf_token(),
                               phone_driver=settings.phone_driver)  # fmt: skip

    @pages.get("/supervisor")
    def supervisor() -> Any:
        user = require(deps().users, "supervisor")
        return render_template("supervisor.html", user=user, csrf_token=csrf_token())

    @pages.get("/reports")
    def reports() -> Any:
        # The numbers over time (dashboard/api/reports.py gives the data and the CSV).
        user = require(deps().users, "supervisor")
        return render_template("reports.html", user=user, csrf_token=csrf_token())

    @pages.get("/wallboard")
    def wallboard() -> Any:
        # For a TV on the floor: no controls, pushed like /supervisor.
        user = require(deps().users, "supervisor")
        return render_template("wallboard.html", user=user, csrf_token=csrf_token())

    @pages.get("/admin")
    def admin() -> Any:
        # Agents, queues and tiers (dashboard/api/admin.py): supervisors edit agents and
        # tiers, engineers queues too; the page asks the API, which enforces the roles.
        user = require(deps().users, "supervisor")
        return render_template("admin.html", user=user, csrf_token=csrf_token(),
                               can_edit_queues=user.has_role("engineer"))  # fmt: skip

    @pages.get("/console")
    def console() -> Any:
        user = require(deps().users, "agent")  # signed in at all (else: to the sign-in page)
        if not user.has_role("engineer"):
            # Unlike other pages (a wrong role is sent home), the console says 403 plainly:
            # it is where an ESL command line would be, and it is not for this user.
            home = escape(home_for(user.role))
            return (f'<!doctype html><title>403</title><p>403: the ESL console is for '
                    f'engineers. <a href="{home}">Back</a></p>', 403)  # fmt: skip
        return render_template("console.html", user=user, csrf_token=csrf_token())

    @pages.get("/static/vendor/<package>/<path:filename>")
    def vendor(package: str, filename: str) -> Any:
        folder = VENDOR_PACKAGES.get(package)
        if folder is None:
            abort(404)
        return send_from_directory(vendor_dir / folder, filename)

    return pages
