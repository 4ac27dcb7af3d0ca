"""Fixtures for the reliability suite: private stacks a test may break."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import LocalStack

StackFactory = Callable[..., Awaitable[LocalStack]]
ClientFactory = Callable[[], UTDStreamClient]


@pytest.fixture
async def private_stack() -> AsyncIterator[StackFactory]:
    """``await private_stack(engine_args)``: a stack of the test's own, always cleaned up."""
    stacks: list[LocalStack] = []

    async def start(engine_args: Sequence[str] = ()) -> LocalStack:
        stack = LocalStack(engine_args=list(engine_args))
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.cleanup()


def clients_of(stack: LocalStack, created: list[UTDStreamClient]) -> ClientFactory:
    """A client factory for ``stack``; the caller closes what lands in ``created``."""

    def make() -> UTDStreamClient:
        client = UTDStreamClient(stack.app_id, stack.app_key, stack.base_url, timeout=3.0)
        created.append(client)
        return client

    return make


@pytest.fixture
async def created_clients() -> AsyncIterator[list[UTDStreamClient]]:
    """Clients made by :func:`clients_of` during the test, closed after it."""
    created: list[UTDStreamClient] = []
    yield created
    for client in created:
        await client.aclose()
