"""Typed REST facade over the engine contract (``docs/engine-contract.md``).

:class:`UTDApiClient` turns every endpoint into one coroutine that validates its arguments before
any I/O, sends the app headers (and the user's bearer where the contract asks for it), and
answers with the model from :mod:`utd_stream_rx.models`. Every failure surfaces as
:class:`~utd_stream_rx.UTDStreamException` with the HTTP status, a machine-readable ``code``
and a message; programmer errors raise ``TypeError`` / ``ValueError``.

Reads (``GET``) are retried with a short exponential backoff on network errors, timeouts and
502/503/504; writes (``POST``) are never retried, because the engine may have applied them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import quote

import aiohttp
from yarl import URL

from ._checks import check_timeout
from ._credentials import Credential
from ._http import (
    RETRYABLE_STATUSES,
    decode_json,
    error_from_response,
    quote_segment,
)
from ._loop_sessions import LoopSessions
from ._sse import SSEDecoder, SSETooLarge
from .errors import UTDStreamException
from .models import (
    UTDCall,
    UTDRoomState,
    UTDSeatMode,
    UTDStreamType,
    UTDTokenResponse,
    UTDUserToken,
    structure,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TOKEN_BASE_URL",
    "UTDApiClient",
    "UTDCallEventStream",
]

T = TypeVar("T")

_log = logging.getLogger("utd_stream_rx.api")

DEFAULT_BASE_URL: Final[str] = os.environ.get("UTD_STREAM_BASE_URL") or "http://127.0.0.1:8787"
"""The engine's base URL: ``$UTD_STREAM_BASE_URL``, else the local reference engine."""

_TOKEN_BASE_URL_FROM_ENV: Final[str | None] = os.environ.get("UTD_STREAM_TOKEN_BASE_URL") or None

DEFAULT_TOKEN_BASE_URL: Final[str] = _TOKEN_BASE_URL_FROM_ENV or DEFAULT_BASE_URL
"""Where tokens are minted: ``$UTD_STREAM_TOKEN_BASE_URL``, else :data:`DEFAULT_BASE_URL`."""

_NAME_RE = re.compile(r"[A-Za-z0-9_.@:-]{1,128}")
_ROLES = ("host", "audience")
_MAX_SEATS = 64
# Longest Retry-After (seconds) a read waits out by itself before giving the error to the caller.
_MAX_RETRY_WAIT = 5.0
# The engine sends a keepalive every 15 s; a silent stream for this long is dead.
_EVENTS_READ_TIMEOUT = 60.0
_JSON_HEADERS = {"Accept": "application/json"}
_POST_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


# -- argument checks (raise before any I/O) ----------------------------------------------------


def _check_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


def _check_name(value: object, what: str) -> str:
    """Room names and identities: 1-128 characters of ``[A-Za-z0-9_.@:-]`` (the contract)."""
    text = _check_str(value, what)
    if not _NAME_RE.fullmatch(text):
        raise ValueError(
            f"{what} must be 1-128 characters of letters, digits and _ . @ : -, got {text!r}"
        )
    return text


def _check_optional_str(value: object, what: str) -> str | None:
    return None if value is None else _check_str(value, what)


def _check_int(value: object, what: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{what} must be {bound}, got {value}")
    return value


def _check_seat_index(value: object, what: str = "seat_index") -> int:
    return _check_int(value, what, low=0)


def _check_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def _check_stream_type(value: object) -> UTDStreamType:
    if isinstance(value, UTDStreamType):
        return value
    if isinstance(value, str):
        try:
            return UTDStreamType(value)
        except ValueError:
            names = ", ".join(t.value for t in UTDStreamType)
            raise ValueError(f"type must be one of {names}, got {value!r}") from None
    raise TypeError(f"type must be a UTDStreamType, not {type(value).__name__}")


def _check_seat_mode(value: object) -> UTDSeatMode:
    if isinstance(value, UTDSeatMode):
        return value
    if isinstance(value, str):
        try:
            return UTDSeatMode(value)
        except ValueError:
            names = ", ".join(m.value for m in UTDSeatMode)
            raise ValueError(f"seat_mode must be one of {names}, got {value!r}") from None
    raise TypeError(f"seat_mode must be a UTDSeatMode or str, not {type(value).__name__}")


def _check_base_url(value: object, what: str) -> URL:
    text = _check_str(value, what)
    try:
        url = URL(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not a URL: {text!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{what} must be an absolute http(s) URL, got {text!r}")
    if url.query_string or url.fragment:
        raise ValueError(f"{what} must not carry a query or fragment, got {text!r}")
    return url


def _check_since(value: object) -> float:
    """A point in time for ``list_calls(since=...)``: finite, non-negative Unix seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"since must be a number of Unix seconds, not {type(value).__name__}")
    try:
        since = float(value)
    except OverflowError:  # an int too large for a float
        since = math.inf
    if not math.isfinite(since) or since < 0:
        raise ValueError(f"since must be finite and >= 0, got {value!r}")
    return since


def _check_metadata(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"metadata must be a mapping, not {type(value).__name__}")
    data = dict(value)
    if not all(isinstance(key, str) for key in data):
        raise TypeError("metadata keys must be str")
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from exc
    return data


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # made outside a coroutine
        return None


def _body(**fields: object) -> dict[str, object]:
    """A request body without the optional fields left as ``None``."""
    return {key: value for key, value in fields.items() if value is not None}


class UTDApiClient:
    """Typed client for the engine's REST API.

    One ``aiohttp.ClientSession`` per event loop serves every request; it is created lazily on
    first use inside that loop, closed when the loop ends (``asyncio.run`` returning) and by
    :meth:`aclose`, so one client may be used by one ``asyncio.run`` after another. A
    ``session`` passed by the caller is used instead, on the loop it is first used on (another
    loop gets code ``wrong_loop``), and stays the caller's to close.

    Args:
        app_id: The app's public id, sent as ``X-UTD-App-Id`` on every request.
        app_key: The app's publishable key, sent as ``X-UTD-App-Key``; never logged.
        base_url: The engine for calls, rooms, stage and seats (default
            :data:`DEFAULT_BASE_URL`).
        token_base_url: Where tokens are minted. Defaults to ``$UTD_STREAM_TOKEN_BASE_URL`` when
            set, else to ``base_url``.
        session: A caller-owned session to send requests with (never closed here).
        timeout: Total seconds for one request, connection included.
        read_retries: How many times a failed ``GET`` is retried (network error, timeout,
            502/503/504). Writes are never retried.
        user_token: The engine bearer for privileged endpoints (see :meth:`authenticate`).
        retry_backoff: First delay, in seconds, between read retries; it doubles each time.
    """

    def __init__(
        self,
        app_id: str,
        app_key: str,
        base_url: str | None = None,
        token_base_url: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        read_retries: int = 2,
        user_token: str | None = None,
        retry_backoff: float = 0.2,
    ) -> None:
        self._app_id = _check_str(app_id, "app_id")
        self._app_key = _check_str(app_key, "app_key")
        resolved_base = DEFAULT_BASE_URL if base_url is None else base_url
        self._base_url = _check_base_url(resolved_base, "base_url")
        if token_base_url is None:
            token_base_url = _TOKEN_BASE_URL_FROM_ENV or resolved_base
        self._token_base_url = _check_base_url(token_base_url, "token_base_url")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        self._timeout = check_timeout(timeout)
        self._read_retries = _check_int(read_retries, "read_retries", low=0)
        if isinstance(retry_backoff, bool) or not isinstance(retry_backoff, int | float):
            raise TypeError("retry_backoff must be a number")
        if not 0 <= retry_backoff <= 60:
            raise ValueError(f"retry_backoff must be between 0 and 60 seconds, not {retry_backoff}")
        self._retry_backoff = float(retry_backoff)
        self._user_token = _check_optional_str(user_token, "user_token")
        # The identity's renewable bearer; when set it replaces ``_user_token``.
        self._credential: Credential | None = None
        # A caller's session, bound to the loop it is first used on; else owned, one per loop.
        self._session = session
        self._session_loop = _running_loop() if session is not None else None
        self._loop_sessions = LoopSessions()
        self._parent: UTDApiClient | None = None
        self._closed = False
        self._streams: weakref.WeakSet[UTDCallEventStream] = weakref.WeakSet()

    def with_user_token(self, user_token: str) -> UTDApiClient:
        """A client acting as another user on the same connection pool.

        The copy shares this client's credentials, settings and HTTP session but carries its
        own bearer, so one app can hold sessions of several users at once. Closing the copy
        closes only its event streams; the pool belongs to this client.
        """
        view = self._pool_view()
        view._user_token = _check_str(user_token, "user_token")
        return view

    def with_credential(self, credential: Credential) -> UTDApiClient:
        """Like :meth:`with_user_token`, acting as ``credential``'s identity and renewing its
        bearer as needed (the credential is shared by every view of that identity)."""
        view = self._pool_view()
        view._credential = credential
        return view

    def _pool_view(self) -> UTDApiClient:
        """A copy on this client's pool, acting as nobody yet."""
        view = object.__new__(UTDApiClient)
        view.__dict__.update(self.__dict__)
        view._user_token = None
        view._credential = None
        view._session = None
        view._parent = self._parent or self
        view._closed = False
        view._streams = weakref.WeakSet()
        return view

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The engine URL used for calls, rooms, stage and seats."""
        return str(self._base_url)

    @property
    def token_base_url(self) -> str:
        """The URL used to mint tokens."""
        return str(self._token_base_url)

    @property
    def app_id(self) -> str:
        """The app id sent as ``X-UTD-App-Id``."""
        return self._app_id

    @property
    def user_token(self) -> str | None:
        """The bearer for privileged endpoints, or ``None`` before :meth:`authenticate`."""
        if self._credential is not None:
            return self._credential.token
        return self._user_token

    @user_token.setter
    def user_token(self, value: str | None) -> None:
        self._user_token = _check_optional_str(value, "user_token")
        self._credential = None

    @property
    def credential(self) -> Credential | None:
        """The renewable bearer this client acts with, if it has one."""
        return self._credential

    def use_credential(self, credential: Credential | None) -> None:
        """Act with ``credential`` (renewed as needed) from now on."""
        self._credential = credential

    async def fresh_user_token(self) -> str:
        """The bearer, renewed first when it is about to expire (a renewable one)."""
        if self._credential is not None:
            return await self._credential.fresh()
        return self._bearer()

    @property
    def timeout(self) -> float:
        """Total seconds one request may take."""
        return self._timeout

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` ran; later requests raise code ``closed``."""
        return self._closed

    async def aclose(self) -> None:
        """Close open event streams and the session this client created (idempotent).

        A session passed in by the caller is left open.
        """
        if self._closed:
            return
        self._closed = True
        for stream in list(self._streams):
            await stream.aclose()
        self._session = None  # a caller's session stays open
        if self._parent is None:
            await self._loop_sessions.aclose()

    async def __aenter__(self) -> UTDApiClient:
        """Use the client as ``async with UTDApiClient(...) as api``; closed on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client (see :meth:`aclose`)."""
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"UTDApiClient(app_id={self._app_id!r}, base_url={str(self._base_url)!r}, "
            f"authenticated={self._user_token is not None})"
        )

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise UTDStreamException("this UTDApiClient is closed", code="closed")
        if self._parent is not None:
            return await self._parent._get_session()
        if self._session is None:
            # One owned session per event loop: the client may outlive the loop that made it.
            return await self._loop_sessions.get()
        if self._session.closed:
            raise UTDStreamException(
                "the aiohttp session given to UTDApiClient is closed", code="closed"
            )
        loop = asyncio.get_running_loop()
        if self._session_loop is None:
            self._session_loop = loop
        elif self._session_loop is not loop:
            raise UTDStreamException(
                "the aiohttp session given to UTDApiClient belongs to another event loop; "
                "give the client a session made on this loop",
                code="wrong_loop",
            )
        return self._session

    # -- request core ---------------------------------------------------------------------

    def _url(self, base: URL, path: str, query: str = "") -> URL:
        text = str(base).rstrip("/") + path + (f"?{query}" if query else "")
        # Segments are already percent-encoded; keep yarl from decoding "%2F" back into "/".
        return URL(text, encoded=True)

    def _bearer(self) -> str:
        if self._credential is not None and self._credential.token is not None:
            return self._credential.token
        if self._user_token is None:
            raise UTDStreamException(
                "No user token: call authenticate() (or set user_token) first",
                code="unauthenticated",
            )
        return self._user_token

    def _headers(self, base: Mapping[str, str], bearer: str | None) -> dict[str, str]:
        headers = {"X-UTD-App-Id": self._app_id, "X-UTD-App-Key": self._app_key, **base}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    async def _exchange(
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
        attempts = 1 + (self._read_retries if method == "GET" else 0)
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            error: UTDStreamException
            cause: BaseException | None = None
            try:
                response = await session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    timeout=timeout,
                    allow_redirects=False,
                )
                try:
                    if stream and response.status < 300:
                        _log.debug(
                            "%s %s -> %s (stream, %.0f ms)",
                            method, url, response.status, (time.monotonic() - started) * 1e3,
                        )
                        return response, b""
                    body = await response.read()
                finally:
                    if not (stream and response.status < 300):
                        response.release()
            except TimeoutError as exc:
                cause = exc
                error = UTDStreamException(
                    f"{method} {url.path} got no answer within {self._timeout:g}s",
                    code="timeout",
                )
            except aiohttp.ClientError as exc:
                cause = exc
                error = UTDStreamException(
                    f"{method} {url.path} failed: {exc or type(exc).__name__}", code="network"
                )
            else:
                status = response.status
                _log.debug(
                    "%s %s -> %s (%.0f ms)",
                    method, url, status, (time.monotonic() - started) * 1e3,
                )
                if status < 300:
                    return response, body
                if status < 400:
                    error = UTDStreamException(
                        f"{method} {url.path} answered with an unexpected redirect",
                        status_code=status,
                        code="invalid_response",
                    )
                else:
                    error = error_from_response(status, body, response.headers, response.reason)
            if cause is not None:
                _log.debug("%s %s failed: %s", method, url, error.code)
            retryable = error.code in ("network", "timeout") or (
                error.status_code in RETRYABLE_STATUSES
            )
            delay = self._retry_backoff * 2 ** (attempt - 1)
            if error.retry_after is not None:
                if error.retry_after > _MAX_RETRY_WAIT:
                    retryable = False
                delay = max(delay, error.retry_after)
            if not retryable or attempt == attempts:
                raise error from cause
            _log.debug("retrying %s %s in %.2fs (attempt %d of %d)",
                       method, url, delay, attempt + 1, attempts)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self,
        method: str,
        base: URL,
        path: str,
        *,
        bearer: bool,
        body: Mapping[str, object] | None = None,
        query: str = "",
    ) -> tuple[int, bytes]:
        token = await self.fresh_user_token() if bearer else None
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        kind = _POST_JSON_HEADERS if data is not None else _JSON_HEADERS
        url = self._url(base, path, query)
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            response, raw = await self._exchange(
                method, url, self._headers(kind, token), data, timeout
            )
        except UTDStreamException as exc:
            credential = self._credential
            if credential is None or token is None or not _is_expired_bearer(exc):
                raise
            # The engine says the bearer expired (a clock apart, a suspended laptop): renew
            # it and send the command once more. A refused command was not applied.
            token = await credential.renew(token)
            response, raw = await self._exchange(
                method, url, self._headers(kind, token), data, timeout
            )
        return response.status, raw

    async def _model(
        self,
        method: str,
        base: URL,
        path: str,
        cls: type[T],
        *,
        bearer: bool = True,
        body: Mapping[str, object] | None = None,
    ) -> T:
        status, raw = await self._send(method, base, path, bearer=bearer, body=body)
        return _structure(decode_json(status, raw, cls.__name__), cls, status)

    async def _room(
        self, method: str, path: str, body: Mapping[str, object] | None = None
    ) -> UTDRoomState:
        return await self._model(method, self._base_url, path, UTDRoomState, body=body)

    # -- tokens ---------------------------------------------------------------------------

    async def mint_user_token(
        self,
        identity: str,
        name: str | None = None,
        device_id: str | None = None,
        *,
        identity_token: str | None = None,
    ) -> UTDUserToken:
        """Mint a room-less bearer for ``identity`` (``POST /api/v1/auth/user-token``).

        ``identity_token`` is the proof of identity the app's backend signed; an engine in
        production mode requires it (only its dev mode takes ``identity`` at its word).
        The client's :attr:`user_token` is not changed; :meth:`authenticate` does that.
        """
        body = _body(
            identity=_check_name(identity, "identity"),
            identity_token=_check_optional_str(identity_token, "identity_token"),
            name=_check_optional_str(name, "name"),
            device_id=_check_optional_str(device_id, "device_id"),
        )
        return await self._model(
            "POST", self._token_base_url, "/api/v1/auth/user-token", UTDUserToken,
            bearer=False, body=body,
        )

    async def authenticate(
        self,
        identity: str,
        name: str | None = None,
        device_id: str | None = None,
        *,
        identity_token: str | None = None,
    ) -> UTDUserToken:
        """Mint a user token for ``identity`` and use it as this client's bearer from now on."""
        minted = await self.mint_user_token(
            identity, name, device_id, identity_token=identity_token
        )
        self._user_token = minted.user_token
        self._credential = None
        return minted

    async def mint_room_token(
        self,
        identity: str,
        room_name: str,
        type: UTDStreamType,
        *,
        role: str = "audience",
        name: str | None = None,
        device_id: str | None = None,
        identity_token: str | None = None,
    ) -> UTDTokenResponse:
        """Mint a LiveKit token to join ``room_name`` as ``role`` (``POST /api/v1/token``).

        ``role`` is ``"audience"`` (default) or ``"host"``; the first host of a room owns it.
        ``identity_token`` proves the identity (required by an engine in production mode).
        ``type`` is ``LIVE_STREAM`` or ``AUDIO_ROOM``: a call's token comes from
        :meth:`create_call` (caller) and :meth:`call_accept` (callee).
        """
        if not isinstance(role, str):
            raise TypeError(f"role must be a str, not {_type_name(role)}")
        if role not in _ROLES:
            raise ValueError(f"role must be one of {', '.join(_ROLES)}, got {role!r}")
        stream_type = _check_stream_type(type)
        if stream_type.is_call:
            raise ValueError(
                f"{stream_type.value} rooms get their token from create_call / call_accept"
            )
        body = _body(
            identity=_check_name(identity, "identity"),
            room_name=_check_name(room_name, "room_name"),
            type=stream_type.value,
            role=role,
            name=_check_optional_str(name, "name"),
            device_id=_check_optional_str(device_id, "device_id"),
            identity_token=_check_optional_str(identity_token, "identity_token"),
        )
        return await self._model(
            "POST", self._token_base_url, "/api/v1/token", UTDTokenResponse,
            bearer=False, body=body,
        )

    # -- calls ----------------------------------------------------------------------------

    async def create_call(
        self,
        callee_identity: str,
        type: UTDStreamType,
        *,
        callee_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> UTDCall:
        """Ring ``callee_identity``; the answer carries the caller's room ``token`` and ``url``.

        ``type`` must be a call type (``AUDIO_CALL`` or ``VIDEO_CALL``).
        """
        stream_type = _check_stream_type(type)
        if not stream_type.is_call:
            raise ValueError(f"type must be a call type (audio_call or video_call), "
                             f"got {stream_type.value}")
        body = _body(
            callee_identity=_check_name(callee_identity, "callee_identity"),
            callee_name=_check_optional_str(callee_name, "callee_name"),
            type=stream_type.value,
            metadata=_check_metadata(metadata),
        )
        return await self._model("POST", self._base_url, "/api/v1/calls", UTDCall, body=body)

    async def get_call(self, call_id: str) -> UTDCall:
        """The call ``call_id`` as the engine sees it now (caller or callee only)."""
        path = f"/api/v1/calls/{quote_segment(_check_str(call_id, 'call_id'))}"
        return await self._model("GET", self._base_url, path, UTDCall)

    async def list_calls(
        self, *, pending_only: bool | None = None, since: float | None = None
    ) -> list[UTDCall]:
        """Calls where the bearer is caller or callee (``GET /api/v1/calls``).

        Without ``since``: the calls still ringing (or all of them with ``pending_only=False``),
        newest first. With ``since``: the calls whose engine-side ``updated_at`` is at or after
        ``since``, ended ones included (unless ``pending_only=True``), oldest change first and
        at most 100 (the contract's bound); for more, ask again from the last call's
        ``updated_at``. This is how to learn what changed while the event stream was down.

        Args:
            pending_only: Only calls still initiating or ringing. Default: ``True`` without
                ``since``, ``False`` with it.
            since: Unix seconds of the engine's clock (e.g. an earlier call's ``updated_at``).

        Raises:
            TypeError: ``pending_only`` is not a bool or ``since`` not a number.
            ValueError: ``since`` is negative, NaN or infinite.
        """
        if pending_only is not None:
            _check_bool(pending_only, "pending_only")
        checked = None if since is None else _check_since(since)
        pending = pending_only if pending_only is not None else checked is None
        query = "status=pending" if pending else "status=all"
        if checked is not None:
            # repr() round-trips the float exactly; "1e+16" needs its "+" escaped.
            query += f"&since={quote(repr(checked), safe='')}"
        status, raw = await self._send(
            "GET", self._base_url, "/api/v1/calls", bearer=True, query=query
        )
        data = decode_json(status, raw, "a call list")
        calls = data.get("calls") if isinstance(data, dict) else None
        if not isinstance(calls, list):
            raise UTDStreamException(
                "The engine sent an invalid call list: calls: expected a list",
                status_code=status,
                code="invalid_response",
            )
        result = []
        for index, item in enumerate(calls):
            try:
                result.append(structure(item, UTDCall))
            except UTDStreamException as exc:
                raise UTDStreamException(
                    f"calls[{index}]: {exc.message}", status_code=status, code=exc.code
                ) from exc
        return result

    async def _call_action(self, call_id: str, action: str) -> UTDCall:
        path = f"/api/v1/calls/{quote_segment(_check_str(call_id, 'call_id'))}/{action}"
        return await self._model("POST", self._base_url, path, UTDCall)

    async def call_ringing(self, call_id: str) -> UTDCall:
        """Callee: report that the call is ringing on this device (``initiating -> ringing``)."""
        return await self._call_action(call_id, "ringing")

    async def call_accept(self, call_id: str) -> UTDCall:
        """Callee: accept; the answer carries the callee's room ``token`` and ``url``."""
        return await self._call_action(call_id, "accept")

    async def call_rejoin(self, call_id: str) -> UTDCall:
        """A party of a live call: a fresh ``token`` for its room (a lost connection, a
        reload, a second device). The callee may rejoin only an active call."""
        return await self._call_action(call_id, "rejoin")

    async def call_reject(self, call_id: str) -> UTDCall:
        """Callee: decline the call (``rejected``)."""
        return await self._call_action(call_id, "reject")

    async def call_busy(self, call_id: str) -> UTDCall:
        """Callee: decline because already in another call (``busy``)."""
        return await self._call_action(call_id, "busy")

    async def call_end(self, call_id: str) -> UTDCall:
        """Caller or callee: hang up (``ended``); a call already over is returned as it is."""
        return await self._call_action(call_id, "end")

    def call_events(self) -> UTDCallEventStream:
        """Stream of :class:`UTDCall` changes for the bearer (``GET /api/v1/calls/events``).

        The bearer is the :attr:`user_token` at the time of this call; nothing is sent until
        the first ``__anext__``. The stream ends when the engine closes it, and is closed when
        the caller stops iterating: explicitly with ``aclose()`` or an ``async with`` block, or
        as soon as the abandoned iterator is garbage-collected::

            async with api.call_events() as events:
                async for call in events:
                    ...

        Raises:
            UTDStreamException: ``unauthenticated`` right away without a user token; any HTTP
                or network failure while opening or reading the stream.
        """
        stream = UTDCallEventStream(self, self._bearer())
        self._streams.add(stream)
        return stream

    async def _open_events(self, token: str) -> aiohttp.ClientResponse:
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self._timeout,
            sock_connect=self._timeout,
            sock_read=max(_EVENTS_READ_TIMEOUT, self._timeout),
        )
        url = self._url(self._base_url, "/api/v1/calls/events")
        headers = self._headers({"Accept": "text/event-stream", "Cache-Control": "no-cache"}, token)
        response, _ = await self._exchange("GET", url, headers, None, timeout, stream=True)
        if response.content_type != "text/event-stream":
            status, content_type = response.status, response.content_type
            response.close()
            raise UTDStreamException(
                f"The engine answered the call event stream with {content_type!r} "
                "instead of text/event-stream",
                status_code=status,
                code="invalid_response",
            )
        return response

    # -- rooms and live stage -------------------------------------------------------------

    async def get_room(self, room_name: str) -> UTDRoomState:
        """The engine's state of ``room_name`` (any room type)."""
        return await self._room("GET", f"/api/v1/rooms/{_room_segment(room_name)}")

    async def get_stage(self, room_name: str) -> UTDRoomState:
        """The live stream's state, with its stage and stage requests."""
        return await self._room("GET", f"/api/v1/live/{_room_segment(room_name)}/stage")

    async def stage_invite(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: put ``identity`` on stage and let them publish camera and microphone."""
        path = f"/api/v1/live/{_room_segment(room_name)}/stage/invite"
        return await self._room("POST", path, {"identity": _check_name(identity, "identity")})

    async def stage_remove(self, room_name: str, identity: str) -> UTDRoomState:
        """Host: take ``identity`` off stage and revoke their publishing."""
        path = f"/api/v1/live/{_room_segment(room_name)}/stage/remove"
        return await self._room("POST", path, {"identity": _check_name(identity, "identity")})

    async def stage_request(self, room_name: str) -> UTDRoomState:
        """Viewer: raise a hand to be invited on stage (idempotent)."""
        room = _room_segment(room_name)
        return await self._room("POST", f"/api/v1/live/{room}/stage/request", {})

    async def stage_leave(self, room_name: str) -> UTDRoomState:
        """Co-publisher: step off the stage."""
        room = _room_segment(room_name)
        return await self._room("POST", f"/api/v1/live/{room}/stage/leave", {})

    # -- audio room seats -----------------------------------------------------------------

    async def seats_setup(
        self,
        room_name: str,
        *,
        seat_count: int | None = None,
        seat_mode: UTDSeatMode | str | None = None,
        mode_id: str | None = None,
    ) -> UTDRoomState:
        """Host: size the seat grid (1-64 seats) and choose ``free`` or ``request`` mode.

        Omitted settings keep the engine's current value or default (8 seats, ``free``).
        """
        room = _room_segment(room_name)
        body = _body(
            seat_count=None if seat_count is None
            else _check_int(seat_count, "seat_count", low=1, high=_MAX_SEATS),
            seat_mode=None if seat_mode is None else _check_seat_mode(seat_mode).value,
            mode_id=_check_optional_str(mode_id, "mode_id"),
        )
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/setup", body)

    async def get_seats(self, room_name: str) -> UTDRoomState:
        """The audio room's state with its seat grid."""
        return await self._room("GET", f"/api/v1/audio-rooms/{_room_segment(room_name)}/seats")

    async def seat_take(self, room_name: str, seat_index: int) -> UTDRoomState:
        """Sit on ``seat_index`` (free mode, or with an approval or invitation)."""
        room = _room_segment(room_name)
        body = {"seat_index": _check_seat_index(seat_index)}
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/take", body)

    async def seat_leave(self, room_name: str) -> UTDRoomState:
        """Leave the seat the bearer holds."""
        room = _room_segment(room_name)
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/leave", {})

    async def seat_request(self, room_name: str, seat_index: int | None = None) -> UTDRoomState:
        """Ask the host for a seat (``seat_index`` or any); idempotent per identity."""
        room = _room_segment(room_name)
        body = _body(seat_index=None if seat_index is None else _check_seat_index(seat_index))
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/request", body)

    async def list_speak_requests(self, room_name: str) -> UTDRoomState:
        """Host: the room state whose ``speak_requests`` lists pending requests."""
        room = _room_segment(room_name)
        return await self._room("GET", f"/api/v1/audio-rooms/{room}/seats/requests")

    async def approve_speak_request(
        self, room_name: str, request_id: int, seat_index: int | None = None
    ) -> UTDRoomState:
        """Host: seat the requester (requested seat, else ``seat_index``, else the first free)."""
        room = _room_segment(room_name)
        request = _check_int(request_id, "request_id", low=0)
        body = _body(seat_index=None if seat_index is None else _check_seat_index(seat_index))
        path = f"/api/v1/audio-rooms/{room}/seats/requests/{request}/approve"
        return await self._room("POST", path, body)

    async def seat_invite(
        self, room_name: str, identity: str, seat_index: int | None = None
    ) -> UTDRoomState:
        """Host: invite ``identity`` to ``seat_index`` or any seat; they accept or decline."""
        room = _room_segment(room_name)
        body = _body(
            identity=_check_name(identity, "identity"),
            seat_index=None if seat_index is None else _check_seat_index(seat_index),
        )
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/invite", body)

    async def accept_invitation(self, room_name: str) -> UTDRoomState:
        """Invitee: take the seat the host invited you to; the engine picks it from its record."""
        room = _room_segment(room_name)
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/invitation/accept", {})

    async def decline_invitation(self, room_name: str) -> UTDRoomState:
        """Invitee: decline the host's seat invitation."""
        room = _room_segment(room_name)
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/invitation/decline", {})

    async def seat_lock(self, room_name: str, index: int, locked: bool = True) -> UTDRoomState:
        """Host: lock (or unlock) seat ``index``; a holder stays, new takers are refused."""
        room = _room_segment(room_name)
        seat = _check_seat_index(index, "index")
        body = {"locked": _check_bool(locked, "locked")}
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/{seat}/lock", body)

    async def seat_mute(self, room_name: str, index: int, muted: bool = True) -> UTDRoomState:
        """Host: mute (or unmute) the microphone of seat ``index``'s holder."""
        room = _room_segment(room_name)
        seat = _check_seat_index(index, "index")
        body = {"muted": _check_bool(muted, "muted")}
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/{seat}/mute", body)

    async def seat_kick(self, room_name: str, index: int) -> UTDRoomState:
        """Host: free seat ``index`` and revoke its holder's publishing."""
        room = _room_segment(room_name)
        seat = _check_seat_index(index, "index")
        return await self._room("POST", f"/api/v1/audio-rooms/{room}/seats/{seat}/kick", {})


def _is_expired_bearer(exc: UTDStreamException) -> bool:
    return exc.status_code == 401 and exc.code == "token_expired"


def _type_name(value: object) -> str:
    """The type name of ``value``, for error messages."""
    return type(value).__name__


def _room_segment(room_name: object) -> str:
    return quote_segment(_check_name(room_name, "room_name"))


def _structure(data: object, cls: type[T], status: int) -> T:
    try:
        return structure(data, cls)
    except UTDStreamException as exc:
        # Same message and code, plus the status the malformed body came with.
        raise UTDStreamException(exc.message, status_code=status, code=exc.code) from exc


class UTDCallEventStream(AsyncIterator[UTDCall]):
    """The bearer's call events: an async iterator of :class:`UTDCall`, and a context manager.

    Created by :meth:`UTDApiClient.call_events`. The request is sent on the first
    ``__anext__``; comments and keepalives are skipped, events other than ``call`` ignored.
    Iteration ends when the engine closes the stream or after :meth:`aclose`.
    """

    def __init__(self, client: UTDApiClient, token: str) -> None:
        self._client = client
        self._token = token
        self._response: aiohttp.ClientResponse | None = None
        self._decoder = SSEDecoder()
        self._ready: list[UTDCall] = []
        # A bad event is reported only after the good ones that came before it.
        self._failure: UTDStreamException | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once the stream ended, failed or was closed; iteration then stops."""
        return self._closed

    async def open(self) -> None:
        """Send the request now and return once the engine accepted the stream.

        Optional: iteration opens the stream by itself. Events from this point on are
        delivered, so a caller can catch up on earlier calls with
        :meth:`UTDApiClient.list_calls` without missing any in between.
        """
        if self._response is None and not self._closed:
            try:
                self._response = await self._client._open_events(self._token)
            except BaseException:
                self._close_now()
                raise
            if self._closed:
                self._close_now()

    def __aiter__(self) -> UTDCallEventStream:
        """The stream is its own iterator."""
        return self

    async def __anext__(self) -> UTDCall:
        """The next call event; ``StopAsyncIteration`` when the stream is over."""
        while not self._ready:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                self._close_now()
                raise failure
            if self._closed:
                raise StopAsyncIteration
            try:
                await self._fill()
            except BaseException:
                self._close_now()
                raise
        return self._ready.pop(0)

    async def _fill(self) -> None:
        if self._response is None:
            self._response = await self._client._open_events(self._token)
            if self._closed:  # aclose() ran while connecting
                self._close_now()
                return
        response = self._response
        try:
            chunk = await response.content.readany()
        except TimeoutError as exc:
            if self._closed:  # aclose() from another task cut the read short: a clean end
                return
            raise UTDStreamException(
                "The call event stream went silent (no keepalive)", code="timeout"
            ) from exc
        except aiohttp.ClientError as exc:
            if self._closed:
                return
            raise UTDStreamException(
                f"The call event stream broke: {exc or type(exc).__name__}", code="network"
            ) from exc
        if self._closed:
            return
        if not chunk:
            _log.debug("call event stream ended by the engine")
            self._close_now()
            return
        try:
            events = self._decoder.feed(chunk)
        except SSETooLarge as exc:
            # Events completed earlier in this chunk are lost with the rest of it: the stream
            # is unusable anyway once it sends an event past the limit.
            raise UTDStreamException(
                f"The engine sent an oversized call event: {exc}",
                status_code=response.status,
                code="invalid_response",
            ) from exc
        for event in events:
            if event.event != "call":
                continue
            try:
                data = decode_json(response.status, event.data.encode(), "a call event")
                self._ready.append(_structure(data, UTDCall, response.status))
            except UTDStreamException as exc:
                self._failure = exc
                return

    def _close_now(self) -> None:
        self._closed = True
        response, self._response = self._response, None
        if response is not None:
            response.close()

    async def aclose(self) -> None:
        """Stop the stream and close its connection (idempotent)."""
        self._close_now()
        self._ready.clear()

    async def __aenter__(self) -> UTDCallEventStream:
        """``async with api.call_events() as events``: closed when the block exits."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the stream (see :meth:`aclose`)."""
        await self.aclose()

    def __del__(self) -> None:
        # A caller that breaks out of ``async for`` drops the last reference here; close the
        # connection now rather than leaving it to the pool's eventual cleanup.
        response = getattr(self, "_response", None)
        if response is not None and not response.closed:
            # Interpreter shutdown or a loop that is already gone: nothing left to close.
            with contextlib.suppress(Exception):
                response.close()
