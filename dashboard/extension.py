"""The call center inside an existing Flask app: ``CallCenter(app)`` or
``CallCenter().init_app(app, socketio=...)``.

It mounts the product's pages, REST API, static files and Socket.IO handlers under a URL
prefix (``/callcenter`` by default) of someone else's app, and runs the controller (the
ESL link, the floor, the recorder) in that process, as ``callcenter serve`` does:

- the database is the host's: ``CALLCENTER_DB_URI``, else ``DB_URI``, else
  ``SQLALCHEMY_DATABASE_URI`` from the app's config (then the ``DB_URI`` environment
  variable, then SQLite in the app's instance folder). Start-up refuses a database where
  the product's table names or Alembic's version table already belong to the host;
- every setting of the environment (README "Configuration") can be given in the app's
  config as ``CALLCENTER_<NAME>`` (``CALLCENTER_ESL_HOST``, ``CALLCENTER_SIP_DOMAIN``...);
  several FreeSWITCH nodes as ``CALLCENTER_ESL_NODES`` (``"fs1=host:port,fs2=host:port"``,
  a password per node as ``CALLCENTER_ESL_PASSWORD_<NODE>``), linked as ``callcenter
  serve`` links them (:mod:`esl_controller.services.switches`);
- the session is the host's (its cookie and secret key); the product's keys in it carry a
  prefix, so they never meet the host's own;
- sign-in is the product's own ``<prefix>/login``, unless ``current_user`` is given: a
  callable, run in a request, that names the product user the host's signed-in user works
  as (or None). That user is signed in to the call center (an agent to its queues) the
  first time the host's user opens a page under the prefix, and signed out when the host's
  user changes or signs out; ``login_view`` (the host's endpoint) then replaces the
  product's sign-in page;
- Socket.IO: the host's ``SocketIO`` if given (the product's events travel in a namespace
  of their own, the prefix, so the host's handlers are untouched), else one of the
  product's own at ``<prefix>/socket.io``. The host must run under gevent, as the product
  does (``gevent.monkey.patch_all()`` first, Flask-SocketIO's ``async_mode="gevent"``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
from collections.abc import Callable, Mapping
from typing import Any, cast

from flask import Blueprint, Flask, redirect, request, session
from flask import url_for as flask_url_for
from flask_socketio import SocketIO
from jinja2 import FileSystemLoader
from sqlalchemy import column, inspect, select, table
from sqlalchemy.orm import sessionmaker

from dashboard import mount
from dashboard.api import PREFIX as API_PREFIX
from dashboard.api import build_api
from dashboard.api.context import EXTENSION_KEY
from dashboard.auth import (
    SESSION_PREFIX_CONFIG,
    LoginLimiter,
    RevokedSessions,
    session_key,
    session_user,
    sign_in,
    sign_out,
    signed_in_user,
)
from dashboard.console_socket import register_console
from dashboard.db import off_hub
from dashboard.deps import Dependencies, WebSettings
from dashboard.errors import register_error_handlers
from dashboard.pages import build_pages, safe_next
from dashboard.realtime import Publisher
from dashboard.wiring import Part, build_dependencies, start_dashboard_parts
from esl_controller.config import Settings, load_settings
from esl_controller.errors import CallCenterError
from esl_controller.services.reconcile import Reconciler
from esl_controller.services.recorder import Recorder
from esl_controller.services.switches import Switches, link_switches
from esl_controller.services.users import UserRecord, UserService
from esl_controller.store.engine import default_url, make_engine, session_scope
from esl_controller.store.migrate import alembic_config, upgrade
from esl_controller.store.models import Base
from esl_controller.store.repositories import seed_defaults

log = logging.getLogger("callcenter.extension")

PACKAGE = pathlib.Path(__file__).resolve().parent
DEFAULT_PREFIX = "/callcenter"
SESSION_PREFIX = "callcenter."
REQUEST_LIMIT = 64 * 1024  # the product's own MAX_CONTENT_LENGTH, for its routes only
CurrentUser = Callable[[], str | None]


class DatabaseInUse(CallCenterError):
    """The host's database already has tables by the product's names (or Alembic's
    version table with the host's own migrations)."""

    code = "database_in_use"


class NotACallCenterUser(CallCenterError):
    """The host's signed-in user maps to a name the product has no user by."""

    code = "not_a_call_center_user"
    http_status = 403


def config_environment(config: Mapping[str, Any],
                       environ: Mapping[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """The environment the product's settings are read from: the process's, with every
    ``CALLCENTER_<NAME>`` of the app's config as ``<NAME>``."""
    env = dict(os.environ if environ is None else environ)
    for key, value in config.items():
        if key.startswith("CALLCENTER_") and value is not None and key != SESSION_PREFIX_CONFIG:
            env[key.removeprefix("CALLCENTER_")] = str(value)
    return env


def database_url_for(app: Flask, env: Mapping[str, str]) -> str:
    """The host's database: CALLCENTER_DB_URI, DB_URI or SQLALCHEMY_DATABASE_URI from its
    config, else DB_URI from the environment, else SQLite in its instance folder."""
    for key in ("CALLCENTER_DB_URI", "DB_URI", "SQLALCHEMY_DATABASE_URI"):
        value = app.config.get(key)
        if isinstance(value, str) and value:
            return value
    return env.get("DB_URI") or default_url(pathlib.Path(app.instance_path))


def check_shared_database(url: str) -> None:
    """Refuse a database whose tables by the product's names are not the product's: its
    migrations would fail half-way, or write into the host's tables."""
    from alembic.script import ScriptDirectory

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            ours = set(Base.metadata.tables)
            if "alembic_version" in tables:
                version = table("alembic_version", column("version_num"))
                found = {row[0] for row in connection.execute(select(version.c.version_num))}
                known = {s.revision for s in ScriptDirectory.from_config(
                    alembic_config(url)).walk_revisions()}  # fmt: skip
                if found - known:
                    raise DatabaseInUse(
                        f"the database's alembic_version ({', '.join(sorted(found))}) is "
                        "another application's migrations: give the call center a schema "
                        "or database of its own (CALLCENTER_DB_URI)"
                    )
            elif tables & ours:
                raise DatabaseInUse(
                    f"the database already has tables {', '.join(sorted(tables & ours))} "
                    "that the call center did not create: give it a schema or database of "
                    "its own (CALLCENTER_DB_URI)"
                )
    finally:
        engine.dispose()


class NamespacedSocketIO:
    """A ``SocketIO`` as the product's Socket.IO code sees it inside a host app: every
    handler it registers and every event it emits are in the product's namespace (its
    ``/console`` becomes ``<namespace>/console``), so the host's own handlers on the same
    server never see them."""

    def __init__(self, socketio: SocketIO, namespace: str) -> None:
        self.socketio = socketio
        self.namespace = namespace

    def namespace_for(self, namespace: str | None) -> str:
        if namespace in (None, "", "/"):
            return self.namespace
        return self.namespace + str(namespace)

    def on(self, message: str, namespace: str | None = None) -> Callable[..., Any]:
        return self.socketio.on(message, namespace=self.namespace_for(namespace))

    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["namespace"] = self.namespace_for(kwargs.get("namespace"))
        return self.socketio.emit(event, *args, **kwargs)

    @property
    def server(self) -> _NamespacedServer:
        return _NamespacedServer(self)


class _NamespacedServer:
    def __init__(self, outer: NamespacedSocketIO) -> None:
        self._outer = outer

    def disconnect(self, sid: str, namespace: str | None = None, **kwargs: Any) -> None:
        server = self._outer.socketio.server
        server.disconnect(sid, namespace=self._outer.namespace_for(namespace), **kwargs)


class CallCenter:
    """The call center as a Flask extension (see the module's docstring).

    ``current_user``: the product user name the host's signed-in user works as, or None
    (not signed in to the host, or no call center user); ``login_view``: the host's
    sign-in endpoint, sent ``next=<path>``; ``start``: start the controller now (else
    call :meth:`start`)."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        socketio: SocketIO | None = None,
        current_user: CurrentUser | None = None,
        login_view: str | None = None,
        url_prefix: str = DEFAULT_PREFIX,
        name: str = "callcenter",
        start: bool = True,
    ) -> None:
        self.current_user = current_user
        self.login_view = login_view
        self.url_prefix = url_prefix
        self.name = name
        self.app: Flask | None = None
        self.deps: Dependencies | None = None
        self.socketio: SocketIO | None = None
        self.publisher: Publisher | None = None
        self.blueprint: Blueprint | None = None
        self._switches: Switches | None = None
        self._reconcilers: list[Reconciler] = []
        self._parts: list[Part] = []
        self._running = False
        if app is not None:
            self.init_app(app, socketio=socketio, start=start)

    # -- mounting ----------------------------------------------------------------------

    def init_app(
        self,
        app: Flask,
        *,
        socketio: SocketIO | None = None,
        current_user: CurrentUser | None = None,
        login_view: str | None = None,
        start: bool = True,
    ) -> None:
        from dashboard import VERSION

        if current_user is not None:
            self.current_user = current_user
        if login_view is not None:
            self.login_view = login_view
        prefix = "/" + self.url_prefix.strip("/")
        if prefix == "/":
            raise ValueError("CallCenter needs a URL prefix of its own, such as /callcenter")
        if not app.secret_key:
            raise ValueError("CallCenter signs its sessions with the app's SECRET_KEY: set it")
        self.url_prefix = prefix
        self.app = app
        env = config_environment(app.config)
        settings = load_settings(env)
        db_url = database_url_for(app, env)
        check_shared_database(db_url)
        upgrade(db_url)  # idempotent: the product's tables next to the host's
        sessions = sessionmaker(make_engine(db_url))
        with session_scope(sessions) as db:
            seed_defaults(db)
        deps = self._dependencies(app, settings, env, sessions)
        self.deps = deps

        app.config.setdefault(SESSION_PREFIX_CONFIG, SESSION_PREFIX)
        app.extensions[EXTENSION_KEY] = deps
        app.extensions["callcenter.extension"] = self
        lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
        app.extensions["callcenter.revoked_sessions"] = RevokedSessions(lifetime)
        if self.current_user is not None:
            app.extensions["callcenter.user_resolver"] = self._resolve
        app.extensions[mount.MOUNT_KEY] = self.name
        jinja = app.create_jinja_environment()
        jinja.loader = FileSystemLoader(str(PACKAGE / "templates"))
        jinja.globals["url_for"] = mount.url_for
        app.extensions[mount.JINJA_KEY] = jinja
        app.extensions[mount.CONTEXT_KEY] = self._page_context

        self.blueprint = self._blueprint(deps, VERSION)
        app.register_blueprint(self.blueprint)

        if socketio is None:
            # The product's own Socket.IO server, under the prefix like the rest of it.
            socketio = SocketIO(app, async_mode="gevent", path=f"{prefix.lstrip('/')}/socket.io")
        self.socketio = socketio
        events = cast(SocketIO, NamespacedSocketIO(socketio, prefix))
        publisher = Publisher(events, deps)
        self.publisher = publisher
        self._register_socketio(events, publisher, deps)
        register_console(events, deps)  # the engineers' ESL console (<prefix>/console)
        app.extensions["callcenter.publisher"] = publisher
        if start:
            self.start()

    def _dependencies(self, app: Flask, settings: Settings, env: Mapping[str, str],
                      sessions: sessionmaker[Any]) -> Dependencies:  # fmt: skip
        # One ESL client and floor per FreeSWITCH node (CALLCENTER_ESL_NODES), or the one.
        switches = link_switches([(node.name, node.esl) for node in settings.nodes], sessions)
        self._switches = switches
        recorder = Recorder(sessions)
        web = WebSettings(
            secret_key=str(app.secret_key),
            cookie_secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
            sip_wss_url=settings.sip_wss_url, sip_domain=settings.sip_domain,
            crm_url_template=settings.crm_url_template,
            phone_driver="sip" if settings.sip_wss_url else "simulator",
            vendor_dir=env.get("VENDOR_DIR") or None,
            xml_curl_username=env.get("XML_CURL_USERNAME") or None,
            xml_curl_password=env.get("XML_CURL_PASSWORD") or None,
            # CALLCENTER_ESL_NODES' names: mod_xml_curl's callcenter.conf per node.
            esl_nodes=tuple(node.name for node in settings.esl_nodes),
            supervisor_long_call=settings.supervisor_long_call,
            supervisor_long_pause=settings.supervisor_long_pause,
            phone_resume_window=settings.phone_resume_window,
        )  # fmt: skip
        deps = build_dependencies(
            api=switches.api, bgapi=switches.bgapi, health=switches.health,
            floor=switches.floor, sessions=sessions, recorder=recorder, settings=web,
            wrap_up_limit=settings.wrap_up_limit,
        )  # fmt: skip
        switches.add_to(deps.extra)
        deps.extra["login_limiter"] = LoginLimiter(web.login_attempts, web.login_window)
        # The ESL console's own connection: the first node.
        deps.extra["esl_settings"] = switches.first.settings
        return deps

    def _blueprint(self, deps: Dependencies, version: str) -> Blueprint:
        # One blueprint of the product's own, whose children keep the product's names
        # (pages, api, static) under it: nothing can collide with the host's blueprints.
        outer = Blueprint(self.name, __name__, url_prefix=self.url_prefix,
                          static_folder="static", static_url_path="/static")  # fmt: skip
        api_blueprint, api = build_api(version)
        outer.register_blueprint(api_blueprint)
        vendor = deps.settings.vendor_dir
        outer.register_blueprint(build_pages(
            pathlib.Path(vendor) if vendor else PACKAGE.parent / "node_modules"))  # fmt: skip
        from dashboard.directory import directory_blueprint

        settings = deps.settings
        outer.register_blueprint(directory_blueprint(
            deps.sessions, domain=settings.sip_domain or "",
            username=settings.xml_curl_username, password=settings.xml_curl_password,
            nodes=settings.esl_nodes,
        ))  # fmt: skip
        login = self._login_url if self.login_view else None
        register_error_handlers(outer, self.url_prefix + API_PREFIX, login)
        login_endpoint = f"{self.name}.pages.login"

        @outer.before_request
        def host_login() -> Any:
            # With the host's sign-in, the product's own page (its pages' "Sign in" links
            # lead there) sends to the host's.
            if self.login_view and request.endpoint == login_endpoint and request.method == "GET":
                back = safe_next(request.args.get("next")) or request.script_root + self.url_prefix
                return redirect(flask_url_for(self.login_view, next=back))
            return None

        @outer.before_request
        def limit_body() -> None:
            with contextlib.suppress(AttributeError):  # settable per request from Flask 3.1
                request.max_content_length = REQUEST_LIMIT

        if self.app is not None:
            self.app.extensions["callcenter.api"] = api
        return outer

    def _login_url(self, path: str) -> str:
        """The host's sign-in page, to come back to ``path`` (of this app) after."""
        assert self.login_view is not None
        return flask_url_for(self.login_view, next=request.script_root + path)

    def _page_context(self) -> dict[str, str]:
        """What base.html puts on <html> for the scripts (dashboard/static/js/mount.js)."""
        root = request.script_root
        path = "/socket.io"
        middleware = getattr(self.socketio, "sockio_mw", None)
        if middleware is not None:
            path = "/" + str(middleware.engineio_path).strip("/")
        return {"callcenter_base": root + self.url_prefix,
                "callcenter_socketio_path": root + path,
                "callcenter_socketio_namespace": self.url_prefix}  # fmt: skip

    # -- who is signed in -------------------------------------------------------------

    def _resolve(self, users: UserService) -> UserRecord | None:
        """The host's user decides who this session is to the call center; a session the
        product's own sign-in opened stays as long as the host's user does not say
        otherwise."""
        assert self.current_user is not None
        own = signed_in_user(users)
        wanted = self.current_user()
        from_host = session.get(session_key("via")) == "host"
        if own is not None and from_host and own.username != wanted:
            self._end(own)  # the host's user signed out, or is someone else now
            own = None
        if wanted is None or (own is not None and own.username == wanted):
            return own
        user = off_hub(lambda: users.by_username(wanted))
        if user is None:
            raise NotACallCenterUser(f"{wanted[:64]!r} is not a user of the call center")
        self._begin(user)
        return user

    def _begin(self, user: UserRecord) -> None:
        sign_in(user)
        session[session_key("via")] = "host"
        assert self.deps is not None
        if user.agent is not None:
            try:  # as the product's own sign-in: in the queues, On Break until Ready
                self.deps.agents.login(user.agent, by=user.username)
            except CallCenterError as exc:  # FreeSWITCH down: the page says so
                log.warning("signing %s in to the queues failed: %s", user.agent, exc.message)

    def _end(self, user: UserRecord) -> None:
        assert self.deps is not None
        if user.agent is not None:
            with contextlib.suppress(CallCenterError):
                self.deps.agents.logout(user.agent, by=user.username)
        sign_out()

    def sign_out(self) -> None:
        """For the host's own sign-out view: the call center's session ends too (an agent
        leaves its queues at once, rather than at its next page under the prefix)."""
        assert self.deps is not None
        user = signed_in_user(self.deps.users)
        if user is not None:
            self._end(user)
        else:
            sign_out()

    @staticmethod
    def _register_socketio(events: SocketIO, publisher: Publisher, deps: Dependencies) -> None:
        @events.on("connect")
        def on_connect(auth: Any = None) -> bool:
            try:
                user = session_user(deps.users)
            except CallCenterError:
                return False
            if user is None:
                return False  # not signed in: the client sees connect_error
            session_id = session.get(session_key("sid"))
            publisher.connect(request.sid, user,  # type: ignore[attr-defined]
                              session_id if isinstance(session_id, str) else "")  # fmt: skip
            return True

        @events.on("disconnect")
        def on_disconnect(*_: Any) -> None:
            publisher.disconnect(request.sid)  # type: ignore[attr-defined]

    # -- the controller ---------------------------------------------------------------

    def start(self) -> None:
        """The ESL link, the floor, the recorder and the dashboard's workers, as
        ``callcenter serve`` runs them (greenlets of this process)."""
        if self._running:
            return
        deps, publisher, switches = self.deps, self.publisher, self._switches
        assert deps is not None and publisher is not None and switches is not None, (
            "init_app first")  # fmt: skip
        deps.floor.listeners.append(deps.recorder.on_changes)
        self._parts = start_dashboard_parts(deps, publisher)
        deps.recorder.start()
        deps.floor.start()
        self._reconcilers = switches.reconcilers(interval=30.0)
        for reconciler in self._reconcilers:
            reconciler.start()
        switches.start_links()
        self._running = True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the controller; the recorder writes (or spills to disk) what it holds."""
        if not self._running:
            return
        assert self.deps is not None and self._switches is not None
        self._switches.stop_links()
        self.deps.floor.stop()
        for reconciler in self._reconcilers:
            reconciler.stop()
        for part in self._parts:
            part.stop()
        self.deps.recorder.drained(timeout=timeout)
        self.deps.recorder.stop()
        self._running = False
