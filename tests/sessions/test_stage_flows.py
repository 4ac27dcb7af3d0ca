"""The stage's consent flows end to end: real livekit-server, the engine, real video frames.

The host invites and a viewer answers, or a viewer asks and takes it back or is told no; every
step shows in ``stage_status`` and as a typed engine notice on ``events``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from tests._support.event_log import EventLog
from tests._support.raw_engine import raw_engine
from utd_stream_engine.state import METADATA_REQUESTS
from utd_stream_rx import UTDLiveStreamSession, UTDStageStatus, UTDStreamException, media
from utd_stream_rx.state.notices import (
    StageInvitationAccepted,
    StageInvitationDeclined,
    StageInvitationReceived,
    StageRequestDenied,
    StageRequestReceived,
)
from utd_stream_rx.testing import ClientFactory, LocalStack
from utd_stream_rx.testing.media_probe import see

pytestmark = pytest.mark.e2e

Names = Callable[[str], str]
RED = (220, 40, 40)


async def _join(
    make_client: ClientFactory, identity: str, room: str, *, host: bool = False
) -> UTDLiveStreamSession:
    # Each viewer's camera shows a red bar: what arrives elsewhere is recognisably theirs.
    return await make_client().join_live_stream(
        identity, room, as_host=host, video_source=media.test_pattern(color=RED)
    )


async def _show(
    make_client: ClientFactory, unique: Names, *viewers: str
) -> tuple[UTDLiveStreamSession, list[UTDLiveStreamSession]]:
    """A host and viewers in a new live stream."""
    room = unique("stageflow")
    host = await _join(make_client, unique("host"), room, host=True)
    joined = await asyncio.gather(*(_join(make_client, unique(v), room) for v in viewers))
    return host, list(joined)


def _is(status: UTDStageStatus) -> Callable[[UTDStageStatus], bool]:
    return lambda value: value is status


def _named(identity: str) -> Callable[[tuple[object, ...]], bool]:
    return lambda items: any(getattr(i, "identity", None) == identity for i in items)


def _unnamed(identity: str) -> Callable[[tuple[object, ...]], bool]:
    return lambda items: not _named(identity)(items)


async def _status(session: UTDLiveStreamSession, status: UTDStageStatus) -> None:
    await session.stage_status.wait_for(_is(status), timeout=10)


def _now(session: UTDLiveStreamSession) -> UTDStageStatus:
    """The status as it is now (a call each time: mypy does not narrow across commands)."""
    return session.stage_status.value


def _me(session: UTDLiveStreamSession) -> str:
    assert session.identity is not None
    return session.identity


async def test_an_invited_viewer_accepts_and_its_video_reaches_everyone(
    make_client: ClientFactory, unique: Names
) -> None:
    host, (vic, other) = await _show(make_client, unique, "vic", "other")
    vic_id = _me(vic)
    vic_log, host_log = EventLog(vic), EventLog(host)
    assert vic.stage_status.value is UTDStageStatus.OFF

    await host.invite_to_stage(vic_id)
    await _status(vic, UTDStageStatus.INVITED)
    received = await vic_log.wait_for(StageInvitationReceived)
    assert (received.identity, received.invited_by, received.direct) == (vic_id, _me(host), False)
    await vic.stage_invitations.wait_for(_named(vic_id), timeout=10)
    assert vic.can_publish.value is False  # nothing granted before the viewer's answer

    await vic.accept_stage_invitation()
    # Published on the engine's answer; the grant then arrives as LiveKit's permission event.
    assert await vic.can_publish.wait_for(bool, timeout=10) is True
    await _status(vic, UTDStageStatus.ON)
    assert vic.stage_invitations.value == ()
    accepted = await host_log.wait_for(StageInvitationAccepted)
    assert accepted.identity == vic_id
    await host.stage.wait_for(_named(vic_id), timeout=10)
    for watcher in (host, other):
        seen = await see(watcher, vic_id, frames=3)
        r, g, b = seen.mean_rgb
        assert seen.frames >= 3 and r > g + 10 and r > b + 10, seen  # vic's red bar
    vic_log.dispose()
    host_log.dispose()


async def test_a_declined_invitation_leaves_the_viewer_off_stage(
    make_client: ClientFactory, unique: Names
) -> None:
    host, (shy,) = await _show(make_client, unique, "shy")
    shy_id = _me(shy)
    host_log = EventLog(host)
    await host.invite_to_stage(shy_id)
    await _status(shy, UTDStageStatus.INVITED)
    await shy.decline_stage_invitation()
    assert shy.stage_status.value is UTDStageStatus.OFF
    declined = await host_log.wait_for(StageInvitationDeclined)
    assert declined.identity == shy_id
    await host.stage_invitations.wait_for(_unnamed(shy_id), timeout=10)
    assert not shy.can_publish.value and not _named(shy_id)(host.stage.value)
    host_log.dispose()


async def test_a_viewer_takes_back_a_request(make_client: ClientFactory, unique: Names) -> None:
    host, (ann,) = await _show(make_client, unique, "ann")
    ann_id = _me(ann)
    host_log = EventLog(host)
    await ann.request_stage()
    assert _now(ann) is UTDStageStatus.REQUESTED
    assert (await host_log.wait_for(StageRequestReceived)).request.identity == ann_id
    await host.stage_requests.wait_for(_named(ann_id), timeout=10)
    await ann.cancel_stage_request()
    assert _now(ann) is UTDStageStatus.OFF
    await host.stage_requests.wait_for(_unnamed(ann_id), timeout=10)
    host_log.dispose()


async def test_the_host_denies_a_request_with_a_reason(
    make_client: ClientFactory, unique: Names
) -> None:
    host, (bob,) = await _show(make_client, unique, "bob")
    bob_id = _me(bob)
    bob_log = EventLog(bob)
    await bob.request_stage()
    await host.stage_requests.wait_for(_named(bob_id), timeout=10)
    await host.deny_stage_request(bob_id, reason="the stage is full")
    denied = await bob_log.wait_for(StageRequestDenied)
    assert (denied.identity, denied.reason) == (bob_id, "the stage is full")
    await _status(bob, UTDStageStatus.OFF)
    assert host.stage_requests.value == () and not bob.can_publish.value
    bob_log.dispose()


async def test_a_requester_or_a_direct_invite_goes_on_stage_at_once(
    make_client: ClientFactory, unique: Names
) -> None:
    host, (eager, picked) = await _show(make_client, unique, "eager", "picked")
    await eager.request_stage()
    await host.stage_requests.wait_for(_named(_me(eager)), timeout=10)
    await host.invite_to_stage(_me(eager))  # the request was the consent
    await host.invite_to_stage(_me(picked), direct=True)
    for viewer in (eager, picked):
        await viewer.can_publish.wait_for(bool, timeout=10)
        await _status(viewer, UTDStageStatus.ON)
    assert host.stage_requests.value == () and host.stage_invitations.value == ()
    seen = await see(host, _me(picked), frames=3)
    assert seen.frames >= 3


async def test_wrong_use_is_refused_with_its_code_and_changes_no_view(
    make_client: ClientFactory, unique: Names
) -> None:
    host, (vic, ann) = await _show(make_client, unique, "vic", "ann")
    await ann.request_stage()
    await host.stage_requests.wait_for(_named(_me(ann)), timeout=10)
    await vic.refresh_stage()
    sessions = (host, vic, ann)
    before = [_views(s) for s in sessions]
    wrong: list[tuple[Awaitable[None], str]] = [
        (vic.deny_stage_request(_me(ann)), "forbidden"),
        (vic.cancel_stage_request(), "no_request"),
        (vic.accept_stage_invitation(), "no_invitation"),
        (vic.decline_stage_invitation(), "no_invitation"),
        (host.deny_stage_request(_me(vic)), "no_request"),
    ]
    for command, code in wrong:
        with pytest.raises(UTDStreamException) as refused:
            await command
        assert refused.value.code == code, refused.value
    assert [_views(s) for s in sessions] == before


def _views(session: UTDLiveStreamSession) -> tuple[object, ...]:
    return (
        session.stage.value,
        session.stage_requests.value,
        session.stage_invitations.value,
        session.stage_status.value,
        session.can_publish.value,
    )


async def test_a_request_in_a_crowded_room_still_shows_as_requested(
    make_client: ClientFactory, unique: Names, utd_stack: LocalStack
) -> None:
    host, (late,) = await _show(make_client, unique, "late")
    assert host.room_state.value is not None
    room = host.room_state.value.room_name
    async with aiohttp.ClientSession() as http:
        raw = raw_engine(http, utd_stack)
        # More raised hands than answers list: those viewers are on their way in (each has
        # just minted a token), which the engine honours.
        for n in range(METADATA_REQUESTS + 1):
            minted = await raw.room_token(unique(f"crowd{n}"), room, "live_stream", "audience")
            path = f"/api/v1/live/{room}/stage/request"
            asked = await raw.send("POST", path, {}, bearer=minted["user_token"])
            assert asked.status == 200, asked
    await late.request_stage()
    assert _now(late) is UTDStageStatus.REQUESTED
    assert late.room_state.value is not None and not late.room_state.value.requests_omitted
