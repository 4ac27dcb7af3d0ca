"""Calls on an in-process engine: one started, and its event stream read."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from utd_stream_rx.models import UTDCall, structure

from .engine import Local
from .paths import CALLS

__all__ = ["read_events", "start_call"]


async def start_call(local: Local, kind: str = "video_call") -> tuple[dict[str, Any], str, str]:
    """A call from ``caller`` (Carol) to ``callee`` (Cal): its body, and both bearers."""
    caller = await local.client.user("caller", name="Carol")
    callee = await local.client.user("callee")
    created = await local.client.post(
        CALLS,
        {"callee_identity": "callee", "callee_name": "Cal", "type": kind, "metadata": {"k": 1}},
        bearer=caller,
    )
    assert created.status == 201, created
    body: dict[str, Any] = created.body
    return body, caller, callee


async def read_events(resp: aiohttp.ClientResponse, count: int) -> list[UTDCall]:
    """The next ``count`` calls of an open ``/calls/events`` stream."""
    calls: list[UTDCall] = []
    event = None
    while len(calls) < count:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "call":
            calls.append(structure(json.loads(line[5:]), UTDCall))
    return calls
