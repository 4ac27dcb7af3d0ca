"""The client's layout: services on one shared transport, per-user clients with their own
bearer, and the flat endpoint names gone."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, BEARER, TOKENS, call_json, room_json, sent
from utd_stream_rx.api import UTDApiClient
from utd_stream_rx.errors import UTDStreamException

ROOM_URL = f"{BASE}/api/v1/rooms/lobby"
EVENTS_URL = f"{BASE}/api/v1/calls/events"

SERVICE_METHODS = {
    "tokens": ["mint_user_token", "mint_room_token"],
    "calls": ["create_call", "get_call", "list_calls", "report_ringing", "accept_call",
              "rejoin_call", "reject_call", "report_busy", "end_call", "events"],
    "rooms": ["get_room", "remove_participant", "ban_from_room", "unban_from_room", "end_room"],
    "stage": ["get_stage", "invite_to_stage", "remove_from_stage", "request_stage",
              "leave_stage", "accept_stage_invitation", "decline_stage_invitation",
              "cancel_stage_request", "deny_stage_request"],
    "seats": ["setup_seats", "get_seats", "take_seat", "leave_seat", "request_to_speak",
              "list_speak_requests", "approve_speaker", "invite_to_speak", "accept_invitation",
              "decline_invitation", "lock_seat", "mute_seat", "kick_from_seat",
              "cancel_speak_request", "deny_speaker"],
}

FLAT_NAMES = ["seat_take", "stage_invite", "call_accept", "call_events", "get_room",
              "mint_user_token", "list_calls", "seats_setup", "approve_speak_request"]


def _bearers(mocked: aioresponses) -> list[str | None]:
    return [request["headers"].get("Authorization") for _, _, request in sent(mocked)]


@pytest.mark.parametrize("service", sorted(SERVICE_METHODS))
def test_every_service_has_its_verb_noun_methods(api: UTDApiClient, service: str) -> None:
    methods = {name for name in dir(getattr(api, service)) if not name.startswith("_")}
    assert methods == set(SERVICE_METHODS[service])


@pytest.mark.parametrize("name", FLAT_NAMES)
def test_the_flat_endpoint_names_are_gone(api: UTDApiClient, name: str) -> None:
    assert not hasattr(api, name)


async def test_per_user_clients_share_the_pool_and_carry_their_own_bearer(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.get(ROOM_URL, payload=room_json(), repeat=True)
    bob = api.with_user_token("bob-bearer")
    await api.rooms.get_room("lobby")
    await bob.rooms.get_room("lobby")
    assert _bearers(mocked) == [f"Bearer {BEARER}", "Bearer bob-bearer"]
    assert (bob.base_url, bob.token_base_url, bob.app_id, bob.timeout) == (
        api.base_url, api.token_base_url, api.app_id, api.timeout
    )
    assert api.user_token == BEARER and bob.user_token == "bob-bearer"
    bob.user_token = "bob-2"  # changing one client's bearer leaves the other's alone
    assert api.user_token == BEARER


async def test_closing_a_per_user_client_closes_only_its_own_streams(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.get(ROOM_URL, payload=room_json(), repeat=True)
    bob = api.with_user_token("bob-bearer")
    own, others = api.calls.events(), bob.calls.events()
    await bob.aclose()
    assert bob.closed and others.closed
    assert not api.closed and not own.closed
    with pytest.raises(UTDStreamException) as closed:
        await bob.rooms.get_room("lobby")
    assert closed.value.code == "closed"
    await api.rooms.get_room("lobby")  # the pool is the first client's and still open
    await own.aclose()


async def test_closing_the_owner_closes_the_shared_pool(mocked: aioresponses) -> None:
    api = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS, user_token=BEARER)
    bob = api.with_user_token("bob-bearer")
    mocked.get(ROOM_URL, payload=room_json(), repeat=True)
    await bob.rooms.get_room("lobby")
    await api.aclose()
    assert not bob.closed  # its own state; the pool under it is gone
    with pytest.raises(UTDStreamException) as closed:
        await bob.rooms.get_room("lobby")
    assert closed.value.code == "closed"


async def test_with_user_token_checks_the_token(api: UTDApiClient) -> None:
    with pytest.raises(TypeError):
        api.with_user_token(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        api.with_user_token("")


async def test_calls_service_sends_the_bearer_and_tokens_service_does_not(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/api/v1/calls/c-1/ringing", payload=call_json(status="ringing"))
    mocked.post(f"{TOKENS}/api/v1/auth/user-token",
                payload={"user_token": "t", "identity": "ann", "expires_at": 1.0})
    await api.calls.report_ringing("c-1")
    await api.tokens.mint_user_token("ann")
    assert _bearers(mocked) == [f"Bearer {BEARER}", None]
