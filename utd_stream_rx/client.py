"""``UTDStreamClient``: publishable credentials, one HTTP pool, and the sessions built on them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Callable
from typing import TypeVar

import aiohttp
import reactivex

from ._closing import ClosesOnExit
from ._credential_keeper import CredentialKeeper
from ._credentials import TokenProvider
from ._incoming_calls import CallFollower
from ._reprs import client_repr
from ._validate import check_bool, check_name, check_optional_seat_mode
from .api import UTDApiClient
from .error_codes import ErrorCode
from .errors import UTDStreamException
from .media import AudioSourceSpec, VideoSourceSpec
from .models import UTDCall, UTDSeatMode, UTDStreamType, UTDTokenResponse
from .sessions.audio_room import UTDAudioRoomSession
from .sessions.base import UTDSession
from .sessions.call import UTDCallSession
from .sessions.live_stream import UTDLiveStreamSession
from .state.auth import AuthEvent, AuthStore, SignedOut, UTDAuthState
from .state.events import CallUpdated
from .state.reducers import ConnectionState
from .state.view_specs import CONNECTION_STATE
from .state.views import View

__all__ = ["UTDStreamClient"]

log = logging.getLogger(__name__)
S = TypeVar("S", UTDLiveStreamSession, UTDAudioRoomSession)


class UTDStreamClient(ClosesOnExit):
    """Entry point of the SDK: holds publishable credentials and produces sessions.

    One instance per signed-in user. It holds only the app id and app key (no LiveKit secret);
    every room token and every grant to publish comes from the engine. All sessions of a client
    share one HTTP connection pool.

    Args:
        app_id: Publishable app id (default ``$UTD_STREAM_APP_ID``, read when the client is made).
        app_key: Publishable app key paired with ``app_id`` (default ``$UTD_STREAM_APP_KEY``).
        base_url: Engine REST base URL (default ``$UTD_STREAM_BASE_URL``, else the local engine).
        token_base_url: Token service base URL (default ``$UTD_STREAM_TOKEN_BASE_URL`` or
            ``base_url``).
        session: An ``aiohttp.ClientSession`` to use instead of an owned one (left open).
        timeout: Seconds an engine request may take.
        token_provider: ``async def provider(identity) -> str``: asks the app's own backend
            for a fresh identity token (a JWT it signs with the app secret) for ``identity``.
            The client calls it whenever it needs a bearer: to authenticate, to join a room,
            and to renew the bearer before it expires or when the engine says it has. Without
            it, the client asserts identities, which only an engine in dev mode accepts.
        reject_when_busy: Ask the engine to answer calls to this user ``busy`` at once while
            the user is in an active call (the caller's ``start()`` returns the call over,
            ``end_reason`` ``busy``; it never rings here). Sent with every bearer the client
            mints, so it is the user's preference on the engine from the first one on.
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
        token_provider: TokenProvider | None = None,
        reject_when_busy: bool = False,
    ) -> None:
        if token_provider is not None and not callable(token_provider):
            raise TypeError("token_provider must be an async callable: identity -> token")
        check_bool(reject_when_busy, "reject_when_busy")
        self.api = UTDApiClient(
            app_id, app_key, base_url, token_base_url, session=session, timeout=timeout
        )
        self._auth = AuthStore()
        # One renewable bearer per identity this client acts for (rooms may use several).
        self._keeper = CredentialKeeper(
            self.api, token_provider, self._on_auth_event, reject_when_busy=reject_when_busy
        )
        self._call_follower = CallFollower(self.api, self._to_call_sessions)
        # Every session, weakly: a session the app dropped after it left its room may go.
        self._sessions: weakref.WeakSet[UTDSession] = weakref.WeakSet()
        # Strongly, while a session's room is connecting or connected: a session the app
        # dropped without closing still holds a LiveKit room, and only aclose() can close it.
        self._in_room: set[UTDSession] = set()
        self._closed = False

    @property
    def identity(self) -> str | None:
        """The identity authenticated or last joined with, or ``None``."""
        return self._keeper.identity

    @property
    def auth_state(self) -> View[UTDAuthState]:
        """Whether the client can act for its user (the identity of :meth:`authenticate`, or
        of its first room): ``unauthenticated``, ``authenticated``, ``refreshing`` (a new
        bearer is on its way) or ``failed`` (the token provider or the engine refused: the
        app must sign the user in again)."""
        return self._auth.state

    @property
    def incoming_calls(self) -> reactivex.Observable[UTDCall]:
        """Every change of a call involving this user, pushed by the engine after
        :meth:`authenticate`: new calls ringing this identity arrive here without polling.

        Each ``(call_id, version)`` arrives once, and the versions of one call in order (an
        older version after a newer one is dropped). The engine's event stream is reconnected
        with backoff; after a reconnect the client asks the engine for every call changed
        meanwhile, so a call that ended while the stream was down arrives ended. A subscriber
        sees the changes made after it subscribed; one whose callback raises is logged and
        does not disturb the others.

        Filter on ``call.callee_identity == client.identity`` and a non-terminal status for
        calls to answer.
        """
        return self._call_follower.calls

    async def authenticate(
        self, identity: str, name: str | None = None, device_id: str | None = None
    ) -> str:
        """Get a bearer for ``identity`` and use it for privileged calls.

        With a ``token_provider`` the bearer is issued against the identity token it returns;
        the bearer is renewed before it expires. Required before starting or accepting calls.
        Also starts listening for incoming calls. Returns the ``user_token``.
        """
        check_name(identity, "identity")
        self._require_open()
        self._keeper.identity = identity
        credential = self._keeper.credential_for(identity, name, device_id, replace=True)
        token = await credential.renew(credential.token)
        self.api.use_credential(credential)
        self._keeper.keep_fresh()
        await self._call_follower.restart(identity)
        return token

    def call_session(
        self,
        type: UTDStreamType,
        *,
        audio_source: AudioSourceSpec | None = None,
        video_source: VideoSourceSpec | None = None,
    ) -> UTDCallSession:
        """A new 1:1 call session (``AUDIO_CALL`` or ``VIDEO_CALL``); authenticate first."""
        self._require_open()
        session = UTDCallSession(
            self.api, type, audio_source=audio_source, video_source=video_source
        )
        self._own(session)
        return session

    async def join_live_stream(
        self,
        identity: str,
        room_name: str,
        as_host: bool = False,
        name: str | None = None,
        device_id: str | None = None,
        *,
        audio_source: AudioSourceSpec | None = None,
        video_source: VideoSourceSpec | None = None,
    ) -> UTDLiveStreamSession:
        """Mint a room token, connect, and return a live-stream session.

        The host publishes with ``go_live()``; viewers watch and may ``request_stage()``.
        """
        build = functools.partial(
            UTDLiveStreamSession, room_name=room_name, is_host=as_host,
            audio_source=audio_source, video_source=video_source,
        )
        session, token = await self._build_while_minting(
            build, identity, room_name, UTDStreamType.LIVE_STREAM, as_host, name, device_id
        )
        return await self._enter(session, token)

    async def join_audio_room(
        self,
        identity: str,
        room_name: str,
        as_host: bool = False,
        name: str | None = None,
        device_id: str | None = None,
        seat_count: int | None = None,
        seat_mode: UTDSeatMode | str | None = None,
        *,
        audio_source: AudioSourceSpec | None = None,
    ) -> UTDAudioRoomSession:
        """Mint a room token, connect, and return a seat-based audio-room session.

        A host may seed the grid with ``seat_count`` / ``seat_mode``.
        """
        mode = check_optional_seat_mode(seat_mode)
        if (seat_count is not None or mode is not None) and not as_host:
            raise ValueError("only the host may set seat_count or seat_mode")
        build = functools.partial(
            UTDAudioRoomSession, room_name=room_name, is_host=as_host, audio_source=audio_source
        )
        session, token = await self._build_while_minting(
            build, identity, room_name, UTDStreamType.AUDIO_ROOM, as_host, name, device_id
        )
        # The grid does not depend on the media connection: fetch (or set it up) meanwhile.
        # Its task first runs once _enter() below has marked the room connecting, so the
        # session counts as in its room (room commands refuse otherwise: not_connected).
        if seat_count is not None or mode is not None:
            grid = asyncio.ensure_future(session.setup_seats(seat_count, mode))
        else:
            grid = asyncio.ensure_future(session.get_seats())
        try:
            session = await self._enter(session, token)
        except BaseException:
            grid.cancel()
            with contextlib.suppress(BaseException):
                await grid
            raise
        try:
            await grid
        except BaseException:
            await session.aclose()
            raise
        return session

    def __repr__(self) -> str:
        return client_repr(self.api.app_id, self.identity, self._closed, len(self._sessions))

    async def aclose(self) -> None:
        """Close every session of this client, stop the incoming-call stream and the HTTP pool."""
        if self._closed:
            return
        self._closed = True
        await self._keeper.aclose()
        await self._call_follower.aclose()
        for session in list(self._sessions):
            try:
                await session.aclose()
            except Exception:
                log.warning("closing %r failed", session, exc_info=True)
        self._call_follower.complete()
        self._auth.dispatch(SignedOut())
        self._auth.dispose()
        await self.api.aclose()

    # -- internals -------------------------------------------------------------------------

    async def _build_while_minting(
        self,
        build: Callable[..., S],
        identity: str,
        room_name: str,
        type: UTDStreamType,
        as_host: bool,
        name: str | None,
        device_id: str | None,
    ) -> tuple[S, UTDTokenResponse]:
        """The session ``build(api, token_source=...)`` makes, acting as ``identity``, and its
        first room token, minted meanwhile (the session's store and views need no token)."""
        check_name(identity, "identity")
        check_name(room_name, "room_name")
        check_bool(as_host, "as_host")
        self._require_open()
        if self._keeper.identity is None:
            self._keeper.identity = identity
        credential = self._keeper.credential_for(identity, name, device_id)
        mint = functools.partial(
            self._mint, identity, room_name, type, as_host, name, device_id
        )
        minting = asyncio.ensure_future(mint())
        try:
            session = build(self.api.with_credential(credential), token_source=mint)
        finally:
            token = await minting
        return session, token

    async def _mint(
        self,
        identity: str,
        room_name: str,
        type: UTDStreamType,
        as_host: bool,
        name: str | None,
        device_id: str | None,
    ) -> UTDTokenResponse:
        """A room token for ``identity`` (a join, or a session's rejoin)."""
        self._require_open()
        token = await self.api.tokens.mint_room_token(
            identity, room_name, type,
            role="host" if as_host else "audience", name=name, device_id=device_id,
            identity_token=await self._keeper.identity_token(identity),
            reject_when_busy=self._keeper.reject_when_busy,
        )
        # Each room session acts with its identity's bearer (renewed as needed); a rejoin
        # mints again and so hands every session of that identity the fresh bearer.
        credential = self._keeper.credential_for(identity, name, device_id)
        credential.set(token.user_token, token.user_token_expires_at)
        self._keeper.keep_fresh()
        return token

    def _on_auth_event(self, event: AuthEvent) -> None:
        if not self._closed:
            self._auth.dispatch(event)

    def _own(self, session: UTDSession) -> None:
        self._sessions.add(session)
        session.room.store.view(CONNECTION_STATE).subscribe(
            functools.partial(self._track_room, session)
        )

    def _track_room(self, session: UTDSession, state: ConnectionState) -> None:
        if state is ConnectionState.DISCONNECTED:
            self._in_room.discard(session)
        else:
            self._in_room.add(session)

    async def _enter(self, session: S, token: UTDTokenResponse) -> S:
        self._own(session)
        try:
            await session.enter_room(token)
        except BaseException:
            await session.aclose()
            raise
        return session

    def _require_open(self) -> None:
        if self._closed:
            raise UTDStreamException("this client is closed", code=ErrorCode.CLOSED)

    def _to_call_sessions(self, call: UTDCall) -> None:
        """Hand a delivered call change to the call sessions of that call."""
        for session in [s for s in self._sessions if isinstance(s, UTDCallSession)]:
            if session.call_id.value == call.call_id:
                session.room.store.dispatch(CallUpdated(call))
