"""Constants, engine payloads and a mock transport shared by the REST facade tests."""

from __future__ import annotations

import inspect
import json
from typing import Any

import aiohttp
from aioresponses import aioresponses

__all__ = [
    "APP_ID",
    "APP_KEY",
    "BASE",
    "BEARER",
    "TOKENS",
    "MockTransport",
    "body_of",
    "call_json",
    "room_json",
    "sent",
]

BASE = "http://engine.test"
TOKENS = "http://tokens.test"
APP_ID = "app-1"
APP_KEY = "pk_live_app_key_42"
BEARER = "bearer-token-xyz"


def call_json(**overrides: Any) -> dict[str, Any]:
    """A ``Call`` as the engine sends it."""
    data: dict[str, Any] = {
        "call_id": "c-1",
        "status": "initiating",
        "type": "audio_call",
        "room_name": "call-c-1",
        "caller_identity": "alice",
        "caller_name": "Alice",
        "callee_identity": "bob",
        "callee_name": None,
        "metadata": {"topic": "lunch"},
        "version": 1,
        "created_at": 1700000000.5,
    }
    data.update(overrides)
    return data


def room_json(**overrides: Any) -> dict[str, Any]:
    """A ``RoomState`` of an audio room with two seats, as the engine sends it."""
    data: dict[str, Any] = {
        "room_name": "lobby",
        "type": "audio_room",
        "version": 7,
        "host_identity": "alice",
        "seats": {
            "count": 2,
            "mode": "request",
            "mode_id": None,
            "seats": [
                {"index": 0, "identity": "alice", "name": "Alice", "locked": False,
                 "muted": False},
                {"index": 1, "identity": None, "name": None, "locked": True, "muted": False},
            ],
            "version": 7,
        },
        "stage": [{"identity": "alice", "name": "Alice", "role": "host"}],
        "stage_requests": [
            {"request_id": 3, "identity": "carol", "name": None, "created_at": 1700000001.0}
        ],
        "speak_requests": [
            {"request_id": 4, "identity": "dave", "seat_index": 1, "name": None,
             "created_at": 1700000002.0}
        ],
        "invitations": [
            {"identity": "erin", "seat_index": None, "invited_by": "alice",
             "created_at": 1700000003.0}
        ],
        "call": None,
    }
    data.update(overrides)
    return data


def sent(mocked: aioresponses) -> list[tuple[str, str, dict[str, Any]]]:
    """Every request the mocked transport saw, as ``(method, url, kwargs)`` in send order."""
    calls = [
        (key[0], str(key[1]), call.kwargs)
        for key, recorded in mocked.requests.items()
        for call in recorded
    ]
    return calls


def body_of(kwargs: dict[str, Any]) -> Any:
    """The JSON body a request carried, or ``None`` when it had none."""
    data = kwargs.get("data")
    return None if data is None else json.loads(data)


class _SentUpload:
    """Stands in for the request writer of a response that was never really sent."""

    output_size = 0


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters


class _MockResponse(aiohttp.ClientResponse):
    # aiohttp 3.14 added a required ``stream_writer`` argument that aioresponses 0.7.9 does
    # not pass when it builds its fake responses; supply one only where it is required.
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", _SentUpload())
        super().__init__(method, url, **kwargs)


class MockTransport(aioresponses):
    """``aioresponses`` whose fake responses build on every supported aiohttp."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _MockResponse)
        super().add(*args, **kwargs)
