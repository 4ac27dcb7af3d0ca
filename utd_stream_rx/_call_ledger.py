"""Which version of each call a client delivered, so that each (call, version) goes out once.

The incoming-call stream and the lists it is caught up from overlap: the engine replays ringing
calls when a stream opens, the catch-up lists them again, and a list read while the stream was
open may come after an event it already holds. :class:`CallLedger` keeps, per call id, the last
version delivered; anything at or below it is a repeat (or older news) and is dropped, so the
app sees each (call, version) once and never an older version after a newer one.

It also remembers the engine's ``updated_at`` of the newest change it saw: after a reconnect,
the client asks the engine for everything changed since then (:meth:`CallLedger.catch_up_since`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import attrs

from .models import UTDCall

__all__ = ["CATCH_UP_SLACK", "CallLedger"]

CATCH_UP_SLACK = 2.0
"""Seconds a catch-up reaches back before the newest change seen. ``updated_at`` comes from the
engine's clock (so client clock skew does not matter), but two calls changed close together may
be published in the other order, and clocks have a granularity: the overlap this buys costs a
few repeated rows, which the version check drops."""

MAX_TRACKED = 1000
"""Most calls remembered at once (see :meth:`CallLedger._prune`)."""

FORGET_AFTER = 600.0
"""Seconds an ended call is remembered at least after it was delivered."""


@attrs.define
class _Entry:
    call: UTDCall  # the last version delivered
    delivered_at: float  # on the ledger's (monotonic) clock


class CallLedger:
    """Per call id, the last version delivered; and the newest engine-side change time seen.

    Bounded, since an app may run for days: see :meth:`_prune`.
    """

    def __init__(
        self,
        *,
        slack: float = CATCH_UP_SLACK,
        max_tracked: int = MAX_TRACKED,
        forget_after: float = FORGET_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slack = slack
        self._max_tracked = max_tracked
        self._forget_after = forget_after
        self._clock = clock
        # Least recently delivered first.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._newest_change: float | None = None
        self.delivered = 0
        """How many calls :meth:`admit` let through."""
        self.dropped = 0
        """How many calls :meth:`admit` refused (a version already delivered, or older)."""

    def __len__(self) -> int:
        return len(self._entries)

    def admit(self, call: UTDCall) -> bool:
        """Record ``call`` and return True if it is newer than every version of it delivered
        so far; False for a repeat or an older version (drop it)."""
        if call.updated_at is not None and (
            self._newest_change is None or call.updated_at > self._newest_change
        ):
            self._newest_change = call.updated_at
        entry = self._entries.get(call.call_id)
        if entry is not None and call.version <= entry.call.version:
            self.dropped += 1
            return False
        self._entries[call.call_id] = _Entry(call, self._clock())
        self._entries.move_to_end(call.call_id)
        self.delivered += 1
        self._prune()
        return True

    def catch_up_since(self) -> float | None:
        """Where a catch-up after a reconnect starts (engine time), or ``None`` when no change
        with an ``updated_at`` was seen yet."""
        if self._newest_change is None:
            return None
        return max(0.0, self._newest_change - self._slack)

    def open_calls(self) -> list[UTDCall]:
        """The last version delivered of each call that was not over then."""
        return [e.call for e in self._entries.values() if not e.call.status.is_terminal]

    def _prune(self) -> None:
        """Forget what can no longer come back, and cap the rest.

        A call that is over changes no more. Its versions can still be in flight for a while
        (a stream's backlog holds what the engine sent before the catch-up list was read), so
        an ended call is kept :data:`FORGET_AFTER` seconds after it was delivered. After that,
        only a catch-up could return it, and a catch-up never reaches back past
        ``newest change - slack`` (a value that only grows): an ended call changed before that
        is forgotten at no risk. Without ``updated_at`` (an older engine, which then has no
        catch-up either) the delay alone decides. Past :data:`MAX_TRACKED` calls, the least
        recently delivered go, ended ones first: at worst a version is then delivered twice.
        """
        floor = self.catch_up_since()
        now = self._clock()
        expired = []
        for call_id, entry in self._entries.items():  # least recently delivered first
            if now - entry.delivered_at <= self._forget_after:
                break
            call = entry.call
            if call.status.is_terminal and (
                call.updated_at is None or (floor is not None and call.updated_at < floor)
            ):
                expired.append(call_id)
        for call_id in expired:
            del self._entries[call_id]
        excess = len(self._entries) - self._max_tracked
        if excess > 0:
            ended = [k for k, e in self._entries.items() if e.call.status.is_terminal]
            still_open = [k for k, e in self._entries.items() if not e.call.status.is_terminal]
            for call_id in (ended + still_open)[:excess]:
                del self._entries[call_id]
