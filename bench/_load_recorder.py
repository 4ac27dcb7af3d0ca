"""One load client's view of the engine: every command timed and sorted by how it ended.

A command answered 2xx or 4xx counts towards throughput and latency (a 4xx is the engine's
answer to a race a real app runs into: a seat taken a moment before, a viewer asking for the
stage while on it). A 5xx, a broken connection or a timeout is a failure: the engine under
load must have none.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import aiohttp

REQUEST_TIMEOUT = 10.0  # seconds a command may take before it counts as a failure


class Answer:
    """A command's status and JSON body (``{}`` when it had none)."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        """The error code of a refusal (``"?"`` without one; ``""`` for a 2xx)."""
        return "" if self.ok else _code_of(self.body)


class Recorder:
    """Sends commands to one engine for the clients of a load process and keeps the tally.

    ``latencies`` holds milliseconds per command kind (2xx and 4xx answers), ``refused`` the
    4xx answers by ``"kind status code"``, ``failed`` the failures by ``"kind what"``.
    """

    def __init__(
        self, http: aiohttp.ClientSession, base: str, app_headers: dict[str, str]
    ) -> None:
        self._http = http
        self._base = base
        self._app_headers = app_headers
        self.latencies: dict[str, list[float]] = {}
        self.refused: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    def headers(self, bearer: str | None) -> dict[str, str]:
        """The app headers, with ``bearer`` as the engine bearer when given."""
        if bearer is None:
            return self._app_headers
        return {**self._app_headers, "Authorization": f"Bearer {bearer}"}

    async def send(
        self, kind: str, method: str, path: str, body: dict[str, Any] | None = None,
        bearer: str | None = None,
    ) -> Answer | None:
        """Send one command; its answer, or ``None`` when it failed (and was counted)."""
        began = time.perf_counter()
        try:
            async with self._http.request(
                method, self._base + path, json=body, headers=self.headers(bearer),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            self.failed[f"{kind} timeout"] += 1
            return None
        except aiohttp.ClientError as exc:
            self.failed[f"{kind} {type(exc).__name__}"] += 1
            return None
        elapsed = (time.perf_counter() - began) * 1000
        if status >= 500:
            self.failed[f"{kind} {status}"] += 1
            return None
        answer = Answer(status, _json_of(raw))
        self.latencies.setdefault(kind, []).append(round(elapsed, 3))
        if not answer.ok:
            self.refused[f"{kind} {status} {answer.code}"] += 1
        return answer

    def result(self, seconds: float, cpu: float) -> dict[str, Any]:
        """The tally as JSON for the parent process (``cpu``: this process's CPU seconds)."""
        return {
            "seconds": seconds, "cpu": cpu, "latencies": self.latencies,
            "refused": dict(self.refused), "failed": dict(self.failed),
        }


def _json_of(raw: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _code_of(body: dict[str, Any]) -> str:
    error = body.get("error")
    return str(error.get("code", "?")) if isinstance(error, dict) else "?"

