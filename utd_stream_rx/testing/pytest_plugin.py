"""pytest plugin: fixtures for testing apps built on utd_stream_rx against a real local stack.

Installed with the package (entry point ``pytest11``), so a user's suite gets these fixtures
with no configuration:

- ``livekit_server``: a session-wide :class:`~utd_stream_rx.testing.LiveKitServer` on
  127.0.0.1 (built on first use). Failing tests that used it show where its log is.
- ``livekit_api``: a function-scoped ``livekit.api.LiveKitAPI`` for that server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .livekit_server import LiveKitServer

_SERVER_KEY = pytest.StashKey[LiveKitServer]()


@pytest.fixture(scope="session")
def livekit_server(request: pytest.FixtureRequest) -> Iterator[LiveKitServer]:
    """A real livekit-server on loopback for the whole test session; always stopped."""
    server = LiveKitServer()
    request.config.stash[_SERVER_KEY] = server
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def livekit_api(livekit_server: LiveKitServer) -> AsyncIterator[object]:
    """``livekit.api.LiveKitAPI`` bound to :func:`livekit_server` (closed after the test)."""
    from livekit import api

    client = api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
    )
    try:
        yield client
    finally:
        await client.aclose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    server = item.config.stash.get(_SERVER_KEY, None)
    fixtures = getattr(item, "fixturenames", ())
    if report.failed and server is not None and "livekit_server" in fixtures:  # type: ignore[attr-defined]
        report.sections.append(  # type: ignore[attr-defined]
            ("livekit-server log", f"{server.log_path}\n...\n{server.log_tail(25)}")
        )
    return report
