"""The floor any token service pays: a minimal aiohttp handler that checks the app headers,
reads the JSON body and signs a LiveKit access token with ``livekit.api.AccessToken``.

Benchmarks run it in a process of its own (``python bench/_mint_baseline.py PORT KEY SECRET
APP_ID APP_KEY``), as the engine runs in one, through :func:`mint_baseline`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
from aiohttp import web
from livekit import api


def baseline_app(key: str, secret: str, app_id: str, app_key: str) -> web.Application:
    """An app answering ``POST /api/v1/token`` with a signed LiveKit token, nothing more."""

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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int) -> None:
    """Return once something accepts connections on ``port`` (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the baseline server did not start")


@attrs.frozen
class RunningBaseline:
    """The baseline server's base URL and process id."""

    url: str
    pid: int


@contextmanager
def mint_baseline(key: str, secret: str, app_id: str, app_key: str) -> Iterator[RunningBaseline]:
    """The baseline server in a process of its own, while the block runs."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, str(port), key, secret, app_id, app_key]
    )
    try:
        wait_listening(port)
        yield RunningBaseline(f"http://127.0.0.1:{port}", server.pid)
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    """Serve the baseline app on the port and credentials given on the command line."""
    port, key, secret, app_id, app_key = sys.argv[1:6]
    web.run_app(
        baseline_app(key, secret, app_id, app_key), host="127.0.0.1", port=int(port),
        print=None, access_log=None,
    )


if __name__ == "__main__":
    main()
