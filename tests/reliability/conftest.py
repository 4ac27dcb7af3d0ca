"""Fixtures for the reliability suite: clients of private stacks a test may break, raw engine
requests, and the figures (cases generated, races run, faults injected) printed at the end of
the run."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests._support.figures import FIGURES
from tests._support.raw_engine import RawEngineOf, raw_engine
from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import ClientsOf

CLIENT_TIMEOUT = 3.0
"""Seconds an engine request of these tests' clients may take, so a fault shows in seconds."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for topic, figure in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{topic}: {figure}")


@pytest.fixture
def clients_of(utd_clients_of: ClientsOf) -> ClientsOf:
    """``clients_of(stack)``: a client factory for ``stack`` whose clients give up an engine
    request after :data:`CLIENT_TIMEOUT`; all are closed after the test."""
    return functools.partial(utd_clients_of, timeout=CLIENT_TIMEOUT)


@pytest.fixture
async def created_clients() -> AsyncIterator[list[UTDStreamClient]]:
    """Clients a test made itself (other credentials, other options), closed after it."""
    created: list[UTDStreamClient] = []
    yield created
    for client in created:
        await client.aclose()


@pytest.fixture
async def raw_engine_of() -> AsyncIterator[RawEngineOf]:
    """``raw_engine_of(stack, app_id=..., app_key=...)``: plain HTTP to that stack's engine."""
    http = aiohttp.ClientSession()
    yield functools.partial(raw_engine, http)
    await http.close()
