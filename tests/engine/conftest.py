"""Fixtures for the reference engine's tests.

Unit tests run the engine in-process with a bridge that records what it would tell LiveKit,
each of them twice: on SQLite (``:memory:``) and on PostgreSQL (a fresh database of a real
server), so both storages are held to the same behaviour. A test about SQLite itself is marked
``sqlite_only``. e2e tests use the session's real stack (``utd_stack``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests._support.databases import TestDatabases, drop_in_a_thread
from tests._support.engine import (
    APP_ID,
    APP_KEY,
    APP_SECRET,
    OTHER_APP_ID,
    OTHER_APP_KEY,
    EngineClient,
    Local,
    LocalFactory,
)
from utd_stream_engine import EngineConfig, NullBridge, create_app
from utd_stream_rx.testing import LocalStack

STORAGES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def test_databases(request: pytest.FixtureRequest) -> Iterator[TestDatabases]:
    """Fresh PostgreSQL databases on the session's server (``$UTD_TEST_POSTGRES_URL``, or the
    ``utd_postgres`` server the plugin starts)."""
    url = os.environ.get("UTD_TEST_POSTGRES_URL")
    if url is None:
        url = request.getfixturevalue("utd_postgres").dsn("postgres")
    databases = TestDatabases(url)
    yield databases
    drop_in_a_thread(databases)


@pytest.fixture(params=STORAGES)
async def storage_kind(request: pytest.FixtureRequest) -> str:
    """Which storage the test's engines use."""
    kind: str = request.param
    if kind == "postgresql" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about SQLite itself")
    return kind


@pytest.fixture
async def make_local(
    storage_kind: str, request: pytest.FixtureRequest
) -> AsyncIterator[LocalFactory]:
    """Start in-process engines with config overrides; all closed after the test.

    On PostgreSQL, every engine of the test shares one fresh database unless it names a
    ``db_path`` of its own (the same path, the same database: a restart finds its state).
    """
    started: list[Local] = []
    databases: dict[str, str] = {}
    fresh: TestDatabases | None = None
    if storage_kind == "postgresql":
        fresh = request.getfixturevalue("test_databases")

    async def database_for(db_path: str) -> str:
        assert fresh is not None
        if db_path not in databases:
            databases[db_path] = await fresh.fresh()
        return databases[db_path]

    async def make(**overrides: Any) -> Local:
        if storage_kind == "postgresql":
            overrides["db_path"] = await database_for(str(overrides.get("db_path", "")))
        settings: dict[str, Any] = {
            "livekit_url": "ws://127.0.0.1:7880",
            "livekit_api_key": "unit-key",
            "livekit_api_secret": "unit-secret-" + "x" * 32,
            "apps": {APP_ID: APP_KEY, OTHER_APP_ID: OTHER_APP_KEY},
            "db_path": ":memory:",
            "dev_mode": True,
            "app_secrets": {APP_ID: APP_SECRET},
        }
        settings.update(overrides)
        bridge = NullBridge()
        app = create_app(EngineConfig(**settings), bridge=bridge)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        local = Local(app, server, bridge)
        started.append(local)
        return local

    yield make
    for local in started:
        await local.client.aclose()
        await local.other.aclose()
        await local.server.close()


@pytest.fixture
async def local(make_local: LocalFactory) -> Local:
    """An in-process engine with default settings."""
    return await make_local()


@pytest.fixture
async def stack_client(utd_stack: LocalStack) -> AsyncIterator[EngineClient]:
    """A spec-checking client of the session stack's engine."""
    client = EngineClient(utd_stack.base_url, utd_stack.app_id, utd_stack.app_key)
    try:
        yield client
    finally:
        await client.aclose()
