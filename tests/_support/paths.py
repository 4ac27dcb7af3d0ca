"""Engine paths the tests call; the room's are templates (``SEATS.format(room=...)``)."""

from __future__ import annotations

__all__ = ["CALLS", "SEATS", "STAGE"]

CALLS = "/api/v1/calls"
SEATS = "/api/v1/audio-rooms/{room}/seats"
STAGE = "/api/v1/live/{room}/stage"
