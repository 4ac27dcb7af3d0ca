"""pytest plugin: fixtures for testing apps built on utd_stream_rx against a real local stack.

Installed with the package (entry point ``pytest11``), so a user's suite gets these fixtures
with no configuration:

- ``utd_stack``: a session-wide :class:`~utd_stream_rx.testing.LocalStack` (livekit-server whose
  webhooks go to a reference engine subprocess), started on first use and always stopped.
- ``utd_engine``: that stack's :class:`~utd_stream_rx.testing.EngineProcess`.
- ``livekit_server``: that stack's :class:`~utd_stream_rx.testing.LiveKitServer` on 127.0.0.1.
- ``livekit_api``: a function-scoped ``livekit.api.LiveKitAPI`` for that server.

Failing tests that used them show where the logs are. The ini option ``utd_engine_args``
passes flags to the engine (for example ``--ring-timeout 3`` so missed-call tests run fast).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .engine import EngineProcess, LocalStack
from .livekit_server import LiveKitServer

_STACK_KEY = pytest.StashKey[LocalStack]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "utd_engine_args",
        "Extra command-line flags for the utd_stack reference engine (shell-quoted).",
        type="args",
        default=[],
    )


@pytest.fixture(scope="session")
def utd_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """livekit-server + reference engine on loopback for the whole session; always stopped."""
    engine_args = [str(arg) for arg in request.config.getini("utd_engine_args")]
    stack = LocalStack(engine_args=engine_args)
    request.config.stash[_STACK_KEY] = stack
    stack.start()
    try:
        yield stack
    finally:
        stack.cleanup()


@pytest.fixture(scope="session")
def utd_engine(utd_stack: LocalStack) -> EngineProcess:
    """The session's reference engine (a subprocess; see ``EngineProcess.restart``/``kill``)."""
    return utd_stack.engine


@pytest.fixture(scope="session")
def livekit_server(utd_stack: LocalStack) -> LiveKitServer:
    """The session's livekit-server (webhooks go to :func:`utd_engine`)."""
    return utd_stack.livekit


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


_STACK_FIXTURES = ("utd_stack", "utd_engine", "livekit_server", "livekit_api")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    stack = item.config.stash.get(_STACK_KEY, None)
    fixtures = getattr(item, "fixturenames", ())
    if report.failed and stack is not None and any(f in fixtures for f in _STACK_FIXTURES):  # type: ignore[attr-defined]
        report.sections.append(  # type: ignore[attr-defined]
            (
                "livekit-server log",
                f"{stack.livekit.log_path}\n...\n{stack.livekit.log_tail(25)}",
            )
        )
        report.sections.append(  # type: ignore[attr-defined]
            ("engine log", f"{stack.engine.log_path}\n...\n{stack.engine.log_tail(25)}")
        )
    return report
