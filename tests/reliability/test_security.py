"""Authorization, app isolation, bans, limits, tokens and secrets, against the real stack.

The SDK refuses some commands on its own before any I/O, so the authorization matrix is also
driven with plain HTTP: the engine itself must refuse, whatever a client sends.
"""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import jwt
import pytest
from livekit import rtc

from tests._support.figures import record
from tests._support.raw_engine import RawEngineOf
from tests._support.tokens import claims
from utd_stream_rx import UTDStreamClient, UTDStreamException, UTDStreamType, media
from utd_stream_rx.testing import ClientsOf, LocalStack, PrivateStackFactory
from utd_stream_rx.testing.engine import DEMO_APP_ID, DEMO_APP_KEY

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
OTHER_APP = ("9876543210", "z" * 32)
BEARER_SECRET = "reliability-bearer-secret-" + "s" * 24
_ISSUER = "utd-devengine"  # the engine's bearer issuer (utd_stream_engine/auth.py)


async def _refused(command: Awaitable[object], status: int, code: str | None = None) -> None:
    with pytest.raises(UTDStreamException) as refused:
        await command
    assert refused.value.status_code == status, refused.value
    if code is not None:
        assert refused.value.code == code, refused.value


# -- the matrix, through plain HTTP -------------------------------------------------------------


async def test_audience_and_viewers_cannot_run_host_commands_at_the_engine(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    room, show = utd_unique("matrix-room"), utd_unique("matrix-show")
    host, listener, star, viewer, member = (
        utd_unique(n) for n in ("host", "listener", "star", "viewer", "member")
    )
    host_bearer = (await raw.room_token(host, room, "audio_room", "host"))["user_token"]
    listener_bearer = (await raw.room_token(listener, room, "audio_room", "audience"))["user_token"]
    star_bearer = (await raw.room_token(star, show, "live_stream", "host"))["user_token"]
    viewer_bearer = (await raw.room_token(viewer, show, "live_stream", "audience"))["user_token"]
    await raw.room_token(member, show, "live_stream", "audience")
    seats = f"/api/v1/audio-rooms/{room}/seats"
    stage = f"/api/v1/live/{show}/stage"
    answer = await raw.send("POST", f"{seats}/setup", {"seat_count": 3, "seat_mode": "request"},
                            bearer=host_bearer)
    assert answer.status == 200, answer
    answer = await raw.send("POST", f"{seats}/take", {"seat_index": 0}, bearer=host_bearer)
    assert answer.status == 200, answer
    answer = await raw.send("POST", f"{seats}/request", {}, bearer=listener_bearer)
    request_id = answer.body["speak_requests"][0]["request_id"]
    assert (await raw.send("POST", f"{stage}/invite", {"identity": member, "direct": True},
                           bearer=star_bearer)).status == 200
    room_before = (await raw.send("GET", seats, bearer=host_bearer)).body
    show_before = (await raw.send("GET", stage, bearer=star_bearer)).body

    # Each host command, sent by a listener or viewer, even naming the host in the body.
    forged = {"identity": host, "actor": host, "host_identity": host}
    attempts = [
        (listener_bearer, "POST", f"{seats}/setup", {"seat_count": 8, **forged}),
        (listener_bearer, "POST", f"{seats}/setup", {"seat_mode": "free"}),
        (listener_bearer, "GET", f"{seats}/requests", None),
        (listener_bearer, "POST", f"{seats}/requests/{request_id}/approve", {"seat_index": 1}),
        (listener_bearer, "POST", f"{seats}/requests/{request_id}/deny", {"reason": "no"}),
        (listener_bearer, "POST", f"{seats}/invite", {"identity": listener, "seat_index": 1}),
        (listener_bearer, "POST", f"{seats}/0/lock", {"locked": True}),
        (listener_bearer, "POST", f"{seats}/1/lock", {"locked": True, **forged}),
        (listener_bearer, "POST", f"{seats}/0/mute", {"muted": True}),
        (listener_bearer, "POST", f"{seats}/0/kick", forged),
        (viewer_bearer, "POST", f"{stage}/invite", {"identity": viewer}),
        (viewer_bearer, "POST", f"{stage}/invite", {"identity": viewer, **forged}),
        (viewer_bearer, "POST", f"{stage}/remove", {"identity": member}),
        (viewer_bearer, "POST", f"{seats}/setup", {"seat_count": 2}),  # another room's host
        (star_bearer, "POST", f"{seats}/0/kick", {}),  # a host, but of the other room
        (star_bearer, "POST", f"{seats}/requests/{request_id}/approve", {}),
    ]
    for bearer, method, path, body in attempts:
        answer = await raw.send(method, path, body, bearer=bearer)
        assert (answer.status, answer.code) == (403, "forbidden"), (method, path, answer)
    # Without approval, a listener of a request-mode room cannot sit down either.
    answer = await raw.send("POST", f"{seats}/take", {"seat_index": 1, **forged},
                            bearer=listener_bearer)
    assert (answer.status, answer.code) == (403, "approval_required"), answer
    # Nothing changed, not even the version.
    assert (await raw.send("GET", seats, bearer=host_bearer)).body == room_before
    assert (await raw.send("GET", stage, bearer=star_bearer)).body == show_before
    record("authorization matrix", f"{len(attempts) + 1} host commands by the wrong bearer: "
                                   "all 403, state and version unchanged")


async def test_the_bearer_is_the_actor_whatever_the_body_says(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    room, show = utd_unique("actor-room"), utd_unique("actor-show")
    host, ann, star, fan = (utd_unique(n) for n in ("host", "ann", "star", "fan"))
    host_bearer = (await raw.room_token(host, room, "audio_room", "host"))["user_token"]
    ann_bearer = (await raw.room_token(ann, room, "audio_room", "audience"))["user_token"]
    await raw.room_token(star, show, "live_stream", "host")
    fan_bearer = (await raw.room_token(fan, show, "live_stream", "audience"))["user_token"]
    seats = f"/api/v1/audio-rooms/{room}/seats"
    await raw.send("POST", f"{seats}/take", {"seat_index": 0}, bearer=host_bearer)

    # ann takes a seat "as the host": the seat is ann's.
    answer = await raw.send("POST", f"{seats}/take",
                            {"seat_index": 1, "identity": host, "user": host}, bearer=ann_bearer)
    assert answer.status == 200, answer
    holders = [s["identity"] for s in answer.body["seats"]["seats"]]
    assert holders[:2] == [host, ann], holders
    # ann "leaves for the host": ann leaves, the host keeps seat 0.
    answer = await raw.send("POST", f"{seats}/leave", {"identity": host}, bearer=ann_bearer)
    holders = [s["identity"] for s in answer.body["seats"]["seats"]]
    assert holders[:2] == [host, None], holders
    # The host's bearer cannot "leave" ann's seat on her behalf either.
    await raw.send("POST", f"{seats}/take", {"seat_index": 1}, bearer=ann_bearer)
    answer = await raw.send("POST", f"{seats}/leave", {"identity": ann}, bearer=host_bearer)
    holders = [s["identity"] for s in answer.body["seats"]["seats"]]
    assert holders[:2] == [None, ann], holders
    # A raised hand is the bearer's.
    answer = await raw.send("POST", f"/api/v1/live/{show}/stage/request",
                            {"identity": star, "name": "x"}, bearer=fan_bearer)
    assert [r["identity"] for r in answer.body["stage_requests"]] == [fan], answer
    # A call is placed by the bearer, not by the caller the body names.
    answer = await raw.send("POST", "/api/v1/calls",
                            {"callee_identity": host, "type": "audio_call",
                             "caller_identity": star, "caller_name": "spoof"},
                            bearer=ann_bearer)
    assert answer.status == 201 and answer.body["caller_identity"] == ann, answer
    call_id = answer.body["call_id"]
    # Only the callee answers: neither the caller nor a stranger can accept for them.
    for bearer in (ann_bearer, fan_bearer):
        answer = await raw.send("POST", f"/api/v1/calls/{call_id}/accept",
                                {"identity": host}, bearer=bearer)
        assert answer.status == 403, answer
    answer = await raw.send("GET", f"/api/v1/calls/{call_id}", bearer=fan_bearer)
    assert answer.status == 403, answer
    await raw.send("POST", f"/api/v1/calls/{call_id}/end", bearer=ann_bearer)


async def test_audience_sessions_cannot_run_host_commands(
    utd_client_factory: Callable[[], UTDStreamClient], utd_unique: Callable[[str], str]
) -> None:
    """The same matrix through the SDK: refused (locally or by the engine), views unchanged."""
    room, show = utd_unique("guarded-room"), utd_unique("guarded-show")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), room, as_host=True, seat_count=3, seat_mode="request"
    )
    listener = await utd_client_factory().join_audio_room(utd_unique("listener"), room)
    star = await utd_client_factory().join_live_stream(utd_unique("star"), show, as_host=True)
    viewer_id = utd_unique("viewer")
    viewer = await utd_client_factory().join_live_stream(viewer_id, show)
    await listener.request_to_speak()
    request = (await host.get_seats(), host.speak_requests.value[0])[1]
    await star.invite_to_stage(viewer_id, direct=True)
    before = (host.seats.value, star.stage.value)

    for command in (
        listener.setup_seats(4),
        listener.approve_speaker(request.request_id),
        listener.invite_to_speak(utd_unique("x"), 0),
        listener.lock_seat(0),
        listener.unlock_seat(0),
        listener.mute_seat(0),
        listener.kick_from_seat(0),
        viewer.invite_to_stage(utd_unique("y")),
        viewer.remove_from_stage(viewer_id),
    ):
        with pytest.raises(UTDStreamException) as refused:
            await command
        assert refused.value.code == "forbidden", refused.value
    await _refused(listener.take_seat(1), 403, "approval_required")
    await host.get_seats()
    await star.refresh_stage()
    assert (host.seats.value, star.stage.value) == before
    assert not listener.can_publish.value
    with pytest.raises(UTDStreamException) as local:
        await listener.set_microphone(True)
    assert local.value.code == "not_permitted"


# -- credentials, apps, bans and limits ------------------------------------------------------


def _bearer(identity: str, app_id: str, *, expires_in: float, secret: str = BEARER_SECRET) -> str:
    now = time.time()
    payload = {"iss": _ISSUER, "app": app_id, "sub": identity, "iat": int(now) - 60,
              "exp": now + expires_in}
    return jwt.encode(payload, secret, algorithm="HS256")


async def test_credentials_apps_bans_and_limits(
    utd_private_stack: PrivateStackFactory,
    created_clients: list[UTDStreamClient],
    clients_of: ClientsOf,
    raw_engine_of: RawEngineOf,
) -> None:
    stack = utd_private_stack(
        ["--app", f"{DEMO_APP_ID}:{DEMO_APP_KEY}", "--app", ":".join(OTHER_APP),
         "--ban", "mallory", "--rate-limit", "3", "--user-token-secret", BEARER_SECRET]
    )
    make = clients_of(stack)
    raw = raw_engine_of(stack)
    raw_other = raw_engine_of(stack, *OTHER_APP)
    checked = 0

    # 401: app credentials missing, wrong, or of an unknown app; bearers missing, forged,
    # signed with another key, expired, or minted for another app.
    alice_bearer = await raw.bearer("alice")
    body: object  # the request bodies of the loops below differ in shape
    bearer: str | None
    for headers in (
        {},
        {"X-UTD-App-Id": stack.app_id},
        {"X-UTD-App-Id": stack.app_id, "X-UTD-App-Key": "w" * 32},
        {"X-UTD-App-Id": "0000000000", "X-UTD-App-Key": stack.app_key},
        {"X-UTD-App-Id": OTHER_APP[0], "X-UTD-App-Key": stack.app_key},
    ):
        for method, path, body in (("POST", "/api/v1/auth/user-token", {"identity": "alice"}),
                                   ("GET", "/api/v1/calls", None)):
            answer = await raw.send(method, path, body, headers={
                **headers, "Authorization": f"Bearer {alice_bearer}"})
            assert (answer.status, answer.code) == (401, "unauthorized"), (headers, answer)
            checked += 1
    for bearer, code in (
        ("", "unauthorized"),
        ("not.a.token", "unauthorized"),
        (_bearer("alice", stack.app_id, expires_in=600, secret="x" * 40), "unauthorized"),
        (_bearer("alice", OTHER_APP[0], expires_in=600), "unauthorized"),
        (_bearer("alice", stack.app_id, expires_in=-5), "token_expired"),
    ):
        answer = await raw.send("GET", "/api/v1/calls", headers=raw.headers(bearer or None))
        assert (answer.status, answer.code) == (401, code), (bearer, answer)
        checked += 1
    # A bearer of the right key and app works, so the refusals above were about the token.
    answer = await raw.send("GET", "/api/v1/calls",
                            bearer=_bearer("alice", stack.app_id, expires_in=600))
    assert answer.status == 200, answer
    # Through the SDK: 401s with the engine's codes.
    wrong = UTDStreamClient(stack.app_id, "w" * 32, stack.base_url)
    created_clients.append(wrong)
    await _refused(wrong.authenticate("alice"), 401, "unauthorized")
    alice = make()
    await alice.authenticate("alice")
    expired = alice.api.with_user_token(_bearer("alice", stack.app_id, expires_in=-5))
    await _refused(expired.calls.list_calls(), 401, "token_expired")
    await _refused(alice.api.with_user_token("e30.e30.c2ln").calls.list_calls(), 401,
                   "unauthorized")

    # Two apps on one engine: same names, nothing shared.
    call = await alice.call_session(UTDStreamType.AUDIO_CALL).start("bob")
    other_bob = await raw_other.bearer("bob")
    other_alice = await raw_other.bearer("alice")
    for method, path in (("GET", f"/api/v1/calls/{call.call_id}"),
                         ("POST", f"/api/v1/calls/{call.call_id}/accept"),
                         ("POST", f"/api/v1/calls/{call.call_id}/end")):
        answer = await raw_other.send(method, path, bearer=other_bob)
        assert (answer.status, answer.code) == (404, "not_found"), (path, answer)
        checked += 1
    listed = await raw_other.send("GET", "/api/v1/calls?status=all", bearer=other_bob)
    assert listed.body == {"calls": []}, listed
    # A bearer of one app is refused under the other app's credentials.
    answer = await raw.send("GET", "/api/v1/calls", bearer=other_alice)
    assert (answer.status, answer.code) == (401, "unauthorized"), answer
    assert (await alice.api.calls.get_call(call.call_id)).status.value == "initiating"

    host = await make().join_audio_room("host", "lobby", as_host=True, seat_count=2)
    await host.take_seat(0)
    other = UTDStreamClient(*OTHER_APP, stack.base_url)
    created_clients.append(other)
    intruder = await other.join_audio_room("host", "lobby", as_host=True, seat_count=5)
    assert host.seats.value is not None and host.seats.value.count == 2
    assert intruder.seats.value is not None and intruder.seats.value.count == 5
    await intruder.kick_from_seat(0)  # the other app's own seat 0, which is empty
    await intruder.setup_seats(1)
    other_room = await raw_other.send("GET", "/api/v1/rooms/lobby",
                                      bearer=await raw_other.bearer("host"))
    assert other_room.body["seats"]["count"] == 1
    grid = await host.get_seats()
    assert grid.count == 2 and grid.seats[0].identity == "host"
    assert await host.can_publish.wait_for(bool, timeout=10)
    # Not even the media rooms meet: LiveKit rooms are prefixed by app.
    assert "host" not in intruder.remote_participants.value
    answer = await raw_other.send("GET", "/api/v1/rooms/never-made-here",
                                  bearer=await raw_other.bearer("x"))
    assert answer.status == 404

    # Banned: 403 banned everywhere, and the SDK says so.
    mallory = _bearer("mallory", stack.app_id, expires_in=600)
    for method, path, body, bearer in (
        ("POST", "/api/v1/auth/user-token", {"identity": "mallory"}, None),
        ("POST", "/api/v1/token",
         {"identity": "mallory", "room_name": "lobby", "type": "audio_room"}, None),
        ("GET", "/api/v1/calls", None, mallory),
        ("POST", "/api/v1/audio-rooms/lobby/seats/take", {"seat_index": 1}, mallory),
        ("POST", "/api/v1/calls", {"callee_identity": "mallory", "type": "audio_call"},
         alice_bearer),
    ):
        answer = await raw.send(method, path, body, bearer=bearer)
        assert (answer.status, answer.code) == (403, "banned"), (path, answer)
        checked += 1
    for command in (make().authenticate("mallory"), make().join_audio_room("mallory", "lobby")):
        with pytest.raises(UTDStreamException) as banned:
            await command
        assert banned.value.status_code == 403 and banned.value.is_banned, banned.value
    with pytest.raises(UTDStreamException) as banned:
        await alice.call_session(UTDStreamType.AUDIO_CALL).start("mallory")
    assert banned.value.is_banned, banned.value

    # Over the mint limit (3 a minute here): 429 with Retry-After, per app and identity.
    for _ in range(3):
        assert (await raw.send("POST", "/api/v1/auth/user-token", {"identity": "flood"})
                ).status == 200
    answer = await raw.send("POST", "/api/v1/token",
                            {"identity": "flood", "room_name": "lobby", "type": "audio_room"})
    assert (answer.status, answer.code) == (429, "rate_limited"), answer
    assert float(answer.headers["Retry-After"]) > 0, answer.headers
    with pytest.raises(UTDStreamException) as limited:
        await make().authenticate("flood")
    assert limited.value.is_rate_limited and (limited.value.retry_after or 0) > 0
    assert (await raw.send("POST", "/api/v1/auth/user-token", {"identity": "calm"})).status == 200
    assert (await raw_other.send("POST", "/api/v1/auth/user-token", {"identity": "flood"})
            ).status == 200
    record("credentials, apps, bans, limits", f"{checked} raw refusals checked by status and code")


# -- tokens and media ---------------------------------------------------------------------------


@pytest.mark.slow
async def test_an_audience_token_cannot_publish_until_the_engine_grants_it(
    utd_stack: LocalStack,
    raw_engine_of: RawEngineOf,
    utd_client_factory: Callable[[], UTDStreamClient],
    utd_unique: Callable[[str], str],
) -> None:
    raw = raw_engine_of(utd_stack)
    room, listener = utd_unique("gate"), utd_unique("listener")
    host = await utd_client_factory().join_audio_room(
        utd_unique("host"), room, as_host=True, seat_count=2
    )
    minted = await raw.room_token(listener, room, "audio_room", "audience")
    grant = claims(minted["token"])["video"]
    assert grant["roomJoin"] and grant["canSubscribe"]
    assert not grant.get("canPublish") and not grant.get("canPublishSources"), grant
    assert not grant.get("canUpdateOwnMetadata") and not grant.get("roomAdmin"), grant
    # No room token carries the grant, not even a live-stream host's: it comes after joining.
    star = await raw.room_token(utd_unique("star"), utd_unique("gs"), "live_stream", "host")
    assert claims(star["token"])["video"]["canPublish"] is False
    # (The check is not vacuous: a call's token, which only its parties get, does carry it.)
    call = await raw.send(
        "POST", "/api/v1/calls", {"callee_identity": utd_unique("callee"), "type": "audio_call"},
        bearer=await raw.bearer(utd_unique("caller")),
    )
    assert call.status == 201 and claims(call.body["token"])["video"]["canPublish"] is True

    # Straight to LiveKit with that token, past every check the SDK makes: LiveKit refuses.
    lk = rtc.Room()
    await lk.connect(minted["url"], minted["token"], rtc.RoomOptions(connect_timeout=10))
    source = await media.start_audio(media.tone(900.0))
    try:
        assert not lk.local_participant.permissions.can_publish
        with pytest.raises(rtc.participant.PublishTrackError):
            await lk.local_participant.publish_track(
                source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            )
        snapshot = host.remote_participants.value.get(listener)
        assert snapshot is not None and snapshot.tracks == (), snapshot
        # The engine grants a seat: the same connection may now publish, the microphone only.
        answer = await raw.send("POST", f"/api/v1/audio-rooms/{room}/seats/take",
                                {"seat_index": 1}, bearer=minted["user_token"])
        assert answer.status == 200, answer
        for _ in range(50):
            if lk.local_participant.permissions.can_publish:
                break
            await asyncio.sleep(0.1)
        permission = lk.local_participant.permissions
        assert permission.can_publish
        assert list(permission.can_publish_sources) == [rtc.TrackSource.SOURCE_MICROPHONE]
        await lk.local_participant.publish_track(
            source.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        await host.remote_participants.wait_for(
            lambda p: listener in p and len(p[listener].tracks) == 1, timeout=10
        )
    finally:
        await lk.disconnect()
        await source.aclose()


# -- the wheel ---------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"api[_-]?secret", re.IGNORECASE)


def _secret_defaults(source: str) -> list[str]:
    """Every place a Python module gives a LiveKit API secret a literal default value."""
    found: list[str] = []

    def literal(node: ast.AST | None) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            positional = args.posonlyargs + args.args
            defaulted = positional[len(positional) - len(args.defaults):]
            pairs: list[tuple[ast.arg, ast.expr | None]] = list(
                zip(defaulted, args.defaults, strict=True)
            )
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
            found += [f"parameter {a.arg}" for a, d in pairs
                      if _SECRET_NAME.search(a.arg) and literal(d)]
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            names = [ast.unparse(t) for t in targets]
            if any(_SECRET_NAME.search(n) for n in names) and literal(node.value):
                found.append(f"assignment {names}")
        elif isinstance(node, ast.Call):
            texts = [a.value for a in node.args
                     if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if not any(_SECRET_NAME.search(t) for t in texts):
                continue
            # os.environ.get("LIVEKIT_API_SECRET", "x") / add_argument("--x-api-secret", default=)
            fallbacks = node.args[1:2] + [k.value for k in node.keywords if k.arg == "default"]
            for fallback in fallbacks:
                inner = fallback.args[1:2] if isinstance(fallback, ast.Call) else [fallback]
                if any(literal(value) for value in inner):
                    found.append(f"call {ast.unparse(node)[:80]}")
    return found


def test_the_secret_default_check_finds_what_it_looks_for() -> None:
    assert _secret_defaults('livekit_api_secret: str = "secret"')
    assert _secret_defaults('def f(api_secret="s"): pass')
    assert _secret_defaults('os.environ.get("LIVEKIT_API_SECRET", "secret")')
    assert _secret_defaults('p.add_argument("--api-secret", default=env.get("X", "secret"))')
    assert not _secret_defaults('api_secret = os.environ["LIVEKIT_API_SECRET"]')
    assert not _secret_defaults('p.add_argument("--api-secret", default=env.get("X", ""))')


def _sdk_module(name: str) -> bool:
    parts = name.split("/")
    return (name.endswith(".py") and parts[0] == "utd_stream_rx"
            and parts[1] != "testing")


def _imports_livekit_api(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("livekit.api")]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith("livekit.api"):
                found.append(node.module)
            elif node.module == "livekit" and any(a.name == "api" for a in node.names):
                found.append("from livekit import api")
        elif isinstance(node, ast.Constant) and node.value in ("livekit.api", "livekit_api"):
            found.append(f"string {node.value!r}")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [str(Path(sys.executable).with_name("pip")), "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    (built,) = out.glob("utd_stream_rx-*.whl")
    return built


def test_the_wheel_holds_no_livekit_secret(wheel: Path, utd_stack: LocalStack) -> None:
    secrets = {utd_stack.livekit.api_secret.encode(), BEARER_SECRET.encode()}
    secrets.add(("unit-secret-" + "x" * 32).encode())  # tests/engine's LiveKit secret
    defaults: dict[str, list[str]] = {}
    sdk_modules = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for name in names:
            data = archive.read(name)
            assert not [s for s in secrets if s in data], f"{name} holds a test secret"
            if name.endswith(".py"):
                found = _secret_defaults(data.decode())
                if found:
                    defaults[name] = found
            if _sdk_module(name):
                sdk_modules.append(name)
                text = data.decode()
                assert not _imports_livekit_api(text), (name, _imports_livekit_api(text))
                assert not _SECRET_NAME.search(text), f"{name} mentions an API secret"
    assert not defaults, f"LiveKit API secret defaults in the wheel: {defaults}"
    assert "utd_stream_rx/client.py" in sdk_modules
    assert "utd_stream_rx/api/_client.py" in sdk_modules
    assert "utd_stream_rx/demo/sessions.py" in sdk_modules  # the demo is SDK-side too
    assert any(n.startswith("utd_stream_engine/") for n in names)  # the scan saw it
    record("wheel", f"{len(names)} files scanned, {len(sdk_modules)} SDK modules without "
                    "livekit.api, no secret, no secret default")


def test_importing_the_sdk_never_loads_livekit_api() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "utd_stream_rx").rglob("*.py")
        # The command line starts the test stack: it is no SDK module a client imports.
        if _sdk_module(str(p.relative_to(ROOT)))
        and p.relative_to(ROOT).parts[1] not in ("cli.py", "cli")
    )
    probe = ("import importlib, sys\n"
             f"for name in {modules!r}:\n"
             "    importlib.import_module(name)\n"
             "print(sorted(m for m in sys.modules if m.startswith('livekit.api')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stdout
    assert len(modules) > 10, modules
