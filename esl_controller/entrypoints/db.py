"""``callcenter db upgrade``: bring the database (DB_URI, default SQLite under instance/)
to the latest schema, then add the default pause reasons and dispositions."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import sessionmaker

from esl_controller.store.engine import database_url, make_engine, session_scope
from esl_controller.store.migrate import upgrade
from esl_controller.store.repositories import seed_defaults


def run_db(args: argparse.Namespace) -> int:
    url = database_url()
    upgrade(url)
    engine = make_engine(url)
    with session_scope(sessionmaker(engine)) as session:
        seed_defaults(session)
    engine.dispose()
    shown = url.split("@")[-1] if "@" in url else url
    print(f"database at {shown}: schema up to date, defaults present")
    return 0
