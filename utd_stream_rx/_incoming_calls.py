"""The client's incoming calls: the engine's call event stream, followed and caught up.

:class:`CallFollower` keeps the bearer's event stream open (reconnecting with a jittered
backoff, so clients cut off together do not come back together), catches
up after each (re)connect on what the stream cannot replay, and delivers each
``(call, version)`` once, in order (:class:`~utd_stream_rx._call_ledger.CallLedger`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import attrs
import reactivex
from reactivex import abc
from reactivex.subject import Subject

from ._background import stopped_elsewhere
from ._backoff import Backoff
from ._call_ledger import CallLedger
from .api import UTDApiClient
from .errors import UTDStreamException
from .models import UTDCall, UTDCallStatus
from .state.views import guarded_observer

__all__ = ["CallFollower", "IncomingCalls"]

log = logging.getLogger("utd_stream_rx.client")

# The contract's bound on one ``GET /calls?since=`` answer: a full page means there may be more.
_CALLS_PAGE = 100
# A catch-up reads at most this many pages (the rest comes with the next reconnect).
_MAX_CATCH_UP_PAGES = 50


class IncomingCalls(reactivex.Observable[UTDCall]):
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


class CallFollower:
    """Follows one client's call events and delivers them to its sessions and subscribers.

    Args:
        api: The client's REST client, acting as its own identity.
        to_sessions: Hands a delivered call to the client's call sessions.
    """

    def __init__(self, api: UTDApiClient, to_sessions: Callable[[UTDCall], None]) -> None:
        self._api = api
        self._to_sessions = to_sessions
        self._subject = Subject[UTDCall]()
        self.calls = IncomingCalls(self._subject)
        """Every delivered call change (``client.incoming_calls``)."""
        # The last version delivered of each call: each (call, version) goes out once, in order.
        self.ledger = CallLedger()
        self._ledger_identity: str | None = None
        self.task: asyncio.Task[None] | None = None
        """The follower's task while it runs."""
        self._closed = False
        self._attempt = 0  # failed attempts in a row, for the reconnect backoff
        self.backoff = Backoff.reconnect()
        """Paces the reconnects (full jitter; give it a seeded random for repeatable delays)."""

    async def restart(self, identity: str | None) -> None:
        """Follow ``identity``'s calls from now on; return once attached (or after the
        client's timeout, the follower retrying in the background)."""
        await self.stop()
        if identity != self._ledger_identity:
            # Another user's calls: nothing delivered so far says anything about theirs.
            self.ledger = CallLedger()
            self._ledger_identity = identity
        attached = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._follow(attached))
        self.task = task
        waiter = asyncio.ensure_future(attached.wait())
        try:
            await asyncio.wait(
                {waiter, task}, timeout=self._api.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if not attached.is_set():
            log.warning("the incoming-call stream is not attached yet; retrying in the background")

    async def stop(self) -> None:
        """Stop following (the stream is closed)."""
        task, self.task = self.task, None
        if task is not None and not stopped_elsewhere(task):
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                # Closing must go on (sessions, pool) whatever ended the follower.
                log.exception("the incoming-call follower had failed")

    async def aclose(self) -> None:
        """Stop for good."""
        self._closed = True
        await self.stop()

    def complete(self) -> None:
        """Tell subscribers there are no more calls."""
        self._subject.on_completed()

    async def _follow(self, attached: asyncio.Event) -> None:
        self._attempt = 0
        while not self._closed:
            try:
                await self._api.fresh_user_token()
            except UTDStreamException as exc:
                log.info("incoming-call stream waits for a bearer: %s", exc)
                await self._pause()
                continue
            if not await self._follow_once(attached):
                return
            await self._pause()

    async def _pause(self) -> None:
        """Wait the next reconnect delay (drawn with full jitter) before trying again."""
        delay = self.backoff.delay(self._attempt)
        self._attempt += 1
        log.debug("incoming-call stream of %s reconnects in %.6fs", self._ledger_identity, delay)
        await asyncio.sleep(delay)

    async def _follow_once(self, attached: asyncio.Event) -> bool:
        """Open the stream, catch up and deliver until it ends; whether to go on."""
        stream = self._api.calls.events()
        stream_token = self._api.user_token
        try:
            await stream.open()
            self._attempt = 0
            attached.set()
            # Events from here on are in the stream; catch up on what came before.
            await self._catch_up()
            async for call in stream:
                self.publish(call)
        except asyncio.CancelledError:
            raise
        except UTDStreamException as exc:
            if exc.status_code in (401, 403):
                return await self._on_stream_refused(exc, stream_token)
            log.info("incoming-call stream interrupted: %s", exc)
        except Exception:
            # Whatever it was, incoming calls must not stop for good: start over.
            log.exception("following incoming calls failed; reconnecting")
        finally:
            await stream.aclose()
        return True

    async def _on_stream_refused(self, exc: UTDStreamException, stale: str | None) -> bool:
        """The engine refused the incoming-call stream (401/403): whether to keep following.

        A 401 with a renewable bearer renews it (the token provider is asked again) and the
        stream reconnects; if that fails, ``auth_state`` says ``failed`` and the follower keeps
        trying with its backoff. Anything else (a ban) stops it until the next
        ``authenticate``.
        """
        credential = self._api.credential
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
        since = self.ledger.catch_up_since()
        if since is None:
            for call in await self._api.calls.list_calls(pending_only=True):
                self.publish(call)
            return
        mentioned = await self._catch_up_since(since)
        await self._recheck_open_calls(mentioned)

    async def _catch_up_since(self, since: float) -> set[str]:
        """Publish every call changed since ``since`` (engine time), page by page; return
        their ids."""
        mentioned: set[str] = set()
        for _ in range(_MAX_CATCH_UP_PAGES):
            page = await self._api.calls.list_calls(since=since)
            for call in page:
                mentioned.add(call.call_id)
                self.publish(call)
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
        for last in self.ledger.open_calls():
            if last.call_id in mentioned:
                continue
            try:
                current = await self._api.calls.get_call(last.call_id)
            except UTDStreamException as exc:
                if exc.status_code != 404:
                    log.info("could not recheck call %s: %s", last.call_id, exc)
                    continue
                log.warning("the engine no longer knows call %s; ending it", last.call_id)
                current = attrs.evolve(
                    last, status=UTDCallStatus.ENDED, version=last.version + 1, token=None, url=None
                )
            self.publish(current)

    def publish(self, call: UTDCall) -> None:
        """Deliver ``call`` to the sessions and subscribers, unless it is a repeat or older."""
        if not self.ledger.admit(call):
            return  # delivered already (the lists and the stream overlap), or older news
        self._to_sessions(call)
        self._subject.on_next(call)
