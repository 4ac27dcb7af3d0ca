"""The rooms service's moderation: each method sends the contract's request, checks its
arguments before anything is sent, and answers the room's state."""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from tests._support.api import BASE, BEARER, body_of, room_json, sent
from utd_stream_rx import UTDRoomState
from utd_stream_rx.api import UTDApiClient

NO_BODY = object()

CASES: list[tuple[str, tuple[Any, ...], str, str, Any]] = [
    ("rooms.remove_participant", ("lobby", "bob"), "POST",
     "/api/v1/rooms/lobby/participants/remove", {"identity": "bob"}),
    ("rooms.ban_from_room", ("lobby", "bob"), "POST", "/api/v1/rooms/lobby/bans",
     {"identity": "bob"}),
    ("rooms.unban_from_room", ("lobby", "bob.x-1"), "DELETE",
     "/api/v1/rooms/lobby/bans/bob.x-1", NO_BODY),
    ("rooms.end_room", ("lobby",), "POST", "/api/v1/rooms/lobby/end", {}),
    ("rooms.end_room", ("lobby", "that's all"), "POST", "/api/v1/rooms/lobby/end",
     {"reason": "that's all"}),
]


@pytest.mark.parametrize(("name", "args", "method", "path", "body"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_moderation_requests(
    api: UTDApiClient,
    mocked: aioresponses,
    name: str,
    args: tuple[Any, ...],
    method: str,
    path: str,
    body: Any,
) -> None:
    mocked.add(BASE + path, method, payload=room_json())
    state = await operator.attrgetter(name)(api)(*args)
    [(sent_method, url, request)] = sent(mocked)
    assert (sent_method, url) == (method, BASE + path)
    assert request["headers"]["Authorization"] == f"Bearer {BEARER}"
    if body is NO_BODY:
        assert request.get("data") is None
    else:
        assert body_of(request) == body
    assert isinstance(state, UTDRoomState) and state.version == 7


Call = Callable[[UTDApiClient], Awaitable[Any]]

BAD: list[tuple[str, Call, type[Exception]]] = [
    ("identity int", lambda a: a.rooms.remove_participant("r", 5), TypeError),  # type: ignore[arg-type]
    ("identity slash", lambda a: a.rooms.ban_from_room("r", "a/b"), ValueError),
    ("unban empty", lambda a: a.rooms.unban_from_room("r", ""), ValueError),
    ("room slash", lambda a: a.rooms.end_room("../x"), ValueError),
    ("reason int", lambda a: a.rooms.end_room("r", 3), TypeError),  # type: ignore[arg-type]
    ("reason empty", lambda a: a.rooms.end_room("r", ""), ValueError),
    ("reason too long", lambda a: a.rooms.end_room("r", "x" * 65), ValueError),
]


@pytest.mark.parametrize(("label", "call", "error"), BAD, ids=[c[0] for c in BAD])
async def test_bad_arguments_fail_before_any_request(
    api: UTDApiClient, mocked: aioresponses, label: str, call: Call, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await call(api)
    assert sent(mocked) == []


async def test_a_reason_of_64_characters_is_sent(api: UTDApiClient, mocked: aioresponses) -> None:
    mocked.post(BASE + "/api/v1/rooms/r/end", payload=room_json())
    await api.rooms.end_room("r", "é" * 64)
    assert body_of(sent(mocked)[0][2]) == {"reason": "é" * 64}
