"""Authorization and secrets, through the SDK against the real stack."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from utd_stream_rx import UTDStreamClient, UTDStreamException, UTDStreamType, media
from utd_stream_rx.testing import LocalStack

from .conftest import StackFactory, clients_of

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
OTHER_APP = ("9876543210", "z" * 32)


async def _refused(command: Awaitable[object], status: int, code: str | None = None) -> None:
    with pytest.raises(UTDStreamException) as refused:
        await command
    assert refused.value.status_code == status, refused.value
    if code is not None:
        assert refused.value.code == code, refused.value


async def test_audience_cannot_run_host_commands(
    utd_client_factory: Callable[[], UTDStreamClient], utd_unique: Callable[[str], str]
) -> None:
    room, show = utd_unique("guarded-room"), utd_unique("guarded-show")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), room, as_host=True, seat_count=3, seat_mode="request"
    )
    listener = await utd_client_factory().join_audio_room(utd_unique("listener"), room)
    star = await utd_client_factory().join_live_stream(utd_unique("star"), show, as_host=True)
    viewer_id = utd_unique("viewer")
    viewer = await utd_client_factory().join_live_stream(viewer_id, show)
    await listener.request_to_speak()
    request = (await host.get_seats(), host.speak_requests.value[0])[1]
    await star.invite_to_stage(viewer_id)
    before = (host.seats.value, star.stage.value)

    # Local checks stop some of these before any I/O; the rest the engine refuses as 403.
    for command in (
        listener.setup_seats(4),
        listener.approve_speaker(request.request_id),
        listener.invite_to_speak(utd_unique("x"), 0),
        listener.lock_seat(0),
        listener.unlock_seat(0),
        listener.mute_seat(0),
        listener.kick_from_seat(0),
        viewer.invite_to_stage(utd_unique("y")),
        viewer.remove_from_stage(viewer_id),
    ):
        with pytest.raises(UTDStreamException) as refused:
            await command
        assert refused.value.code == "forbidden", refused.value
    await host.get_seats()
    await star.refresh_stage()
    assert (host.seats.value, star.stage.value) == before
    # Audience tokens publish nothing until the engine grants it.
    assert not listener.can_publish.value
    await _refused_locally(listener.set_microphone(True))


async def _refused_locally(command: Awaitable[object]) -> None:
    with pytest.raises(UTDStreamException) as refused:
        await command
    assert refused.value.code == "not_permitted"


async def test_identity_comes_from_the_bearer_and_apps_stay_apart(
    private_stack: StackFactory, created_clients: list[UTDStreamClient]
) -> None:
    stack = await private_stack(
        ["--app", f"{stack_default_app()}", "--app", ":".join(OTHER_APP), "--ban", "mallory",
         "--rate-limit", "3"]
    )
    make = clients_of(stack, created_clients)
    alice = make()
    await alice.authenticate("alice")
    call = await alice.call_session(UTDStreamType.AUDIO_CALL).start("bob")
    assert call.caller_identity == "alice"
    # Bob's identity is in the bearer; eve's bearer cannot accept a call for bob.
    eve = make()
    await eve.authenticate("eve")
    await _refused(eve.api.call_accept(call.call_id), 403)
    # Another app: same engine, same names, nothing shared.
    other = UTDStreamClient(*OTHER_APP, stack.base_url)
    created_clients.append(other)
    await other.authenticate("alice")
    await _refused(other.api.get_call(call.call_id), 404)
    host = await make().join_audio_room("host", "lobby", as_host=True, seat_count=2)
    other_room = await other.join_audio_room("host2", "lobby", as_host=True, seat_count=5)
    assert host.seats.value is not None and host.seats.value.count == 2
    assert other_room.seats.value is not None and other_room.seats.value.count == 5
    assert "host2" not in host.remote_participants.value
    # Wrong app key, a forged bearer, an expired one: 401.
    wrong = UTDStreamClient(stack.app_id, "w" * 32, stack.base_url)
    created_clients.append(wrong)
    await _refused(wrong.authenticate("alice"), 401, "unauthorized")
    forged = alice.api.with_user_token("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln")
    await _refused(forged.list_calls(), 401)
    # Banned: 403 banned, and the exception says so.
    with pytest.raises(UTDStreamException) as banned:
        await make().authenticate("mallory")
    assert banned.value.status_code == 403 and banned.value.is_banned
    # Over the mint limit: 429 with the time to wait.
    flood = make()
    with pytest.raises(UTDStreamException) as limited:
        for _ in range(5):
            await flood.api.mint_user_token("flood")
    assert limited.value.is_rate_limited and (limited.value.retry_after or 0) > 0


def stack_default_app() -> str:
    from utd_stream_rx.testing.engine import DEMO_APP_ID, DEMO_APP_KEY

    return f"{DEMO_APP_ID}:{DEMO_APP_KEY}"


async def test_an_expired_bearer_is_a_clear_401(utd_stack: LocalStack) -> None:
    import jwt

    token = jwt.encode({"sub": "alice", "app": utd_stack.app_id, "exp": 1}, "k" * 40, "HS256")
    client = UTDStreamClient(utd_stack.app_id, utd_stack.app_key, utd_stack.base_url)
    try:
        await _refused(client.api.with_user_token(token).list_calls(), 401)
    finally:
        await client.aclose()


@pytest.mark.slow
def test_the_wheel_holds_no_livekit_secret(tmp_path: Path, utd_stack: LocalStack) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    (wheel,) = tmp_path.glob("utd_stream_rx-*.whl")
    secret = utd_stack.livekit.api_secret.encode()
    sdk_modules = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            assert secret not in data, f"{name} holds the LiveKit secret"
            parts = name.split("/")
            if name.endswith(".py") and parts[0] == "utd_stream_rx" and parts[1] not in (
                "devengine", "testing", "demo",
            ):
                sdk_modules.append(name)
                text = data.decode()
                assert "livekit.api" not in text and "from livekit import api" not in text, name
                assert "api_secret" not in text, name
    assert "utd_stream_rx/client.py" in sdk_modules


async def test_media_stays_silent_without_a_grant(
    utd_client_factory: Callable[[], UTDStreamClient], utd_unique: Callable[[str], str]
) -> None:
    room = utd_unique("silent")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), room, as_host=True, seat_count=2
    )
    listener_id = utd_unique("listener")
    listener = await utd_client_factory().join_audio_room(
        listener_id, room, audio_source=media.tone(900.0)
    )
    with pytest.raises(UTDStreamException):
        await listener.set_microphone(True)
    await asyncio.sleep(1.0)
    tracks = host.remote_participants.value[listener_id].tracks
    assert tracks == (), tracks
