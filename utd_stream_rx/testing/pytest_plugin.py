"""pytest plugin: fixtures for testing apps built on utd_stream_rx against a real local stack.

Installed with the package (entry point ``pytest11``), so a user's suite gets these fixtures
with no configuration:

- ``utd_stack``: a session-wide :class:`~utd_stream_rx.testing.LocalStack` (livekit-server whose
  webhooks go to a reference engine subprocess), started on first use and always stopped.
- ``utd_engine``: that stack's :class:`~utd_stream_rx.testing.EngineProcess`.
- ``utd_livekit_server``: that stack's :class:`~utd_stream_rx.testing.LiveKitServer` on
  127.0.0.1.
- ``utd_livekit_api``: a function-scoped ``livekit.api.LiveKitAPI`` for that server.
- ``utd_unique``: names unique to the test (``utd_unique("lobby")``), so tests sharing the
  stack never meet.
- ``utd_client_factory``: makes :class:`~utd_stream_rx.UTDStreamClient` objects for the
  stack's engine; all are closed after the test (a :data:`~utd_stream_rx.testing.ClientFactory`).
- ``utd_private_stack``: ``utd_private_stack(engine_args, secure=False)`` starts a stack of the
  test's own, one it may break (kill its engine, restart its livekit-server); each is stopped
  after the test (a :data:`~utd_stream_rx.testing.PrivateStackFactory`).
- ``utd_clients_of``: ``utd_clients_of(stack, timeout=3.0)`` is a client factory for any
  stack (a private one too), with client options of the test's choosing; every client made is
  closed after the test (a :data:`~utd_stream_rx.testing.ClientsOf`).
- ``utd_participants``: synthetic participants that join with a tone of their own, so a test
  can tell who it hears (:class:`~utd_stream_rx.testing.SyntheticParticipants`).
- ``utd_postgres``: a session-wide PostgreSQL server on loopback with a data folder of its own
  (:class:`~utd_stream_rx.testing.postgres.PostgresServer`; ``create_database(name)`` gives a
  DSN), started on first use and always stopped.
- ``utd_cluster``: a session-wide :class:`~utd_stream_rx.testing.cluster.LocalCluster` (two
  engines on one PostgreSQL database behind nginx, two LiveKit nodes on one Redis), started on
  first use and always stopped. It takes the ``utd_engine_args`` and ``utd_secure`` options too.

Async fixtures run on pytest-asyncio's loop (in its strict mode too). ``livekit_server`` and
``livekit_api`` are deprecated names of ``utd_livekit_server`` and ``utd_livekit_api``, kept for
one release: using them warns (``DeprecationWarning``).

Loading the plugin is cheap and safe anywhere: this module imports only pytest and the standard
library at load time (LiveKit, numpy, aiohttp and the stack tooling are imported by the fixtures
that need them), and a platform without the POSIX modules the stack needs still loads it (the
stack fixtures then fail, saying so). Stop and restart the stack's processes from async tests
with their awaitable ``astop()`` / ``arestart()``, which keep the event loop running.

A failing test that used the stack's fixtures shows where its logs are. The ini option
``utd_engine_args`` passes flags to the engine (for example ``--ring-timeout 3`` so missed-call
tests run fast); ``utd_secure = true`` runs the engine in production mode (identity tokens
required), and the clients of ``utd_client_factory`` then sign identity tokens as the app's
backend would. The default is the engine's INSECURE dev mode, where clients assert their
identity.

PYTEST_DONT_REWRITE: this module holds no ``assert``; pytest skips rewriting it (and so
parsing it again in every run where bytecode is not cached).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .platform_check import require_posix

if TYPE_CHECKING:  # imported by the fixtures that use them: loading the plugin stays cheap
    from livekit import api

    from ..client import UTDStreamClient
    from .cluster import LocalCluster
    from .engine import EngineProcess, LocalStack
    from .factories import AppStack, ClientFactory, ClientsOf, PrivateStackFactory
    from .livekit_server import LiveKitServer
    from .participants import SyntheticParticipants
    from .postgres import PostgresServer

try:  # pytest-asyncio marks async fixtures in strict mode as well as in auto mode; a pytest
    # plugin itself, it is already imported wherever it is installed, so this costs nothing
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - the async fixtures then need an async-aware plugin
    _async_fixture = pytest.fixture  # type: ignore[assignment]

_STACK_KEY = pytest.StashKey["LocalStack"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "utd_engine_args",
        "Extra command-line flags for the utd_stack reference engine (shell-quoted).",
        type="args",
        default=[],
    )
    parser.addini(
        "utd_secure",
        "Run the utd_stack engine in production mode (identity tokens required); clients from "
        "utd_client_factory then get a token_provider that signs as the app's backend would.",
        type="bool",
        default=False,
    )


def _posix_or_fail(fixture: str) -> None:
    """Fail the test (no traceback) when this platform cannot run the local stack."""
    try:
        require_posix(f"the {fixture} fixture")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def utd_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """livekit-server + reference engine on loopback for the whole session; always stopped."""
    _posix_or_fail("utd_stack")
    from .engine import LocalStack

    engine_args = [str(arg) for arg in request.config.getini("utd_engine_args")]
    secure = bool(request.config.getini("utd_secure"))
    stack = LocalStack(engine_args=engine_args, secure=secure)
    request.config.stash[_STACK_KEY] = stack
    stack.start()
    try:
        yield stack
    finally:
        stack.cleanup()


@pytest.fixture(scope="session")
def utd_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on loopback for the whole session; always stopped."""
    _posix_or_fail("utd_postgres")
    from .postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def utd_cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    """PostgreSQL, Redis, two LiveKit nodes, two engines and nginx on loopback for the whole
    session; always stopped."""
    _posix_or_fail("utd_cluster")
    from .cluster import LocalCluster

    engine_args = [str(arg) for arg in request.config.getini("utd_engine_args")]
    secure = bool(request.config.getini("utd_secure"))
    cluster = LocalCluster(engine_args=engine_args, secure=secure)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def utd_engine(utd_stack: LocalStack) -> EngineProcess:
    """The session's reference engine (a subprocess; see ``EngineProcess.arestart``/``akill``)."""
    return utd_stack.engine


@pytest.fixture(scope="session")
def utd_livekit_server(utd_stack: LocalStack) -> LiveKitServer:
    """The session's livekit-server (webhooks go to :func:`utd_engine`)."""
    return utd_stack.livekit


@_async_fixture
async def utd_livekit_api(utd_livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    """``livekit.api.LiveKitAPI`` bound to :func:`utd_livekit_server` (closed after the test)."""
    from livekit import api

    server = utd_livekit_server
    client = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)
    try:
        yield client
    finally:
        await client.aclose()


def _warn_renamed(old: str, new: str) -> None:
    warnings.warn(
        f"the fixture {old!r} is deprecated and will be removed in the next release; "
        f"use {new!r}",
        DeprecationWarning,
        stacklevel=3,
    )


@pytest.fixture(scope="session")
def livekit_server(utd_livekit_server: LiveKitServer) -> LiveKitServer:
    """Deprecated name of :func:`utd_livekit_server` (warns; removed in the next release)."""
    _warn_renamed("livekit_server", "utd_livekit_server")
    return utd_livekit_server


@pytest.fixture
def livekit_api(utd_livekit_api: api.LiveKitAPI) -> api.LiveKitAPI:
    """Deprecated name of :func:`utd_livekit_api` (warns; removed in the next release)."""
    _warn_renamed("livekit_api", "utd_livekit_api")
    return utd_livekit_api


@pytest.fixture
def utd_unique() -> Callable[[str], str]:
    """``utd_unique("lobby")`` -> ``"lobby-1a2b3c4d"``: the same suffix within one test."""
    suffix = uuid.uuid4().hex[:8]

    def unique(name: str) -> str:
        return f"{name}-{suffix}"

    return unique


@_async_fixture
async def utd_clients_of() -> AsyncIterator[ClientsOf]:
    """``utd_clients_of(stack, **client_options)`` -> a client factory for ``stack``; every
    client made is closed after the test."""
    from ..client import UTDStreamClient

    clients: list[UTDStreamClient] = []

    def clients_of(stack: AppStack, **client_options: Any) -> ClientFactory:
        def make() -> UTDStreamClient:
            provider = stack.token_provider if stack.secure else None
            client = UTDStreamClient(
                stack.app_id, stack.app_key, stack.base_url, token_provider=provider,
                **client_options,
            )
            clients.append(client)
            return client

        return make

    try:
        yield clients_of
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
def utd_client_factory(utd_stack: LocalStack, utd_clients_of: ClientsOf) -> ClientFactory:
    """``utd_client_factory()`` -> a new client of the stack's engine (closed after the test)."""
    return utd_clients_of(utd_stack)


@pytest.fixture
def utd_private_stack() -> Iterator[PrivateStackFactory]:
    """``utd_private_stack(engine_args, secure=False)`` -> a started stack of the test's own,
    one it may break; each is stopped after the test."""
    _posix_or_fail("utd_private_stack")
    from .engine import LocalStack

    stacks: list[LocalStack] = []

    def start(engine_args: Sequence[str] = (), *, secure: bool = False) -> LocalStack:
        stack = LocalStack(engine_args=list(engine_args), secure=secure)
        stacks.append(stack)
        return stack.start()

    try:
        yield start
    finally:
        for stack in stacks:
            stack.engine.stop()
            stack.livekit.kill()  # a graceful stop waits for rooms to drain; nothing here needs it
            stack.cleanup()


@_async_fixture
async def utd_participants(
    utd_client_factory: ClientFactory,
) -> AsyncIterator[SyntheticParticipants]:
    """Synthetic participants with distinct tones on the stack (all left after the test)."""
    from .participants import SyntheticParticipants

    participants = SyntheticParticipants(utd_client_factory)
    try:
        yield participants
    finally:
        await participants.aclose()


_STACK_FIXTURES = (
    "utd_stack",
    "utd_engine",
    "utd_livekit_server",
    "utd_livekit_api",
    "livekit_server",
    "livekit_api",
    "utd_client_factory",
    "utd_participants",
)


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
