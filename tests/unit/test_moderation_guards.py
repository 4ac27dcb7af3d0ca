"""The sessions' moderation commands refuse, before any request: a session that did not join
as host (``forbidden``), bad arguments, a host out of its room (``not_connected``) and a
closed session (``closed``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from utd_stream_rx import UTDAudioRoomSession, UTDLiveStreamSession, UTDStreamException
from utd_stream_rx.api import UTDApiClient

Command = Callable[[], Awaitable[Any]]
Session = UTDAudioRoomSession | UTDLiveStreamSession


def _commands(session: Session) -> dict[str, Command]:
    return {
        "remove_participant": lambda: session.remove_participant("bob"),
        "ban": lambda: session.ban("bob"),
        "unban": lambda: session.unban("bob"),
        "end_room": lambda: session.end_room("bye"),
    }


async def _refusals(commands: dict[str, Command]) -> dict[str, tuple[int | None, str | None]]:
    found: dict[str, tuple[int | None, str | None]] = {}
    for name, command in commands.items():
        with pytest.raises(UTDStreamException) as refused:
            await command()
        found[name] = (refused.value.status_code, refused.value.code)
    return found


@pytest.mark.parametrize("kind", [UTDAudioRoomSession, UTDLiveStreamSession])
async def test_only_a_host_session_moderates(
    api: UTDApiClient, transport: aioresponses, kind: type[Session]
) -> None:
    viewer = kind(api, "den", is_host=False)
    host = kind(api, "den", is_host=True)
    commands = _commands(viewer)
    assert await _refusals(commands) == dict.fromkeys(commands, (403, "forbidden"))
    # A host out of its room is refused as for any room command.
    assert {c for _, c in (await _refusals(_commands(host))).values()} == {"not_connected"}
    await host.aclose()
    assert {c for _, c in (await _refusals(_commands(host))).values()} == {"closed"}
    await viewer.aclose()
    assert transport.requests == {}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.remove_participant(""), ValueError),
        (lambda s: s.ban(7), TypeError),
        (lambda s: s.unban("a b"), ValueError),
        (lambda s: s.end_room(""), ValueError),
        (lambda s: s.end_room("x" * 65), ValueError),
        (lambda s: s.end_room(b"bye"), TypeError),
    ],
)
async def test_bad_arguments_come_first(
    api: UTDApiClient,
    transport: aioresponses,
    call: Callable[[Session], Awaitable[Any]],
    error: type[Exception],
) -> None:
    session = UTDLiveStreamSession(api, "show", is_host=False)
    with pytest.raises(error):
        await call(session)
    await session.aclose()
    assert transport.requests == {}
