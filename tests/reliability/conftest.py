"""Fixtures for the reliability suite: private stacks a test may break, raw engine requests,
and the figures (cases generated, races run, faults injected) printed at the end of the run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import attrs
import pytest

from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import LocalStack

StackFactory = Callable[..., Awaitable[LocalStack]]
ClientFactory = Callable[[], UTDStreamClient]

FIGURES: dict[str, str] = {}
"""What the suite measured, by topic; printed in the terminal summary."""


def record(topic: str, figure: object) -> None:
    """Keep a figure for the summary (the last one per topic wins)."""
    FIGURES[topic] = str(figure)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for topic, figure in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{topic}: {figure}")


@pytest.fixture
async def private_stack() -> AsyncIterator[StackFactory]:
    """``await private_stack(engine_args, secure=False)``: a stack of the test's own, always
    cleaned up; ``secure`` runs its engine in production mode (identity tokens required)."""
    stacks: list[LocalStack] = []

    async def start(engine_args: Sequence[str] = (), *, secure: bool = False) -> LocalStack:
        stack = LocalStack(engine_args=list(engine_args), secure=secure)
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.engine.stop()
        stack.livekit.kill()  # a graceful stop waits for rooms to drain; nothing here needs it
        stack.cleanup()


def clients_of(stack: LocalStack, created: list[UTDStreamClient]) -> ClientFactory:
    """A client factory for ``stack``; the caller closes what lands in ``created``."""

    def make() -> UTDStreamClient:
        provider = stack.token_provider if stack.secure else None
        client = UTDStreamClient(
            stack.app_id, stack.app_key, stack.base_url, timeout=3.0, token_provider=provider
        )
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


@attrs.frozen
class Answer:
    """One raw engine answer."""

    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None


@attrs.define
class RawEngine:
    """Plain HTTP to the engine, past every check the SDK makes on its side."""

    http: aiohttp.ClientSession
    base_url: str
    app_id: str
    app_key: str

    def headers(self, bearer: str | None = None, **override: str) -> dict[str, str]:
        headers = {"X-UTD-App-Id": self.app_id, "X-UTD-App-Key": self.app_key}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        headers.update(override)
        return {k: v for k, v in headers.items() if v}

    async def send(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        bearer: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers) if headers is not None else self.headers(bearer)
        data = None if body is None else json.dumps(body)
        if data is not None:
            sent["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.base_url + path, data=data, headers=sent,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            raw = await response.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return Answer(response.status, parsed, dict(response.headers))

    async def bearer(self, identity: str) -> str:
        answer = await self.send("POST", "/api/v1/auth/user-token", {"identity": identity})
        assert answer.status == 200, answer
        token: str = answer.body["user_token"]
        return token

    async def room_token(self, identity: str, room: str, kind: str, role: str) -> dict[str, Any]:
        body = {"identity": identity, "room_name": room, "type": kind, "role": role}
        answer = await self.send("POST", "/api/v1/token", body)
        assert answer.status == 200, answer
        minted: dict[str, Any] = answer.body
        return minted


@pytest.fixture
async def raw_engine_of() -> AsyncIterator[Callable[..., RawEngine]]:
    """``raw_engine_of(stack, app_id=..., app_key=...)``: plain HTTP to that stack's engine."""
    http = aiohttp.ClientSession()

    def make(stack: LocalStack, app_id: str | None = None, app_key: str | None = None) -> RawEngine:
        return RawEngine(http, stack.base_url, app_id or stack.app_id, app_key or stack.app_key)

    yield make
    await http.close()
