"""``UTDStreamClient``: publishable credentials, one HTTP pool, and the sessions built on them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from typing import TypeVar

import aiohttp
import reactivex
from reactivex.subject import Subject

from ._credentials import Credential, TokenProvider
from .api import UTDApiClient
from .errors import UTDStreamException
from .media import AudioSourceSpec, VideoSourceSpec
from .models import UTDCall, UTDSeatMode, UTDStreamType, UTDTokenResponse, UTDUserToken
from .sessions.audio_room import UTDAudioRoomSession, _seat_mode
from .sessions.base import UTDSession
from .sessions.call import UTDCallSession, _require_identity
from .sessions.live_stream import UTDLiveStreamSession
from .state.auth import AuthEvent, AuthStore, SignedOut, UTDAuthState
from .state.events import CallUpdated
from .state.reducers import ConnectionState
from .state.views import View

__all__ = ["UTDStreamClient"]

log = logging.getLogger(__name__)
S = TypeVar("S", UTDLiveStreamSession, UTDAudioRoomSession)

_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


class UTDStreamClient:
    """Entry point of the SDK: holds publishable credentials and produces sessions.

    One instance per signed-in user. It holds only the app id and app key (no LiveKit secret);
    every room token and every grant to publish comes from the engine. All sessions of a client
    share one HTTP connection pool.

    Args:
        app_id: Publishable app id.
        app_key: Publishable app key paired with ``app_id``.
        base_url: Engine REST base URL (default ``$UTD_STREAM_BASE_URL`` or the local engine).
        token_base_url: Token service base URL (default ``$UTD_STREAM_TOKEN_BASE_URL`` or
            ``base_url``).
        session: An ``aiohttp.ClientSession`` to use instead of an owned one (left open).
        timeout: Seconds an engine request may take.
        token_provider: ``async def provider(identity) -> str``: asks the app's own backend
            for a fresh identity token (a JWT it signs with the app secret) for ``identity``.
            The client calls it whenever it needs a bearer: to authenticate, to join a room,
            and to renew the bearer before it expires or when the engine says it has. Without
            it, the client asserts identities, which only an engine in dev mode accepts.
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
        token_provider: TokenProvider | None = None,
    ) -> None:
        if token_provider is not None and not callable(token_provider):
            raise TypeError("token_provider must be an async callable: identity -> token")
        self.api = UTDApiClient(
            app_id, app_key, base_url, token_base_url, session=session, timeout=timeout
        )
        self._token_provider = token_provider
        self._auth = AuthStore()
        # One renewable bearer per identity this client acts for (rooms may use several).
        self._credentials: dict[str, Credential] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._identity: str | None = None
        self._incoming = Subject[UTDCall]()
        self._events_task: asyncio.Task[None] | None = None
        # Every session, weakly: a session the app dropped after it left its room may go.
        self._sessions: weakref.WeakSet[UTDSession] = weakref.WeakSet()
        # Strongly, while a session's room is connecting or connected: a session the app
        # dropped without closing still holds a LiveKit room, and only aclose() can close it.
        self._in_room: set[UTDSession] = set()
        self._closed = False

    @property
    def identity(self) -> str | None:
        """The identity authenticated or last joined with, or ``None``."""
        return self._identity

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

        Filter on ``call.callee_identity == client.identity`` and a non-terminal status for
        calls to answer.
        """
        return self._incoming

    async def authenticate(
        self, identity: str, name: str | None = None, device_id: str | None = None
    ) -> str:
        """Get a bearer for ``identity`` and use it for privileged calls.

        With a ``token_provider`` the bearer is issued against the identity token it returns;
        the bearer is renewed before it expires. Required before starting or accepting calls.
        Also starts listening for incoming calls. Returns the ``user_token``.
        """
        _require_identity(identity, "identity")
        self._require_open()
        self._identity = identity
        credential = self._credential_for(identity, name, device_id, replace=True)
        token = await credential.renew(credential.token)
        self.api.use_credential(credential)
        self._keep_fresh()
        await self._restart_call_events()
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
        mint = functools.partial(
            self._mint, identity, room_name, UTDStreamType.LIVE_STREAM, as_host, name, device_id
        )
        minting = asyncio.ensure_future(mint())
        try:
            session = UTDLiveStreamSession(
                self.api,
                room_name,
                is_host=as_host,
                audio_source=audio_source,
                video_source=video_source,
            )
        finally:
            token = await minting
        session._api = self.api.with_credential(self._credentials[identity])
        session._token_source = mint
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
        mode = _seat_mode(seat_mode)
        if (seat_count is not None or mode is not None) and not as_host:
            raise ValueError("only the host may set seat_count or seat_mode")
        mint = functools.partial(
            self._mint, identity, room_name, UTDStreamType.AUDIO_ROOM, as_host, name, device_id
        )
        # Build the session (store, views) while the engine mints: it needs no token yet.
        minting = asyncio.ensure_future(mint())
        try:
            session = UTDAudioRoomSession(
                self.api, room_name, is_host=as_host, audio_source=audio_source
            )
        finally:
            token = await minting
        session._api = self.api.with_credential(self._credentials[identity])
        session._token_source = mint
        # The grid does not depend on the media connection: fetch (or set it up) meanwhile.
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

    async def aclose(self) -> None:
        """Close every session of this client, stop the incoming-call stream and the HTTP pool."""
        if self._closed:
            return
        self._closed = True
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await self._stop_call_events()
        for session in list(self._sessions):
            try:
                await session.aclose()
            except Exception:
                log.warning("closing %r failed", session, exc_info=True)
        self._incoming.on_completed()
        self._auth.dispatch(SignedOut())
        self._auth.dispose()
        await self.api.aclose()

    async def __aenter__(self) -> UTDStreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals -------------------------------------------------------------------------

    async def _mint(
        self,
        identity: str,
        room_name: str,
        type: UTDStreamType,
        as_host: bool,
        name: str | None,
        device_id: str | None,
    ) -> UTDTokenResponse:
        _require_identity(identity, "identity")
        _require_identity(room_name, "room_name")
        if not isinstance(as_host, bool):
            raise TypeError("as_host must be a bool")
        self._require_open()
        if self._identity is None:
            self._identity = identity
        token = await self.api.mint_room_token(
            identity, room_name, type,
            role="host" if as_host else "audience", name=name, device_id=device_id,
            identity_token=await self._identity_token(identity),
        )
        # Each room session acts with its identity's bearer (renewed as needed); a rejoin
        # mints again and so hands every session of that identity the fresh bearer.
        credential = self._credential_for(identity, name, device_id)
        credential.set(token.user_token, token.user_token_expires_at)
        self._keep_fresh()
        return token

    async def _identity_token(self, identity: str) -> str | None:
        """A fresh identity token from the app's backend, when the app gave a provider."""
        if self._token_provider is None:
            return None
        token = await self._token_provider(identity)
        if not isinstance(token, str) or not token:
            raise UTDStreamException(
                "the token provider must return an identity token (a non-empty str)",
                code="token_provider",
            )
        return token

    def _credential_for(
        self, identity: str, name: str | None, device_id: str | None, *, replace: bool = False
    ) -> Credential:
        credential = self._credentials.get(identity)
        if credential is None or replace:
            mint = functools.partial(self._mint_bearer, identity, name, device_id)
            # Only the client's own identity drives auth_state.
            on_event = self._on_auth_event if identity == self._identity else None
            credential = Credential(identity, mint, on_event)
            self._credentials[identity] = credential
        return credential

    async def _mint_bearer(
        self, identity: str, name: str | None, device_id: str | None
    ) -> UTDUserToken:
        return await self.api.mint_user_token(
            identity, name, device_id, identity_token=await self._identity_token(identity)
        )

    def _on_auth_event(self, event: AuthEvent) -> None:
        if not self._closed:
            self._auth.dispatch(event)

    def _keep_fresh(self) -> None:
        """Renew the client's own bearer ahead of its expiry, in the background."""
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        attempt = 0
        while not self._closed:
            credential = self._credentials.get(self._identity or "")
            if credential is None:
                return
            await asyncio.sleep(max(0.0, credential.renew_at() - time.time()))
            try:
                await credential.fresh()
                attempt = 0
            except UTDStreamException as exc:
                if exc.is_banned:
                    return
                # auth_state says failed; try again later (the provider or engine may recover).
                delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
                attempt += 1
                await asyncio.sleep(delay)

    def _own(self, session: UTDSession) -> None:
        self._sessions.add(session)
        session.room.store.connection_state.subscribe(
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
            await session._connect(token)
        except BaseException:
            await session.aclose()
            raise
        return session

    def _require_open(self) -> None:
        if self._closed:
            raise UTDStreamException("this client is closed", code="closed")

    async def _restart_call_events(self) -> None:
        await self._stop_call_events()
        attached = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._follow_call_events(attached))
        self._events_task = task
        # Return once calls ringing this user are sure to be seen, or the follower gave up
        # for now (it keeps retrying in the background).
        waiter = asyncio.ensure_future(attached.wait())
        try:
            await asyncio.wait(
                {waiter, task}, timeout=self.api.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if not attached.is_set():
            log.warning("the incoming-call stream is not attached yet; retrying in the background")

    async def _stop_call_events(self) -> None:
        task, self._events_task = self._events_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow_call_events(self, attached: asyncio.Event) -> None:
        attempt = 0
        while not self._closed:
            try:
                await self.api.fresh_user_token()
            except UTDStreamException as exc:
                log.info("incoming-call stream waits for a bearer: %s", exc)
                await asyncio.sleep(_RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)])
                attempt += 1
                continue
            stream = self.api.call_events()
            stream_token = self.api.user_token
            try:
                await stream.open()
                attempt = 0
                attached.set()
                # Calls that rang before the stream was open (or while it was down).
                for call in await self.api.list_calls(pending_only=True):
                    self._publish_call(call)
                async for call in stream:
                    self._publish_call(call)
            except asyncio.CancelledError:
                raise
            except UTDStreamException as exc:
                if exc.status_code == 401 and self.api.credential is not None:
                    # The bearer expired while the stream was down: renew, then reconnect.
                    log.info("incoming-call stream refused (%s); renewing the bearer", exc.code)
                    with contextlib.suppress(UTDStreamException):
                        await self.api.credential.renew(stream_token)
                elif exc.status_code in (401, 403):
                    log.warning("incoming-call stream refused: %s", exc)
                    return
                log.info("incoming-call stream interrupted: %s", exc)
            finally:
                await stream.aclose()
            delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
            attempt += 1
            await asyncio.sleep(delay)

    def _publish_call(self, call: UTDCall) -> None:
        for session in [s for s in self._sessions if isinstance(s, UTDCallSession)]:
            if session.call_id.value == call.call_id:
                session.room.store.dispatch(CallUpdated(call))
        self._incoming.on_next(call)
