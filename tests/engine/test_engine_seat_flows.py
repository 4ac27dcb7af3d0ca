"""The audio room's request flow over raw HTTP: cancel, deny, the specific 404 codes, and
requests (speak and stage) that expire after ``request_ttl``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import attrs
import pytest

from tests._support.engine import EngineClient, Local, LocalFactory
from tests._support.paths import SEATS, STAGE
from utd_stream_engine.__main__ import parse_args
from utd_stream_engine.expiry import check_interval, expire_due
from utd_stream_engine.sqlite_storage import SQLiteStorage
from utd_stream_engine.state import RoomRecord
from utd_stream_rx.models import UTDSpeakRequest, UTDStageRequest, UTDStreamType

LIVEKIT_SECRET = "unit-secret-" + "x" * 32


async def _audio_room(client: EngineClient, room: str, *users: str) -> dict[str, str]:
    """A host and users in a request-mode audio room; identity -> bearer."""
    host = await client.token("host", room, "audio_room", role="host")
    bearers = {"host": host["user_token"]}
    for user in users:
        bearers[user] = (await client.token(user, room, "audio_room"))["user_token"]
    setup = await client.post(
        SEATS.format(room=room) + "/setup", {"seat_mode": "request"}, bearer=bearers["host"]
    )
    assert setup.status == 200, setup
    return bearers


async def _version(client: EngineClient, room: str, bearer: str) -> int:
    state = await client.get(f"/api/v1/rooms/{room}", bearer=bearer)
    version: int = state.body["version"]
    return version


def _notes(local: Local, topic: str) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """The bodies and destinations of the engine's data messages on ``topic``."""
    return [(op[3], op[4]) for op in local.ops("data") if op[2] == topic]


async def _refused(
    client: EngineClient,
    room: str,
    bearer: str,
    path: str,
    body: dict[str, Any],
    expected: tuple[int, str],
) -> None:
    """``POST path`` is refused with ``expected`` and the room's version stays."""
    before = await _version(client, room, bearer)
    answer = await client.post(path, body, bearer=bearer)
    assert (answer.status, answer.code) == expected, (path, answer)
    assert await _version(client, room, bearer) == before, path


async def test_the_requester_cancels_and_a_second_cancel_is_no_request(local: Local) -> None:
    b = await _audio_room(local.client, "cancel", "ann", "bob")
    path = SEATS.format(room="cancel")
    asked = await local.client.post(path + "/request", {"seat_index": 3}, bearer=b["ann"])
    assert [r["identity"] for r in asked.body["speak_requests"]] == ["ann"]
    await _refused(local.client, "cancel", b["bob"], path + "/request/cancel", {},
                   (404, "no_request"))

    cancelled = await local.client.post(path + "/request/cancel", bearer=b["ann"])
    assert cancelled.status == 200, cancelled
    assert cancelled.body["speak_requests"] == []
    assert cancelled.body["version"] == asked.body["version"] + 1
    await _refused(local.client, "cancel", b["ann"], path + "/request/cancel", {},
                   (404, "no_request"))
    # Asking again after a cancel is a new request with a new id.
    again = await local.client.post(path + "/request", bearer=b["ann"])
    [renewed] = again.body["speak_requests"]
    assert renewed["request_id"] != asked.body["speak_requests"][0]["request_id"]


async def test_the_host_denies_with_a_reason_and_the_requester_is_told(local: Local) -> None:
    b = await _audio_room(local.client, "deny", "ann", "bob")
    path = SEATS.format(room="deny")
    await local.client.post(path + "/request", bearer=b["ann"])
    asked = await local.client.post(path + "/request", bearer=b["bob"])
    ann_id, bob_id = (r["request_id"] for r in asked.body["speak_requests"])

    deny = path + "/requests/{}/deny"
    await _refused(local.client, "deny", b["bob"], deny.format(ann_id), {}, (403, "forbidden"))
    await _refused(local.client, "deny", b["ann"], deny.format(999), {}, (403, "forbidden"))
    for unknown in ("999", "0", "x1", "1e3"):
        await _refused(local.client, "deny", b["host"], deny.format(unknown), {},
                       (404, "no_request"))
    for reason in ("", "x" * 65, 5, ["full"]):
        await _refused(local.client, "deny", b["host"], deny.format(ann_id), {"reason": reason},
                       (400, "invalid_request"))
    assert _notes(local, "utd.seat.request.denied") == []

    denied = await local.client.post(deny.format(ann_id), {"reason": "full"}, bearer=b["host"])
    assert denied.status == 200, denied
    assert [r["identity"] for r in denied.body["speak_requests"]] == ["bob"]
    assert denied.body["version"] == asked.body["version"] + 1
    longest = "y" * 64
    plain = await local.client.post(deny.format(bob_id), {"reason": longest}, bearer=b["host"])
    assert plain.body["speak_requests"] == []
    assert _notes(local, "utd.seat.request.denied") == [
        ({"request_id": ann_id, "identity": "ann", "reason": "full",
          "version": denied.body["version"]}, ("ann",)),
        ({"request_id": bob_id, "identity": "bob", "reason": longest,
          "version": plain.body["version"]}, ("bob",)),
    ]
    await _refused(local.client, "deny", b["host"], deny.format(ann_id), {}, (404, "no_request"))

    # Without a reason the requester is told so (null).
    asked = await local.client.post(path + "/request", bearer=b["ann"])
    [request] = asked.body["speak_requests"]
    await local.client.post(deny.format(request["request_id"]), bearer=b["host"])
    body, to = _notes(local, "utd.seat.request.denied")[-1]
    assert body["reason"] is None and to == ("ann",)


async def test_approve_accept_and_decline_answer_the_specific_codes(local: Local) -> None:
    b = await _audio_room(local.client, "codes", "ann")
    path = SEATS.format(room="codes")
    for approve in ("/requests/7/approve", "/requests/abc/approve"):
        await _refused(local.client, "codes", b["host"], path + approve, {}, (404, "no_request"))
    for answer in ("/invitation/accept", "/invitation/decline"):
        await _refused(local.client, "codes", b["ann"], path + answer, {},
                       (404, "no_invitation"))
    # A denied request can no longer be approved.
    asked = await local.client.post(path + "/request", bearer=b["ann"])
    request_id = asked.body["speak_requests"][0]["request_id"]
    await local.client.post(path + f"/requests/{request_id}/deny", bearer=b["host"])
    await _refused(local.client, "codes", b["host"], path + f"/requests/{request_id}/approve",
                   {}, (404, "no_request"))


async def _wait_until(check: Any, what: str, timeout: float = 6.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_pending_requests_of_both_kinds_expire(make_local: LocalFactory) -> None:
    local = await make_local(request_ttl=0.5)
    b = await _audio_room(local.client, "hall", "ann")
    asked = await local.client.post(SEATS.format(room="hall") + "/request", bearer=b["ann"])
    [request] = asked.body["speak_requests"]
    star = (await local.client.token("star", "gig", "live_stream", role="host"))["user_token"]
    fan = (await local.client.token("fan", "gig", "live_stream"))["user_token"]
    hand = await local.client.post(STAGE.format(room="gig") + "/request", bearer=fan)
    assert [r["identity"] for r in hand.body["stage_requests"]] == ["fan"]

    async def both_gone() -> bool:
        hall = await local.client.get("/api/v1/rooms/hall", bearer=b["host"])
        gig = await local.client.get("/api/v1/rooms/gig", bearer=star)
        return not hall.body["speak_requests"] and not gig.body["stage_requests"]

    await _wait_until(both_gone, "the requests never expired")
    hall_version = await _version(local.client, "hall", b["host"])
    gig_version = await _version(local.client, "gig", star)
    assert hall_version == asked.body["version"] + 1
    assert gig_version == hand.body["version"] + 1
    assert _notes(local, "utd.seat.request.expired") == [
        ({"request_id": request["request_id"], "identity": "ann", "version": hall_version},
         ("ann",)),
    ]
    assert _notes(local, "utd.stage.request.expired") == [
        ({"identity": "fan", "version": gig_version}, ("fan",)),
    ]
    assert await local.engine.storage.rooms_with_requests() == []
    # Nothing is left to cancel.
    await _refused(local.client, "hall", b["ann"], SEATS.format(room="hall") + "/request/cancel",
                   {}, (404, "no_request"))


async def test_requests_never_expire_with_a_ttl_of_zero(make_local: LocalFactory) -> None:
    local = await make_local(request_ttl=0)
    b = await _audio_room(local.client, "still", "ann")
    await local.client.post(SEATS.format(room="still") + "/request", bearer=b["ann"])
    await local.engine.request_expiry.sweep()
    await asyncio.sleep(1.2)  # at least one pass of the sweeper
    state = await local.client.get("/api/v1/rooms/still", bearer=b["host"])
    assert [r["identity"] for r in state.body["speak_requests"]] == ["ann"]
    assert await local.engine.storage.rooms_with_requests() == [("app-one", "still")]


@attrs.define
class _Notes:
    """Collects what an expiry change would tell (the engine's effects, as data)."""

    changed: bool = True
    sent: list[tuple[str, tuple[str, ...], dict[str, Any]]] = attrs.field(factory=list)

    def notify(self, topic: str, identities: tuple[str, ...], payload: dict[str, Any]) -> None:
        self.sent.append((topic, identities, payload))


def test_only_requests_made_by_the_deadline_expire() -> None:
    room = RoomRecord(app_id="a", room_name="r", type=UTDStreamType.AUDIO_ROOM)
    room.speak_requests = [
        UTDSpeakRequest(1, "old", None, None, 100.0),
        UTDSpeakRequest(2, "new", 1, None, 200.0),
    ]
    room.stage_requests = [UTDStageRequest(3, "due", None, 150.0)]
    notes = _Notes()
    assert expire_due(room, 150.0, notes)
    assert [r.identity for r in room.speak_requests] == ["new"]
    assert room.stage_requests == []
    assert notes.sent == [
        ("utd.stage.request.expired", ("due",), {"identity": "due"}),
        ("utd.seat.request.expired", ("old",), {"request_id": 1, "identity": "old"}),
    ]
    assert not expire_due(room, 150.0, _Notes())


async def test_storage_finds_the_rooms_with_requests_made_by_a_time() -> None:
    storage = SQLiteStorage(":memory:")
    rooms = {
        name: RoomRecord(app_id="a", room_name=name, type=UTDStreamType.AUDIO_ROOM)
        for name in ("calm", "old-speak", "old-stage", "untimed", "new")
    }
    rooms["old-speak"].speak_requests = [
        UTDSpeakRequest(1, "x", None, None, 300.0), UTDSpeakRequest(2, "y", None, None, 100.0)
    ]
    rooms["old-stage"].stage_requests = [UTDStageRequest(1, "x", None, 150.0)]
    rooms["untimed"].speak_requests = [UTDSpeakRequest(1, "x")]
    rooms["new"].speak_requests = [UTDSpeakRequest(1, "x", None, None, 151.0)]
    rooms["new"].stage_requests = [UTDStageRequest(2, "y", None, 400.0)]
    await storage.save(rooms=rooms.values())
    assert sorted(await storage.rooms_with_requests()) == [
        ("a", "new"), ("a", "old-speak"), ("a", "old-stage"), ("a", "untimed")
    ]
    assert sorted(await storage.rooms_with_requests(made_by=150.0)) == [
        ("a", "old-speak"), ("a", "old-stage"), ("a", "untimed")
    ]
    assert await storage.rooms_with_requests(made_by=50.0) == [("a", "untimed")]
    await storage.close()


def test_the_expiry_check_interval_is_a_quarter_of_the_ttl_at_most_five_seconds() -> None:
    assert check_interval(2.0) == 0.5
    assert check_interval(300.0) == 5.0


def test_request_ttl_is_a_tuning_flag_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["--livekit-api-secret", LIVEKIT_SECRET]
    assert parse_args(base).request_ttl == 300.0
    assert parse_args([*base, "--request-ttl", "12.5"]).request_ttl == 12.5
    monkeypatch.setenv("UTD_ENGINE_REQUEST_TTL", "0")
    assert parse_args(base).request_ttl == 0.0
