"""Rate limits that hold, against a real engine subprocess with small limits and short windows:
tokens per identity, per client address and per app, new rooms, calls per caller and per
callee. Every refusal is 429 ``rate_limited`` naming the limit, with a ``Retry-After`` that is
honest: waiting it lets the next request through.

The client address is varied for real: loopback is all of 127.0.0.0/8, so a session bound to
127.0.0.2 reaches the engine from another address.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import pytest

from tests._support.answers import Answer
from tests._support.figures import record
from tests._support.raw_engine import RawEngine, RawEngineOf
from utd_stream_rx.testing import LocalStack, PrivateStackFactory

pytestmark = pytest.mark.e2e

# Seconds: short, so a test waits out a Retry-After for real, yet long enough that a bucket
# regains a hit (every WINDOW / limit seconds) only well after a few requests have run.
WINDOW = 6.0
OTHER_APP_ID = "app-other"
OTHER_APP_KEY = "o" * 32


@pytest.fixture
async def from_address() -> AsyncIterator[Callable[[LocalStack, str], RawEngine]]:
    """``from_address(stack, "127.0.0.2")``: raw engine requests from that source address."""
    sessions: list[aiohttp.ClientSession] = []

    def make(stack: LocalStack, address: str) -> RawEngine:
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        http = aiohttp.ClientSession(connector=connector)
        sessions.append(http)
        return RawEngine(http, stack.base_url, stack.app_id, stack.app_key)

    yield make
    for http in sessions:
        await http.close()


async def _stack(utd_private_stack: PrivateStackFactory, *limits: str) -> LocalStack:
    """A stack whose engine counts over :data:`WINDOW` seconds with ``limits`` (flag, value
    pairs); every other limit is off, so each test sees only the limits it sets."""
    unlimited = [
        "--rate-limit", "0",
        "--room-limit-per-identity", "0",
        "--call-limit-per-caller", "0",
        "--call-limit-per-callee", "0",
    ]
    return utd_private_stack(
        [*unlimited, "--rate-window", str(WINDOW),
         "--app", f"{OTHER_APP_ID}:{OTHER_APP_KEY}", *limits]
    )


def _mint(raw: RawEngine, identity: str) -> Any:
    return raw.send("POST", "/api/v1/auth/user-token", {"identity": identity})


def _room(raw: RawEngine, identity: str, room: str) -> Any:
    body = {"identity": identity, "room_name": room, "type": "audio_room", "role": "host"}
    return raw.send("POST", "/api/v1/token", body)


def _call(raw: RawEngine, bearer: str, callee: str) -> Any:
    body = {"callee_identity": callee, "type": "audio_call"}
    return raw.send("POST", "/api/v1/calls", body, bearer=bearer)


def _refused(answer: Answer, names: str) -> int:
    """Assert a 429 ``rate_limited`` whose message contains ``names``; its Retry-After."""
    assert (answer.status, answer.code) == (429, "rate_limited"), answer
    assert names in answer.body["error"]["message"], answer.body
    retry = int(answer.headers["Retry-After"])  # whole seconds, as the contract says
    assert 1 <= retry <= WINDOW, answer.headers
    return retry


async def _wait_out(retry: int) -> None:
    await asyncio.sleep(retry)


async def test_tokens_per_identity_with_an_honest_retry_after(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    stack = await _stack(utd_private_stack, "--rate-limit", "3")
    raw = raw_engine_of(stack)
    for _ in range(3):
        assert (await _mint(raw, "ann")).status == 200
    retry = _refused(await _room(raw, "ann", "den"), "too many tokens for ann")
    assert (await _mint(raw, "bob")).status == 200  # bob has his own budget
    await _wait_out(retry)
    assert (await _mint(raw, "ann")).status == 200
    _refused(await _mint(raw, "ann"), "too many tokens for ann")


async def test_many_identities_from_one_address_are_limited_per_address(
    utd_private_stack: PrivateStackFactory,
    raw_engine_of: RawEngineOf,
    from_address: Callable[[LocalStack, str], RawEngine],
) -> None:
    stack = await _stack(utd_private_stack, "--mint-limit-per-address", "5")
    raw = raw_engine_of(stack)
    for index in range(5):
        assert (await _mint(raw, f"sock{index}")).status == 200
    retry = _refused(await _mint(raw, "sock-next"), "too many tokens from this address")
    # Another address, and another app from this address, are counted... per address.
    elsewhere = from_address(stack, "127.0.0.2")
    assert (await _mint(elsewhere, "sock-next")).status == 200
    other_app = raw_engine_of(stack, app_id=OTHER_APP_ID, app_key=OTHER_APP_KEY)
    _refused(await _mint(other_app, "sock-next"), "too many tokens from this address")
    await _wait_out(retry)
    assert (await _mint(raw, "sock-next")).status == 200


async def test_tokens_per_app_whatever_the_address(
    utd_private_stack: PrivateStackFactory,
    raw_engine_of: RawEngineOf,
    from_address: Callable[[LocalStack, str], RawEngine],
) -> None:
    stack = await _stack(utd_private_stack, "--mint-limit-per-app", "4")
    addresses = [raw_engine_of(stack), from_address(stack, "127.0.0.2"),
                 from_address(stack, "127.0.0.3"), from_address(stack, "127.0.0.4")]
    for index, raw in enumerate(addresses):
        assert (await _mint(raw, f"user{index}")).status == 200
    fresh = from_address(stack, "127.0.0.5")
    retry = _refused(await _mint(fresh, "user9"), "too many tokens for this app")
    other_app = raw_engine_of(stack, app_id=OTHER_APP_ID, app_key=OTHER_APP_KEY)
    assert (await _mint(other_app, "user9")).status == 200
    await _wait_out(retry)
    assert (await _mint(fresh, "user9")).status == 200


async def test_new_rooms_are_limited_but_joining_rooms_is_not(
    utd_private_stack: PrivateStackFactory,
    raw_engine_of: RawEngineOf,
    from_address: Callable[[LocalStack, str], RawEngine],
) -> None:
    stack = await _stack(
        utd_private_stack, "--room-limit-per-identity", "2", "--room-limit-per-address", "3"
    )
    raw = raw_engine_of(stack)
    assert (await _room(raw, "maker", "r1")).status == 200
    assert (await _room(raw, "maker", "r2")).status == 200
    retry = _refused(await _room(raw, "maker", "r3"), "too many new rooms by maker")
    # Rooms that exist are joined freely: only creating one counts.
    for _ in range(3):
        assert (await _room(raw, "maker", "r1")).status == 200
    # Other identities from the same address share the address's budget of new rooms.
    assert (await _room(raw, "helper", "r4")).status == 200
    _refused(await _room(raw, "helper2", "r5"), "too many new rooms from this address")
    assert (await _room(from_address(stack, "127.0.0.2"), "helper2", "r5")).status == 200
    await _wait_out(retry)
    assert (await _room(raw, "maker", "r3")).status == 200
    # A flood of room names from one address: how many rooms it got before the limit (one
    # more per WINDOW / 3 seconds the flood lasted).
    flood = from_address(stack, "127.0.0.3")
    began = time.monotonic()
    answers = await asyncio.gather(*(_room(flood, f"f{i}", f"flood-{i}") for i in range(20)))
    refills = int((time.monotonic() - began) / (WINDOW / 3))
    created = sum(1 for answer in answers if answer.status == 200)
    assert 3 <= created <= 3 + refills, [a.status for a in answers]
    assert all(a.code == "rate_limited" for a in answers if a.status != 200), answers
    record("rate limits: rooms", f"one address asking for 20 new rooms at once got {created}")


async def test_calls_per_caller(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    stack = await _stack(utd_private_stack, "--call-limit-per-caller", "3")
    raw = raw_engine_of(stack)
    alice = await raw.bearer("alice")
    for index in range(3):
        assert (await _call(raw, alice, f"friend{index}")).status == 201
    retry = _refused(await _call(raw, alice, "friend9"), "too many calls by alice")
    bob = await raw.bearer("bob")
    assert (await _call(raw, bob, "friend9")).status == 201
    await _wait_out(retry)
    assert (await _call(raw, alice, "friend9")).status == 201


async def test_many_callers_ringing_one_victim_are_limited_per_callee(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    stack = await _stack(utd_private_stack, "--call-limit-per-callee", "3")
    raw = raw_engine_of(stack)
    callers = [await raw.bearer(f"caller{index}") for index in range(10)]
    answers = await asyncio.gather(*(_call(raw, bearer, "victim") for bearer in callers))
    assert sorted(a.status for a in answers) == [201] * 3 + [429] * 7, answers
    retry = max(_refused(a, "too many calls to victim") for a in answers if a.status == 429)
    assert (await _call(raw, callers[0], "someone-else")).status == 201
    pending = await raw.send("GET", "/api/v1/calls", bearer=await raw.bearer("victim"))
    assert len(pending.body["calls"]) == 3, pending  # the refused calls never rang
    await _wait_out(retry)
    assert (await _call(raw, callers[9], "victim")).status == 201


async def _calls_in(
    raw: RawEngine, bearer: str, callees: Sequence[str], seconds: float
) -> tuple[int, float]:
    """Calls created by one bearer, as fast as it can, for ``seconds`` and at least 30
    attempts; and the seconds that took."""
    created = 0
    began = time.monotonic()
    index = 0
    while time.monotonic() < began + seconds or index < 30:
        answer = await _call(raw, bearer, callees[index % len(callees)])
        index += 1
        if answer.status == 201:
            created += 1
        else:
            assert (answer.status, answer.code) == (429, "rate_limited"), answer
    return created, time.monotonic() - began


@pytest.mark.slow
async def test_one_bearer_cannot_ring_hundreds_of_times(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    # The production defaults (20 calls a minute per caller and per callee: a burst of 20,
    # then one every 3 s), against none.
    capped = utd_private_stack([])
    raw = raw_engine_of(capped)
    with_limits, took = await _calls_in(raw, await raw.bearer("pest"), ["victim"], 1.0)
    assert 20 <= with_limits <= 20 + int(took / 3), (with_limits, took)
    callees = [f"v{i}" for i in range(40)]
    many, took = await _calls_in(raw, await raw.bearer("pest2"), callees, 1.0)
    assert 20 <= many <= 20 + int(took / 3), (many, took)
    uncapped = utd_private_stack(["--call-limit-per-caller", "0", "--call-limit-per-callee", "0"])
    raw = raw_engine_of(uncapped)
    without, took = await _calls_in(raw, await raw.bearer("pest"), ["victim"], 1.0)
    record(
        "rate limits: calls by one bearer in 1 s",
        f"{without / took:.0f}/s without limits; with the defaults {with_limits} "
        f"(ringing many callees: {many}), then one every 3 s",
    )
    assert without > with_limits
