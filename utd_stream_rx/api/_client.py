"""``UTDApiClient``: the REST client's lifecycle and identity; its endpoints are services."""

from __future__ import annotations

from typing import Final

import aiohttp

from .._closing import ClosesOnExit
from .._credentials import Credential
from .._settings import LOCAL_BASE_URL, client_settings
from .._validate import check_str
from ..models import UTDUserToken
from ._bearer import Bearer
from ._caller import Caller
from ._calls import CallsService
from ._rooms import RoomsService
from ._seats import SeatsService
from ._stage import StageService
from ._tokens import TokensService
from ._transport import Transport

__all__ = ["DEFAULT_BASE_URL", "UTDApiClient"]

DEFAULT_BASE_URL: Final[str] = LOCAL_BASE_URL
"""The local reference engine: the base URL when neither ``base_url`` nor
``$UTD_STREAM_BASE_URL`` is given (the variable is read when a client is made)."""


class UTDApiClient(ClosesOnExit):
    """Typed client for the engine's REST API (``docs/engine-contract.md``).

    The endpoints are grouped by service: ``tokens``, ``calls``, ``rooms``,
    ``stage`` and ``seats``. Each validates its arguments before any I/O, sends the
    app headers (and the user's bearer where the contract asks for it) and answers with the
    model from :mod:`utd_stream_rx.models`. Every failure surfaces as
    :class:`~utd_stream_rx.UTDStreamException` with the HTTP status, a machine-readable
    ``code`` and a message; programmer errors raise ``TypeError`` / ``ValueError``.

    One ``aiohttp.ClientSession`` per event loop serves every request; it is created lazily on
    first use inside that loop, closed when the loop ends (``asyncio.run`` returning) and by
    :meth:`aclose`, so one client may be used by one ``asyncio.run`` after another. A
    ``session`` passed by the caller is used instead, on the loop it is first used on (another
    loop gets code ``wrong_loop``), and stays the caller's to close.

    Every setting left out is read from the environment when the client is made (explicit
    arguments win; see ``docs/configuration.md``).

    Args:
        app_id: The app's public id, sent as ``X-UTD-App-Id`` on every request (default
            ``$UTD_STREAM_APP_ID``; ``ValueError`` when neither is given).
        app_key: The app's publishable key, sent as ``X-UTD-App-Key``; never logged (default
            ``$UTD_STREAM_APP_KEY``; ``ValueError`` when neither is given).
        base_url: The engine for calls, rooms, stage and seats (default
            ``$UTD_STREAM_BASE_URL``, else :data:`~utd_stream_rx.api.DEFAULT_BASE_URL`).
        token_base_url: Where tokens are minted (default ``$UTD_STREAM_TOKEN_BASE_URL``, else
            the base URL).
        session: A caller-owned session to send requests with (never closed here).
        timeout: Total seconds for one request, connection included.
        read_retries: How many times a failed ``GET`` is retried (network error, timeout,
            502/503/504). Writes are never retried.
        user_token: The engine bearer for privileged endpoints (see :meth:`authenticate`).
        retry_backoff: Ceiling, in seconds, of the first delay between read retries; it doubles
            each time (up to 10 s). Each delay is drawn at random below its ceiling (full
            jitter), so clients failing together do not retry together.
    """

    def __init__(
        self,
        app_id: str | None = None,
        app_key: str | None = None,
        base_url: str | None = None,
        token_base_url: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        read_retries: int = 2,
        user_token: str | None = None,
        retry_backoff: float = 0.2,
    ) -> None:
        settings = client_settings(app_id, app_key, base_url, token_base_url)
        transport = Transport(
            settings.app_id, settings.app_key, settings.base_url, settings.token_base_url,
            session=session, timeout=timeout, read_retries=read_retries,
            retry_backoff=retry_backoff,
        )
        self._bind(transport, Bearer(user_token), owns_transport=True)

    def _bind(self, transport: Transport, bearer: Bearer, *, owns_transport: bool) -> None:
        """Act as ``bearer`` over ``transport`` (closed with this client when it owns it)."""
        self._transport = transport
        self._bearer = bearer
        self._owns_transport = owns_transport
        self._caller = Caller(transport, bearer)
        self.tokens = TokensService(self._caller)
        """Mint bearers and room tokens."""
        self.calls = CallsService(self._caller)
        """The bearer's 1:1 calls and their event stream."""
        self.rooms = RoomsService(self._caller)
        """Any room's state."""
        self.stage = StageService(self._caller)
        """A live stream's stage."""
        self.seats = SeatsService(self._caller)
        """An audio room's seats."""

    @classmethod
    def _acting_as(cls, transport: Transport, bearer: Bearer) -> UTDApiClient:
        """A client on ``transport`` (not its owner) acting as ``bearer``."""
        client = cls.__new__(cls)
        client._bind(transport, bearer, owns_transport=False)
        return client

    def with_user_token(self, user_token: str) -> UTDApiClient:
        """A client acting as another user on the same connection pool.

        The new client shares this client's credentials, settings and HTTP session but
        carries its own bearer, so one app can hold sessions of several users at once. Closing
        it closes only its event streams; the pool belongs to this client.
        """
        return self._acting_as(self._transport, Bearer(check_str(user_token, "user_token")))

    def with_credential(self, credential: Credential) -> UTDApiClient:
        """Like :meth:`with_user_token`, acting as ``credential``'s identity and renewing its
        bearer as needed (the credential is shared by every client of that identity)."""
        return self._acting_as(self._transport, Bearer(credential=credential))

    # -- identity -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The engine URL used for calls, rooms, stage and seats."""
        return str(self._transport.base_url)

    @property
    def token_base_url(self) -> str:
        """The URL used to mint tokens."""
        return str(self._transport.token_base_url)

    @property
    def app_id(self) -> str:
        """The app id sent as ``X-UTD-App-Id``."""
        return self._transport.app_id

    @property
    def user_token(self) -> str | None:
        """The bearer for privileged endpoints, or ``None`` before :meth:`authenticate`."""
        return self._bearer.token

    @user_token.setter
    def user_token(self, value: str | None) -> None:
        self._bearer.set_user_token(value)

    @property
    def credential(self) -> Credential | None:
        """The renewable bearer this client acts with, if it has one."""
        return self._bearer.credential

    def use_credential(self, credential: Credential | None) -> None:
        """Act with ``credential`` (renewed as needed) from now on."""
        self._bearer.credential = credential

    async def fresh_user_token(self) -> str:
        """The bearer, renewed first when it is about to expire (a renewable one)."""
        return await self._bearer.fresh()

    async def authenticate(
        self,
        identity: str,
        name: str | None = None,
        device_id: str | None = None,
        *,
        identity_token: str | None = None,
    ) -> UTDUserToken:
        """Mint a user token for ``identity`` and use it as this client's bearer from now on."""
        minted = await self.tokens.mint_user_token(
            identity, name, device_id, identity_token=identity_token
        )
        self._bearer.set_user_token(minted.user_token)
        return minted

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        """Total seconds one request may take."""
        return self._transport.timeout

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` ran; later requests raise code ``closed``."""
        return self._caller.closed

    async def aclose(self) -> None:
        """Close open event streams and the session this client created (idempotent).

        A session passed in by the caller is left open; a client made by
        :meth:`with_user_token` / :meth:`with_credential` closes only its event streams.
        """
        if self._caller.closed:
            return
        await self._caller.aclose()
        if self._owns_transport:
            await self._transport.aclose()

    def __repr__(self) -> str:
        return (
            f"UTDApiClient(app_id={self.app_id!r}, base_url={self.base_url!r}, "
            f"authenticated={self._bearer.token is not None})"
        )
