"""Who the engine knows to be in a room, who is on the way in, and who holds something on trust.

A command that makes an identity hold something (a seat, a request, a place on stage) is only
worth honouring for someone in the LiveKit room: nobody reports the departure of an identity
that never joined, so what it took would stay held for ever. The engine learns arrivals from
``participant_joined`` webhooks, which may reach it after the participant's first command, so
it also trusts, for a short join window, an identity that has just minted a token for the room,
and checks on it once the window is over. Join windows and those holds are kept in storage, so
that any instance honours and checks them; what is here is this process's memory of arrivals
and departures, a shortcut used only when no other instance shares the database.

Everything here is in memory and bounded: after a restart the engine asks LiveKit instead.
"""

from __future__ import annotations

import collections

__all__ = ["RoomKey", "RoomPresence"]

RoomKey = tuple[str, str]
"""``(app_id, room_name)``."""

_MAX_ROOMS = 10_000  # rooms whose participants are remembered (least recently changed go first)


class RoomPresence:
    """Arrivals and departures this process has seen."""

    def __init__(self) -> None:
        self._present: collections.OrderedDict[RoomKey, dict[str, str]] = (
            collections.OrderedDict()
        )

    # -- arrivals and departures ---------------------------------------------------------------

    def joined(self, room: RoomKey, identity: str, sid: str) -> None:
        """``identity`` is in the room under the connection ``sid``."""
        members = self._present.setdefault(room, {})
        members[identity] = sid
        self._present.move_to_end(room)
        while len(self._present) > _MAX_ROOMS:
            self._present.popitem(last=False)

    def left(self, room: RoomKey, identity: str, sid: str) -> None:
        """The connection ``sid`` of ``identity`` left; a newer connection stays known."""
        members = self._present.get(room)
        if members is None or identity not in members:
            return
        known = members[identity]
        if known and sid and known != sid:
            return  # a replaced connection's departure, reported after the new one joined
        del members[identity]
        if not members:
            del self._present[room]

    def forget_room(self, room: RoomKey) -> None:
        """The LiveKit room finished or started anew: nobody is known to be in it."""
        self._present.pop(room, None)

    def is_present(self, room: RoomKey, identity: str) -> bool:
        """True when ``identity`` joined the room and has not left since, as far as known."""
        return identity in self._present.get(room, {})
