"""Moderation with in-memory storage: remove, ban and unban, end; who is turned away after.

Every refusal leaves the room's version where it was; every notification goes out before
LiveKit is told to disconnect the people it concerns.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests._support.engine import APP_ID, APP_SECRET, Local, post_webhook
from tests._support.engine_seats import seat_room
from tests._support.paths import BANS, END, REMOVE, SEATS, STAGE
from tests._support.tokens import claims
from utd_stream_engine.exclusion import MAX_REMOVED, record_removal
from utd_stream_engine.identity import sign_identity_token
from utd_stream_engine.state import RoomRecord, dump_record, load_room
from utd_stream_rx.models import UTDRoomState, UTDStreamType, structure
from utd_stream_rx.state.notices import NOTICE_TOPICS, ParticipantBanned, ParticipantRemoved


def lk(room: str) -> str:
    return f"{APP_ID}__{room}"


async def state_of(local: Local, room: str, bearer: str) -> UTDRoomState:
    answer = await local.client.get(f"/api/v1/rooms/{room}", bearer=bearer)
    assert answer.status == 200, answer
    return structure(answer.body, UTDRoomState)


def joined_with(room: str, identity: str, token: str) -> dict[str, Any]:
    """A ``participant_joined`` webhook for a participant who joined with ``token``."""
    return {
        "event": "participant_joined",
        "room": {"name": lk(room)},
        "participant": {
            "identity": identity,
            "sid": f"PA_{identity}",
            "attributes": claims(token)["attributes"],
        },
    }


def disconnections(local: Local) -> list[tuple[Any, ...]]:
    """The notifications, removals and deletions sent to LiveKit, in order."""
    return [op for op in local.bridge.operations if op[0] in ("data", "remove", "delete_room")]


async def refused(
    local: Local,
    room: str,
    bearer: str,
    method: str,
    path: str,
    body: Any,
    expected: tuple[int, str],
) -> None:
    """The request answers ``expected`` (status, code) and the room's version stays."""
    before = (await state_of(local, room, bearer)).version
    answer = await local.client.call(method, path, body, bearer=bearer)
    assert (answer.status, answer.code) == expected, answer
    assert (await state_of(local, room, bearer)).version == before


async def test_remove_frees_the_seat_tells_the_participant_then_drops_it(local: Local) -> None:
    b = await seat_room(local, "r", "ann", "bob")
    before = await state_of(local, "r", b["host"])
    answer = await local.client.post(REMOVE.format(room="r"), {"identity": "ann"}, bearer=b["host"])
    assert answer.status == 200, answer
    state = structure(answer.body, UTDRoomState)
    assert state.version == before.version + 1
    assert state.seats is not None
    assert [s.identity for s in state.seats.seats[:3]] == [None, None, "bob"]
    note = {"identity": "ann", "version": state.version}
    assert disconnections(local)[-2:] == [
        ("data", lk("r"), "utd.participant.removed", note, ("ann",)),
        ("remove", lk("r"), "ann"),
    ]
    assert structure(note, NOTICE_TOPICS["utd.participant.removed"]) == ParticipantRemoved(
        "ann", state.version
    )
    grants = [op[3] for op in local.ops("grant") if op[2] == "ann"]
    assert grants[-1].can_publish is False
    # Someone who holds nothing (a viewer): removed all the same, at a new version.
    nobody = await local.client.post(REMOVE.format(room="r"), {"identity": "zed"}, bearer=b["host"])
    assert nobody.status == 200 and nobody.body["version"] == state.version + 1
    assert disconnections(local)[-1] == ("remove", lk("r"), "zed")


async def test_remove_refusals_change_nothing(local: Local) -> None:
    b = await seat_room(local, "r", "ann")
    path = REMOVE.format(room="r")
    conflict = (409, "conflict")
    await refused(local, "r", b["host"], "POST", path, {"identity": "host"}, conflict)
    await refused(local, "r", b["ann"], "POST", path, {"identity": "ann"}, (403, "forbidden"))
    bad = (400, "invalid_request")
    await refused(local, "r", b["host"], "POST", path, {}, bad)
    await refused(local, "r", b["host"], "POST", path, {"identity": "no spaces"}, bad)
    missing = await local.client.post(
        REMOVE.format(room="nowhere"), {"identity": "ann"}, bearer=b["host"]
    )
    assert (missing.status, missing.code) == (404, "not_found")
    assert not [op for op in disconnections(local) if op[0] == "remove"]


async def test_a_call_room_has_no_moderation(local: Local) -> None:
    caller = await local.client.user("caller")
    # Created past the spec check: this test is about the moderation answers.
    async with local.client.session.post(
        local.client.base_url + "/api/v1/calls",
        json={"callee_identity": "callee", "type": "audio_call"},
        headers={
            "X-UTD-App-Id": APP_ID,
            "X-UTD-App-Key": local.client.app_key,
            "Authorization": f"Bearer {caller}",
        },
    ) as resp:
        assert resp.status == 201
        room = (await resp.json())["room_name"]
    for path, body in ((REMOVE, {"identity": "callee"}), (BANS, {"identity": "callee"}), (END, {})):
        answer = await local.client.post(path.format(room=room), body, bearer=caller)
        assert (answer.status, answer.code) == (409, "conflict"), answer


async def test_a_join_with_a_token_minted_before_the_removal_is_removed_again(
    local: Local,
) -> None:
    b = await seat_room(local, "r", "ann")
    old = await local.client.token("ann", "r", "audio_room")
    answer = await local.client.post(REMOVE.format(room="r"), {"identity": "ann"}, bearer=b["host"])
    assert answer.status == 200
    removals = len(local.ops("remove"))
    assert await post_webhook(local, joined_with("r", "ann", old["token"])) == 200
    assert local.ops("remove")[removals:] == [("remove", lk("r"), "ann")]
    fresh = await local.client.token("ann", "r", "audio_room")
    assert int(claims(fresh["token"])["attributes"]["utd.version"]) == answer.body["version"]
    assert await post_webhook(local, joined_with("r", "ann", fresh["token"])) == 200
    assert len(local.ops("remove")) == removals + 1
    # Back in the room: it may take a seat again.
    taken = await local.client.post(
        SEATS.format(room="r") + "/take", {"seat_index": 4}, bearer=fresh["user_token"]
    )
    assert taken.status == 200, taken


async def on_stage(local: Local, room: str, identity: str, host: str) -> str:
    """``identity`` on the host's stage (asked, then invited); its bearer."""
    bearer: str = (await local.client.token(identity, room, "live_stream"))["user_token"]
    asked = await local.client.post(STAGE.format(room=room) + "/request", {}, bearer=bearer)
    assert asked.status == 200, asked
    invited = await local.client.post(
        STAGE.format(room=room) + "/invite", {"identity": identity}, bearer=host
    )
    assert invited.status == 200, invited
    assert identity in [m.identity for m in structure(invited.body, UTDRoomState).stage]
    return bearer


async def test_ban_frees_the_stage_place_and_refuses_tokens_and_commands(local: Local) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    cop = await on_stage(local, "show", "cop", host)
    old = await local.client.token("cop", "show", "live_stream")
    banned = await local.client.post(BANS.format(room="show"), {"identity": "cop"}, bearer=host)
    assert banned.status == 200, banned
    state = structure(banned.body, UTDRoomState)
    assert [m.identity for m in state.stage] == ["h"]
    note = {"identity": "cop", "version": state.version}
    assert disconnections(local)[-2:] == [
        ("data", lk("show"), "utd.participant.banned", note, ("cop",)),
        ("remove", lk("show"), "cop"),
    ]
    assert structure(note, ParticipantBanned) == ParticipantBanned("cop", state.version)
    body = {"identity": "cop", "room_name": "show", "type": "live_stream"}
    mint = await local.client.post("/api/v1/token", body)
    assert (mint.status, mint.code) == (403, "banned")
    for command in ("/request", "/leave"):
        answer = await local.client.post(STAGE.format(room="show") + command, {}, bearer=cop)
        assert (answer.status, answer.code) == (403, "banned"), command
    again = await local.client.post(BANS.format(room="show"), {"identity": "cop"}, bearer=host)
    assert again.status == 200 and again.body["version"] == state.version
    removals = len(local.ops("remove"))
    assert await post_webhook(local, joined_with("show", "cop", old["token"])) == 200
    assert len(local.ops("remove")) == removals + 1
    # Other rooms of the app are not concerned.
    assert (await local.client.token("cop", "elsewhere", "live_stream"))["token"]


async def test_unban_lifts_the_ban_idempotently(local: Local) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    old = await local.client.token("v", "show", "live_stream")
    banned = await local.client.post(BANS.format(room="show"), {"identity": "v"}, bearer=host)
    version = banned.body["version"]
    path = BANS.format(room="show") + "/v"
    await refused(local, "show", old["user_token"], "DELETE", path, None, (403, "forbidden"))
    lifted = await local.client.call("DELETE", path, bearer=host)
    assert lifted.status == 200 and lifted.body["version"] == version + 1
    twice = await local.client.call("DELETE", path, bearer=host)
    assert twice.status == 200 and twice.body["version"] == version + 1
    fresh = await local.client.token("v", "show", "live_stream")
    # A token minted before the ban stays turned away; a fresh one joins.
    removals = len(local.ops("remove"))
    assert await post_webhook(local, joined_with("show", "v", old["token"])) == 200
    assert await post_webhook(local, joined_with("show", "v", fresh["token"])) == 200
    assert len(local.ops("remove")) == removals + 1


async def test_the_owner_cannot_be_banned_and_viewers_cannot_moderate(local: Local) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    viewer = (await local.client.token("v", "show", "live_stream"))["user_token"]
    path = BANS.format(room="show")
    await refused(local, "show", host, "POST", path, {"identity": "h"}, (409, "conflict"))
    await refused(local, "show", viewer, "POST", path, {"identity": "h"}, (403, "forbidden"))
    await refused(local, "show", viewer, "POST", path, {"identity": "x"}, (403, "forbidden"))
    await refused(local, "show", viewer, "POST", END.format(room="show"), {}, (403, "forbidden"))
    await refused(local, "show", viewer, "POST", REMOVE.format(room="show"), {"identity": "x"},
                  (403, "forbidden"))


async def test_a_verified_host_moderates_but_cannot_touch_the_owner(local: Local) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    proof = sign_identity_token(APP_SECRET, "mod", roles=["host:show"])
    minted = await local.client.post(
        "/api/v1/token",
        {"identity_token": proof, "room_name": "show", "type": "live_stream", "role": "host"},
    )
    assert minted.status == 200, minted
    mod = minted.body["user_token"]
    for path in (REMOVE, BANS):
        await refused(local, "show", mod, "POST", path.format(room="show"), {"identity": "h"},
                      (409, "conflict"))
        await refused(local, "show", mod, "POST", path.format(room="show"), {"identity": "mod"},
                      (409, "conflict"))
    banned = await local.client.post(BANS.format(room="show"), {"identity": "v"}, bearer=mod)
    assert banned.status == 200 and banned.body["host_identity"] == "h"
    ended = await local.client.post(END.format(room="show"), {}, bearer=mod)
    assert ended.status == 200 and ended.body["ended"] is True
    # The verified host's mint starts it anew (as the owner's would).
    again = await local.client.post(
        "/api/v1/token",
        {"identity_token": proof, "room_name": "show", "type": "live_stream", "role": "host"},
    )
    assert again.status == 200, again
    assert not (await state_of(local, "show", host)).ended


async def ended_audio_room(local: Local) -> tuple[dict[str, str], UTDRoomState]:
    """An audio room with two speakers, a locked seat, a request and an invitation, ended
    with a reason; the bearers (and ``old``: ann's LiveKit token from before) and the
    answer."""
    b = await seat_room(local, "talk", "ann", "bob")
    seats = SEATS.format(room="talk")
    locked = await local.client.post(seats + "/5/lock", {"locked": True}, bearer=b["host"])
    assert locked.status == 200
    b["eve"] = (await local.client.token("eve", "talk", "audio_room"))["user_token"]
    assert (await local.client.post(seats + "/request", {}, bearer=b["eve"])).status == 200
    invite = await local.client.post(seats + "/invite", {"identity": "dan"}, bearer=b["host"])
    assert invite.status == 200
    b["old"] = (await local.client.token("ann", "talk", "audio_room"))["token"]
    ended = await local.client.post(END.format(room="talk"), {"reason": "bye"}, bearer=b["host"])
    assert ended.status == 200, ended
    return b, structure(ended.body, UTDRoomState)


async def test_end_empties_the_room_tells_everyone_then_closes_it(local: Local) -> None:
    b, state = await ended_audio_room(local)
    assert state.ended and state.seats is not None
    assert [s.identity for s in state.seats.seats] == [None] * 8
    assert [s.locked for s in state.seats.seats] == [i == 5 for i in range(8)]
    assert state.speak_requests == () and state.invitations == ()
    note = {"reason": "bye", "version": state.version}
    assert disconnections(local)[-2:] == [
        ("data", lk("talk"), "utd.room.ended", note, ()),
        ("delete_room", lk("talk")),
    ]
    metadata = [op for op in local.ops("metadata") if op[1] == lk("talk")][-1]
    assert json.loads(metadata[2])["ended"] is True
    assert (await state_of(local, "talk", b["ann"])).ended
    again = await local.client.post(END.format(room="talk"), {}, bearer=b["host"])
    assert again.status == 200 and again.body["version"] == state.version


async def test_an_ended_room_refuses_tokens_and_commands_until_a_host_starts_it(
    local: Local,
) -> None:
    b, state = await ended_audio_room(local)
    body = {"identity": "ann", "room_name": "talk", "type": "audio_room"}
    mint = await local.client.post("/api/v1/token", body)
    assert (mint.status, mint.code) == (409, "room_ended")
    as_host = await local.client.post("/api/v1/token", {**body, "role": "host"})
    assert (as_host.status, as_host.code) == (403, "forbidden")
    seats = SEATS.format(room="talk")
    room_ended = (409, "room_ended")
    await refused(local, "talk", b["ann"], "POST", seats + "/take", {"seat_index": 1}, room_ended)
    await refused(local, "talk", b["host"], "POST", seats + "/2/lock", {"locked": True}, room_ended)
    for path in (REMOVE, BANS):
        await refused(local, "talk", b["host"], "POST", path.format(room="talk"), {"identity": "x"},
                      room_ended)
    await refused(local, "talk", b["ann"], "POST", END.format(room="talk"), {},
                  (403, "forbidden"))
    # Unbanning still works in an ended room.
    lifted = await local.client.call("DELETE", BANS.format(room="talk") + "/x", bearer=b["host"])
    assert lifted.status == 200 and lifted.body["version"] == state.version
    # Whoever joins the closed room with an old token is removed again.
    assert await post_webhook(local, joined_with("talk", "ann", b["old"])) == 200
    assert local.ops("remove")[-1] == ("remove", lk("talk"), "ann")
    restarted = await local.client.token("host", "talk", "audio_room", role="host")
    after = await state_of(local, "talk", restarted["user_token"])
    assert not after.ended and after.version == state.version + 1
    assert local.ops("ensure_room")[-1][1] == lk("talk")
    assert (await local.client.token("ann", "talk", "audio_room"))["token"]
    taken = await local.client.post(seats + "/take", {"seat_index": 1}, bearer=b["ann"])
    assert taken.status == 200, taken


async def test_ending_a_live_stream_leaves_the_host_alone_on_stage(local: Local) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    await on_stage(local, "show", "cop", host)
    fan = (await local.client.token("fan", "show", "live_stream"))["user_token"]
    asked = await local.client.post(STAGE.format(room="show") + "/request", {}, bearer=fan)
    assert asked.status == 200
    ended = await local.client.post(END.format(room="show"), None, bearer=host)
    assert ended.status == 200, ended
    state = structure(ended.body, UTDRoomState)
    assert [m.identity for m in state.stage] == ["h"] and state.stage_requests == ()
    assert state.ended and disconnections(local)[-1] == ("delete_room", lk("show"))


@pytest.mark.parametrize("reason", ["", "x" * 65, 7, True, ["bye"]])
async def test_end_reasons_are_short_strings(local: Local, reason: object) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    await refused(local, "show", host, "POST", END.format(room="show"), {"reason": reason},
                  (400, "invalid_request"))


async def test_a_reason_of_64_characters_is_sent(local: Local) -> None:
    host = (await local.client.token("h", "show", "live_stream", role="host"))["user_token"]
    ended = await local.client.post(END.format(room="show"), {"reason": "é" * 64}, bearer=host)
    assert ended.status == 200
    assert local.ops("data")[-1][3]["reason"] == "é" * 64


def test_a_room_remembers_its_latest_removals_only() -> None:
    room = RoomRecord(app_id=APP_ID, room_name="r", type=UTDStreamType.AUDIO_ROOM)
    for n in range(MAX_REMOVED + 3):
        record_removal(room, f"u{n}")
    assert len(room.removed) == MAX_REMOVED
    assert "u0" not in room.removed and room.removed[f"u{MAX_REMOVED + 2}"] == room.version + 1
    record_removal(room, "u5")
    assert list(room.removed)[-1] == "u5"


def test_records_saved_before_moderation_load_with_nobody_turned_away() -> None:
    room = RoomRecord(app_id=APP_ID, room_name="r", type=UTDStreamType.LIVE_STREAM)
    data = dump_record(room)
    for key in ("removed", "banned", "ended"):
        del data[key]
    loaded = load_room(data)
    assert (loaded.removed, loaded.banned, loaded.ended) == ({}, [], False)
