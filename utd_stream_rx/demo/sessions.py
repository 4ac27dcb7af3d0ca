"""Live sessions between synthetic participants on the local stack, narrated as views change.

Every line printed under a session comes from a subscription to one of its read-only views;
nothing here reads LiveKit directly except to measure the media that arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import attrs
from reactivex.abc import DisposableBase

from .. import media
from ..client import UTDStreamClient
from ..models import UTDCall, UTDCallStatus, UTDSeatGrid, UTDStageMember, UTDStreamType
from ..sessions.base import UTDSession
from ..testing.media_probe import hear, see

__all__ = ["DemoReport", "run_sessions_demo"]


@attrs.define
class DemoReport:
    """What each participant received, collected for the closing summary."""

    lines: list[str] = attrs.field(factory=list)
    failures: list[str] = attrs.field(factory=list)

    def check(self, ok: bool, what: str) -> None:
        """Record one received-media fact; a failed one fails the demo."""
        self.lines.append(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)


class _Narrator:
    """Prints view changes as they happen, one line per change, with a timestamp."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._subscriptions: list[DisposableBase] = []

    def say(self, who: str, text: str) -> None:
        print(f"  {time.monotonic() - self._start:6.2f}s  {who:<6} {text}", flush=True)

    def watch(self, who: str, name: str, view: Any, render: Callable[[Any], str] = str) -> None:
        def on_value(value: Any) -> None:
            self.say(who, f"{name} = {render(value)}")

        self._subscriptions.append(view.subscribe(on_value))

    def stop(self) -> None:
        for sub in self._subscriptions:
            sub.dispose()
        self._subscriptions.clear()


def _seats(grid: UTDSeatGrid | None) -> str:
    if grid is None:
        return "(none)"
    cells = [s.identity or ("#" if s.locked else "-") for s in grid.seats]
    return f"v{grid.version} {grid.mode.value} [{' '.join(cells)}]"


def _stage(stage: tuple[UTDStageMember, ...]) -> str:
    return "[" + ", ".join(m.identity for m in stage) + "]"


def _status(status: UTDCallStatus | None) -> str:
    return status.value if status is not None else "-"


def _speakers(speakers: tuple[str, ...]) -> str:
    return ", ".join(speakers) or "nobody"


def _heard(report: DemoReport, who: str, source: str, stats: media.AudioStats, hz: float) -> None:
    ok = stats.rms > 0.02 and abs(stats.dominant_hz - hz) < 15
    report.check(ok, f"{who} heard {source}: {stats.dominant_hz:.0f} Hz at {stats.rms:.2f} RMS")


def _saw(report: DemoReport, who: str, source: str, stats: media.VideoStats) -> None:
    ok = stats.frames >= 3 and stats.width > 0
    report.check(ok, f"{who} saw {source}: {stats.frames} frames {stats.width}x{stats.height}")


async def _audio_room(
    make: Callable[[], UTDStreamClient], say: _Narrator, report: DemoReport
) -> None:
    print("==> audio room 'lobby': host seeds 8 seats, two listeners, one takes a seat")
    sessions: list[UTDSession] = []
    try:
        host = await make().join_audio_room(
            "host", "lobby", as_host=True, seat_count=8, audio_source=media.tone(440.0)
        )
        sessions.append(host)
        say.watch("host", "connected", host.connected)
        say.watch("host", "seats", host.seats, _seats)
        say.watch("host", "speaking", host.active_speakers, _speakers)
        ann = await make().join_audio_room("ann", "lobby", audio_source=media.tone(660.0))
        ben = await make().join_audio_room("ben", "lobby", audio_source=media.tone(880.0))
        sessions += [ann, ben]
        say.watch("ann", "can_publish", ann.can_publish)
        say.watch("ben", "speaking", ben.active_speakers, _speakers)
        await host.take_seat(0)
        await ann.take_seat(3)
        _heard(report, "ben", "host (seat 0)", await hear(ben, "host"), 440.0)
        _heard(report, "ben", "ann (seat 3)", await hear(ben, "ann"), 660.0)
        await ann.leave_seat()
        await ben.seats.wait_for(_seat_free(3), timeout=10)
        report.check(True, "ben's seat view converged after ann left seat 3")
    finally:
        say.stop()
        for session in sessions:
            await session.aclose()


async def _live_stream(
    make: Callable[[], UTDStreamClient], say: _Narrator, report: DemoReport
) -> None:
    print("==> live stream 'show': host goes live, a viewer raises a hand and is invited on stage")
    sessions: list[UTDSession] = []
    try:
        host = await make().join_live_stream("star", "show", as_host=True)
        sessions.append(host)
        await host.go_live()
        fan = await make().join_live_stream("fan", "show", audio_source=media.tone(550.0))
        guest = await make().join_live_stream("guest", "show")
        sessions += [fan, guest]
        say.watch("star", "connected", host.connected)
        say.watch("star", "stage", host.stage, _stage)
        say.watch("star", "requests", host.stage_requests, lambda r: str(len(r)))
        say.watch("fan", "can_publish", fan.can_publish)
        _saw(report, "guest", "star", await see(guest, "star"))
        await fan.request_stage()
        await host.stage_requests.wait_for(bool, timeout=10)
        await host.invite_to_stage("fan")
        await fan.can_publish.wait_for(bool, timeout=10)
        _saw(report, "guest", "fan (co-publisher)", await see(guest, "fan"))
        _heard(report, "star", "fan", await hear(host, "fan"), 550.0)
        await host.remove_from_stage("fan")
        await fan.can_publish.wait_for(lambda p: not p, timeout=10)
    finally:
        say.stop()
        for session in sessions:
            await session.aclose()


async def _video_call(
    make: Callable[[], UTDStreamClient], say: _Narrator, report: DemoReport
) -> None:
    print("==> video call: alice calls bob, bob answers, both hang up")
    alice_client, bob_client = make(), make()
    await alice_client.authenticate("alice")
    await bob_client.authenticate("bob")
    ringing: asyncio.Future[UTDCall] = asyncio.get_running_loop().create_future()

    def on_incoming(call: UTDCall) -> None:
        if call.callee_identity == "bob" and not ringing.done():
            ringing.set_result(call)

    bob_client.incoming_calls.subscribe(on_incoming)
    alice = alice_client.call_session(UTDStreamType.VIDEO_CALL, audio_source=media.tone(330.0))
    bob = bob_client.call_session(UTDStreamType.VIDEO_CALL, audio_source=media.tone(990.0))
    say.watch("alice", "status", alice.status, _status)
    say.watch("bob", "status", bob.status, _status)
    say.watch("bob", "connected", bob.connected)
    try:
        await alice.start("bob", callee_name="Bob")
        call = await asyncio.wait_for(ringing, 10)
        await bob.ringing(call.call_id)
        await bob.accept(call.call_id)
        _heard(report, "bob", "alice", await hear(bob, "alice"), 330.0)
        _heard(report, "alice", "bob", await hear(alice, "bob"), 990.0)
        _saw(report, "alice", "bob", await see(alice, "bob"))
        await alice.end()
        await bob.status.wait_for(lambda s: s is UTDCallStatus.ENDED, timeout=10)
        report.check(True, "both sides reached 'ended'")
    finally:
        say.stop()
        await alice.aclose()
        await bob.aclose()


async def run_sessions_demo(app_id: str, app_key: str, base_url: str) -> DemoReport:
    """Run the audio room, live stream and video call demos; return what was received."""
    report = DemoReport()
    clients: list[UTDStreamClient] = []

    def make() -> UTDStreamClient:
        client = UTDStreamClient(app_id, app_key, base_url)
        clients.append(client)
        return client

    narrator = _Narrator()
    try:
        await _audio_room(make, narrator, report)
        await _live_stream(make, narrator, report)
        await _video_call(make, narrator, report)
    finally:
        for client in clients:
            await client.aclose()
    return report


def _seat_free(index: int) -> Callable[[UTDSeatGrid | None], bool]:
    def predicate(grid: UTDSeatGrid | None) -> bool:
        return grid is not None and grid.seats[index].identity is None

    return predicate
