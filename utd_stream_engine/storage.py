"""Where the engine keeps its state: the protocol both storages implement, and the URL that
names one (:func:`.storages.open_storage` opens it).

``sqlite:///path`` (or a plain path, or ``:memory:``) is the embedded default: one engine
process on one file. ``postgresql://...`` is shared by any number of engine instances: every
change of a room runs under a database lock of that room, and every save is one transaction.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from typing import Protocol

import attrs

from utd_stream_rx.models import UTDCallStatus

from .state import CallRecord, RoomRecord

__all__ = [
    "CallListener",
    "Storage",
    "TrustHold",
    "call_of",
    "redacted",
    "sqlite_path",
    "storage_kind",
]

CallListener = Callable[[CallRecord], None]
"""Receives each saved change of a call, in commit order."""


@attrs.frozen
class TrustHold:
    """What ``identity`` holds in a room on trust is checked at ``until`` unless it joins."""

    app_id: str
    room_name: str
    identity: str
    until: float


class Storage(Protocol):
    """Persistence the engine needs. Every method is one short transaction."""

    @property
    def shared(self) -> bool:
        """True when other engine instances may use the same database at the same time."""
        ...

    async def open(self) -> None:
        """Connect and bring the schema up to date (``migrations``)."""
        ...

    def room_lock(
        self, app_id: str, room_name: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Held by whoever changes the room, in every instance sharing the database."""
        ...

    def listen_calls(
        self, listener: CallListener, on_gap: Callable[[], None] | None = None
    ) -> None:
        """Deliver every call change saved from now on, by any instance, to ``listener``;
        ``on_gap`` is told when changes may have been missed (clients then catch up)."""
        ...

    async def load_room(self, app_id: str, room_name: str) -> RoomRecord | None:
        """The room, or ``None``."""
        ...

    async def load_call(self, call_id: str) -> CallRecord | None:
        """The call, or ``None``."""
        ...

    async def save(
        self,
        *,
        rooms: Iterable[RoomRecord] = (),
        calls: Iterable[CallRecord] = (),
        holds: Iterable[TrustHold] = (),
    ) -> None:
        """Write rooms (with their requests, if changed), calls and trust holds in one
        transaction; the calls are then announced to the listeners of every instance."""
        ...

    async def calls_of(
        self, app_id: str, identity: str, statuses: Collection[UTDCallStatus] | None = None
    ) -> list[CallRecord]:
        """Calls where ``identity`` is caller or callee, newest first."""
        ...

    async def calls_changed_since(
        self,
        app_id: str,
        identity: str,
        since: float,
        limit: int,
        statuses: Collection[UTDCallStatus] | None = None,
    ) -> list[CallRecord]:
        """Up to ``limit`` calls of ``identity`` whose ``updated_at >= since``, oldest change
        first."""
        ...

    async def calls_with_status(self, statuses: Collection[UTDCallStatus]) -> list[CallRecord]:
        """Every call (any app) in one of ``statuses``."""
        ...

    async def rooms_due(self, now: float) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms whose :attr:`RoomRecord.next_release` is due."""
        ...

    async def is_banned(self, app_id: str, identity: str) -> bool:
        """True while ``identity`` is banned from the app."""
        ...

    async def set_banned(self, app_id: str, identity: str, banned: bool) -> None:
        """Ban or unban ``identity``."""
        ...

    async def room_names(self, app_id: str) -> list[str]:
        """Every room (calls' rooms included) the app has."""
        ...

    async def rooms_with_holders(self) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms in which :meth:`RoomRecord.holders` is not empty."""
        ...

    async def rooms_with_requests(self, made_by: float | None = None) -> list[tuple[str, str]]:
        """``(app_id, room_name)`` of rooms with pending stage or speak requests; with
        ``made_by``, only those with one made at or before that time (or at an unknown time)."""
        ...

    async def get_meta(self, key: str) -> str | None:
        """An engine setting kept across restarts."""
        ...

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` exists; return the stored value."""
        ...

    async def claim_webhook(
        self,
        event_id: str,
        livekit_room: str,
        identity: str,
        created_at: float,
        *,
        received_at: float,
        forget_before: float,
    ) -> bool:
        """Record a webhook event as applied; ``False`` (nothing recorded) when it was
        already, or when an event about the same room and participant created later was.
        Events received before ``forget_before`` are forgotten first."""
        ...

    async def unclaim_webhook(self, event_id: str) -> None:
        """Forget an event whose application failed (LiveKit's retry may apply it)."""
        ...

    async def rejects_when_busy(self, app_id: str, identity: str) -> bool:
        """True when ``identity`` asked the engine to answer calls ``busy`` while it is in
        an active call."""
        ...

    async def set_rejects_when_busy(self, app_id: str, identity: str, on: bool) -> None:
        """Keep the identity's ``reject_when_busy`` preference."""
        ...

    async def open_join_window(
        self, app_id: str, room_name: str, identity: str, until: float
    ) -> None:
        """``identity`` minted a token for the room: it counts as on its way in until
        ``until``. Windows over long ago are forgotten meanwhile."""
        ...

    async def join_window_end(
        self, app_id: str, room_name: str, identity: str, now: float
    ) -> float | None:
        """The end of the identity's join window for the room, if it is still open at
        ``now``."""
        ...

    async def trust_holds_due(self, now: float) -> list[TrustHold]:
        """Every trust hold whose time is up."""
        ...

    async def drop_trust_hold(self, app_id: str, room_name: str, identity: str) -> None:
        """No trust hold for ``identity`` in the room any more (it joined, or was checked)."""
        ...

    async def close(self) -> None:
        """Release the database."""
        ...


async def call_of(storage: Storage, room: RoomRecord) -> CallRecord | None:
    """The call whose room ``room`` is (``None`` for a room of no call)."""
    return await storage.load_call(room.call_id) if room.call_id else None


def storage_kind(url: str) -> str:
    """``sqlite`` or ``postgresql``: which storage ``url`` names.

    Raises:
        ValueError: a URL of another scheme.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "sqlite"  # a plain path, or ":memory:"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ValueError(f"unsupported storage URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///path`` URL (or of a plain path)."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///") or ":memory:"
    return url


def redacted(url: str) -> str:
    """``url`` without its password, for logs and messages."""
    parts = urllib.parse.urlsplit(url)
    if storage_kind(url) != "postgresql" or parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@contextlib.asynccontextmanager
async def no_lock() -> AsyncIterator[None]:
    """A room lock for a storage only one instance uses (the process's own lock suffices)."""
    yield
