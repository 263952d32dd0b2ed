"""An existing Flask application — its own page, its own accounts and sign-in, its own
table in its own database — with the call center mounted at /callcenter.

Everything about the call center is the few lines in :func:`create_host_app` marked
"the call center": ``CallCenter(app, socketio=..., current_user=..., login_view=...)``.
The host's accounts say which call center user each one works as (ann is the agent alice,
sam the supervisor sue, max has none); the call center shares the host's database (its
``DB_URI``) and session (the host's own ``user_id`` key next to the call center's
``callcenter.*`` keys). ``app.py`` runs it.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from flask import Flask, abort, redirect, render_template_string, request, session, url_for
from flask_socketio import SocketIO
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard import CallCenter

# name, password, the call center user this account works as (None: not in the call center)
HOST_ACCOUNTS = (
    ("ann", "ann-password", "alice"),
    ("sam", "sam-password", "sue"),
    ("max", "max-password", None),
)

metadata = MetaData()
accounts = Table(
    "host_accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), unique=True, nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("callcenter_user", String(64)),
)  # fmt: skip

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme intranet</title></head>
<body>
<h1 data-testid="host-title">Acme intranet</h1>
{% if name %}
  <p data-testid="host-who">Signed in as {{ name }}</p>
  {% if callcenter_user %}
    <p><a data-testid="host-callcenter-link"
          href="{{ url_for('callcenter.pages.index') }}">Call center</a>
       (as {{ callcenter_user }})</p>
  {% else %}<p>No call center account.</p>{% endif %}
  <form method="post" action="{{ url_for('logout') }}">
    <button data-testid="host-logout">Sign out</button>
  </form>
{% else %}
  <p><a href="{{ url_for('login') }}">Sign in</a></p>
{% endif %}
</body></html>"""

LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — Acme intranet</title></head>
<body>
<h1>Acme intranet: sign in</h1>
{% if error %}<p role="alert" data-testid="host-login-error">{{ error }}</p>{% endif %}
<form method="post">
  <label>Account <input name="name" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <input type="hidden" name="next" value="{{ next }}">
  <button data-testid="host-login-submit">Sign in</button>
</form>
</body></html>"""


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def create_host_app(config: dict[str, Any] | None = None) -> tuple[Flask, SocketIO, CallCenter]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or "host-app-example-only"
    app.config.update(config or {})
    if not app.config.get("DB_URI"):
        instance = pathlib.Path("instance").resolve()
        instance.mkdir(exist_ok=True)
        app.config["DB_URI"] = os.environ.get("DB_URI") or f"sqlite:///{instance / 'host_app.db'}"

    # The host's own use of its database.
    engine = create_engine(app.config["DB_URI"])
    metadata.create_all(engine)
    with engine.begin() as db:
        for name, password, callcenter_user in HOST_ACCOUNTS:
            if db.scalar(select(accounts.c.id).where(accounts.c.name == name)) is None:
                db.execute(insert(accounts).values(
                    name=name, password_hash=generate_password_hash(password),
                    callcenter_user=callcenter_user))  # fmt: skip

    socketio = SocketIO(app, async_mode="gevent")  # the host's own Socket.IO

    @app.get("/")
    def home() -> str:
        return render_template_string(PAGE, name=session.get("name"),
                                      callcenter_user=session.get("callcenter_user"))  # fmt: skip

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = None
        if request.method == "POST":
            name = request.form.get("name", "")[:64]
            with engine.connect() as db:
                row = db.execute(select(accounts).where(accounts.c.name == name)).first()
            if row is None or not check_password_hash(
                row.password_hash, request.form.get("password", "")[:256]
            ):
                error = "Wrong account or password."
            else:
                session.clear()
                session["user_id"] = row.id  # the host's own key: the call center's differ
                session["name"] = row.name
                session["callcenter_user"] = row.callcenter_user
                return redirect(local_path(request.form.get("next")))
        next_page = local_path(request.args.get("next"))
        return render_template_string(LOGIN, error=error, next=next_page), 401 if error else 200

    @app.post("/logout")
    def logout() -> Any:
        callcenter.sign_out()  # an agent leaves its queues now, not at its next page
        session.clear()
        return redirect(url_for("home"))

    @app.get("/api/whoami")
    def whoami() -> Any:
        if "user_id" not in session:
            abort(401)
        return {"user_id": session["user_id"], "name": session["name"]}

    # The call center: its pages, API and Socket.IO under /callcenter, on the host's
    # database, Socket.IO server and sign-in; its controller runs in this process.
    callcenter = CallCenter(
        app,
        socketio=socketio,
        current_user=lambda: session.get("callcenter_user"),
        login_view="login",
    )
    return app, socketio, callcenter
