"""The live stream's stage flows over raw HTTP (in-process engine): invitations that wait for
the viewer's consent, direct invitations, requests taken back or denied.

Every refused command must leave the room's version as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests._support.answers import Answer
from tests._support.engine import APP_ID, Local, LocalFactory, post_webhook
from tests._support.paths import STAGE
from utd_stream_engine.state import Grant, RoomRecord, dump_record, load_room
from utd_stream_rx.models import UTDStageInvitation, UTDStreamType

_ON_STAGE = Grant("stage", None, True, ("camera", "microphone"))


async def live(local: Local, room: str, *viewers: str) -> dict[str, str]:
    """A host ``h`` and viewers in a live stream; returns identity -> bearer."""
    bearers = {"h": (await local.client.token("h", room, "live_stream", role="host"))["user_token"]}
    for viewer in viewers:
        answer = await local.client.token(viewer, room, "live_stream", name=viewer.title())
        bearers[viewer] = answer["user_token"]
    return bearers


def notes(local: Local, topic: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The data messages sent on ``topic``: (destination identities, body)."""
    return [(op[4], op[3]) for op in local.ops("data") if op[2] == topic]


def grants_to(local: Local, identity: str) -> list[Grant]:
    return [op[3] for op in local.ops("grant") if op[2] == identity]


async def version(local: Local, room: str, bearer: str) -> int:
    answer = await local.client.get(STAGE.format(room=room), bearer=bearer)
    value: int = answer.body["version"]
    return value


async def refused(
    local: Local, room: str, bearer: str, command: str, body: dict[str, Any] | None = None
) -> Answer:
    """Post a command that must be refused; the room's version stays as it was."""
    before = await version(local, room, bearer)
    answer = await local.client.post(STAGE.format(room=room) + command, body, bearer=bearer)
    assert answer.status >= 400, answer.body
    assert await version(local, room, bearer) == before
    return answer


def invited(answer: Answer) -> list[str]:
    return [i["identity"] for i in answer.body["stage_invitations"]]


def on_stage(answer: Answer) -> list[str]:
    return [m["identity"] for m in answer.body["stage"]]


async def test_an_invitation_waits_for_the_viewers_consent(local: Local) -> None:
    b = await live(local, "show", "v")
    path = STAGE.format(room="show")
    asked = await local.client.post(path + "/invite", {"identity": "v"}, bearer=b["h"])
    assert asked.status == 200, asked.body
    assert on_stage(asked) == ["h"] and invited(asked) == ["v"]
    [invitation] = asked.body["stage_invitations"]
    assert invitation["invited_by"] == "h" and invitation["created_at"] > 0
    assert grants_to(local, "v") == []  # nothing granted before the answer
    note = {"identity": "v", "invited_by": "h", "direct": False, "version": asked.body["version"]}
    assert notes(local, "utd.stage.invite") == [(("v",), note)]
    # The same invitation again: no change, no second notice.
    again = await local.client.post(path + "/invite", {"identity": "v"}, bearer=b["h"])
    assert again.body["version"] == asked.body["version"]
    assert len(notes(local, "utd.stage.invite")) == 1

    accepted = await local.client.post(path + "/invitation/accept", bearer=b["v"])
    assert accepted.status == 200, accepted.body
    assert on_stage(accepted) == ["h", "v"] and invited(accepted) == []
    assert accepted.body["stage"][1] == {"identity": "v", "name": "V", "role": "stage"}
    assert grants_to(local, "v")[-1] == _ON_STAGE
    assert notes(local, "utd.stage.invite.accepted") == [
        (("h",), {"identity": "v", "version": accepted.body["version"]})
    ]
    answer = await refused(local, "show", b["v"], "/invitation/accept")
    assert (answer.status, answer.code) == (404, "no_invitation")


async def test_a_declined_invitation_is_gone_and_the_host_is_told(local: Local) -> None:
    b = await live(local, "shy", "v")
    path = STAGE.format(room="shy")
    await local.client.post(path + "/invite", {"identity": "v"}, bearer=b["h"])
    declined = await local.client.post(path + "/invitation/decline", bearer=b["v"])
    assert declined.status == 200, declined.body
    assert invited(declined) == [] and on_stage(declined) == ["h"]
    assert notes(local, "utd.stage.invite.declined") == [
        (("h",), {"identity": "v", "version": declined.body["version"]})
    ]
    assert grants_to(local, "v") == []
    for command in ("/invitation/decline", "/invitation/accept"):
        answer = await refused(local, "shy", b["v"], command)
        assert (answer.status, answer.code) == (404, "no_invitation")


async def test_inviting_a_requester_puts_them_on_stage_at_once(local: Local) -> None:
    b = await live(local, "hands", "v")
    path = STAGE.format(room="hands")
    await local.client.post(path + "/request", bearer=b["v"])
    answer = await local.client.post(path + "/invite", {"identity": "v"}, bearer=b["h"])
    assert on_stage(answer) == ["h", "v"]
    assert answer.body["stage_requests"] == [] and invited(answer) == []
    assert grants_to(local, "v")[-1] == _ON_STAGE
    [(to, body)] = notes(local, "utd.stage.invite")
    assert to == ("v",) and body["direct"] is True and body["invited_by"] == "h"


async def test_a_direct_invitation_puts_anyone_on_stage_at_once(local: Local) -> None:
    b = await live(local, "direct", "v", "w")
    path = STAGE.format(room="direct")
    # Direct over an open invitation: on stage, the invitation gone.
    await local.client.post(path + "/invite", {"identity": "w"}, bearer=b["h"])
    for who in ("v", "w"):
        answer = await local.client.post(
            path + "/invite", {"identity": who, "direct": True}, bearer=b["h"]
        )
        assert answer.status == 200, answer.body
        assert grants_to(local, who)[-1] == _ON_STAGE
    assert on_stage(answer) == ["h", "v", "w"] and invited(answer) == []
    assert [body["direct"] for _, body in notes(local, "utd.stage.invite")] == [False, True, True]
    # Already on stage: no change, direct or not.
    for body in ({"identity": "v"}, {"identity": "v", "direct": True}):
        again = await local.client.post(path + "/invite", body, bearer=b["h"])
        assert again.body["version"] == answer.body["version"]
    answer = await refused(local, "direct", b["h"], "/invite", {"identity": "h"})
    assert (answer.status, answer.code) == (409, "conflict")
    answer = await refused(local, "direct", b["h"], "/invite", {"identity": "x", "direct": "yes"})
    assert (answer.status, answer.code) == (400, "invalid_request")


async def test_only_the_host_invites_or_denies(local: Local) -> None:
    b = await live(local, "guard", "v", "w")
    path = STAGE.format(room="guard")
    await local.client.post(path + "/request", bearer=b["w"])
    for command, body in (
        ("/invite", {"identity": "w"}),
        ("/invite", {"identity": "w", "direct": True}),
        ("/deny", {"identity": "w"}),
    ):
        answer = await refused(local, "guard", b["v"], command, body)
        assert (answer.status, answer.code) == (403, "forbidden")
    state = await local.client.get(path, bearer=b["h"])
    assert [r["identity"] for r in state.body["stage_requests"]] == ["w"]


async def test_a_viewer_takes_back_a_request(local: Local) -> None:
    b = await live(local, "cancel", "v")
    path = STAGE.format(room="cancel")
    answer = await refused(local, "cancel", b["v"], "/request/cancel")
    assert (answer.status, answer.code) == (404, "no_request")
    asked = await local.client.post(path + "/request", bearer=b["v"])
    assert [r["identity"] for r in asked.body["stage_requests"]] == ["v"]
    cancelled = await local.client.post(path + "/request/cancel", bearer=b["v"])
    assert cancelled.status == 200 and cancelled.body["stage_requests"] == []
    assert cancelled.body["version"] == asked.body["version"] + 1
    answer = await refused(local, "cancel", b["v"], "/request/cancel")
    assert (answer.status, answer.code) == (404, "no_request")
    # Leaving the stage is still no way to take a request back: only for those on stage.
    await local.client.post(path + "/request", bearer=b["v"])
    answer = await refused(local, "cancel", b["v"], "/leave")
    assert (answer.status, answer.code) == (403, "forbidden")


async def test_the_host_denies_a_request_with_a_reason(local: Local) -> None:
    b = await live(local, "deny", "v", "w")
    path = STAGE.format(room="deny")
    answer = await refused(local, "deny", b["h"], "/deny", {"identity": "v"})
    assert (answer.status, answer.code) == (404, "no_request")
    await local.client.post(path + "/request", bearer=b["v"])
    await local.client.post(path + "/request", bearer=b["w"])
    for bad in ("", "x" * 65, 7, ["no"]):
        answer = await refused(local, "deny", b["h"], "/deny", {"identity": "v", "reason": bad})
        assert (answer.status, answer.code) == (400, "invalid_request")
    denied = await local.client.post(
        path + "/deny", {"identity": "v", "reason": "x" * 64}, bearer=b["h"]
    )
    assert denied.status == 200, denied.body
    assert [r["identity"] for r in denied.body["stage_requests"]] == ["w"]
    unexplained = await local.client.post(path + "/deny", {"identity": "w"}, bearer=b["h"])
    assert notes(local, "utd.stage.request.denied") == [
        (("v",), {"identity": "v", "reason": "x" * 64, "version": denied.body["version"]}),
        (("w",), {"identity": "w", "reason": None, "version": unexplained.body["version"]}),
    ]
    answer = await refused(local, "deny", b["h"], "/deny", {"identity": "v"})
    assert (answer.status, answer.code) == (404, "no_request")
    assert grants_to(local, "v") == []


async def test_open_invitations_are_bounded(make_local: LocalFactory) -> None:
    local = await make_local(max_invitations=2)
    b = await live(local, "many", "a", "b", "c")
    path = STAGE.format(room="many")
    for who in ("a", "b"):
        await local.client.post(path + "/invite", {"identity": who}, bearer=b["h"])
    answer = await refused(local, "many", b["h"], "/invite", {"identity": "c"})
    assert (answer.status, answer.code) == (409, "queue_full")
    # A direct invitation needs no room in the queue, and an answer makes room.
    direct = await local.client.post(path + "/invite", {"identity": "c", "direct": True},
                                     bearer=b["h"])
    assert on_stage(direct) == ["h", "c"]
    await local.client.post(path + "/invitation/decline", bearer=b["a"])
    answer = await local.client.post(path + "/invite", {"identity": "a"}, bearer=b["h"])
    assert invited(answer) == ["b", "a"]


async def test_accepting_needs_the_invitee_in_the_room(local: Local) -> None:
    b = await live(local, "far")
    away = await local.client.user("away")  # never minted a token for the room
    path = STAGE.format(room="far")
    await local.client.post(path + "/invite", {"identity": "away"}, bearer=b["h"])
    answer = await refused(local, "far", away, "/invitation/accept")
    assert (answer.status, answer.code) == (409, "not_in_room")
    declined = await local.client.post(path + "/invitation/decline", bearer=away)
    assert declined.status == 200 and invited(declined) == []


async def test_leaving_the_room_drops_an_open_invitation(local: Local) -> None:
    b = await live(local, "gone", "v")
    path = STAGE.format(room="gone")
    await local.client.post(path + "/invite", {"identity": "v"}, bearer=b["h"])
    left = {
        "event": "participant_left",
        "room": {"name": f"{APP_ID}__gone"},
        "participant": {"identity": "v", "sid": "PA_v", "disconnectReason": "CLIENT_INITIATED"},
    }
    assert await post_webhook(local, left) == 200
    state = await local.client.get(path, bearer=b["h"])
    assert invited(state) == []
    answer = await refused(local, "gone", b["v"], "/invitation/accept")
    assert (answer.status, answer.code) == (404, "no_invitation")


def test_invitations_are_saved_with_the_room_and_old_records_have_none() -> None:
    room = RoomRecord(APP_ID, "saved", UTDStreamType.LIVE_STREAM, host_identity="h")
    room.stage_invitations.append(UTDStageInvitation("v", "h", 1.0))
    assert room.holders() == {"v"} and room.holds_anything()
    data = dump_record(room)
    assert load_room(dict(data)).stage_invitations == [UTDStageInvitation("v", "h", 1.0)]
    del data["stage_invitations"]
    old = load_room(data)
    assert old.stage_invitations == [] and not old.holds_anything()
    assert old.to_model().stage_invitations == ()


@pytest.mark.parametrize("command", ["/invitation/accept", "/invitation/decline", "/deny"])
async def test_the_new_commands_refuse_an_audio_room(local: Local, command: str) -> None:
    host = (await local.client.token("h", "talk", "audio_room", role="host"))["user_token"]
    answer = await local.client.post(
        STAGE.format(room="talk") + command, {"identity": "v"}, bearer=host
    )
    assert (answer.status, answer.code) == (409, "conflict")
