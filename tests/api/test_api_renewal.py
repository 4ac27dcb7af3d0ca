"""Bearers that renew: before they expire, once when the engine says one has, once at a time."""

from __future__ import annotations

import asyncio
import time

import pytest
from aioresponses import aioresponses

from tests._support.api import APP_ID, APP_KEY, BASE, TOKENS, room_json
from utd_stream_rx._credentials import Credential
from utd_stream_rx.api import UTDApiClient
from utd_stream_rx.errors import UTDStreamException
from utd_stream_rx.models import UTDUserToken
from utd_stream_rx.state.auth import AuthEvent, AuthStore, UTDAuthState, reduce_auth

SEATS = f"{BASE}/api/v1/audio-rooms/lobby/seats"
EXPIRED = {"error": {"code": "token_expired", "message": "the user token has expired"}}


class Minter:
    """Hands out bearers ``b1``, ``b2``... valid ``ttl`` seconds; counts the calls."""

    def __init__(self, ttl: float = 3600.0, fail: UTDStreamException | None = None) -> None:
        self.ttl = ttl
        self.fail = fail
        self.calls = 0

    async def __call__(self) -> UTDUserToken:
        self.calls += 1
        await asyncio.sleep(0.01)  # let concurrent callers pile up
        if self.fail is not None:
            raise self.fail
        return UTDUserToken(f"b{self.calls}", "ann", time.time() + self.ttl)


def _bearer_of(mocked: aioresponses, index: int) -> str:
    calls = [call for key, calls in mocked.requests.items() for call in calls]
    header: str = calls[index].kwargs["headers"]["Authorization"]
    return header.removeprefix("Bearer ")


async def test_an_expired_bearer_is_renewed_once_and_the_command_sent_again(
    mocked: aioresponses,
) -> None:
    events: list[AuthEvent] = []
    minter = Minter()
    credential = Credential("ann", minter, events.append)
    await credential.renew(None)
    api = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS, retry_backoff=0)
    view = api.with_credential(credential)
    mocked.get(SEATS, status=401, payload=EXPIRED)
    mocked.get(SEATS, payload=room_json())
    state = await view.seats.get_seats("lobby")
    assert state.room_name == "lobby"
    assert [_bearer_of(mocked, 0), _bearer_of(mocked, 1)] == ["b1", "b2"]
    assert minter.calls == 2 and credential.renewals == 1
    # A second refusal after the renewal is the caller's to see: no loop.
    mocked.get(SEATS, status=401, payload=EXPIRED)
    mocked.get(SEATS, status=401, payload=EXPIRED)
    with pytest.raises(UTDStreamException) as refused:
        await view.seats.get_seats("lobby")
    assert refused.value.code == "token_expired" and minter.calls == 3
    await api.aclose()


async def test_other_refusals_are_not_renewals(mocked: aioresponses) -> None:
    minter = Minter()
    credential = Credential("ann", minter)
    await credential.renew(None)
    api = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS, retry_backoff=0)
    mocked.get(SEATS, status=401, payload={"error": {"code": "unauthorized", "message": "no"}})
    with pytest.raises(UTDStreamException):
        await api.with_credential(credential).seats.get_seats("lobby")
    assert minter.calls == 1
    await api.aclose()


async def test_a_bearer_about_to_expire_is_renewed_before_it_is_sent(
    mocked: aioresponses,
) -> None:
    minter = Minter(ttl=0.5)
    credential = Credential("ann", minter)
    await credential.renew(None)
    await asyncio.sleep(0.45)  # within the last fifth of its life
    api = UTDApiClient(APP_ID, APP_KEY, BASE, TOKENS, retry_backoff=0)
    mocked.get(SEATS, payload=room_json())
    await api.with_credential(credential).seats.get_seats("lobby")
    assert _bearer_of(mocked, 0) == "b2"
    await api.aclose()


async def test_concurrent_commands_renew_once() -> None:
    minter = Minter()
    credential = Credential("ann", minter)
    first = await credential.renew(None)
    tokens = await asyncio.gather(*(credential.renew(first) for _ in range(10)))
    assert set(tokens) == {"b2"} and minter.calls == 2


async def test_a_failed_renewal_is_reported_and_raised() -> None:
    store = AuthStore()
    seen: list[UTDAuthState] = []
    store.state.subscribe(seen.append)
    minter = Minter()
    credential = Credential("ann", minter, store.dispatch)
    await credential.renew(None)
    # An engine that cannot be reached: still refreshing, nothing for the app to do yet.
    minter.fail = UTDStreamException("connection refused", code="network")
    with pytest.raises(UTDStreamException):
        await credential.renew(credential.token)
    assert seen[-1] is UTDAuthState.REFRESHING
    # A refusal: the app must act.
    minter.fail = UTDStreamException("provider refused", status_code=401, code="unauthorized")
    with pytest.raises(UTDStreamException):
        await credential.renew(credential.token)
    assert seen == [
        UTDAuthState.UNAUTHENTICATED,
        UTDAuthState.REFRESHING,
        UTDAuthState.AUTHENTICATED,
        UTDAuthState.REFRESHING,
        UTDAuthState.FAILED,
    ]
    assert credential.token == "b1"  # the old bearer is kept: it may still be good


async def test_a_raising_token_provider_surfaces_as_a_utd_exception() -> None:
    async def broken() -> UTDUserToken:
        raise RuntimeError("backend down")

    with pytest.raises(UTDStreamException) as failed:
        await Credential("ann", broken).renew(None)
    assert failed.value.code == "token_provider"


def test_reduce_auth_is_pure() -> None:
    from utd_stream_rx.state.auth import Authenticated, AuthFailed, AuthRefreshing, SignedOut

    state = UTDAuthState.UNAUTHENTICATED
    assert reduce_auth(state, AuthRefreshing()) is UTDAuthState.REFRESHING
    assert reduce_auth(state, Authenticated("a", 1.0)) is UTDAuthState.AUTHENTICATED
    assert reduce_auth(state, AuthFailed("x", "y")) is UTDAuthState.FAILED
    assert reduce_auth(UTDAuthState.FAILED, SignedOut()) is UTDAuthState.UNAUTHENTICATED
    assert reduce_auth(state, AuthEvent()) is state
