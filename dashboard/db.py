"""Database work from web requests, off the gevent hub.

A request greenlet that ran SQLite or an un-patched driver directly would stall every
other greenlet, ESL events included; the work runs in gevent's thread pool instead, with
the app's context so it can reach the app's dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import gevent
from flask import current_app, has_app_context

T = TypeVar("T")


def off_hub(work: Callable[[], T]) -> T:
    """Run ``work`` in the hub's thread pool and wait for it (cooperatively)."""
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def in_context() -> T:
            with app.app_context():
                return work()

        return gevent.get_hub().threadpool.spawn(in_context).get()
    return gevent.get_hub().threadpool.spawn(work).get()
