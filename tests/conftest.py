"""Suite-wide guard and tools.

No test may leave a LiveKit room connected behind it. A room left connected outlives its test:
when the stack that served it stops, LiveKit's native layer keeps trying to reconnect it, and
disposing that layer at interpreter exit then aborts the whole process (after every test has
passed). So each test must leave the rooms it opened closed; a fixture names the test that did
not, and closes what it left.

``--repeat NODEID=N`` runs one test N times in its own place in the run, among every other test
collected, so a test suspected of failing by chance is tried under the whole suite's load,
order and leftovers (``scripts/check --repeat tests/x.py::test_y=20``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

from tests._support.repeats import repeat_counts
from tests._support.rooms import connected_rooms
from utd_stream_rx.api import UTDApiClient
from utd_stream_rx.testing import ClientFactory

GRACE = 5.0  # seconds for a disconnect already under way to finish
_REPEAT_FIXTURE = "_utd_repeat"
OFFLINE_ENGINE = "http://engine.test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--repeat",
        action="append",
        default=[],
        metavar="NODEID=N",
        help="run the test NODEID N times in its place in the run (may be given again)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    count = repeat_counts(metafunc.config).get(metafunc.definition.nodeid)
    if count is not None:
        metafunc.fixturenames.append(_REPEAT_FIXTURE)
        metafunc.parametrize(
            _REPEAT_FIXTURE, range(1, count + 1), ids=lambda i: f"run{i}of{count}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A mistyped --repeat must not pass as "repeated N times and never failed".
    for nodeid in repeat_counts(config):
        if not any(item.nodeid.startswith(nodeid + "[") for item in items):
            raise pytest.UsageError(f"--repeat names {nodeid}, which was not collected")


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The slowest ten tests (setup, call and teardown together) close every run, so a test
    drifting toward its timeouts shows up before it fails."""
    slowest = sorted(_durations.items(), key=lambda item: item[1], reverse=True)[:10]
    if not slowest:
        return
    terminalreporter.section("slowest 10 tests (setup + call + teardown)")
    for nodeid, seconds in slowest:
        terminalreporter.write_line(f"{seconds:7.2f}s  {nodeid}")


@pytest.fixture
def transport() -> Iterator[aioresponses]:
    """Every HTTP request the SDK sends lands here; none is answered."""
    with aioresponses() as mock:
        yield mock


@pytest.fixture
async def api() -> AsyncIterator[UTDApiClient]:
    """A client of an engine that is never reached (``http://engine.test``), with a bearer and
    no read retries: for what the SDK refuses, or builds, before any request. The REST tests
    have their own (``tests/api/conftest.py``)."""
    client = UTDApiClient("app-1", "pk_app_key_1", OFFLINE_ENGINE, user_token="bearer-1",
                          read_retries=0)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def make_client(utd_client_factory: ClientFactory) -> ClientFactory:
    """Clients of the local engine (the plugin's ``utd_client_factory``)."""
    return utd_client_factory


@pytest.fixture
def unique(utd_unique: Callable[[str], str]) -> Callable[[str], str]:
    """Unique names, so tests sharing one stack never meet (the plugin's ``utd_unique``)."""
    return utd_unique


@pytest.fixture
def _utd_repeat(request: pytest.FixtureRequest) -> int:
    """Which run of a repeated test this is."""
    number: int = request.param
    return number


@pytest.fixture(autouse=True)
async def _no_room_left_connected(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    # Rooms of wider-scoped fixtures are already open here and are not this test's doing.
    before = connected_rooms()
    yield
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GRACE
    left = connected_rooms() - before
    while left and loop.time() < deadline:
        await asyncio.sleep(0.1)
        left = {room for room in left if room.isconnected()}
    if left:
        names = sorted(
            f"{room.name}/{room.local_participant.identity}" if room.isconnected() else "?"
            for room in left
        )
        for room in left:
            await room.disconnect()
        pytest.fail(f"{request.node.nodeid} left {len(left)} room(s) connected: {names}")


@pytest.fixture(scope="session", autouse=True)
async def _no_room_left_at_exit() -> AsyncIterator[None]:
    """The last word: rooms of session-wide fixtures, too, are closed before the run ends."""
    yield
    left = connected_rooms()
    for room in left:
        await room.disconnect()
    assert not left, f"{len(left)} room(s) were still connected when the run ended"
