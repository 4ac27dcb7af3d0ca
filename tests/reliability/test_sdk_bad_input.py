"""Wrong types and values into the public API: only documented exceptions, no hangs, no leaks.

Every public command of live sessions (connected to the real stack), of the client and of the
views gets values of every kind. Whatever it raises must be ``UTDStreamException``,
``TypeError`` or ``ValueError``; it must finish well within its timeout; a failed command must
leave no asyncio task running behind it; and the sessions must stay whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._support.figures import record
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDCallSession,
    UTDLiveStreamSession,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
)
from utd_stream_rx.media import PublishedMedia
from utd_stream_rx.testing import LocalStack

pytestmark = pytest.mark.e2e

DOCUMENTED = (UTDStreamException, TypeError, ValueError)
HANG = 15.0  # seconds: far above any engine or LiveKit timeout in play

NAME_CHARS = "abcXYZ019_.@:-"
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.sampled_from([0, 1, -1, 63, 64, 65, 2**31, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(NAME_CHARS, min_size=1, max_size=12),  # valid names: the engine answers
    st.sampled_from(["", " ", "../x", "a/b", "x" * 129, "é", "\x00", "%2F", "free", "request"]),
    st.binary(max_size=32),
    st.lists(st.integers(), max_size=3),
    st.lists(st.text(NAME_CHARS, min_size=1, max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers() | st.floats(), max_size=2),
    st.sampled_from([object(), math.nan, UTDStreamType.AUDIO_ROOM, UTDStreamType.VIDEO_CALL]),
)


@attrs.define
class Sessions:
    client: UTDStreamClient
    stack: LocalStack
    host: UTDAudioRoomSession
    listener: UTDAudioRoomSession
    star: UTDLiveStreamSession
    viewer: UTDLiveStreamSession
    call: UTDCallSession
    created: list[object] = attrs.field(factory=list)


Command = Callable[[Sessions, Any], Awaitable[object]]


async def _sync(function: Callable[..., object], *args: Any, **kwargs: Any) -> object:
    return function(*args, **kwargs)


def _new_client(s: Sessions, **kwargs: Any) -> Awaitable[object]:
    args = {"app_id": s.stack.app_id, "app_key": s.stack.app_key, "base_url": s.stack.base_url}
    args.update(kwargs)
    return _sync(UTDStreamClient, args.pop("app_id"), args.pop("app_key"), **args)


COMMANDS: dict[str, Command] = {
    # audio room
    "take_seat": lambda s, v: s.listener.take_seat(v),
    "lock_seat": lambda s, v: s.host.lock_seat(v),
    "unlock_seat": lambda s, v: s.host.unlock_seat(v),
    "mute_seat": lambda s, v: s.host.mute_seat(v),
    "mute_seat_muted": lambda s, v: s.host.mute_seat(0, v),
    "kick_from_seat": lambda s, v: s.host.kick_from_seat(v),
    "setup_seats": lambda s, v: s.host.setup_seats(v),
    "setup_seats_mode": lambda s, v: s.host.setup_seats(None, v),
    "setup_seats_mode_id": lambda s, v: s.host.setup_seats(None, None, v),
    "approve_speaker": lambda s, v: s.host.approve_speaker(v),
    "approve_speaker_seat": lambda s, v: s.host.approve_speaker(1, v),
    "invite_to_speak": lambda s, v: s.host.invite_to_speak(v),
    "invite_to_speak_seat": lambda s, v: s.host.invite_to_speak("fuzz-listener", v),
    "request_to_speak": lambda s, v: s.listener.request_to_speak(v),
    "accept_invitation": lambda s, v: s.listener.accept_invitation(),
    "decline_invitation": lambda s, v: s.listener.decline_invitation(),
    "leave_seat": lambda s, v: s.listener.leave_seat(),
    # live stream
    "invite_to_stage": lambda s, v: s.star.invite_to_stage(v),
    "remove_from_stage": lambda s, v: s.star.remove_from_stage(v),
    "viewer_invite_to_stage": lambda s, v: s.viewer.invite_to_stage(v),
    "request_stage": lambda s, v: s.viewer.request_stage(),
    "leave_stage": lambda s, v: s.viewer.leave_stage(),
    "go_live": lambda s, v: s.star.go_live(v),
    "viewer_go_live": lambda s, v: s.viewer.go_live(v),
    # media and data, every session kind
    "set_microphone": lambda s, v: s.listener.set_microphone(v),
    "set_camera": lambda s, v: s.star.set_camera(v),
    "audio_set_camera": lambda s, v: s.host.set_camera(v),
    "send_data": lambda s, v: s.listener.send_data(v),
    "send_data_to": lambda s, v: s.listener.send_data(b"x", to=v),
    "send_data_topic": lambda s, v: s.listener.send_data(b"x", topic=v),
    "send_data_reliable": lambda s, v: s.listener.send_data(b"x", reliable=v),
    # calls
    "start": lambda s, v: s.call.start(v),
    "start_name": lambda s, v: s.call.start("fuzz-callee", callee_name=v),
    "start_metadata": lambda s, v: s.call.start("fuzz-callee", metadata=v),
    "accept": lambda s, v: s.call.accept(v),
    "reject": lambda s, v: s.call.reject(v),
    "busy": lambda s, v: s.call.busy(v),
    "ringing": lambda s, v: s.call.ringing(v),
    "end": lambda s, v: s.call.end(),
    # the client
    "authenticate": lambda s, v: s.client.authenticate(v),
    "authenticate_name": lambda s, v: s.client.authenticate("fuzz-caller", name=v),
    "join_audio_room": lambda s, v: s.client.join_audio_room(v, v),
    "join_audio_room_name": lambda s, v: s.client.join_audio_room("x", "fuzz-room", name=v),
    "join_audio_room_host": lambda s, v: s.client.join_audio_room("x", "y", as_host=v),
    "join_audio_room_seats": lambda s, v: s.client.join_audio_room("x", "y", True, seat_count=v),
    "join_audio_room_mode": lambda s, v: s.client.join_audio_room("x", "y", True, seat_mode=v),
    "join_live_stream": lambda s, v: s.client.join_live_stream(v, "fuzz-show"),
    "join_live_stream_host": lambda s, v: s.client.join_live_stream("x", "z", as_host=v),
    "call_session": lambda s, v: _sync(s.client.call_session, v),
    "new_client_app_id": lambda s, v: _new_client(s, app_id=v),
    "new_client_app_key": lambda s, v: _new_client(s, app_key=v),
    "new_client_base_url": lambda s, v: _new_client(s, base_url=v),
    "new_client_timeout": lambda s, v: _new_client(s, timeout=v),
    "with_user_token": lambda s, v: _sync(s.client.api.with_user_token, v),
    # views
    "wait_for_timeout": lambda s, v: _wait_for_nothing(s, v),
    "wait_for_predicate": lambda s, v: s.host.connected.wait_for(v, timeout=0.05),
}

_outcomes: dict[str, int] = {}


def _never(value: object) -> bool:
    return False


async def _wait_for_nothing(s: Sessions, timeout: Any) -> object:
    if timeout is None:
        return None  # no timeout: a valid wait forever
    long_wait = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    if long_wait and 0.5 < timeout < math.inf:
        return None  # a valid, long wait: nothing wrong to find
    return await s.host.seats.wait_for(_never, timeout=timeout)


@pytest.fixture(scope="module")
async def sessions(utd_stack: LocalStack) -> AsyncIterator[Sessions]:
    tasks_at_start = {t for t in asyncio.all_tasks() if not t.done()}
    make = [UTDStreamClient(utd_stack.app_id, utd_stack.app_key, utd_stack.base_url)
            for _ in range(5)]
    host = await make[0].join_audio_room("fuzz-host", "fuzz-room", as_host=True, seat_count=4)
    listener = await make[1].join_audio_room("fuzz-listener", "fuzz-room")
    star = await make[2].join_live_stream("fuzz-star", "fuzz-show", as_host=True)
    viewer = await make[3].join_live_stream("fuzz-viewer", "fuzz-show")
    await make[4].authenticate("fuzz-caller")
    call = make[4].call_session(UTDStreamType.AUDIO_CALL)
    found = Sessions(make[4], utd_stack, host, listener, star, viewer, call)
    yield found
    for thing in found.created:
        await _close(thing)
    for client in make:
        await client.aclose()
    await asyncio.sleep(0.5)
    leftover = [t for t in asyncio.all_tasks() if not t.done() and t not in tasks_at_start
                and t is not asyncio.current_task()]
    total = sum(_outcomes.values())
    record("property tests", f"{total} examples: {dict(sorted(_outcomes.items()))}")
    assert not leftover, f"tasks still running after every client closed: {leftover}"


async def _close(thing: object) -> None:
    if isinstance(thing, UTDStreamClient | UTDCallSession | UTDAudioRoomSession
                  | UTDLiveStreamSession):
        await thing.aclose()


def _fixture_media(sessions: Sessions) -> set[str]:
    """Sids of the tracks the fixture's own sessions publish now."""
    return {
        sid
        for session in (sessions.host, sessions.listener, sessions.star, sessions.viewer)
        if (participant := session.local_participant) is not None
        for sid in participant.track_publications
    }


def _feeds_fixture_media(task: asyncio.Task[Any], sids: set[str]) -> bool:
    """True for the task feeding a track of the fixture's sessions: a grant an earlier example
    caused (a seat taken, a stage place) may reach its session only now, and the session then
    publishes, which is no leak of the command under test."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    owner = frame.f_locals.get("self") if frame is not None else None
    return isinstance(owner, PublishedMedia) and owner.track.sid in sids


async def _settled(before: set[asyncio.Task[Any]], within: float) -> list[asyncio.Task[Any]]:
    """Tasks started since ``before`` that are still running after ``within`` seconds."""
    current = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        new = [t for t in asyncio.all_tasks() if t not in before and t is not current
               and not t.done()]
        if not new or loop.time() > deadline:
            return new
        await asyncio.sleep(0.02)


@given(name=st.sampled_from(sorted(COMMANDS)), value=ANYTHING)
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_public_commands_raise_only_documented_errors(
    sessions: Sessions, name: str, value: Any
) -> None:
    before = set(asyncio.all_tasks())
    failed = True
    try:
        result = await asyncio.wait_for(COMMANDS[name](sessions, value), timeout=HANG)
    except DOCUMENTED as exc:
        _outcomes[type(exc).__name__] = _outcomes.get(type(exc).__name__, 0) + 1
    except TimeoutError:
        pytest.fail(f"{name}({value!r}) hung for {HANG:g}s")
    else:
        failed = False
        _outcomes["ok"] = _outcomes.get("ok", 0) + 1
        if isinstance(result, UTDStreamClient | UTDAudioRoomSession | UTDLiveStreamSession
                      | UTDCallSession):
            await _close(result)
        elif result is not None and name.startswith("with_user_token"):
            sessions.created.append(result)
    if failed or name.startswith(("join_", "new_client", "call_session")):
        # A refusal, or something already closed, leaves nothing running behind it.
        leaked = await _settled(before, within=2.0)
        fixture_media = _fixture_media(sessions)
        leaked = [task for task in leaked if not _feeds_fixture_media(task, fixture_media)]
        assert not leaked, f"{name}({value!r}) left tasks running: {leaked}"
    # Whatever happened, the sessions are still whole.
    for session in (sessions.host, sessions.listener, sessions.star, sessions.viewer):
        assert session.connected.value, f"{name}({value!r}) broke a session"
    assert sessions.host.seats.value is not None


async def test_wait_for_refuses_a_nan_timeout(sessions: Sessions) -> None:
    waiting = asyncio.ensure_future(sessions.host.seats.wait_for(_never, timeout=math.nan))
    done, _ = await asyncio.wait({waiting}, timeout=2.0)
    if not done:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        pytest.fail("wait_for(timeout=nan) was still waiting after 2 s")
    with pytest.raises(ValueError):
        waiting.result()
