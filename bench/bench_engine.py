"""Engine throughput: token mints per second of the reference engine against a minimal
aiohttp handler that signs the same LiveKit JWT, both loaded from a second process.

The minimal handler checks the app headers, reads the JSON body and signs an access token
with ``livekit.api.AccessToken``: the floor any token service pays. The engine also
validates, looks the room up in SQLite, mints the user bearer and applies rate limits.
Target: at least 0.7x the baseline's requests per second.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import aiohttp
from _common import parser, report
from aiohttp import web
from livekit import api

from utd_stream_rx.testing import LocalStack

CONCURRENCY = 16


# -- the baseline server (run with --serve PORT KEY SECRET APP_ID APP_KEY) ----------------


def _baseline_app(key: str, secret: str, app_id: str, app_key: str) -> web.Application:
    async def token(request: web.Request) -> web.Response:
        if request.headers.get("X-UTD-App-Id") != app_id or (
            request.headers.get("X-UTD-App-Key") != app_key
        ):
            return web.json_response({"error": {"code": "unauthorized"}}, status=401)
        body = await request.json()
        grants = api.VideoGrants(
            room_join=True, room=f"{app_id}__{body['room_name']}", can_subscribe=True,
            can_publish=False, can_publish_data=True,
        )
        jwt = api.AccessToken(key, secret).with_identity(body["identity"]).with_grants(grants)
        return web.json_response({"token": jwt.to_jwt(), "room_name": body["room_name"]})

    app = web.Application()
    app.router.add_post("/api/v1/token", token)
    return app


def _serve(port: int, key: str, secret: str, app_id: str, app_key: str) -> None:
    web.run_app(
        _baseline_app(key, secret, app_id, app_key), host="127.0.0.1", port=port,
        print=None, access_log=None,
    )


# -- the load generator (run with --load URL APP_ID APP_KEY REQUESTS) ----------------------


async def _load(url: str, app_id: str, app_key: str, requests: int) -> float:
    headers = {"X-UTD-App-Id": app_id, "X-UTD-App-Key": app_key}
    counter = iter(range(requests))
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            for n in counter:
                body = {"identity": f"user-{n % 500}", "room_name": "bench", "type": "audio_room"}
                async with http.post(url, json=body, headers=headers) as answer:
                    if answer.status != 200:
                        raise RuntimeError(f"{answer.status}: {await answer.text()}")
                    await answer.read()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return requests / (time.perf_counter() - began)


def _rps(url: str, app_id: str, app_key: str, requests: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--load", url, app_id, app_key, str(requests)],
        check=True, capture_output=True, text=True,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["rps"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the baseline server did not start")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]), *sys.argv[3:7])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        rps = asyncio.run(_load(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
        print(json.dumps({"rps": rps}))
        return 0
    args = parser(__doc__.splitlines()[0], rounds=5).parse_args()
    rounds, requests = (1, 200) if args.quick else (args.rounds, 2000)
    engine_rps: list[float] = []
    baseline_rps: list[float] = []
    with LocalStack(engine_args=["--rate-limit", "0"]) as stack:
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), stack.livekit.api_key,
             stack.livekit.api_secret, stack.app_id, stack.app_key],
        )
        try:
            _wait_listening(port)
            engine_url = stack.base_url + "/api/v1/token"
            baseline_url = f"http://127.0.0.1:{port}/api/v1/token"
            _rps(engine_url, stack.app_id, stack.app_key, 100)  # warm both up
            _rps(baseline_url, stack.app_id, stack.app_key, 100)
            for _ in range(rounds):
                engine_rps.append(_rps(engine_url, stack.app_id, stack.app_key, requests))
                baseline_rps.append(_rps(baseline_url, stack.app_id, stack.app_key, requests))
        finally:
            server.terminate()
            server.wait(10)
    ok = report(
        "engine token mints", "req/s", engine_rps, baseline_rps, 0.7, higher_is_better=True
    )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
