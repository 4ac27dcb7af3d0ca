"""The reference engine under test: an HTTP client that checks every answer against
``openapi.yaml``, the in-process engine with its recording bridge, and signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from livekit import api

from utd_stream_engine import NullBridge
from utd_stream_engine.common import ENGINE
from utd_stream_engine.core import Engine

from .answers import Answer, app_headers
from .openapi import check_response

__all__ = [
    "APP_ID",
    "APP_KEY",
    "APP_SECRET",
    "OTHER_APP_ID",
    "OTHER_APP_KEY",
    "EngineClient",
    "Local",
    "LocalFactory",
    "post_webhook",
    "signed",
]

APP_ID = "app-one"
APP_KEY = "k" * 32
OTHER_APP_ID = "app-two"
OTHER_APP_KEY = "q" * 32
APP_SECRET = "s" * 40


class EngineClient:
    """Calls the engine with the app headers; every answer is checked against the spec."""

    def __init__(
        self,
        base_url: str,
        app_id: str,
        app_key: str,
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.base_url = base_url
        self.app_id = app_id
        self.app_key = app_key
        # An in-process engine finishes a command's push after its answer: awaiting this
        # after each request lets a test read everything the command told LiveKit.
        self._settle = settle
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        bearer: str | None = None,
        headers: dict[str, str] | None = None,
        app: bool = True,
    ) -> Answer:
        """Send one request (with the app headers unless ``app`` is false); checked answer."""
        sent = app_headers(self.app_id, self.app_key) if app else {}
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        sent.update(headers or {})
        url = self.base_url + path
        async with self.session.request(method, url, json=body, headers=sent) as resp:
            data = await resp.json(content_type=None)
            answer = Answer(resp.status, data, resp.headers)
        if self._settle is not None:
            await self._settle()
        check_response(method, path.split("?")[0], answer.status, data, resp.headers)
        return answer

    async def get(self, path: str, **kw: Any) -> Answer:
        """``GET path``."""
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        """``POST path`` with a JSON body (``{}`` when none is given)."""
        return await self.call("POST", path, {} if body is None else body, **kw)

    async def user(self, identity: str, name: str | None = None) -> str:
        """A bearer for ``identity``."""
        body: dict[str, Any] = {"identity": identity}
        if name:
            body["name"] = name
        answer = await self.post("/api/v1/auth/user-token", body)
        assert answer.status == 200, answer
        token: str = answer.body["user_token"]
        return token

    async def token(
        self, identity: str, room: str, kind: str, role: str = "audience", name: str | None = None
    ) -> dict[str, Any]:
        """``POST /token`` that must succeed."""
        body: dict[str, Any] = {"identity": identity, "room_name": room, "type": kind, "role": role}
        if name:
            body["name"] = name
        answer = await self.post("/api/v1/token", body)
        assert answer.status == 200, answer
        data: dict[str, Any] = answer.body
        return data


class Local:
    """An in-process engine with a recording bridge, and clients of its two apps."""

    def __init__(self, app: web.Application, server: TestServer, bridge: NullBridge) -> None:
        self.app = app
        self.server = server
        self.bridge = bridge
        base = str(server.make_url("")).rstrip("/")
        self.client = EngineClient(base, APP_ID, APP_KEY, self.settle)
        self.other = EngineClient(base, OTHER_APP_ID, OTHER_APP_KEY, self.settle)

    @property
    def engine(self) -> Engine:
        """The engine behind the app."""
        return self.app[ENGINE]

    async def settle(self) -> None:
        """Wait until the engine finished pushing what its answered commands changed."""
        await self.engine.after_answer.settle()

    def ops(self, kind: str) -> list[tuple[Any, ...]]:
        """What the engine told LiveKit of one kind, in order."""
        return [op for op in self.bridge.operations if op[0] == kind]


LocalFactory = Callable[..., Awaitable[Local]]
"""``await make_local(**config_overrides)``: an in-process engine."""


def signed(body: str, key: str, secret: str) -> str:
    """The ``Authorization`` livekit-server sends with the webhook ``body``."""
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token: str = api.AccessToken(key, secret).with_sha256(digest).to_jwt()
    return token


async def post_webhook(local: Local, event: dict[str, Any], *, secret: str | None = None) -> int:
    """Post ``event`` to the engine's webhook, signed as livekit-server signs it."""
    config = local.engine.config
    body = json.dumps(event)
    auth = signed(body, config.livekit_api_key, secret or config.livekit_api_secret)
    async with local.client.session.post(
        local.client.base_url + "/api/v1/livekit/webhook",
        data=body,
        headers={"Authorization": auth, "Content-Type": "application/webhook+json"},
    ) as resp:
        return resp.status
