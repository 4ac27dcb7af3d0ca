"""Engine paths the tests call; the room's are templates (``SEATS.format(room=...)``)."""

from __future__ import annotations

__all__ = ["BANS", "CALLS", "END", "REMOVE", "SEATS", "STAGE"]

CALLS = "/api/v1/calls"
SEATS = "/api/v1/audio-rooms/{room}/seats"
STAGE = "/api/v1/live/{room}/stage"
REMOVE = "/api/v1/rooms/{room}/participants/remove"
BANS = "/api/v1/rooms/{room}/bans"
END = "/api/v1/rooms/{room}/end"
