"""Plain HTTP to an engine subprocess, past every check the SDK makes on its side."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import attrs

from utd_stream_rx.testing import LocalStack

from .answers import Answer, app_headers

__all__ = ["RawEngine", "RawEngineOf", "raw_engine"]


@attrs.define
class RawEngine:
    """Plain HTTP to the engine, past every check the SDK makes on its side."""

    http: aiohttp.ClientSession
    base_url: str
    app_id: str
    app_key: str

    def headers(self, bearer: str | None = None, **override: str) -> dict[str, str]:
        """The app's headers and the bearer, with ``override`` on top; empty values dropped."""
        headers = app_headers(self.app_id, self.app_key, bearer)
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
        """One request as given (JSON ``body``); the answer, whatever it is."""
        sent = dict(headers) if headers is not None else self.headers(bearer)
        data = None if body is None else json.dumps(body)
        if data is not None:
            sent["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.base_url + path, data=data, headers=sent,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            raw = await response.read()
            parsed: Any
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return Answer(response.status, parsed, dict(response.headers))

    async def bearer(self, identity: str) -> str:
        """A bearer for ``identity``."""
        answer = await self.send("POST", "/api/v1/auth/user-token", {"identity": identity})
        assert answer.status == 200, answer
        token: str = answer.body["user_token"]
        return token

    async def room_token(self, identity: str, room: str, kind: str, role: str) -> dict[str, Any]:
        """``POST /token`` that must succeed."""
        body = {"identity": identity, "room_name": room, "type": kind, "role": role}
        answer = await self.send("POST", "/api/v1/token", body)
        assert answer.status == 200, answer
        minted: dict[str, Any] = answer.body
        return minted


RawEngineOf = Callable[..., RawEngine]
"""``raw_engine_of(stack, app_id=..., app_key=...)``: plain HTTP to that stack's engine."""


def raw_engine(
    http: aiohttp.ClientSession, stack: LocalStack, app_id: str | None = None,
    app_key: str | None = None,
) -> RawEngine:
    """Plain HTTP to ``stack``'s engine as its app, or as the app given."""
    return RawEngine(http, stack.base_url, app_id or stack.app_id, app_key or stack.app_key)
