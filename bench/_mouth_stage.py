"""Stage to eye: the host puts a viewer on stage and another viewer sees the new co-host's
first video frame. The SDK path and the hand-wired one share the live stream, one round at a
time; the host is the same identity on both (the raw one is its bearer, called by hand)."""

from __future__ import annotations

import asyncio

import aiohttp
import attrs
from _mouth_probe import colour_of_round, first_colour, raw_track, session_track, solid_video
from _mouth_raw import (
    Caller,
    RawMember,
    bearer_of,
    join_raw,
    permission_changed,
    publish,
    step_down,
)
from _mouth_steps import Steps, watch_session
from livekit import rtc

from utd_stream_rx import UTDLiveStreamSession, UTDStreamClient, media
from utd_stream_rx.testing import LocalStack

ROOM = "bench-mouth-stage"
ARRIVAL_TIMEOUT = 15.0  # seconds; a frame that never comes fails the round instead of hanging
SETTLE = 0.25  # seconds after leaving the stage, so the unpublish reaches every viewer


def _is_false(value: bool) -> bool:
    return not value


@attrs.frozen
class StageRig:
    """Everyone in the live stream: the SDK's host, invitee and viewer, and the raw ones."""

    host: UTDLiveStreamSession
    invitee: UTDLiveStreamSession
    viewer: UTDLiveStreamSession
    raw_host: Caller
    raw_invitee: RawMember
    raw_viewer: RawMember
    stage_url: str

    @classmethod
    async def open(
        cls, stack: LocalStack, client: UTDStreamClient, http: aiohttp.ClientSession
    ) -> StageRig:
        """Join everyone; the raw invitee subscribes to nothing, as it only shows itself."""
        host = await client.join_live_stream("host", ROOM, as_host=True)
        invitee = await client.join_live_stream("sdk-invitee", ROOM)
        viewer = await client.join_live_stream("sdk-viewer", ROOM)
        raw_invitee = await join_raw(
            stack, http, "raw-invitee", ROOM, "live_stream", auto_subscribe=False
        )
        raw_viewer = await join_raw(
            stack, http, "raw-viewer", ROOM, "live_stream", auto_subscribe=True
        )
        raw_host = await bearer_of(stack, http, "host")
        stage_url = f"{stack.base_url}/api/v1/live/{ROOM}/stage"
        return cls(host, invitee, viewer, raw_host, raw_invitee, raw_viewer, stage_url)

    async def aclose(self) -> None:
        """Leave the live stream, raw members first."""
        for member in (self.raw_invitee, self.raw_viewer):
            await member.room.disconnect()
        for session in (self.invitee, self.viewer, self.host):
            await session.aclose()


async def sdk_round(rig: StageRig, n: int) -> Steps:
    """``invite_to_stage(direct=True)`` until the SDK viewer sees this round's colour."""
    colour = colour_of_round(n, 0)
    rig.invitee.video_source = solid_video(colour)
    invitee = rig.invitee.identity
    assert invitee is not None
    steps = Steps()
    track = session_track(rig.viewer, invitee, "video", steps)
    seen = asyncio.ensure_future(first_colour(track, colour, steps))
    watching = watch_session(rig.invitee, steps, "video", answers=False)
    steps.start()
    try:
        await rig.host.invite_to_stage(invitee, direct=True)
        steps.stamp("engine answered")
        steps.stamp("command returned")
        await asyncio.wait_for(seen, ARRIVAL_TIMEOUT)
    finally:  # a round that failed still ends off stage, so the next one starts clean
        for pending in (seen, track):
            pending.cancel()
        watching.dispose()
        await rig.host.remove_from_stage(invitee)
        await rig.invitee.can_publish.wait_for(_is_false, timeout=10)
        await asyncio.sleep(SETTLE)
    return steps


async def raw_round(rig: StageRig, n: int) -> Steps:
    """The invite POSTed by hand, the invitee's permission event, its camera (made beforehand)
    published, then its microphone, until the raw viewer sees this round's colour."""
    colour = colour_of_round(n, 1)
    invitee = rig.raw_invitee
    granted = permission_changed(invitee.room, True)
    camera = await media.start_video(solid_video(colour))  # both made before the clock starts
    microphone = await media.start_audio(media.tone())
    steps = Steps()
    track = raw_track(rig.raw_viewer.room, invitee.identity, "video", steps)
    seen = asyncio.ensure_future(first_colour(track, colour, steps))
    steps.start()
    try:
        invite = {"identity": invitee.identity, "direct": True}
        await rig.raw_host.post(f"{rig.stage_url}/invite", invite)
        steps.stamp("engine answered")
        steps.stamp("command returned")
        await asyncio.wait_for(granted, ARRIVAL_TIMEOUT)
        steps.stamp("permission event")
        await publish(invitee.room, camera.track, rtc.TrackSource.SOURCE_CAMERA)
        steps.stamp("published")
        await publish(invitee.room, microphone.track, rtc.TrackSource.SOURCE_MICROPHONE)
        await asyncio.wait_for(seen, ARRIVAL_TIMEOUT)
    finally:  # a round that failed still ends off stage, so the next one starts clean
        for pending in (seen, track, granted):
            pending.cancel()
        remove = (f"{rig.stage_url}/remove", {"identity": invitee.identity})
        await step_down(invitee, [camera, microphone], rig.raw_host, *remove)
        await asyncio.sleep(SETTLE)
    return steps
