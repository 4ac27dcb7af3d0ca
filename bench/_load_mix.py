"""The command mix of the engine under load: what each simulated client does, again and again.

Clients come in groups of ``GROUP`` (identities ``user-<n>``; a group never straddles two load
processes). In each group:

- five members of one audio room mint a token, take a random one of its eight seats (another
  member may hold it: 409), read the room and leave the seat they got (or still held);
- one host and two viewers of one live stream: each viewer mints a token, asks for the stage
  (409 while on it: then it steps off) and reads it; the host reads the stage, invites the
  first requester (who goes on stage at once) and takes them off it again;
- a caller and a callee: the caller starts a call, the callee hears of it (through the load
  process, standing in for the engine's event stream), says it rings and answers, and the
  caller hangs up.

:func:`mint_clients` only mint: the mix's mint share alone, for the minimal token handler.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from typing import Any

from _load_recorder import Answer, Recorder

GROUP = 10
SEATS = 8
MINT = "mint"
TOKEN_PATH = "/api/v1/token"
FAILURE_PAUSE = 0.05  # seconds a client waits after a failure before it goes on


async def _mint(
    rec: Recorder, identity: str, room: str, kind: str, role: str = "audience"
) -> str | None:
    """A room token's bearer for ``identity`` (``""`` from the minimal handler, which has
    none), or ``None`` when the mint was not granted."""
    body = {"identity": identity, "room_name": room, "type": kind, "role": role}
    answer = await rec.send(MINT, "POST", TOKEN_PATH, body)
    if answer is None or not answer.ok:
        await asyncio.sleep(FAILURE_PAUSE)
        return None
    return str(answer.body.get("user_token", ""))


async def audio_member(rec: Recorder, n: int, until: float) -> None:
    """Mint, take a random seat, read the room, leave the seat if it was granted (or was
    still held from before)."""
    room = f"load-audio-{n // GROUP}"
    seats = f"/api/v1/audio-rooms/{room}/seats"
    choose = random.Random(n)
    while time.perf_counter() < until:
        bearer = await _mint(rec, f"user-{n}", room, "audio_room")
        if bearer is None:
            continue
        taken = await rec.send(
            "seat take", "POST", f"{seats}/take", {"seat_index": choose.randrange(SEATS)}, bearer
        )
        await rec.send("room read", "GET", f"/api/v1/rooms/{room}", None, bearer)
        # A seat still held (the last round ended before it was left) is left now.
        if taken is not None and (taken.ok or taken.code == "already_seated"):
            await rec.send("seat leave", "POST", f"{seats}/leave", {}, bearer)


async def live_viewer(rec: Recorder, n: int, until: float) -> None:
    """Mint, ask for the stage (409 while on it: step off), read the stage."""
    room = f"load-live-{n // GROUP}"
    stage = f"/api/v1/live/{room}/stage"
    while time.perf_counter() < until:
        bearer = await _mint(rec, f"user-{n}", room, "live_stream")
        if bearer is None:
            continue
        asked = await rec.send("stage request", "POST", f"{stage}/request", {}, bearer)
        if asked is not None and asked.code == "conflict":
            await rec.send("stage leave", "POST", f"{stage}/leave", {}, bearer)
        await rec.send("stage read", "GET", stage, None, bearer)


async def live_host(rec: Recorder, n: int, until: float) -> None:
    """Mint as host once, then: read the stage, invite the first requester, remove them."""
    room = f"load-live-{n // GROUP}"
    stage = f"/api/v1/live/{room}/stage"
    bearer = None
    while bearer is None and time.perf_counter() < until:
        bearer = await _mint(rec, f"user-{n}", room, "live_stream", role="host")
    while time.perf_counter() < until:
        state = await rec.send("stage read", "GET", stage, None, bearer)
        requester = _first_requester(state)
        if requester is None:
            await asyncio.sleep(FAILURE_PAUSE)  # as a host waits for the next request
            continue
        body = {"identity": requester}
        invited = await rec.send("stage invite", "POST", f"{stage}/invite", body, bearer)
        if invited is not None and invited.ok:
            await rec.send("stage remove", "POST", f"{stage}/remove", body, bearer)


def _first_requester(state: Answer | None) -> str | None:
    if state is None or not state.ok:
        return None
    requests: list[dict[str, Any]] = state.body.get("stage_requests") or []
    return str(requests[0]["identity"]) if requests else None


class CallLine:
    """What passes between a caller and its callee: the calls that ring, the answers."""

    def __init__(self) -> None:
        self.rings: asyncio.Queue[str | None] = asyncio.Queue()
        self.answers: asyncio.Queue[str] = asyncio.Queue()


async def _user_bearer(rec: Recorder, identity: str, until: float) -> str | None:
    while time.perf_counter() < until:
        answer = await rec.send("user token", "POST", "/api/v1/auth/user-token",
                                {"identity": identity})
        if answer is not None and answer.ok:
            bearer: str = answer.body["user_token"]
            return bearer
        await asyncio.sleep(FAILURE_PAUSE)
    return None


async def caller(rec: Recorder, n: int, until: float, line: CallLine) -> None:
    """Call the next client, wait until it answered, hang up; tell the callee when done."""
    try:
        bearer = await _user_bearer(rec, f"user-{n}", until)
        body = {"callee_identity": f"user-{n + 1}", "type": "audio_call"}
        while bearer is not None and time.perf_counter() < until:
            started = await rec.send("call start", "POST", "/api/v1/calls", body, bearer)
            if started is None or not started.ok:
                await asyncio.sleep(FAILURE_PAUSE)
                continue
            call_id = str(started.body["call_id"])
            line.rings.put_nowait(call_id)
            await line.answers.get()
            await rec.send("call end", "POST", f"/api/v1/calls/{call_id}/end", {}, bearer)
    finally:
        line.rings.put_nowait(None)


async def callee(rec: Recorder, n: int, until: float, line: CallLine) -> None:
    """Answer every call the caller places (it rings, then accept) until the caller is done."""
    bearer = await _user_bearer(rec, f"user-{n}", until)
    while (call_id := await line.rings.get()) is not None:
        if bearer is not None:
            calls = f"/api/v1/calls/{call_id}"
            await rec.send("call ringing", "POST", f"{calls}/ringing", {}, bearer)
            await rec.send("call accept", "POST", f"{calls}/accept", {}, bearer)
        line.answers.put_nowait(call_id)  # the caller hangs up whatever happened


async def minter(rec: Recorder, n: int, until: float) -> None:
    """Mint a room token, again and again (the mint share alone)."""
    while time.perf_counter() < until:
        await _mint(rec, f"user-{n}", f"load-mint-{n // GROUP}", "audio_room")


def mix_clients(rec: Recorder, first: int, count: int, until: float) -> list[Awaitable[None]]:
    """The clients ``first`` .. ``first + count - 1`` of the mix (``count`` whole groups)."""
    if first % GROUP or count % GROUP:
        raise ValueError(f"clients come in groups of {GROUP}")
    runs: list[Awaitable[None]] = []
    for group in range(first, first + count, GROUP):
        line = CallLine()
        runs += [audio_member(rec, group + slot, until) for slot in range(5)]
        runs.append(live_host(rec, group + 5, until))
        runs += [live_viewer(rec, group + slot, until) for slot in (6, 7)]
        runs += [caller(rec, group + 8, until, line), callee(rec, group + 9, until, line)]
    return runs


def mint_clients(rec: Recorder, first: int, count: int, until: float) -> list[Awaitable[None]]:
    """``count`` clients that only mint."""
    return [minter(rec, n, until) for n in range(first, first + count)]
