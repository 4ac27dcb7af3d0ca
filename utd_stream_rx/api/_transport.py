"""The HTTP side of the REST client: sessions, URLs, app headers, timeouts and read retries.

One :class:`Transport` is shared by a client and every per-user client made from it: it owns
(or borrows) the ``aiohttp`` session and knows nothing of who acts; the bearer comes with each
request.

Reads (``GET``) are retried with a short exponential backoff with full jitter on network
errors, timeouts and 502/503/504 (waiting out a short ``Retry-After``); writes (``POST``) are
never retried, because the engine may have applied them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Mapping

import aiohttp
from yarl import URL

from .._background import running_loop
from .._backoff import full_jitter
from .._http import RETRYABLE_STATUSES, error_from_response
from .._loop_sessions import LoopSessions
from .._validate import check_base_url, check_int, check_str, check_timeout
from ..error_codes import ErrorCode
from ..errors import UTDStreamException

__all__ = ["Transport"]

_log = logging.getLogger("utd_stream_rx.api")

# Longest Retry-After (seconds) a read waits out by itself before giving the error to the caller.
_MAX_RETRY_WAIT = 5.0
# Largest read-retry delay ceiling (seconds), unless ``retry_backoff`` itself is larger.
_READ_BACKOFF_CAP = 10.0
_JSON_HEADERS = {"Accept": "application/json"}
_POST_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


def _check_backoff(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("retry_backoff must be a number")
    if not 0 <= value <= 60:
        raise ValueError(f"retry_backoff must be between 0 and 60 seconds, not {value}")
    return float(value)


def _is_retryable(error: UTDStreamException) -> bool:
    retryable = error.code in (ErrorCode.NETWORK, ErrorCode.TIMEOUT) or (
        error.status_code in RETRYABLE_STATUSES
    )
    return retryable and (error.retry_after is None or error.retry_after <= _MAX_RETRY_WAIT)


class Transport:
    """Sends requests to the engine and the token service with the app's headers.

    One ``aiohttp.ClientSession`` per event loop serves every request (see
    :class:`~utd_stream_rx._loop_sessions.LoopSessions`), unless the caller gives one: it is
    then used on the loop it is first used on (another loop gets ``wrong_loop``) and never
    closed here.
    """

    def __init__(
        self,
        app_id: str,
        app_key: str,
        base_url: str,
        token_base_url: str,
        *,
        session: aiohttp.ClientSession | None,
        timeout: float,
        read_retries: int,
        retry_backoff: float,
    ) -> None:
        self.app_id = check_str(app_id, "app_id")
        self._app_key = check_str(app_key, "app_key")
        self.base_url = check_base_url(base_url, "base_url")
        self.token_base_url = check_base_url(token_base_url, "token_base_url")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        self.timeout = check_timeout(timeout)
        self.read_retries = check_int(read_retries, "read_retries", low=0)
        self.retry_backoff = _check_backoff(retry_backoff)
        self.retry_random = random.Random()
        """Draws the read retries' jittered delays (seed it for repeatable delays)."""
        # A caller's session, bound to the loop it is first used on; else owned, one per loop.
        self._session = session
        self._session_loop = running_loop() if session is not None else None
        self._loop_sessions = LoopSessions()
        self.closed = False

    async def aclose(self) -> None:
        """Close the sessions made here (a caller's session stays open); idempotent."""
        if self.closed:
            return
        self.closed = True
        self._session = None
        await self._loop_sessions.aclose()

    # -- building requests -----------------------------------------------------------------

    def url(self, base: URL, path: str, query: str = "") -> URL:
        """``base`` + ``path`` (+ ``query``), its percent-encoded segments kept as they are."""
        text = str(base).rstrip("/") + path + (f"?{query}" if query else "")
        # Segments are already percent-encoded; keep yarl from decoding "%2F" back into "/".
        return URL(text, encoded=True)

    def headers(self, base: Mapping[str, str], bearer: str | None) -> dict[str, str]:
        """The app's headers, ``base`` and the bearer's ``Authorization`` (if any)."""
        headers = {"X-UTD-App-Id": self.app_id, "X-UTD-App-Key": self._app_key, **base}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    async def send(
        self,
        method: str,
        base: URL,
        path: str,
        *,
        token: str | None,
        body: Mapping[str, object] | None = None,
        query: str = "",
    ) -> tuple[int, bytes]:
        """Send a JSON request as ``token``'s bearer (or none); return status and body."""
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        kind = _POST_JSON_HEADERS if data is not None else _JSON_HEADERS
        url = self.url(base, path, query)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        response, raw = await self.exchange(method, url, self.headers(kind, token), data, timeout)
        return response.status, raw

    # -- the request core --------------------------------------------------------------------

    async def exchange(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        data: bytes | None,
        timeout: aiohttp.ClientTimeout,
        *,
        stream: bool = False,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """Send one request (retrying reads); return the response and its body.

        With ``stream`` a successful response is returned unread (empty body) and still open;
        otherwise the response is already released.
        """
        session = await self._get_session()
        attempts = 1 + (self.read_retries if method == "GET" else 0)
        for attempt in range(1, attempts + 1):
            try:
                return await self._attempt(session, method, url, headers, data, timeout, stream)
            except UTDStreamException as error:
                if not _is_retryable(error) or attempt == attempts:
                    raise
                delay = max(self.retry_delay(attempt - 1), error.retry_after or 0.0)
                _log.debug("retrying %s %s in %.2fs (attempt %d of %d)",
                           method, url, delay, attempt + 1, attempts)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def retry_delay(self, retry: int) -> float:
        """Seconds before read retry number ``retry`` (0-based): full jitter, uniform between 0
        and ``retry_backoff * 2**retry`` (at most 10 s, or ``retry_backoff`` if larger), so
        clients failing together do not retry together."""
        cap = max(_READ_BACKOFF_CAP, self.retry_backoff)
        return full_jitter(retry, self.retry_backoff, cap, self.retry_random)

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        data: bytes | None,
        timeout: aiohttp.ClientTimeout,
        stream: bool,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """One try: the response and body of a success, else its failure raised."""
        started = time.monotonic()
        try:
            response = await session.request(
                method, url, headers=headers, data=data, timeout=timeout, allow_redirects=False
            )
            keep_open = stream and response.status < 300
            try:
                body = b"" if keep_open else await response.read()
            finally:
                if not keep_open:
                    response.release()
        except TimeoutError as exc:
            _log.debug("%s %s failed: timeout", method, url)
            raise UTDStreamException(
                f"{method} {url.path} got no answer within {self.timeout:g}s",
                code=ErrorCode.TIMEOUT,
            ) from exc
        except aiohttp.ClientError as exc:
            _log.debug("%s %s failed: network", method, url)
            raise UTDStreamException(
                f"{method} {url.path} failed: {exc or type(exc).__name__}", code=ErrorCode.NETWORK
            ) from exc
        _log.debug(
            "%s %s -> %s (%s%.0f ms)", method, url, response.status,
            "stream, " if keep_open else "", (time.monotonic() - started) * 1e3,
        )
        if response.status < 300:
            return response, body
        raise _failure(method, url, response, body)

    async def _get_session(self) -> aiohttp.ClientSession:
        if self.closed:
            raise UTDStreamException("this UTDApiClient is closed", code=ErrorCode.CLOSED)
        if self._session is None:
            # One owned session per event loop: the client may outlive the loop that made it.
            return await self._loop_sessions.get()
        if self._session.closed:
            raise UTDStreamException(
                "the aiohttp session given to UTDApiClient is closed", code=ErrorCode.CLOSED
            )
        loop = asyncio.get_running_loop()
        if self._session_loop is None:
            self._session_loop = loop
        elif self._session_loop is not loop:
            raise UTDStreamException(
                "the aiohttp session given to UTDApiClient belongs to another event loop; "
                "give the client a session made on this loop",
                code=ErrorCode.WRONG_LOOP,
            )
        return self._session


def _failure(
    method: str, url: URL, response: aiohttp.ClientResponse, body: bytes
) -> UTDStreamException:
    """The error for a non-success answer: an unexpected redirect or the engine's error."""
    if response.status < 400:
        return UTDStreamException(
            f"{method} {url.path} answered with an unexpected redirect",
            status_code=response.status,
            code=ErrorCode.INVALID_RESPONSE,
        )
    return error_from_response(response.status, body, response.headers, response.reason)
