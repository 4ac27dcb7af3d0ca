"""Shared helpers: an HTTP client that checks every answer against openapi.yaml."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import yaml
from jsonschema import Draft202012Validator
from livekit import api

if TYPE_CHECKING:
    from .conftest import Local

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return spec


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec operation for a concrete path; literal segments win over parameters."""
    spec = load_spec()
    candidates = [
        template
        for template in spec["paths"]
        if _template_regex(template).match(path) and method.lower() in spec["paths"][template]
    ]
    assert candidates, f"{method} {path} is not in openapi.yaml"
    template = min(candidates, key=lambda t: t.count("{"))
    return template, spec["paths"][template][method.lower()]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    spec = load_spec()
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_response(method: str, path: str, status: int, body: Any, headers: Any) -> None:
    """Assert the status is documented and the JSON body matches its schema."""
    template, operation = find_operation(method, path)
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {template} answered undocumented {status}: {body}"
    response = _resolve(responses[str(status)])
    for name, header in response.get("headers", {}).items():
        if header.get("required"):
            assert name in headers, f"{method} {template} {status} lacks header {name}"
    content = response.get("content", {})
    if "application/json" not in content:
        return
    schema = content["application/json"]["schema"]
    root = {**schema, "components": load_spec()["components"]}
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=str)
    assert not errors, f"{method} {template} {status} breaks the spec: {errors[0].message}\n{body}"


class Answer:
    """A checked engine answer."""

    def __init__(self, status: int, body: Any, headers: Any) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code: str = self.body["error"]["code"]
            return code
        return None

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body!r})"


class EngineClient:
    """Calls the engine with the app headers; every answer is checked against the spec."""

    def __init__(self, base_url: str, app_id: str, app_key: str) -> None:
        self.base_url = base_url
        self.app_id = app_id
        self.app_key = app_key
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def aclose(self) -> None:
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
        sent: dict[str, str] = {}
        if app:
            sent.update({"X-UTD-App-Id": self.app_id, "X-UTD-App-Key": self.app_key})
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        sent.update(headers or {})
        url = self.base_url + path
        async with self.session.request(method, url, json=body, headers=sent) as resp:
            data = await resp.json(content_type=None)
            answer = Answer(resp.status, data, resp.headers)
        check_response(method, path.split("?")[0], answer.status, data, resp.headers)
        return answer

    async def get(self, path: str, **kw: Any) -> Answer:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
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


def signed(body: str, key: str, secret: str) -> str:
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
