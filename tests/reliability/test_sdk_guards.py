"""SDK-side guards against a real stack (livekit-server + engine subprocess): commands out of
the room never reach the engine, a call nobody could join does not stay ringing, and one client
serves several event loops in a row."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from tests._support.figures import record
from tests._support.raw_engine import RawEngine, RawEngineOf
from utd_stream_rx import (
    UTDAudioRoomSession,
    UTDCallStatus,
    UTDLiveStreamSession,
    UTDStreamClient,
    UTDStreamException,
    UTDStreamType,
)
from utd_stream_rx.testing import ClientsOf, LocalStack, PrivateStackFactory

pytestmark = pytest.mark.e2e


class RequestLog:
    """Every request an ``aiohttp.ClientSession`` sends, seen through aiohttp's own tracing."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._on_start)

    async def _on_start(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        self.sent.append(f"{params.method} {params.url.path}")


async def _refused(command: Callable[[], Any], code: str) -> None:
    with pytest.raises(UTDStreamException) as refused:
        await command()
    assert refused.value.code == code, refused.value


async def test_room_commands_out_of_the_room_are_refused_before_any_request(
    utd_stack: LocalStack, make_client: Callable[[], UTDStreamClient], unique: Callable[[str], str]
) -> None:
    den, show = unique("den"), unique("show")
    host = await make_client().join_audio_room("host", den, as_host=True, seat_count=4)
    star = await make_client().join_live_stream("star", show, as_host=True)
    requests = RequestLog()
    http = aiohttp.ClientSession(trace_configs=[requests.config])
    client = UTDStreamClient(utd_stack.app_id, utd_stack.app_key, utd_stack.base_url,
                             session=http)
    try:
        ann = await client.join_audio_room(unique("ann"), den)
        fan = await client.join_live_stream(unique("fan"), show)
        grid_before = await host.get_seats()

        def seat_and_stage_commands(
            room: UTDAudioRoomSession, stream: UTDLiveStreamSession
        ) -> list[Callable[[], Any]]:
            return [
                lambda: room.take_seat(1),
                room.request_to_speak,
                room.accept_invitation,
                room.leave_seat,
                room.get_seats,
                stream.request_stage,
                stream.refresh_stage,
                stream.leave_stage,
            ]

        await ann.leave()
        await fan.leave()
        sent_before = len(requests.sent)
        refused = 0
        for command in seat_and_stage_commands(ann, fan):
            await _refused(command, "not_connected")
            refused += 1
        assert requests.sent[sent_before:] == []
        assert await host.get_seats() == grid_before  # the engine never heard of them

        await ann.aclose()
        await fan.aclose()
        closed_commands = [*seat_and_stage_commands(ann, fan),
                           lambda: ann.set_microphone(True), lambda: fan.send_data(b"hi")]
        for command in closed_commands:
            await _refused(command, "closed")
            refused += 1
        assert requests.sent[sent_before:] == []
        assert await host.get_seats() == grid_before
        await star.refresh_stage()
        assert [m.identity for m in star.stage.value] == ["star"]
        record("commands out of the room",
               f"{refused} commands after leave() and aclose(): "
               f"{len(requests.sent) - sent_before} requests sent, grid and stage unchanged")
    finally:
        await client.aclose()
        await http.close()


async def _engine_status(raw: RawEngine, identity: str, call_id: str) -> str:
    answer = await raw.send("GET", f"/api/v1/calls/{call_id}", bearer=await raw.bearer(identity))
    assert answer.status == 200, answer
    status: str = answer.body["status"]
    return status


async def test_a_call_nobody_could_join_is_ended_for_caller_and_callee(
    utd_private_stack: PrivateStackFactory,
    clients_of: ClientsOf,
    raw_engine_of: RawEngineOf,
) -> None:
    stack = utd_private_stack()
    raw = raw_engine_of(stack)
    make = clients_of(stack)
    caller, callee = make(), make()
    await caller.authenticate("carol")
    await callee.authenticate("dave")
    await stack.livekit.akill()  # the engine is up, the media server is gone

    calling = caller.call_session(UTDStreamType.AUDIO_CALL)
    calling.connect_timeout = 3.0
    began = time.monotonic()
    with pytest.raises(UTDStreamException) as failed:
        await calling.start("dave")
    caller_took = time.monotonic() - began
    assert failed.value.code == "connect_failed", failed.value
    assert isinstance(failed.value.__cause__, UTDStreamException)
    assert "ended" in failed.value.message
    call_id = calling.call_id.value
    assert call_id is not None
    assert await _engine_status(raw, "carol", call_id) == "ended"
    assert calling.status.value is UTDCallStatus.ENDED
    assert not calling.connected.value

    # The callee accepts a call rung while the media server is down.
    rung = await raw.send("POST", "/api/v1/calls", {"callee_identity": "dave",
                                                     "type": "audio_call"},
                          bearer=await raw.bearer("erin"))
    assert rung.status == 201, rung
    answering = callee.call_session(UTDStreamType.AUDIO_CALL)
    answering.connect_timeout = 3.0
    began = time.monotonic()
    with pytest.raises(UTDStreamException) as failed:
        await answering.accept(rung.body["call_id"])
    callee_took = time.monotonic() - began
    assert failed.value.code == "connect_failed", failed.value
    assert failed.value.__cause__ is not None
    assert await _engine_status(raw, "erin", rung.body["call_id"]) == "ended"
    assert answering.status.value is UTDCallStatus.ENDED
    record("call room unreachable", f"caller gave up in {caller_took:.1f}s, callee in "
                                    f"{callee_took:.1f}s; both calls ended on the engine")


def _two_loops_in_a_row(stack: LocalStack, room: str) -> dict[str, Any]:
    """What a script or a notebook does: one client, ``asyncio.run`` twice."""
    seen: dict[str, Any] = {}
    client = UTDStreamClient(stack.app_id, stack.app_key, stack.base_url, timeout=3.0)

    async def first() -> None:
        await client.authenticate("ivy")
        seen["first"] = await client.api.calls.list_calls()
        session = await client.join_audio_room("ivy", room, as_host=True, seat_count=2)
        seen["session"] = session
        await session.leave()

    async def second() -> None:
        try:
            seen["second"] = await client.api.calls.list_calls()
            seen["grid"] = (await client.api.seats.get_seats(room)).seats
            try:
                await seen["session"].rejoin()
            except UTDStreamException as exc:
                seen["stale session"] = exc
        finally:
            await client.aclose()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(first())
        asyncio.run(second())
        seen.pop("session")
        gc.collect()
    seen["warnings"] = [str(w.message) for w in caught]
    return seen


async def test_one_client_serves_one_event_loop_after_another(
    utd_stack: LocalStack, unique: Callable[[str], str]
) -> None:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome.update(_two_loops_in_a_row(utd_stack, unique("loops")))
        except BaseException as exc:  # handed to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    await asyncio.to_thread(thread.join)
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["first"] == [] and outcome["second"] == []
    assert outcome["grid"] is not None and len(outcome["grid"].seats) == 2
    stale = outcome["stale session"]
    assert stale.code == "wrong_loop", stale
    leaks = [w for w in outcome["warnings"] if "nclosed" in w]
    assert leaks == []
