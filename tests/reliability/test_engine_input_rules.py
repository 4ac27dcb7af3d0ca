"""Input rules at the engine: unambiguous tenant naming, one visibility rule for calls, and an
honest 4xx for every malformed request.

Against the real stack (raw HTTP, past every check the SDK makes on its side), except the
naming properties and the configuration checks, which need no server.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._support.answers import Answer
from tests._support.figures import record
from tests._support.raw_engine import RawEngine, RawEngineOf
from utd_stream_engine import EngineConfig
from utd_stream_engine.__main__ import parse_args
from utd_stream_engine.state import livekit_room_name, split_livekit_room_name
from utd_stream_rx import UTDStreamClient
from utd_stream_rx.testing import LocalStack, PrivateStackFactory
from utd_stream_rx.testing.livekit_server import free_port

pytestmark = pytest.mark.e2e

# The documented rules, written out here rather than imported: the test checks the engine
# against them, not against itself.
APP_IDS = st.from_regex(r"[A-Za-z0-9-]{1,64}", fullmatch=True)
NAMES = st.from_regex(r"[A-Za-z0-9_.@:-]{1,128}", fullmatch=True)
ANY_TEXT = st.one_of(
    st.text(max_size=80),
    st.text("ab_-.:\n²", max_size=20),
    st.builds("".join, st.lists(st.sampled_from(["acme", "_", "__", "___", "x", "\n", "-"]))),
)
APP_ID_RULE = "1-64 characters of [A-Za-z0-9-]"
KEY = "k" * 32
LIVEKIT_SECRET = "s" * 40


def _valid_app_id(text: str) -> bool:
    return 1 <= len(text) <= 64 and all(c.isascii() and (c.isalnum() or c == "-") for c in text)


def _valid_name(text: str) -> bool:
    allowed = set("_.@:-")
    return 1 <= len(text) <= 128 and all(c.isascii() and (c.isalnum() or c in allowed)
                                         for c in text)


# -- 1. tenants: LiveKit room names are unambiguous --------------------------------------------


@settings(max_examples=400, deadline=None)
@given(APP_IDS, NAMES, APP_IDS, NAMES, ANY_TEXT)
def test_livekit_room_names_round_trip_and_never_collide(
    app_a: str, room_a: str, app_b: str, room_b: str, text: str
) -> None:
    joined = livekit_room_name(app_a, room_a)
    assert split_livekit_room_name(joined) == (app_a, room_a)
    if (app_a, room_a) != (app_b, room_b):
        assert joined != livekit_room_name(app_b, room_b)
    # Whatever LiveKit names a room, the engine routes it back only if it is one of its own.
    parsed = split_livekit_room_name(text)
    if parsed is not None:
        app_id, room = parsed
        assert _valid_app_id(app_id) and _valid_name(room), (text, parsed)
        assert livekit_room_name(app_id, room) == text


def test_two_tenants_that_shared_a_room_cannot_be_configured() -> None:
    # Before: app "acme" room "_lobby" and app "acme_" room "lobby" were one LiveKit room.
    assert livekit_room_name("acme", "_lobby") == "acme___lobby"
    assert split_livekit_room_name("acme___lobby") == ("acme", "_lobby")
    for bad in ("acme_", "a_b", "", "a" * 65, "ac me", "acme\n", "acmé", "acme:x", "a/b"):
        with pytest.raises(ValueError, match="app id"):
            EngineConfig(apps={bad: KEY})
        # No LiveKit room is ever routed to it either.
        parsed = split_livekit_room_name(f"{bad}__lobby")
        assert parsed is None or parsed[0] != bad, (bad, parsed)
    for good in ("acme", "acme-x", "1234567890", "A-9", "a" * 64):
        assert EngineConfig(apps={good: KEY}).apps == {good: KEY}


def test_the_cli_refuses_an_ambiguous_app_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        parse_args(["--app", "acme_:" + KEY, "--livekit-api-secret", LIVEKIT_SECRET])
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert "--app" in error and APP_ID_RULE in error, error


async def _engine_cli(*args: str, timeout: float = 20.0) -> tuple[int | None, str]:
    """Run the engine's command line; its exit code (``None`` if still running at the
    timeout, then killed) and what it wrote to stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "utd_stream_engine", *args,
        env={**os.environ, "LIVEKIT_API_SECRET": LIVEKIT_SECRET},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        _, stderr = await process.communicate()
        return None, stderr.decode()
    return process.returncode, stderr.decode()


async def _grid(raw: RawEngine, room: str, bearer: str) -> list[str | None]:
    answer = await raw.send("GET", f"/api/v1/audio-rooms/{room}/seats", bearer=bearer)
    assert answer.status == 200, answer
    return [seat["identity"] for seat in answer.body["seats"]["seats"]]


async def test_tenants_stay_apart_end_to_end(
    utd_private_stack: PrivateStackFactory,
    created_clients: list[UTDStreamClient],
    raw_engine_of: RawEngineOf,
) -> None:
    # The real engine refuses, at start, an app id that could share LiveKit rooms.
    returncode, stderr = await _engine_cli(
        "--port", str(free_port()), "--db", ":memory:",
        "--app", "acme:" + KEY, "--app", "acme_:" + KEY,
    )
    assert returncode == 2 and APP_ID_RULE in stderr, (returncode, stderr)

    # Two valid tenants whose names share a prefix, each with rooms "_lobby" and "x__lobby".
    acme, acme_x = ("acme", "a" * 32), ("acme-x", "b" * 32)
    stack = utd_private_stack(["--app", ":".join(acme), "--app", ":".join(acme_x)])
    seated: dict[tuple[str, str], str] = {}
    sessions = {}
    for (app_id, app_key), room in itertools.product((acme, acme_x), ("_lobby", "x__lobby")):
        client = UTDStreamClient(app_id, app_key, stack.base_url, timeout=5.0)
        created_clients.append(client)
        identity = f"{app_id}-speaker"
        session = await client.join_audio_room(identity, room, as_host=True, seat_count=3)
        await session.take_seat({"acme": 0, "acme-x": 1}[app_id])
        seated[(app_id, room)] = identity
        sessions[(app_id, room)] = session
    raws = {app_id: raw_engine_of(stack, app_id, app_key) for app_id, app_key in (acme, acme_x)}
    bearers = {app_id: await raw.bearer("watcher") for app_id, raw in raws.items()}

    async def grid(app_id: str, room: str) -> list[str | None]:
        return await _grid(raws[app_id], room, bearers[app_id])

    # Each tenant sees only its own seat grid.
    for (app_id, room), identity in seated.items():
        index = {"acme": 0, "acme-x": 1}[app_id]
        expected: list[str | None] = [None, None, None]
        expected[index] = identity
        assert await grid(app_id, room) == expected, (app_id, room)

    # A departure through LiveKit in one tenant frees only that tenant's seat.
    await sessions[("acme", "_lobby")].aclose()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while (await grid("acme", "_lobby"))[0] is not None:
        assert loop.time() < deadline, "the departure never freed acme's seat"
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # any stray webhook for the other tenant would have landed
    assert await grid("acme-x", "_lobby") == [None, "acme-x-speaker", None]
    assert await grid("acme", "x__lobby") == ["acme-speaker", None, None]
    assert await grid("acme-x", "x__lobby") == [None, "acme-x-speaker", None]
    for key, session in sessions.items():
        if key != ("acme", "_lobby"):
            await session.aclose()
    record("tenant isolation", "2 apps x 2 rooms, 1 departure: only its own seat freed")


# -- 2. one visibility rule for calls -----------------------------------------------------------


async def test_a_call_and_its_room_are_shown_only_to_its_parties(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    caller, callee, stranger = (utd_unique(n) for n in ("caller", "callee", "stranger"))
    bearers = {who: await raw.bearer(who) for who in (caller, callee, stranger)}
    created = await raw.send("POST", "/api/v1/calls",
                             {"callee_identity": callee, "type": "audio_call"},
                             bearer=bearers[caller])
    assert created.status == 201, created
    call_id, room = created.body["call_id"], created.body["room_name"]
    # Every endpoint that answers with a call or a room (and so a call room's call).
    paths = [
        f"/api/v1/calls/{call_id}",
        f"/api/v1/rooms/{room}",
        f"/api/v1/audio-rooms/{room}/seats",
        f"/api/v1/audio-rooms/{room}/seats/requests",
        f"/api/v1/live/{room}/stage",
    ]
    for path in paths:
        answer = await raw.send("GET", path, bearer=bearers[stranger])
        assert (answer.status, answer.code) == (403, "forbidden"), (path, answer)
    for party in (caller, callee):
        for path in paths:
            answer = await raw.send("GET", path, bearer=bearers[party])
            if path.endswith("/requests"):  # a host's list of an audio room: not a call room
                assert (answer.status, answer.code) == (409, "conflict"), (path, answer)
                continue
            assert answer.status == 200, (party, path, answer)
            call = answer.body if path.startswith("/api/v1/calls/") else answer.body["call"]
            assert call["call_id"] == call_id and call["callee_identity"] == callee, answer
    record("call visibility", f"{len(paths)} endpoints: a stranger gets 403 forbidden on each")


# -- 3. every malformed request is a 4xx with an error code -------------------------------------

LONG_DIGITS = "1" * 5000  # beyond int()'s 4,300-digit limit


async def test_malformed_requests_get_an_honest_4xx(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    room, host, asker = utd_unique("rules-room"), utd_unique("host"), utd_unique("asker")
    host_bearer = (await raw.room_token(host, room, "audio_room", "host"))["user_token"]
    asker_bearer = (await raw.room_token(asker, room, "audio_room", "audience"))["user_token"]
    seats = f"/api/v1/audio-rooms/{room}/seats"
    asked = await raw.send("POST", f"{seats}/request", {}, bearer=asker_bearer)
    assert asked.status == 200, asked
    cases: list[tuple[str, str, object, str | None, int, str]] = []
    body: object  # the request bodies of the cases differ in shape
    # Seat indexes: ASCII digits only, bounded, in range.
    for index in ("%C2%B2", "%D9%A3", "%EF%BC%91", LONG_DIGITS, "64", "-1", "0x1", "%201"):
        for action, body in (("lock", {"locked": True}), ("mute", {"muted": True}),
                             ("kick", {})):
            cases.append(("POST", f"{seats}/{index}/{action}", body, host_bearer,
                          400, "invalid_seat"))
    # Request ids: an id that is not a plain, bounded number is no request of the room.
    for request_id in ("%C2%B2", "%D9%A3", LONG_DIGITS, "0", "-1", "1e3"):
        for action in ("approve", "deny"):
            cases.append(("POST", f"{seats}/requests/{request_id}/{action}", {}, host_bearer,
                          404, "no_request"))
    # Names with a trailing newline (NAME_RE passed them) and in the path.
    for identity in ("alice\n", f"{asker}\n", "\nalice"):
        cases.append(("POST", "/api/v1/auth/user-token", {"identity": identity}, None,
                      400, "invalid_request"))
        cases.append(("POST", f"{seats}/invite", {"identity": identity}, host_bearer,
                      400, "invalid_request"))
    cases.append(("GET", f"/api/v1/rooms/{room}%0A", None, host_bearer, 400, "invalid_request"))
    cases.append(("POST", "/api/v1/token",
                  {"identity": host, "room_name": room + "\n", "type": "audio_room"}, None,
                  400, "invalid_request"))
    # Deeply nested bodies: refused before they reach the parser's recursion limit.
    metadata: dict[str, object] = {}
    nested = {"callee_identity": asker, "type": "audio_call", "metadata": metadata}
    inner = metadata
    for _ in range(40):
        deeper: dict[str, object] = {}
        inner["x"] = deeper
        inner = deeper
    cases.append(("POST", "/api/v1/calls", nested, host_bearer, 400, "invalid_request"))
    for answer_case in cases:
        method, path, body, bearer, status, code = answer_case
        answer = await raw.send(method, path, body, bearer=bearer)
        assert (answer.status, answer.code) == (status, code), (method, path[:80], answer)
    raw_bodies = [b"[" * 50_000, b'{"a":' * 12_000, b"[" * 33 + b"]" * 33, b'{"x": NaN}',
                  b'{"seat_index": Infinity}']
    for data in raw_bodies:
        for path in ("/api/v1/auth/user-token", f"{seats}/take"):
            answer = await _post_bytes(raw, path, data, host_bearer)
            assert (answer.status, answer.code) == (400, "invalid_request"), (path, data[:20])
    # The room is as it was: nothing malformed got through.
    state = await raw.send("GET", seats, bearer=host_bearer)
    assert [r["identity"] for r in state.body["speak_requests"]] == [asker], state
    assert all(s["identity"] is None and not s["locked"] for s in state.body["seats"]["seats"])
    record("malformed requests", f"{len(cases) + 2 * len(raw_bodies)} shapes: all 4xx with codes")


async def test_a_ban_cannot_be_dodged_with_a_trailing_newline(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    mallory = utd_unique("mallory")
    backend = {"X-UTD-App-Id": utd_stack.app_id, "X-UTD-App-Secret": utd_stack.app_secret}
    banned = await raw.send("POST", "/api/v1/admin/bans", {"identity": mallory}, headers=backend)
    assert banned.status == 200, banned
    room = utd_unique("ban-room")
    for identity in (mallory, mallory + "\n", mallory + "\r\n"):
        for path, body in (("/api/v1/auth/user-token", {"identity": identity}),
                           ("/api/v1/token", {"identity": identity, "room_name": room,
                                              "type": "audio_room"})):
            answer = await raw.send("POST", path, body)
            assert answer.status in (400, 403) and answer.code is not None, (identity, answer)
            assert "user_token" not in (answer.body or {}), answer


async def _post_bytes(raw: RawEngine, path: str, data: bytes, bearer: str) -> Answer:
    headers = {**raw.headers(bearer), "Content-Type": "application/json"}
    async with raw.http.post(raw.base_url + path, data=data, headers=headers) as response:
        body = await response.json(content_type=None)
        return Answer(response.status, body, dict(response.headers))
