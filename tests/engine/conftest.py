"""Fixtures for the reference engine's tests.

Unit tests run the engine in-process on ``:memory:`` storage with a bridge that records what
it would tell LiveKit; e2e tests use the session's real stack (``utd_stack``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

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


@pytest.fixture
async def make_local() -> AsyncIterator[LocalFactory]:
    """Start in-process engines with config overrides; all closed after the test."""
    started: list[Local] = []

    async def make(**overrides: Any) -> Local:
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
