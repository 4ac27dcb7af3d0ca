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
import subprocess
import sys
import time

import aiohttp
from _common import parser, report
from _mint_baseline import mint_baseline

from utd_stream_rx.testing import LocalStack

CONCURRENCY = 16


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


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        rps = asyncio.run(_load(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
        print(json.dumps({"rps": rps}))
        return 0
    args = parser(__doc__.splitlines()[0], rounds=5).parse_args()
    rounds, requests = (1, 200) if args.quick else (args.rounds, 2000)
    engine_rps: list[float] = []
    baseline_rps: list[float] = []
    with LocalStack(engine_args=["--rate-limit", "0"]) as stack, mint_baseline(
        stack.livekit.api_key, stack.livekit.api_secret, stack.app_id, stack.app_key
    ) as baseline:
        engine_url = stack.base_url + "/api/v1/token"
        baseline_url = baseline.url + "/api/v1/token"
        _rps(engine_url, stack.app_id, stack.app_key, 100)  # warm both up
        _rps(baseline_url, stack.app_id, stack.app_key, 100)
        for _ in range(rounds):
            engine_rps.append(_rps(engine_url, stack.app_id, stack.app_key, requests))
            baseline_rps.append(_rps(baseline_url, stack.app_id, stack.app_key, requests))
    ok = report(
        "engine token mints", "req/s", engine_rps, baseline_rps, 0.7, higher_is_better=True
    )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
