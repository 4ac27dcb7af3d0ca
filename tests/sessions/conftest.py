from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from utd_stream_rx import UTDStreamClient

ClientFactory = Callable[[], UTDStreamClient]


@pytest.fixture
async def make_client(utd_stack: object) -> AsyncIterator[ClientFactory]:
    """Clients of the local engine; every one is closed after the test."""
    clients: list[UTDStreamClient] = []

    def make() -> UTDStreamClient:
        client = UTDStreamClient(
            utd_stack.app_id,  # type: ignore[attr-defined]
            utd_stack.app_key,  # type: ignore[attr-defined]
            utd_stack.base_url,  # type: ignore[attr-defined]
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names, so tests sharing one stack never meet."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"
