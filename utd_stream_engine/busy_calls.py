"""``reject_when_busy``: calls to an identity already in an active call are answered ``busy``.

An identity turns the preference on or off with any bearer mint (``reject_when_busy`` in the
body of ``POST /auth/user-token`` or ``POST /token``); the engine keeps it per app and
identity. A call to it while it is a party to an active call is created over, as ``busy``
with the reason ``busy``: it never rings, needs no call room and gives the caller no token.
"""

from __future__ import annotations

from utd_stream_rx.models import UTDCallEndReason, UTDCallStatus

from .state import CallRecord
from .storage import Storage

__all__ = ["answers_busy", "make_busy"]

_ACTIVE = frozenset({UTDCallStatus.ACTIVE})


async def answers_busy(storage: Storage, app_id: str, callee: str) -> bool:
    """True when a call to ``callee`` is answered ``busy`` now: its preference is on and it
    is a party to an active call."""
    return await storage.rejects_when_busy(app_id, callee) and bool(
        await storage.calls_of(app_id, callee, _ACTIVE)
    )


def make_busy(call: CallRecord) -> None:
    """Turn a new call into one that is over before it rang: ``busy``, reason ``busy``."""
    call.status = UTDCallStatus.BUSY
    call.end_reason = str(UTDCallEndReason.BUSY)
