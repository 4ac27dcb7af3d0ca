"""``api.stage``'s consent flow: invitations answered, requests taken back or denied; the
engine's refusals reach the caller with their specific codes, and reasons are checked first."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from tests._support.api import BASE, body_of, room_json, sent
from utd_stream_rx import UTDStreamException
from utd_stream_rx._validate import check_reason
from utd_stream_rx.api import UTDApiClient

STAGE = BASE + "/api/v1/live/show/stage"


def _live_json() -> dict[str, object]:
    return room_json(
        room_name="show",
        type="live_stream",
        seats=None,
        stage_invitations=[{"identity": "bob", "invited_by": "alice", "created_at": 1.5}],
    )


async def test_an_invitation_is_listed_in_the_answer(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.post(STAGE + "/invite", payload=_live_json())
    state = await api.stage.invite_to_stage("show", "bob")
    [invitation] = state.stage_invitations
    assert (invitation.identity, invitation.invited_by) == ("bob", "alice")
    [(_, _, request)] = sent(mocked)
    assert body_of(request) == {"identity": "bob"}  # no consent skipped unless asked


@pytest.mark.parametrize(
    ("call", "path", "status", "code"),
    [
        ("accept_stage_invitation", "/invitation/accept", 404, "no_invitation"),
        ("decline_stage_invitation", "/invitation/decline", 404, "no_invitation"),
        ("cancel_stage_request", "/request/cancel", 404, "no_request"),
        ("accept_stage_invitation", "/invitation/accept", 409, "not_in_room"),
    ],
)
async def test_refusals_carry_their_codes(
    api: UTDApiClient, mocked: aioresponses, call: str, path: str, status: int, code: str
) -> None:
    mocked.post(STAGE + path, status=status, payload={"error": {"code": code, "message": "no"}})
    with pytest.raises(UTDStreamException) as info:
        await getattr(api.stage, call)("show")
    assert (info.value.status_code, info.value.code) == (status, code)


async def test_a_denial_by_someone_else_is_forbidden(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    refusal = {"error": {"code": "forbidden", "message": "only the host may do this"}}
    mocked.post(STAGE + "/deny", status=403, payload=refusal)
    with pytest.raises(UTDStreamException) as info:
        await api.stage.deny_stage_request("show", "bob", "full")
    assert (info.value.status_code, info.value.code) == (403, "forbidden")


@pytest.mark.parametrize("reason", ["x", "not today", "é" * 64])
def test_reasons_the_contract_allows(reason: str) -> None:
    assert check_reason(reason) == reason
    assert check_reason(None) is None


@pytest.mark.parametrize(("reason", "error"), [("", ValueError), ("x" * 65, ValueError),
                                               (5, TypeError), (b"no", TypeError)])
def test_reasons_the_contract_refuses(reason: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^reason must be a string of 1-64 characters$"):
        check_reason(reason)


async def test_a_bad_reason_sends_nothing(api: UTDApiClient, mocked: aioresponses) -> None:
    with pytest.raises(ValueError, match="reason must be a string of 1-64 characters"):
        await api.stage.deny_stage_request("show", "bob", "")
    assert sent(mocked) == []
