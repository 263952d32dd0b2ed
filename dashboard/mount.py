"""What changes when the product is mounted inside another Flask app (dashboard/extension.py)
rather than run as its own (``callcenter serve``): endpoint names and templates.

On its own the product's endpoints are ``pages.agent``, ``api.…`` and ``static``, and its
templates come from the app's own loader. Inside a host app its blueprints nest under one
blueprint of its own (``callcenter.pages.agent``, ``callcenter.static``), so they can never
collide with the host's (a host often has an ``api`` blueprint or a ``base.html``), and its
templates come from a Jinja environment that only sees the product's folder. The code and
the templates keep using the product's own names; :func:`url_for` and
:func:`render_template` translate them when mounted and are Flask's when not.
"""

from __future__ import annotations

from typing import Any

import flask
from flask import current_app
from jinja2 import Environment

# app.extensions keys set by dashboard/extension.py when the product is mounted.
MOUNT_KEY = "callcenter.mount"  # the parent blueprint's name, e.g. "callcenter"
JINJA_KEY = "callcenter.jinja"  # the product's own Jinja environment
CONTEXT_KEY = "callcenter.template_context"  # () -> what every page needs to know


def endpoint(name: str) -> str:
    """``name`` as this app knows it: unchanged on its own, under the mount's blueprint
    inside a host app (relative names, ``.login``, are left to Flask)."""
    mount = current_app.extensions.get(MOUNT_KEY)
    if not mount or name.startswith("."):
        return name
    return f"{mount}.{name}"


def url_for(name: str, **values: Any) -> str:
    """Flask's ``url_for`` with the product's endpoint names (see :func:`endpoint`)."""
    return flask.url_for(endpoint(name), **values)


def render_template(name: str, **context: object) -> str:
    """Render one of the product's templates: Flask's ``render_template`` on its own; the
    product's own environment when mounted (the host's templates of the same name, its
    ``base.html`` say, are never picked instead)."""
    env: Environment | None = current_app.extensions.get(JINJA_KEY)
    if env is None:
        return flask.render_template(name, **context)
    extra = current_app.extensions.get(CONTEXT_KEY)
    if callable(extra):
        for key, value in extra().items():
            context.setdefault(key, value)
    current_app.update_template_context(context)  # request, session, g, context processors
    return env.get_template(name).render(context)
