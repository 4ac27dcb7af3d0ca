"""LiveKit rooms still connected in this process, whoever opened them."""

from __future__ import annotations

import gc

from livekit import rtc

__all__ = ["connected_rooms"]


def connected_rooms(name_part: str = "") -> set[rtc.Room]:
    """Every connected ``rtc.Room`` alive in the process whose name contains ``name_part``."""
    return {
        o for o in gc.get_objects()
        if isinstance(o, rtc.Room) and o.isconnected() and name_part in o.name
    }
