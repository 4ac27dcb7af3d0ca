"""Who the engine knows to be in a room, who is on the way in, and who holds something on trust.

A command that makes an identity hold something (a seat, a request, a place on stage) is only
worth honouring for someone in the LiveKit room: nobody reports the departure of an identity
that never joined, so what it took would stay held for ever. The engine learns arrivals from
``participant_joined`` webhooks, which may reach it after the participant's first command, so
it also trusts, for a short join window, an identity that has just minted a token for the room,
and checks on it once the window is over (:class:`RoomPresence` keeps that hold).

Everything here is in memory and bounded: after a restart the engine asks LiveKit instead.
"""

from __future__ import annotations

import collections

__all__ = ["RoomKey", "RoomPresence"]

RoomKey = tuple[str, str]
"""``(app_id, room_name)``."""

_MAX_ROOMS = 10_000  # rooms whose participants are remembered (least recently changed go first)
_MAX_MINTS = 100_000  # token mints remembered (the oldest go first)


class RoomPresence:
    """Arrivals and departures seen, recent token mints, and holds awaiting a join.

    Args:
        join_window: Seconds after a token mint during which the identity counts as joining.
    """

    def __init__(self, join_window: float) -> None:
        self.join_window = join_window
        self._present: collections.OrderedDict[RoomKey, dict[str, str]] = (
            collections.OrderedDict()
        )
        self._minted: collections.OrderedDict[tuple[str, str, str], float] = (
            collections.OrderedDict()
        )
        self._holds: dict[tuple[str, str, str], float] = {}

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

    # -- token mints ---------------------------------------------------------------------------

    def minted(self, room: RoomKey, identity: str, at: float) -> None:
        """``identity`` got a token for the room at ``at`` (Unix seconds)."""
        key = (*room, identity)
        self._minted[key] = at
        self._minted.move_to_end(key)
        # Mints are recorded in time order: the oldest, first, stop counting first.
        while self._minted:
            first, when = next(iter(self._minted.items()))
            if when >= at - self.join_window and len(self._minted) <= _MAX_MINTS:
                break
            del self._minted[first]

    def joining_until(self, room: RoomKey, identity: str, now: float) -> float | None:
        """The end of the join window of ``identity``'s latest token for the room, if that
        window is still open at ``now``."""
        at = self._minted.get((*room, identity))
        if at is None or at + self.join_window <= now:
            return None
        return at + self.join_window

    # -- holds awaiting a join -------------------------------------------------------------------

    def hold(self, room: RoomKey, identity: str, until: float) -> None:
        """``identity`` holds something on trust until ``until``, unless it joins before."""
        key = (*room, identity)
        self._holds[key] = min(until, self._holds.get(key, until))

    def drop_hold(self, room: RoomKey, identity: str) -> None:
        """No hold for ``identity`` any more (it joined, or was checked)."""
        self._holds.pop((*room, identity), None)

    def holds_due(self, now: float) -> list[tuple[str, str, str]]:
        """``(app_id, room_name, identity)`` of every hold whose time is up."""
        return sorted(key for key, until in self._holds.items() if until <= now)

    def hold_of(self, room: RoomKey, identity: str) -> float | None:
        """When the hold of ``identity`` is up, if it has one."""
        return self._holds.get((*room, identity))
