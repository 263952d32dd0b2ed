"""Fixtures of the deployment tests: Redis (required when CI=true), a key prefix per test
(removed afterwards), and the database each cluster shares (SQLite file, or a
PostgreSQL schema for the ``postgres`` variants)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.cluster import redis_or_skip, unique_prefix
from tests.helpers.databases import postgres_schema_url


@pytest.fixture
def redis_client() -> Any:
    return redis_or_skip()


@pytest.fixture
def prefix(redis_client: Any) -> Iterator[str]:
    name = unique_prefix()
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cc.db'}"
    else:
        yield from postgres_schema_url()
