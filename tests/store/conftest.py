"""Every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from tests.helpers.databases import postgres_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'callcenter.db'}"
    else:
        yield from postgres_schema_url()
