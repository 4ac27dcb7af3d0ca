"""Room rules with in-memory storage: tokens and roles, seats, requests, invitations, stage."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests._support.engine import APP_ID, EngineClient, Local, post_webhook
from tests._support.paths import SEATS, STAGE
from tests._support.tokens import claims
from utd_stream_engine.state import Grant
from utd_stream_rx.models import UTDRoomState, structure


async def audio_room(client: EngineClient, room: str, *users: str) -> dict[str, str]:
    """A host and users in an audio room; returns identity -> bearer."""
    bearers = {"host": (await client.token("host", room, "audio_room", role="host"))["user_token"]}
    for user in users:
        bearers[user] = (await client.token(user, room, "audio_room", name=user.title()))[
            "user_token"
        ]
    return bearers


def joined(room: str, identity: str) -> dict[str, Any]:
    """A ``participant_joined`` webhook as livekit-server posts it."""
    return {
        "event": "participant_joined",
        "room": {"name": f"{APP_ID}__{room}"},
        "participant": {"identity": identity, "sid": f"PA_{identity}"},
    }


def grants_to(local: Local, identity: str) -> list[Grant]:
    return [op[3] for op in local.ops("grant") if op[2] == identity]


def data_to(local: Local, topic: str) -> list[tuple[Any, ...]]:
    return [op for op in local.ops("data") if op[2] == topic]


async def test_token_roles_and_grants(local: Local) -> None:
    host = await local.client.token("h", "show", "live_stream", role="host", name="H")
    video = claims(host["token"])["video"]
    # No token carries the right to publish: the engine grants it once the host has joined.
    assert video["canPublish"] is False and video["canPublishSources"] == []
    assert video["canSubscribe"] and video["canPublishData"] and video["roomJoin"]
    assert not video.get("canUpdateOwnMetadata")
    assert claims(host["token"])["attributes"]["utd.role"] == "host"
    assert await post_webhook(local, joined("show", "h")) == 200
    granted = grants_to(local, "h")[-1]
    assert granted.can_publish and set(granted.sources) == {"camera", "microphone"}
    viewer = await local.client.token("v", "show", "live_stream")
    assert claims(viewer["token"])["video"]["canPublish"] is False
    assert await post_webhook(local, joined("show", "v")) == 200
    assert grants_to(local, "v")[-1].can_publish is False
    clash = await local.client.post(
        "/api/v1/token",
        {"identity": "v", "room_name": "show", "type": "live_stream", "role": "host"},
    )
    assert (clash.status, clash.code) == (403, "forbidden")
    again = await local.client.token("h", "show", "live_stream", role="host")
    assert claims(again["token"])["video"]["canPublish"] is False
    wrong_kind = await local.client.post(
        "/api/v1/token", {"identity": "v", "room_name": "show", "type": "audio_room"}
    )
    assert (wrong_kind.status, wrong_kind.code) == (409, "conflict")
    # An audio-room host publishes only from a seat.
    audio_host = await local.client.token("ah", "talk", "audio_room", role="host")
    assert claims(audio_host["token"])["video"]["canPublish"] is False
    state = structure(
        (await local.client.get("/api/v1/rooms/show", bearer=host["user_token"])).body, UTDRoomState
    )
    assert [m.identity for m in state.stage] == ["h"] and state.stage[0].role == "host"
    assert host["url"] == host["ws_url"] == "ws://127.0.0.1:7880"


def joined_with_token(room: str, identity: str, token: str) -> dict[str, Any]:
    """A ``participant_joined`` webhook for a participant whose LiveKit state is its token's."""
    video = claims(token)["video"]
    event = joined(room, identity)
    event["participant"].update(
        permission={"canPublish": video["canPublish"], "canSubscribe": True},
        attributes=claims(token)["attributes"],
    )
    return event


async def test_a_join_whose_token_already_carries_the_grant_is_not_sent_it_again(
    local: Local,
) -> None:
    # Each grant sent is an update LiveKit relays to every participant of the room.
    b = await audio_room(local.client, "quiet", "ann")
    listener = await local.client.token("ann", "quiet", "audio_room", name="Ann")
    assert await post_webhook(local, joined_with_token("quiet", "ann", listener["token"])) == 200
    assert grants_to(local, "ann") == []
    # A seated identity's token never carries the right to publish: the join brings it.
    seated = await local.client.post(SEATS.format(room="quiet") + "/take", {"seat_index": 1},
                                     bearer=b["ann"])
    assert seated.status == 200
    sent = len(grants_to(local, "ann"))
    again = await local.client.token("ann", "quiet", "audio_room", name="Ann")
    assert await post_webhook(local, joined_with_token("quiet", "ann", again["token"])) == 200
    assert grants_to(local, "ann")[sent:] == [Grant("speaker", 1, True, ("microphone",))]


async def test_free_seats_take_and_leave(local: Local) -> None:
    b = await audio_room(local.client, "r", "ann", "bob")
    path = SEATS.format(room="r")
    taken = await local.client.post(path + "/take", {"seat_index": 3}, bearer=b["ann"])
    assert taken.status == 200
    state = structure(taken.body, UTDRoomState)
    assert state.seats is not None and state.seats.seats[3].identity == "ann"
    assert state.seats.seats[3].name == "Ann" and state.seats.version == state.version
    assert grants_to(local, "ann")[-1] == Grant("speaker", 3, True, ("microphone",))
    metadata = [op for op in local.ops("metadata") if op[1] == f"{APP_ID}__r"][-1]
    assert structure(json.loads(metadata[2]), UTDRoomState).version == state.version
    # The new token of a seated identity names the seat but lets publish only once joined.
    again = await local.client.token("ann", "r", "audio_room")
    assert claims(again["token"])["video"]["canPublish"] is False
    assert claims(again["token"])["attributes"]["utd.seat"] == "3"
    assert await post_webhook(local, joined("r", "ann")) == 200
    assert grants_to(local, "ann")[-1] == Grant("speaker", 3, True, ("microphone",))

    answer = await local.client.post(path + "/take", {"seat_index": 3}, bearer=b["bob"])
    assert (answer.status, answer.code) == (409, "seat_taken")
    answer = await local.client.post(path + "/take", {"seat_index": 4}, bearer=b["ann"])
    assert (answer.status, answer.code) == (409, "already_seated")
    for index in (8, -1):
        answer = await local.client.post(path + "/take", {"seat_index": index}, bearer=b["bob"])
        assert (answer.status, answer.code) == (400, "invalid_seat")
    answer = await local.client.post(path + "/take", {"seat_index": "1"}, bearer=b["bob"])
    assert (answer.status, answer.code) == (400, "invalid_request")

    left = await local.client.post(path + "/leave", bearer=b["ann"])
    assert left.status == 200 and left.body["version"] == state.version + 1
    assert left.body["seats"]["seats"][3]["identity"] is None
    assert grants_to(local, "ann")[-1] == Grant("audience", None, False, ())
    answer = await local.client.post(path + "/leave", bearer=b["ann"])
    assert (answer.status, answer.code) == (403, "forbidden")
    host_takes = await local.client.post(path + "/take", {"seat_index": 0}, bearer=b["host"])
    assert host_takes.status == 200
    assert grants_to(local, "host")[-1] == Grant("host", 0, True, ("microphone",))


async def test_request_mode_needs_approval(local: Local) -> None:
    b = await audio_room(local.client, "q", "ann", "bob")
    path = SEATS.format(room="q")
    setup = await local.client.post(path + "/setup", {"seat_mode": "request"}, bearer=b["host"])
    assert setup.body["seats"]["mode"] == "request"
    answer = await local.client.post(path + "/take", {"seat_index": 1}, bearer=b["ann"])
    assert (answer.status, answer.code) == (403, "approval_required")

    first = await local.client.post(path + "/request", {"seat_index": 2}, bearer=b["ann"])
    again = await local.client.post(path + "/request", {"seat_index": 5}, bearer=b["ann"])
    assert first.body["speak_requests"] == again.body["speak_requests"]
    assert again.body["version"] == first.body["version"]  # idempotent: no change
    [request] = first.body["speak_requests"]
    assert request["identity"] == "ann" and request["seat_index"] == 2
    [note] = data_to(local, "utd.seat.request")
    assert note[4] == ("host",) and note[3]["request"]["request_id"] == request["request_id"]
    assert note[3]["version"] == first.body["version"]
    await local.client.post(path + "/request", bearer=b["bob"])

    listing = await local.client.get(path + "/requests", bearer=b["host"])
    assert [r["identity"] for r in listing.body["speak_requests"]] == ["ann", "bob"]
    answer = await local.client.get(path + "/requests", bearer=b["ann"])
    assert (answer.status, answer.code) == (403, "forbidden")
    answer = await local.client.post(
        path + f"/requests/{request['request_id']}/approve", bearer=b["ann"]
    )
    assert (answer.status, answer.code) == (403, "forbidden")

    approved = await local.client.post(
        path + f"/requests/{request['request_id']}/approve", bearer=b["host"]
    )
    assert approved.status == 200
    assert approved.body["seats"]["seats"][2]["identity"] == "ann"
    assert [r["identity"] for r in approved.body["speak_requests"]] == ["bob"]
    assert grants_to(local, "ann")[-1].can_publish is True
    answer = await local.client.post(
        path + f"/requests/{request['request_id']}/approve", bearer=b["host"]
    )
    assert (answer.status, answer.code) == (404, "no_request")
    bob_id = approved.body["speak_requests"][0]["request_id"]
    bob = await local.client.post(
        path + f"/requests/{bob_id}/approve", {"seat_index": 6}, bearer=b["host"]
    )
    assert bob.body["seats"]["seats"][6]["identity"] == "bob" and bob.body["speak_requests"] == []
    answer = await local.client.post(path + "/request", bearer=b["bob"])
    assert (answer.status, answer.code) == (409, "already_seated")


async def test_approve_picks_the_first_free_seat(local: Local) -> None:
    b = await audio_room(local.client, "f", "ann", "bob")
    path = SEATS.format(room="f")
    await local.client.post(
        path + "/setup", {"seat_mode": "request", "seat_count": 3}, bearer=b["host"]
    )
    await local.client.post(path + "/0/lock", {"locked": True}, bearer=b["host"])
    await local.client.post(path + "/take", {"seat_index": 1}, bearer=b["host"])
    asked = await local.client.post(path + "/request", bearer=b["ann"])
    request_id = asked.body["speak_requests"][0]["request_id"]
    approved = await local.client.post(path + f"/requests/{request_id}/approve", bearer=b["host"])
    assert approved.body["seats"]["seats"][2]["identity"] == "ann"
    asked = await local.client.post(path + "/request", bearer=b["bob"])
    request_id = asked.body["speak_requests"][0]["request_id"]
    full = await local.client.post(path + f"/requests/{request_id}/approve", bearer=b["host"])
    assert (full.status, full.code) == (409, "seat_taken")


async def test_invitations_accept_and_decline(local: Local) -> None:
    b = await audio_room(local.client, "i", "ann", "bob")
    path = SEATS.format(room="i")
    await local.client.post(path + "/setup", {"seat_mode": "request"}, bearer=b["host"])
    invited = await local.client.post(
        path + "/invite", {"identity": "ann", "seat_index": 4}, bearer=b["host"]
    )
    [invitation] = invited.body["invitations"]
    assert invitation["identity"] == "ann" and invitation["seat_index"] == 4
    assert invitation["invited_by"] == "host"
    [note] = data_to(local, "utd.seat.invite")
    assert note[4] == ("ann",) and note[3]["invitation"]["seat_index"] == 4
    answer = await local.client.post(path + "/take", {"seat_index": 5}, bearer=b["ann"])
    assert (answer.status, answer.code) == (403, "approval_required")
    taken = await local.client.post(path + "/take", {"seat_index": 4}, bearer=b["ann"])
    assert taken.body["seats"]["seats"][4]["identity"] == "ann" and taken.body["invitations"] == []

    # An invitation that names no seat admits any free seat.
    await local.client.post(path + "/invite", {"identity": "bob"}, bearer=b["host"])
    declined = await local.client.post(path + "/invitation/decline", bearer=b["bob"])
    assert declined.body["invitations"] == []
    [note] = data_to(local, "utd.seat.invite.declined")
    assert note[4] == ("host",) and note[3]["identity"] == "bob"
    answer = await local.client.post(path + "/invitation/decline", bearer=b["bob"])
    assert (answer.status, answer.code) == (404, "no_invitation")
    await local.client.post(path + "/invite", {"identity": "bob"}, bearer=b["host"])
    taken = await local.client.post(path + "/take", {"seat_index": 7}, bearer=b["bob"])
    assert taken.body["seats"]["seats"][7]["identity"] == "bob"
    answer = await local.client.post(path + "/invite", {"identity": "bob"}, bearer=b["host"])
    assert (answer.status, answer.code) == (409, "already_seated")
    answer = await local.client.post(
        path + "/invite", {"identity": "x", "seat_index": 9}, bearer=b["host"]
    )
    assert (answer.status, answer.code) == (400, "invalid_seat")
    answer = await local.client.post(path + "/invite", {"identity": "x"}, bearer=b["ann"])
    assert (answer.status, answer.code) == (403, "forbidden")



async def test_accepting_an_invitation_is_decided_by_the_engine(local: Local) -> None:
    b = await audio_room(local.client, "acc", "ann", "bob", "cid")
    path = SEATS.format(room="acc")
    await local.client.post(
        path + "/setup", {"seat_mode": "request", "seat_count": 4}, bearer=b["host"]
    )
    answer = await local.client.post(path + "/invitation/accept", bearer=b["ann"])
    assert (answer.status, answer.code) == (404, "no_invitation")  # nothing to accept

    # The invited seat: seated in one step, the invitation gone, the host told.
    invite = {"identity": "ann", "seat_index": 2}
    await local.client.post(path + "/invite", invite, bearer=b["host"])
    accepted = await local.client.post(path + "/invitation/accept", bearer=b["ann"])
    assert accepted.status == 200, accepted.body
    assert accepted.body["seats"]["seats"][2]["identity"] == "ann"
    assert accepted.body["invitations"] == []
    [note] = data_to(local, "utd.seat.invite.accepted")
    assert note[4] == ("host",) and note[3] == {
        "identity": "ann",
        "seat_index": 2,
        "version": accepted.body["version"],
    }
    again = await local.client.post(path + "/invitation/accept", bearer=b["ann"])
    assert (again.status, again.code) == (404, "no_invitation")

    # An invitation that names no seat: the first free, unlocked one.
    await local.client.post(path + "/0/lock", {"locked": True}, bearer=b["host"])
    await local.client.post(path + "/invite", {"identity": "bob"}, bearer=b["host"])
    accepted = await local.client.post(path + "/invitation/accept", bearer=b["bob"])
    assert accepted.body["seats"]["seats"][1]["identity"] == "bob"

    # The invited seat was taken meanwhile: refused, and the invitation stays for a retry.
    invite = {"identity": "cid", "seat_index": 3}
    await local.client.post(path + "/invite", invite, bearer=b["host"])
    await local.client.post(path + "/take", {"seat_index": 3}, bearer=b["host"])
    taken = await local.client.post(path + "/invitation/accept", bearer=b["cid"])
    assert (taken.status, taken.code) == (409, "seat_taken")
    state = await local.client.get(path, bearer=b["cid"])
    assert [i["identity"] for i in state.body["invitations"]] == ["cid"]


async def test_lock_mute_kick(local: Local) -> None:
    b = await audio_room(local.client, "l", "ann", "bob")
    path = SEATS.format(room="l")
    await local.client.post(path + "/take", {"seat_index": 1}, bearer=b["ann"])
    locked = await local.client.post(path + "/1/lock", {"locked": True}, bearer=b["host"])
    assert locked.body["seats"]["seats"][1]["locked"] is True
    assert locked.body["seats"]["seats"][1]["identity"] == "ann"  # the holder stays
    await local.client.post(path + "/2/lock", {"locked": True}, bearer=b["host"])
    answer = await local.client.post(path + "/take", {"seat_index": 2}, bearer=b["bob"])
    assert (answer.status, answer.code) == (409, "seat_locked")
    answer = await local.client.post(path + "/2/lock", {"locked": "yes"}, bearer=b["host"])
    assert (answer.status, answer.code) == (400, "invalid_request")
    answer = await local.client.post(path + "/2/lock", {"locked": False}, bearer=b["bob"])
    assert (answer.status, answer.code) == (403, "forbidden")
    answer = await local.client.post(path + "/99/lock", {"locked": False}, bearer=b["host"])
    assert (answer.status, answer.code) == (400, "invalid_seat")

    muted = await local.client.post(path + "/1/mute", {"muted": True}, bearer=b["host"])
    assert muted.body["seats"]["seats"][1]["muted"] is True
    assert local.ops("mute")[-1][1:] == (f"{APP_ID}__l", "ann", True)

    kicked = await local.client.post(path + "/1/kick", bearer=b["host"])
    seat = kicked.body["seats"]["seats"][1]
    assert seat["identity"] is None and seat["muted"] is False and seat["locked"] is True
    assert grants_to(local, "ann")[-1] == Grant("audience", None, False, ())
    again = await local.client.post(path + "/1/kick", bearer=b["host"])
    assert again.status == 200 and again.body["version"] == kicked.body["version"]


async def test_setup_keeps_surviving_holders(local: Local) -> None:
    b = await audio_room(local.client, "s", "ann", "bob")
    path = SEATS.format(room="s")
    await local.client.post(path + "/take", {"seat_index": 1}, bearer=b["ann"])
    await local.client.post(path + "/take", {"seat_index": 6}, bearer=b["bob"])
    setup = await local.client.post(
        path + "/setup", {"seat_count": 4, "mode_id": "podcast"}, bearer=b["host"]
    )
    grid = setup.body["seats"]
    assert grid["count"] == 4 and len(grid["seats"]) == 4 and grid["mode_id"] == "podcast"
    assert grid["seats"][1]["identity"] == "ann"
    assert all(s["identity"] != "bob" for s in grid["seats"])
    assert grants_to(local, "bob")[-1].can_publish is False
    grown = await local.client.post(path + "/setup", {"seat_count": 64}, bearer=b["host"])
    assert [s["index"] for s in grown.body["seats"]["seats"]] == list(range(64))
    for body in ({"seat_count": 0}, {"seat_count": 65}, {"seat_mode": "open"}):
        answer = await local.client.post(path + "/setup", body, bearer=b["host"])
        assert (answer.status, answer.code) == (400, "invalid_request"), body
    answer = await local.client.post(path + "/setup", {"seat_count": 2}, bearer=b["ann"])
    assert (answer.status, answer.code) == (403, "forbidden")


async def test_concurrent_takers_one_winner(local: Local) -> None:
    users = [f"u{i}" for i in range(20)]
    b = await audio_room(local.client, "race", *users)
    path = SEATS.format(room="race")
    answers = await asyncio.gather(
        *(local.client.post(path + "/take", {"seat_index": 0}, bearer=b[u]) for u in users)
    )
    assert sorted(a.status for a in answers) == [200] + [409] * 19
    assert {a.code for a in answers if a.status == 409} == {"seat_taken"}
    winner = next(a for a in answers if a.status == 200).body["seats"]["seats"][0]["identity"]
    state = await local.client.get(path, bearer=b["host"])
    assert state.body["seats"]["seats"][0]["identity"] == winner


async def test_stage_invite_remove_request_leave(local: Local) -> None:
    host = (await local.client.token("h", "live", "live_stream", role="host"))["user_token"]
    viewer = (await local.client.token("v", "live", "live_stream", name="Vee"))["user_token"]
    other = (await local.client.token("o", "live", "live_stream"))["user_token"]
    path = STAGE.format(room="live")

    asked = await local.client.post(path + "/request", bearer=viewer)
    again = await local.client.post(path + "/request", bearer=viewer)
    assert asked.body["version"] == again.body["version"]
    [req] = asked.body["stage_requests"]
    assert req["identity"] == "v" and req["name"] == "Vee"
    [note] = data_to(local, "utd.stage.request")
    assert note[4] == ("h",) and note[3]["request"]["request_id"] == req["request_id"]
    answer = await local.client.post(path + "/request", bearer=host)
    assert (answer.status, answer.code) == (409, "conflict")

    answer = await local.client.post(path + "/invite", {"identity": "v"}, bearer=other)
    assert (answer.status, answer.code) == (403, "forbidden")
    invited = await local.client.post(path + "/invite", {"identity": "v"}, bearer=host)
    assert [m["identity"] for m in invited.body["stage"]] == ["h", "v"]
    assert invited.body["stage"][1]["role"] == "stage" and invited.body["stage_requests"] == []
    assert grants_to(local, "v")[-1] == Grant("stage", None, True, ("camera", "microphone"))
    [note] = data_to(local, "utd.stage.invite")
    assert note[4] == ("v",)
    assert note[3] == {
        "identity": "v", "invited_by": "h", "direct": True, "version": invited.body["version"]
    }
    invited_o = await local.client.post(
        path + "/invite", {"identity": "o", "direct": True}, bearer=host
    )
    assert len(invited_o.body["stage"]) == 3

    removed = await local.client.post(path + "/remove", {"identity": "v"}, bearer=host)
    assert [m["identity"] for m in removed.body["stage"]] == ["h", "o"]
    assert grants_to(local, "v")[-1].can_publish is False
    answer = await local.client.post(path + "/remove", {"identity": "v"}, bearer=host)
    assert (answer.status, answer.code) == (404, "not_found")
    answer = await local.client.post(path + "/leave", bearer=viewer)
    assert (answer.status, answer.code) == (403, "forbidden")
    left = await local.client.post(path + "/leave", bearer=other)
    assert [m["identity"] for m in left.body["stage"]] == ["h"]
    answer = await local.client.post(path + "/leave", bearer=host)
    assert (answer.status, answer.code) == (403, "forbidden")
    stage = await local.client.get(path, bearer=viewer)
    assert stage.body == left.body
    # Stage endpoints refuse an audio room, seat endpoints a live stream.
    await local.client.token("h", "talk", "audio_room", role="host")
    answer = await local.client.post(STAGE.format(room="talk") + "/request", bearer=viewer)
    assert (answer.status, answer.code) == (409, "conflict")
    answer = await local.client.post(
        SEATS.format(room="live") + "/take", {"seat_index": 0}, bearer=host
    )
    assert (answer.status, answer.code) == (409, "conflict")
