"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

Database I/O never runs on the gevent hub's event path: the recorder hands writes to a
thread pool, and with gevent patching psycopg2 is made cooperative by psycogreen
(:func:`enable_gevent_db`), so a slow database cannot stall ESL event handling.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


def default_url(instance: pathlib.Path | None = None) -> str:
    folder = instance or pathlib.Path("instance")
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'callcenter.db').resolve()}"


def database_url() -> str:
    return os.environ.get("DB_URI") or default_url()


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg2 here (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=postgres_timeouts(url))


# A database that vanished without closing its connections (a network partition, a
# failover that moved the address) must not hold the recorder's thread forever: libpq
# gives up connecting after 10 s, and TCP keepalives notice a dead link in about a
# minute. Values given in the URL win.
PG_TIMEOUTS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
               "keepalives_interval": 10, "keepalives_count": 3}  # fmt: skip


def postgres_timeouts(url: str) -> dict[str, Any]:
    if not url.startswith("postgresql+psycopg2"):
        return {}
    given = make_url(url).query
    return {key: value for key, value in PG_TIMEOUTS.items() if key not in given}


def enable_gevent_db() -> None:
    """Make psycopg2 yield to gevent (call once, right after monkey.patch_all())."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
