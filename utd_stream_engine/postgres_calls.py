"""Call changes across instances: ``NOTIFY`` in the saving transaction, ``LISTEN`` in each
instance.

PostgreSQL delivers a notification only once its transaction commits, and in commit order, to
every listening connection: each instance hears each change once, in order, whoever made it.
A listener that loses its connection reconnects and reports the gap, so that event streams end
and their clients catch up from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from .state import CallRecord, dump_record, load_call
from .storage import CallListener

__all__ = ["CALLS_CHANNEL", "FAULTS", "CallChangeListener", "notice_of"]

log = logging.getLogger(__name__)

CALLS_CHANNEL = "utd_calls"
"""The ``LISTEN``/``NOTIFY`` channel of call changes."""

FAULTS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.QueryCanceledError,
)
"""Faults of the database server (gone, refusing, restarting): 503, not bugs of the engine."""

_NOTIFY_LIMIT = 7900  # bytes of a NOTIFY payload (PostgreSQL's limit is 8000)


def notice_of(call: CallRecord) -> str:
    """The notification of a call change: its record, or its id when that is too large."""
    text = json.dumps(dump_record(call), separators=(",", ":"))
    return text if len(text.encode()) <= _NOTIFY_LIMIT else call.call_id


class CallChangeListener:
    """One ``LISTEN`` connection of this instance, delivering call changes to listeners.

    Args:
        url: The database.
        load_call: Reads a call whose change was too large to travel in its notification.
    """

    def __init__(
        self, url: str, load_call: Callable[[str], Awaitable[CallRecord | None]]
    ) -> None:
        self._url = url
        self._load_call = load_call
        self._listeners: list[CallListener] = []
        self._gap_handlers: list[Callable[[], None]] = []
        self._listening: asyncio.Task[None] | None = None
        self._closed = False

    def add(self, listener: CallListener, on_gap: Callable[[], None] | None = None) -> None:
        """Deliver every call change heard from now on to ``listener``; tell ``on_gap`` when
        the connection was lost (changes may have been missed meanwhile)."""
        self._listeners.append(listener)
        if on_gap is not None:
            self._gap_handlers.append(on_gap)
        if self._listening is None:
            self._listening = asyncio.get_running_loop().create_task(self._listen_forever())

    async def _listen_forever(self) -> None:
        while not self._closed:
            try:
                conn = await asyncpg.connect(self._url)
            except FAULTS as exc:
                log.warning("cannot listen for call changes (%r); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            await self._listen_on(conn)
            if not self._closed:
                log.warning("lost the call-change listener; streams reconnect and catch up")
                for handler in self._gap_handlers:
                    handler()

    async def _listen_on(self, conn: asyncpg.Connection) -> None:
        """Deliver what ``conn`` hears until it is lost (or the storage closes)."""
        lost = asyncio.Event()

        def on_termination(_: object) -> None:
            lost.set()

        conn.add_termination_listener(on_termination)
        try:
            await conn.add_listener(CALLS_CHANNEL, self._heard)
            await lost.wait()
        except FAULTS as exc:
            log.warning("the call-change listener failed: %r", exc)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    def _heard(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if payload.startswith("{"):
            self._deliver(load_call(json.loads(payload)))
        else:  # too large to travel in the notification: read it
            asyncio.get_running_loop().create_task(self._deliver_stored(payload))

    async def _deliver_stored(self, call_id: str) -> None:
        call = await self._load_call(call_id)
        if call is not None:
            self._deliver(call)

    def _deliver(self, call: CallRecord) -> None:
        for listener in self._listeners:
            try:
                listener(call)
            except Exception:
                log.exception("a call-change listener failed")

    async def close(self) -> None:
        """Stop listening."""
        self._closed = True
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listening
