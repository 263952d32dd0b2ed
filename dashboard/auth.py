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

from flask import g, request, session

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


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("missing or wrong CSRF token (send X-CSRF-Token)")


def sign_in(user: UserRecord) -> str:
    """Open a fresh session for ``user`` (a new id and token: no session fixation)."""
    session.clear()
    session["user_id"] = user.id
    session.permanent = True
    g.user = user
    return csrf_token()


def sign_out() -> None:
    session.clear()


def current_user(users: UserService) -> UserRecord | None:
    if "user" not in g:
        user_id = session.get("user_id")
        g.user = off_hub(lambda: users.get(user_id)) if isinstance(user_id, int) else None
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
