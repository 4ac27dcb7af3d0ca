"""Everything the engine tells LiveKit: tokens, room metadata, grants, mutes and data messages.

Pushes are best effort by design: the engine's own state is the truth, a participant who is not
(yet) in the room gets the same grant in the token they mint and again when the
``participant_joined`` webhook arrives.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, TypeVar

import aiohttp
import attrs
import jwt
from livekit import api

from .state import Grant

__all__ = [
    "DEFAULT_LIVEKIT_TIMEOUT",
    "LiveKitBridge",
    "LiveKitTimeoutError",
    "NullBridge",
    "ParticipantPresence",
    "RoomServiceBridge",
    "holds_grant",
    "mint_livekit_token",
]

log = logging.getLogger(__name__)

DEFAULT_LIVEKIT_TIMEOUT = 3.0
"""Seconds one RoomService call may take before the bridge gives up on it."""

_T = TypeVar("_T")


class LiveKitTimeoutError(TimeoutError):
    """LiveKit did not answer a RoomService call in time (a hung or overloaded server)."""

_SOURCES = {
    "camera": api.TrackSource.CAMERA,
    "microphone": api.TrackSource.MICROPHONE,
}


@attrs.frozen
class ParticipantPresence:
    """What LiveKit says about one connected participant."""

    sid: str
    can_publish: bool


def holds_grant(participant: api.ParticipantInfo, grant: Grant) -> bool:
    """True when LiveKit's view of ``participant`` already carries ``grant``: the same right
    to publish, the same sources and the same role attributes."""
    permission = participant.permission
    if permission.can_publish != grant.can_publish:
        return False
    if grant.can_publish and set(permission.can_publish_sources) != {
        _SOURCES[s] for s in grant.sources
    }:
        return False
    attributes = participant.attributes
    return all(attributes.get(key) == value for key, value in grant.attributes.items())


def mint_livekit_token(
    api_key: str,
    api_secret: str,
    *,
    livekit_room: str,
    identity: str,
    name: str | None,
    grant: Grant,
    version: int,
    ttl: float,
) -> str:
    """A LiveKit access token whose grant and attributes match the engine's state.

    The claims are the ones ``livekit.api.AccessToken`` writes, built directly: its generic
    path deep-copies every grant dataclass, which was most of the cost of a token mint.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "video": {
            "roomJoin": True,
            "room": livekit_room,
            "canPublish": grant.can_publish,
            "canSubscribe": True,
            "canPublishData": True,
            "canPublishSources": list(grant.sources),
            "canUpdateOwnMetadata": False,
        },
        "attributes": {**grant.attributes, "utd.version": str(version)},
        "sub": identity,
        "iss": api_key,
        "nbf": now,
        "exp": now + int(ttl),
    }
    if name:
        claims["name"] = name
    return jwt.encode(claims, api_secret, algorithm="HS256")


class LiveKitBridge(Protocol):
    """The RoomService operations the engine uses."""

    async def ensure_room(
        self, livekit_room: str, metadata: str, *, max_participants: int = 0
    ) -> None:
        """Create the room if needed and set its metadata."""
        ...

    async def set_metadata(self, livekit_room: str, metadata: str) -> bool:
        """Replace the room metadata; False when the room does not exist (LiveKit closed it,
        or never had it)."""
        ...

    async def apply_grant(
        self, livekit_room: str, identity: str, grant: Grant, version: int
    ) -> bool:
        """Send the full permission and role attributes of a participant; True when LiveKit
        confirmed them (the participant is in the room and holds the grant now), False when
        the participant is not in the room (the grant then comes with the token they mint)."""
        ...

    async def send(
        self, livekit_room: str, topic: str, payload: dict[str, Any], identities: Sequence[str]
    ) -> None:
        """A reliable server data message to ``identities``."""
        ...

    async def mute_microphone(self, livekit_room: str, identity: str, muted: bool) -> None:
        """Mute or unmute the participant's published microphone, if any."""
        ...

    async def participant_sid(self, livekit_room: str, identity: str) -> str | None:
        """The sid of the connection ``identity`` has in the room now, or ``None``."""
        ...

    async def list_participants(self, livekit_room: str) -> dict[str, ParticipantPresence] | None:
        """Everyone connected to the room now, by identity; ``None`` if LiveKit has no such
        room."""
        ...

    async def remove_participant(self, livekit_room: str, identity: str) -> None:
        """Disconnect the participant (nothing happens if they or the room are not there)."""
        ...

    async def delete_room(self, livekit_room: str) -> None:
        """Close the room, disconnecting everyone in it (nothing happens if it is not there)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class NullBridge:
    """A bridge that talks to no server and remembers the last operations (tests, no LiveKit)."""

    def __init__(self) -> None:
        self.operations: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=2000)
        # Who is "in" each room, as (livekit_room, identity) -> sid: set by tests.
        self.present: dict[tuple[str, str], str] = {}
        # Whether LiveKit lets a present participant publish, (livekit_room, identity) -> bool
        # (False when not set): set by tests to play grants LiveKit lost or kept.
        self.permissions: dict[tuple[str, str], bool] = {}
        # True plays a LiveKit that cannot be reached: every operation raises ConnectionError
        # (and is not recorded).
        self.unreachable = False
        # When set, a metadata update waits until the event is set (a slow LiveKit).
        self.metadata_gate: asyncio.Event | None = None
        # LiveKit rooms that LiveKit closed: their metadata updates find no room.
        self.closed: set[str] = set()

    async def ensure_room(
        self, livekit_room: str, metadata: str, *, max_participants: int = 0
    ) -> None:
        """Record the call."""
        self._reachable()
        self.operations.append(("ensure_room", livekit_room, metadata, max_participants))

    async def set_metadata(self, livekit_room: str, metadata: str) -> bool:
        """Record the call, once :attr:`metadata_gate` (if any) is open; False for a room
        in :attr:`closed`."""
        self._reachable()
        if self.metadata_gate is not None:
            await self.metadata_gate.wait()
        self.operations.append(("metadata", livekit_room, metadata))
        return livekit_room not in self.closed

    async def apply_grant(
        self, livekit_room: str, identity: str, grant: Grant, version: int
    ) -> bool:
        """Record the call; a present participant now has the grant's ``can_publish``."""
        self._reachable()
        self.operations.append(("grant", livekit_room, identity, grant, version))
        if (livekit_room, identity) not in self.present:
            return False
        self.permissions[(livekit_room, identity)] = grant.can_publish
        return True

    async def send(
        self, livekit_room: str, topic: str, payload: dict[str, Any], identities: Sequence[str]
    ) -> None:
        """Record the call."""
        self._reachable()
        self.operations.append(("data", livekit_room, topic, payload, tuple(identities)))

    async def mute_microphone(self, livekit_room: str, identity: str, muted: bool) -> None:
        """Record the call."""
        self._reachable()
        self.operations.append(("mute", livekit_room, identity, muted))

    def _reachable(self) -> None:
        if self.unreachable:
            raise ConnectionError("LiveKit is unreachable (NullBridge.unreachable)")

    async def participant_sid(self, livekit_room: str, identity: str) -> str | None:
        """Answer from :attr:`present`."""
        self._reachable()
        return self.present.get((livekit_room, identity))

    async def list_participants(self, livekit_room: str) -> dict[str, ParticipantPresence] | None:
        """Answer from :attr:`present` and :attr:`permissions`; a room nobody is present in
        does not exist (LiveKit closes empty rooms)."""
        self._reachable()
        found = {
            identity: ParticipantPresence(sid, self.permissions.get((room, identity), False))
            for (room, identity), sid in self.present.items()
            if room == livekit_room
        }
        return found or None

    async def remove_participant(self, livekit_room: str, identity: str) -> None:
        """Record the call and forget the participant's presence."""
        self._reachable()
        self.operations.append(("remove", livekit_room, identity))
        self.present.pop((livekit_room, identity), None)
        self.permissions.pop((livekit_room, identity), None)

    async def delete_room(self, livekit_room: str) -> None:
        """Record the call and forget everyone present in the room."""
        self._reachable()
        self.operations.append(("delete_room", livekit_room))
        for key in [key for key in self.present if key[0] == livekit_room]:
            del self.present[key]
            self.permissions.pop(key, None)

    async def aclose(self) -> None:
        """Nothing to release."""


def _is_absent(exc: api.TwirpError) -> bool:
    return exc.code in ("not_found", "failed_precondition") or exc.status == 404


class RoomServiceBridge:
    """:class:`LiveKitBridge` over ``livekit.api.LiveKitAPI``.

    Every RoomService call is bounded by ``timeout`` seconds and raises
    ``LiveKitTimeoutError`` past it: livekit-api posts each call with ``timeout=None``,
    which overrides any ``ClientTimeout`` of its session, so a hung server would otherwise
    hold the caller for as long as it is hung.
    """

    def __init__(
        self,
        http_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = DEFAULT_LIVEKIT_TIMEOUT,
    ) -> None:
        self._url = http_url
        self._key = api_key
        self._secret = api_secret
        self.timeout = timeout
        self._client: api.LiveKitAPI | None = None

    async def _bounded(self, what: str, call: Awaitable[_T]) -> _T:
        """``await call``, given up after :attr:`timeout` seconds."""
        try:
            async with asyncio.timeout(self.timeout):
                return await call
        except TimeoutError as exc:
            raise LiveKitTimeoutError(
                f"LiveKit did not answer {what} within {self.timeout:g}s"
            ) from exc

    async def _unless_absent(self, what: str, call: Awaitable[_T]) -> _T | None:
        """:meth:`_bounded`, with ``None`` when LiveKit has no such room or participant."""
        try:
            return await self._bounded(what, call)
        except api.TwirpError as exc:
            if _is_absent(exc):
                return None
            raise

    @property
    def _api(self) -> api.LiveKitAPI:
        # Created on first use: its HTTP session must belong to the running event loop.
        if self._client is None:
            self._client = api.LiveKitAPI(
                self._url,
                self._key,
                self._secret,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                failover=False,
            )
        return self._client

    async def ensure_room(
        self, livekit_room: str, metadata: str, *, max_participants: int = 0
    ) -> None:
        """Create the room if needed and set its metadata."""
        await self._bounded(
            "CreateRoom",
            self._api.room.create_room(
                api.CreateRoomRequest(
                    name=livekit_room, metadata=metadata, max_participants=max_participants
                )
            ),
        )
        # CreateRoom returns an existing room unchanged: write the metadata explicitly.
        await self.set_metadata(livekit_room, metadata)

    async def set_metadata(self, livekit_room: str, metadata: str) -> bool:
        """Replace the room metadata; False when the room does not exist."""
        updated = await self._unless_absent(
            "UpdateRoomMetadata",
            self._api.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=livekit_room, metadata=metadata)
            ),
        )
        return updated is not None

    async def apply_grant(
        self, livekit_room: str, identity: str, grant: Grant, version: int
    ) -> bool:
        """Send the full permission and role attributes of a participant; True once LiveKit
        answered that the participant holds them."""
        # UpdateParticipant replaces the whole permission, so every field is sent.
        permission = api.ParticipantPermission(
            can_subscribe=True,
            can_publish=grant.can_publish,
            can_publish_data=True,
            can_publish_sources=[_SOURCES[s] for s in grant.sources],
            hidden=False,
            can_update_metadata=False,
        )
        updated = await self._unless_absent(
            "UpdateParticipant",
            self._api.room.update_participant(
                api.UpdateParticipantRequest(
                    room=livekit_room,
                    identity=identity,
                    permission=permission,
                    attributes={**grant.attributes, "utd.version": str(version)},
                )
            ),
        )
        if updated is None:
            log.debug(
                "%s is not in %s yet; the grant applies when they join", identity, livekit_room
            )
            return False
        return True

    async def send(
        self, livekit_room: str, topic: str, payload: dict[str, Any], identities: Sequence[str]
    ) -> None:
        """A reliable server data message to ``identities``."""
        await self._unless_absent(
            "SendData",
            self._api.room.send_data(
                api.SendDataRequest(
                    room=livekit_room,
                    data=json.dumps(payload).encode(),
                    kind=api.DataPacket.Kind.RELIABLE,
                    destination_identities=list(identities),
                    topic=topic,
                )
            ),
        )

    async def mute_microphone(self, livekit_room: str, identity: str, muted: bool) -> None:
        """Mute or unmute the participant's published microphone, if any."""
        try:
            info = await self._bounded(
                "GetParticipant",
                self._api.room.get_participant(
                    api.RoomParticipantIdentity(room=livekit_room, identity=identity)
                ),
            )
            for track in info.tracks:
                if track.source == api.TrackSource.MICROPHONE:
                    await self._bounded(
                        "MutePublishedTrack",
                        self._api.room.mute_published_track(
                            api.MuteRoomTrackRequest(
                                room=livekit_room,
                                identity=identity,
                                track_sid=track.sid,
                                muted=muted,
                            )
                        ),
                    )
        except api.TwirpError as exc:
            if not _is_absent(exc):
                raise

    async def participant_sid(self, livekit_room: str, identity: str) -> str | None:
        """The sid of the connection ``identity`` has in the room now, or ``None``."""
        info = await self._unless_absent(
            "GetParticipant",
            self._api.room.get_participant(
                api.RoomParticipantIdentity(room=livekit_room, identity=identity)
            ),
        )
        return (str(info.sid) or None) if info is not None else None

    async def list_participants(self, livekit_room: str) -> dict[str, ParticipantPresence] | None:
        """Everyone connected to the room now, by identity; ``None`` if LiveKit has no such
        room."""
        try:
            found = await self._bounded(
                "ListParticipants",
                self._api.room.list_participants(api.ListParticipantsRequest(room=livekit_room)),
            )
            if not found.participants:
                # livekit-server lists a room it does not have as empty: ask for the room.
                rooms = await self._bounded(
                    "ListRooms",
                    self._api.room.list_rooms(api.ListRoomsRequest(names=[livekit_room])),
                )
                if not any(room.name == livekit_room for room in rooms.rooms):
                    return None
        except api.TwirpError as exc:
            if _is_absent(exc):
                return None
            raise
        return {
            p.identity: ParticipantPresence(sid=p.sid, can_publish=p.permission.can_publish)
            for p in found.participants
        }

    async def remove_participant(self, livekit_room: str, identity: str) -> None:
        """Disconnect the participant (nothing happens if they or the room are not there)."""
        await self._unless_absent(
            "RemoveParticipant",
            self._api.room.remove_participant(
                api.RoomParticipantIdentity(room=livekit_room, identity=identity)
            ),
        )

    async def delete_room(self, livekit_room: str) -> None:
        """Close the room, disconnecting everyone in it (nothing happens if it is not there)."""
        await self._unless_absent(
            "DeleteRoom",
            self._api.room.delete_room(api.DeleteRoomRequest(room=livekit_room)),
        )

    async def aclose(self) -> None:
        """Close the HTTP session."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
