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
import attrs
import reactivex
from reactivex import abc
from reactivex.subject import Subject

from ._call_ledger import CallLedger
from ._credentials import Credential, TokenProvider
from .api import UTDApiClient
from .errors import UTDStreamException
from .media import AudioSourceSpec, VideoSourceSpec
from .models import (
    UTDCall,
    UTDCallStatus,
    UTDSeatMode,
    UTDStreamType,
    UTDTokenResponse,
    UTDUserToken,
)
from .sessions.audio_room import UTDAudioRoomSession, _seat_mode
from .sessions.base import UTDSession
from .sessions.call import UTDCallSession, _require_identity
from .sessions.live_stream import UTDLiveStreamSession
from .state.auth import AuthEvent, AuthStore, SignedOut, UTDAuthState
from .state.events import CallUpdated
from .state.reducers import ConnectionState
from .state.view_specs import CONNECTION_STATE
from .state.views import View, guarded_observer

__all__ = ["UTDStreamClient"]

log = logging.getLogger(__name__)
S = TypeVar("S", UTDLiveStreamSession, UTDAudioRoomSession)

_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


def _backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) of a background loop."""
    return _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]


def _stopped_elsewhere(task: asyncio.Task[None]) -> bool:
    """Stop ``task`` if it runs on another event loop than this one; whether it did.

    A client used by one ``asyncio.run`` after another finds its background tasks on the
    previous loop: cancelled by ``asyncio.run`` already, or told to stop on their own loop
    (touching them from here would raise a bare ``RuntimeError``).
    """
    owner = task.get_loop()
    if owner is asyncio.get_running_loop():
        return False
    if not task.done() and not owner.is_closed():
        owner.call_soon_threadsafe(task.cancel)
    return True


# The contract's bound on one ``GET /calls?since=`` answer: a full page means there may be more.
_CALLS_PAGE = 100
# A catch-up reads at most this many pages (the rest comes with the next reconnect).
_MAX_CATCH_UP_PAGES = 50


class _IncomingCalls(reactivex.Observable[UTDCall]):
    """The client's incoming calls as a plain observable whose subscribers cannot raise
    into the follower: a failing one is logged (:func:`guarded_observer`), the others go on."""

    def __init__(self, subject: Subject[UTDCall]) -> None:
        super().__init__()
        self._subject = subject

    def _subscribe_core(
        self,
        observer: abc.ObserverBase[UTDCall],
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        return self._subject.subscribe(observer, scheduler=scheduler)

    def subscribe(
        self,
        on_next: abc.ObserverBase[UTDCall] | abc.OnNext[UTDCall] | None = None,
        on_error: abc.OnError | None = None,
        on_completed: abc.OnCompleted | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        """Observe the calls from now on; an exception in a callback is logged, not raised."""
        return super().subscribe(
            guarded_observer(on_next, on_error, on_completed), scheduler=scheduler
        )


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
        self._incoming_calls = _IncomingCalls(self._incoming)
        # The last version delivered of each call: each (call, version) goes out once, in order.
        self._calls = CallLedger()
        self._calls_identity: str | None = None
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

        Each ``(call_id, version)`` arrives once, and the versions of one call in order (an
        older version after a newer one is dropped). The engine's event stream is reconnected
        with backoff; after a reconnect the client asks the engine for every call changed
        meanwhile, so a call that ended while the stream was down arrives ended. A subscriber
        sees the changes made after it subscribed; one whose callback raises is logged and
        does not disturb the others.

        Filter on ``call.callee_identity == client.identity`` and a non-terminal status for
        calls to answer.
        """
        return self._incoming_calls

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

    async def aclose(self) -> None:
        """Close every session of this client, stop the incoming-call stream and the HTTP pool."""
        if self._closed:
            return
        self._closed = True
        renewer, self._renewer = self._renewer, None
        if renewer is not None and not _stopped_elsewhere(renewer):
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
        renewer = self._renewer
        if renewer is None or renewer.done() or _stopped_elsewhere(renewer):
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
                # auth_state tells the app (failed on a refusal, refreshing while the engine
                # is out of reach); try again later, either may recover.
                delay = _backoff(attempt)
                attempt += 1
                await asyncio.sleep(delay)

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
        if self._identity != self._calls_identity:
            # Another user's calls: nothing delivered so far says anything about theirs.
            self._calls = CallLedger()
            self._calls_identity = self._identity
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
        if task is not None and not _stopped_elsewhere(task):
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                # Closing must go on (sessions, pool) whatever ended the follower.
                log.exception("the incoming-call follower had failed")

    async def _follow_call_events(self, attached: asyncio.Event) -> None:
        attempt = 0
        while not self._closed:
            try:
                await self.api.fresh_user_token()
            except UTDStreamException as exc:
                log.info("incoming-call stream waits for a bearer: %s", exc)
                await asyncio.sleep(_backoff(attempt))
                attempt += 1
                continue
            stream = self.api.call_events()
            stream_token = self.api.user_token
            try:
                await stream.open()
                attempt = 0
                attached.set()
                # Events from here on are in the stream; catch up on what came before.
                await self._catch_up()
                async for call in stream:
                    self._publish_call(call)
            except asyncio.CancelledError:
                raise
            except UTDStreamException as exc:
                if exc.status_code in (401, 403):
                    if not await self._on_stream_refused(exc, stream_token):
                        return
                else:
                    log.info("incoming-call stream interrupted: %s", exc)
            except Exception:
                # Whatever it was, incoming calls must not stop for good: start over.
                log.exception("following incoming calls failed; reconnecting")
            finally:
                await stream.aclose()
            delay = _backoff(attempt)
            attempt += 1
            await asyncio.sleep(delay)

    async def _on_stream_refused(self, exc: UTDStreamException, stale: str | None) -> bool:
        """The engine refused the incoming-call stream (401/403): whether to keep following.

        A 401 with a renewable bearer renews it (the token provider is asked again) and the
        stream reconnects; if that fails, ``auth_state`` says ``failed`` and the follower keeps
        trying with its backoff. Anything else (a ban) stops it until the next
        :meth:`authenticate`.
        """
        credential = self.api.credential
        if exc.status_code == 401 and credential is not None:
            log.info("incoming-call stream refused (%s); renewing the bearer", exc.code)
            with contextlib.suppress(UTDStreamException):
                await credential.renew(stale)
            return True
        log.warning("incoming-call stream refused: %s", exc)
        return False

    async def _catch_up(self) -> None:
        """Deliver the changes the stream cannot replay: on the first attach the calls still
        ringing; after a reconnect every call changed since the newest change seen, ended ones
        included. The overlap with the stream is dropped by version."""
        since = self._calls.catch_up_since()
        if since is None:
            for call in await self.api.list_calls(pending_only=True):
                self._publish_call(call)
            return
        mentioned = await self._catch_up_since(since)
        await self._recheck_open_calls(mentioned)

    async def _catch_up_since(self, since: float) -> set[str]:
        """Publish every call changed since ``since`` (engine time), page by page; return
        their ids."""
        mentioned: set[str] = set()
        for _ in range(_MAX_CATCH_UP_PAGES):
            page = await self.api.list_calls(since=since)
            for call in page:
                mentioned.add(call.call_id)
                self._publish_call(call)
            last = page[-1].updated_at if page else None
            if len(page) < _CALLS_PAGE or last is None or last <= since:
                break
            since = last  # the next page starts at the last change read (overlap is dropped)
        return mentioned

    async def _recheck_open_calls(self, mentioned: set[str]) -> None:
        """Ask about each call delivered as not over that the catch-up did not mention.

        Unchanged, it is left as it is. A call the engine no longer knows (404: it lost it,
        e.g. a wiped database) would otherwise stay ringing (or active) in the app forever:
        it is ended here, as an ``ended`` copy one version up. Any other failure leaves the
        call for the next reconnect to ask again.
        """
        for last in self._calls.open_calls():
            if last.call_id in mentioned:
                continue
            try:
                current = await self.api.get_call(last.call_id)
            except UTDStreamException as exc:
                if exc.status_code != 404:
                    log.info("could not recheck call %s: %s", last.call_id, exc)
                    continue
                log.warning("the engine no longer knows call %s; ending it", last.call_id)
                current = attrs.evolve(
                    last, status=UTDCallStatus.ENDED, version=last.version + 1, token=None, url=None
                )
            self._publish_call(current)

    def _publish_call(self, call: UTDCall) -> None:
        if not self._calls.admit(call):
            return  # delivered already (the lists and the stream overlap), or older news
        for session in [s for s in self._sessions if isinstance(s, UTDCallSession)]:
            if session.call_id.value == call.call_id:
                session.room.store.dispatch(CallUpdated(call))
        self._incoming.on_next(call)
