"""Fixtures for the REST facade tests: a mocked transport and an authenticated client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, TOKENS, MockTransport
from utd_stream_rx.api import UTDApiClient


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    """Intercept every aiohttp request; unmatched URLs fail as connection errors."""
    with MockTransport() as mock:
        yield mock


@pytest.fixture
async def api() -> AsyncIterator[UTDApiClient]:
    """An authenticated client with separate engine and token URLs and no retry delay."""
    client = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS, user_token=BEARER, retry_backoff=0)
    try:
        yield client
    finally:
        await client.aclose()
