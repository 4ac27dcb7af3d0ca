"""Live stream stage end to end: real server, reference engine, real video frames."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from utd_stream_rx import UTDLiveStreamSession, UTDStreamException, media
from utd_stream_rx.testing import ClientFactory
from utd_stream_rx.testing.media_probe import hear, remote_track, see

pytestmark = pytest.mark.e2e



def _on_stage(identity: str) -> Callable[[tuple[object, ...]], bool]:
    return lambda stage: any(getattr(m, "identity", None) == identity for m in stage)


def _off_stage(identity: str) -> Callable[[tuple[object, ...]], bool]:
    return lambda stage: not _on_stage(identity)(stage)


async def _join(
    make_client: ClientFactory, identity: str, room: str, *, host: bool = False
) -> UTDLiveStreamSession:
    return await make_client().join_live_stream(
        identity, room, as_host=host, audio_source=media.tone(440.0 if host else 550.0)
    )


async def test_host_goes_live_and_viewers_co_publish(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("show")
    host_id = unique("host")
    host = await _join(make_client, host_id, room, host=True)
    await host.go_live()
    viewer_ids = [unique(f"viewer{i}") for i in range(3)]
    viewers = await asyncio.gather(*(_join(make_client, v, room) for v in viewer_ids))

    # Every viewer sees the host's real frames.
    seen = await asyncio.gather(*(see(v, host_id) for v in viewers))
    assert all(s.frames >= 5 for s in seen), seen
    assert not any(v.can_publish.value for v in viewers)

    # A raised hand reaches the host live.
    await viewers[0].request_stage()
    await host.stage_requests.wait_for(
        lambda reqs: any(r.identity == viewer_ids[0] for r in reqs), timeout=10
    )

    # The host invites two viewers: the engine grants, they publish, everyone receives.
    # (The first asked: their request is their consent; the second is put on directly.)
    await host.invite_to_stage(viewer_ids[0])
    await host.invite_to_stage(viewer_ids[1], direct=True)
    for v, vid in zip(viewers[:2], viewer_ids[:2], strict=True):
        await v.can_publish.wait_for(bool, timeout=10)
        await v.stage.wait_for(_on_stage(vid), timeout=10)
    assert not host.stage_requests.value  # the invite answered the raised hand
    for vid in viewer_ids[:2]:
        for other in [host, *viewers]:
            if other.identity != vid:
                assert (await see(other, vid, frames=3)).frames >= 3

    # Remove one, the other leaves: grants revoked and their tracks stop.
    await host.remove_from_stage(viewer_ids[0])
    await viewers[1].leave_stage()
    for v, vid in zip(viewers[:2], viewer_ids[:2], strict=True):
        await v.can_publish.wait_for(lambda p: not p, timeout=10)
        await host.stage.wait_for(_off_stage(vid), timeout=10)
        with pytest.raises(TimeoutError):
            await remote_track(host, vid, "video", timeout=2)
    with pytest.raises(UTDStreamException) as refused:
        await viewers[0].set_camera(True)
    assert refused.value.code == "not_permitted"


async def test_stage_has_no_cap(make_client: ClientFactory, unique: Callable[[str], str]) -> None:
    room = unique("bigshow")
    host = await _join(make_client, unique("host"), room, host=True)
    await host.go_live(with_video=False)
    ids = [unique(f"guest{i}") for i in range(5)]
    guests = await asyncio.gather(*(_join(make_client, g, room) for g in ids))
    viewer = await _join(make_client, unique("viewer"), room)  # stays in the audience
    for g in ids:
        await host.invite_to_stage(g, direct=True)
    for guest in guests:
        await guest.can_publish.wait_for(bool, timeout=10)
    await host.stage.wait_for(lambda s: len(s) == 6, timeout=10)
    # The audience receives every co-publisher's real frames, and co-publishers hear each other.
    seen = await asyncio.gather(*(see(viewer, g, frames=3) for g in ids))
    assert all(s.frames >= 3 for s in seen), seen
    assert not viewer.can_publish.value
    heard = await hear(guests[0], ids[4])
    assert abs(heard.dominant_hz - 550.0) < 15, heard


async def test_viewers_cannot_control_the_stage(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    room = unique("guarded")
    await _join(make_client, unique("host"), room, host=True)
    viewer = await _join(make_client, unique("viewer"), room)
    with pytest.raises(UTDStreamException) as info:
        await viewer.invite_to_stage(unique("someone"))
    assert info.value.code == "forbidden"
    with pytest.raises(UTDStreamException):
        await viewer.go_live()
    await viewer.refresh_stage()
    assert len(viewer.stage.value) == 1


async def test_aclose_completes_views_and_keeps_last_values(
    make_client: ClientFactory, unique: Callable[[str], str]
) -> None:
    viewer = await _join(make_client, unique("viewer"), unique("quiet"))
    seen: list[bool] = []

    async def follow() -> None:
        async for connected in viewer.connected:
            seen.append(connected)

    follower = asyncio.ensure_future(follow())
    await viewer.connected.wait_for(bool, timeout=5)
    await viewer.aclose()
    await asyncio.wait_for(follower, 5)  # the loop ended by itself
    assert seen[0] is True and seen[-1] is False
    assert viewer.connected.value is False
    with pytest.raises(UTDStreamException) as closed:
        await viewer.connected.wait_for(bool, timeout=1)
    assert closed.value.code == "closed"
    await viewer.aclose()  # twice: harmless
