"""Web sign-in: sessions, roles, CSRF tokens and the login rate limit.

The session cookie (signed, HttpOnly, SameSite=Lax) holds the user's id and a CSRF
token. Every state-changing request must echo the token: as the ``X-CSRF-Token`` header
(API clients, the page's scripts) or as a ``csrf_token`` form field (HTML forms).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import current_app, g, request, session

from dashboard.db import off_hub
from esl_controller.errors import CallCenterError
from esl_controller.services.users import UserRecord, UserService

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(CallCenterError):
    code = "not_signed_in"
    http_status = 401


class Forbidden(CallCenterError):
    code = "forbidden"
    http_status = 403


class CsrfFailed(CallCenterError):
    code = "csrf_failed"
    http_status = 403


class TooManyAttempts(CallCenterError):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginLimiter:
    """At most ``attempts`` failures per ``window`` seconds per client address and per
    user name (so neither one address nor a spread of addresses can guess freely)."""

    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.attempts:
                    raise TooManyAttempts(max(1, int(times[0] + self.window - now) + 1))

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget quiet keys; bounded memory
                for key in [k for k, t in self._failures.items() if not t]:
                    del self._failures[key]

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)


class RevokedSessions:
    """Cookie sessions live in the browser; signing out must still end them on the
    server. Each session carries a random id; signing out records it here until the
    session would have expired anyway."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, session_id: str) -> None:
        now = self.clock()
        with self._lock:
            self._until[session_id] = now + self.lifetime
            for key in [k for k, t in self._until.items() if t <= now]:
                del self._until[key]

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            until = self._until.get(session_id) if isinstance(session_id, str) else None
        return until is not None and until > self.clock()


def revoked() -> RevokedSessions:
    return current_app.extensions["callcenter.revoked_sessions"]


# Inside another Flask app (dashboard/extension.py) the session is that app's: the
# product's keys then carry this prefix (from the app's config), so they never meet the
# host's own ``user_id`` or ``csrf``, and signing in or out leaves the host's keys alone.
SESSION_PREFIX_CONFIG = "CALLCENTER_SESSION_PREFIX"


def session_key(name: str) -> str:
    return str(current_app.config.get(SESSION_PREFIX_CONFIG) or "") + name


def _clear_own_keys() -> None:
    prefix = current_app.config.get(SESSION_PREFIX_CONFIG)
    if not prefix:
        session.clear()
        return
    for key in [k for k in session if k.startswith(prefix)]:
        session.pop(key)


def csrf_token() -> str:
    token = session.get(session_key("csrf"))
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[session_key("csrf")] = token
    return token


def check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get(session_key("csrf"))
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("missing or wrong CSRF token (send X-CSRF-Token)")


def sign_in(user: UserRecord) -> str:
    """Open a fresh session for ``user`` (a new id and token: no session fixation)."""
    _clear_own_keys()
    session[session_key("user_id")] = user.id
    session[session_key("sid")] = secrets.token_urlsafe(16)
    if not current_app.config.get(SESSION_PREFIX_CONFIG):
        session.permanent = True  # a host app's session keeps the lifetime it chose
    g.user = user
    return csrf_token()


def sign_out() -> None:
    session_id = session.get(session_key("sid"))
    if isinstance(session_id, str):
        revoked().revoke(session_id)
        publisher = current_app.extensions.get("callcenter.publisher")
        if publisher is not None:
            publisher.signed_out(session_id)
    _clear_own_keys()


def session_user(users: UserService) -> UserRecord | None:
    """Who the session belongs to (None: nobody, or signed out). Inside a host app whose
    login the product follows, the host's hook decides (dashboard/extension.py)."""
    resolver = current_app.extensions.get("callcenter.user_resolver")
    if resolver is not None:
        return resolver(users)
    return signed_in_user(users)


def signed_in_user(users: UserService) -> UserRecord | None:
    """The user this session signed in as through the product's own sign-in."""
    user_id = session.get(session_key("user_id"))
    if not isinstance(user_id, int) or session.get(session_key("sid")) in revoked():
        return None
    return off_hub(lambda: users.get(user_id))


def current_user(users: UserService) -> UserRecord | None:
    if "user" not in g:
        g.user = session_user(users)
    return g.user


def require(users: UserService, role: str) -> UserRecord:
    user = current_user(users)
    if user is None:
        raise NotSignedIn("sign in first")
    if not user.has_role(role):
        raise Forbidden(f"this needs the {role} role")
    return user


def client_key() -> str:
    return f"addr:{request.remote_addr or '-'}"
