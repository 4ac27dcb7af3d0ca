"""Reasons to reject and end a call, and ``reject_when_busy`` on bearer mints: what the REST
client sends, and what it refuses before any request."""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses

from tests._support.api import BASE, TOKENS, body_of, call_json, sent
from utd_stream_rx import UTDStreamClient
from utd_stream_rx._validate import check_reason
from utd_stream_rx.api import UTDApiClient

REASON_MESSAGE = "reason must be a string of 1-64 characters"


@pytest.mark.parametrize(("method", "action"), [("reject_call", "reject"), ("end_call", "end")])
async def test_a_reason_is_sent_only_when_given(
    api: UTDApiClient, mocked: aioresponses, method: str, action: str
) -> None:
    url = f"{BASE}/api/v1/calls/c-1/{action}"
    mocked.post(url, payload=call_json(status="ended", end_reason="in a meeting"))
    mocked.post(url, payload=call_json(status="ended", end_reason="in a meeting"))
    call = await getattr(api.calls, method)("c-1", reason="in a meeting")
    assert call.end_reason == "in a meeting"
    await getattr(api.calls, method)("c-1")
    with_reason, without = sent(mocked)
    assert body_of(with_reason[2]) == {"reason": "in a meeting"}
    assert without[2].get("data") is None


@pytest.mark.parametrize(
    ("reason", "error"),
    [("", ValueError), ("x" * 65, ValueError), (7, TypeError), (b"no", TypeError)],
)
@pytest.mark.parametrize("method", ["reject_call", "end_call"])
async def test_a_bad_reason_is_refused_before_any_request(
    api: UTDApiClient, mocked: aioresponses, method: str, reason: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match=REASON_MESSAGE):
        await getattr(api.calls, method)("c-1", reason=reason)
    assert sent(mocked) == []


def test_check_reason_takes_none_and_1_to_64_characters() -> None:
    assert check_reason(None) is None
    assert check_reason("x") == "x"
    assert check_reason("x" * 64) == "x" * 64


@pytest.mark.parametrize(
    ("mint", "path", "extra"),
    [
        ("mint_user_token", "/api/v1/auth/user-token", {}),
        ("mint_room_token", "/api/v1/token", {"room_name": "lobby", "type": "audio_room"}),
    ],
)
@pytest.mark.parametrize("flag", [True, False])
async def test_mints_send_reject_when_busy_when_given(
    api: UTDApiClient, mocked: aioresponses, mint: str, path: str, extra: dict[str, Any],
    flag: bool,
) -> None:
    answer = {"user_token": "ut", "identity": "bee", "expires_at": 1.0, "token": "lk",
              "url": "ws://lk", "room_name": "lobby"}
    mocked.post(TOKENS + path, payload=answer)
    args: tuple[Any, ...] = ("bee",) if not extra else ("bee", "lobby", "audio_room")
    await getattr(api.tokens, mint)(*args, reject_when_busy=flag)
    [(_, _, request)] = sent(mocked)
    assert body_of(request) == {"identity": "bee", **extra,
                                **({"role": "audience"} if extra else {}),
                                "reject_when_busy": flag}


async def test_a_mint_refuses_a_reject_when_busy_that_is_not_a_bool(
    api: UTDApiClient, mocked: aioresponses
) -> None:
    with pytest.raises(TypeError, match="reject_when_busy must be a bool"):
        await api.tokens.mint_user_token("bee", reject_when_busy=1)  # type: ignore[arg-type]
    assert sent(mocked) == []


async def test_the_client_sends_its_reject_when_busy_with_every_bearer_mint(
    mocked: aioresponses,
) -> None:
    client = UTDStreamClient("app-1", "key", BASE, TOKENS, reject_when_busy=True)
    mocked.post(
        TOKENS + "/api/v1/auth/user-token",
        payload={"user_token": "ut", "identity": "bee", "expires_at": 4e9},
    )
    try:
        await client.authenticate("bee")
    finally:
        await client.aclose()
    mint = next(r for r in sent(mocked) if r[1].endswith("/auth/user-token"))
    assert body_of(mint[2])["reject_when_busy"] is True


def test_the_client_checks_reject_when_busy() -> None:
    with pytest.raises(TypeError, match="reject_when_busy must be a bool"):
        UTDStreamClient("app-1", "key", BASE, reject_when_busy="yes")  # type: ignore[arg-type]
