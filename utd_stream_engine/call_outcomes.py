"""What a call decision yields: the call's next status and, once it is over, why.

Every change of a call goes through :meth:`.CallControl.transition` with a decision that looks
at the call as it is now and answers a :class:`CallOutcome` (or ``None``: leave it). The
functions here are the decisions the engine itself takes, each with its default reason
(:class:`~utd_stream_rx.models.UTDCallEndReason`); a reason an app gives is read and checked
by :func:`~utd_stream_engine.common.opt_reason`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import attrs

from utd_stream_rx.models import UTDCallEndReason, UTDCallStatus

from .state import CallRecord

__all__ = [
    "CallDecision",
    "CallOutcome",
    "ended_by",
    "ends_over",
    "ends_without",
]


@attrs.frozen
class CallOutcome:
    """A call's next status, and the reason it ended (``None`` while it goes on)."""

    status: UTDCallStatus
    reason: str | None = None


CallDecision = Callable[[CallRecord], CallOutcome | None]
"""Looks at a call as it is now: its outcome, or ``None`` to leave it as it is."""


def ended_by(identity: str, reason: str | None) -> CallDecision:
    """A party ends the call: ``hung_up`` once it is active; before, ``cancelled`` when the
    caller ends it and ``declined`` when the callee does (unless ``reason`` says otherwise)."""

    def decide(call: CallRecord) -> CallOutcome | None:
        if call.status.is_terminal:  # idempotent: the call is over either way
            return None
        if call.status is UTDCallStatus.ACTIVE:
            default = UTDCallEndReason.HUNG_UP
        elif identity == call.caller_identity:
            default = UTDCallEndReason.CANCELLED
        else:
            default = UTDCallEndReason.DECLINED
        return CallOutcome(UTDCallStatus.ENDED, reason or default)

    return decide


def ends_over(reason: UTDCallEndReason) -> CallDecision:
    """``ended`` with ``reason`` unless the call is already over (a finished room, a ban)."""

    def decide(call: CallRecord) -> CallOutcome | None:
        return None if call.status.is_terminal else CallOutcome(UTDCallStatus.ENDED, reason)

    return decide


def ends_without(absent: Collection[str], *, came_back: bool = True) -> CallDecision:
    """``ended`` when one of the parties the call needs (:meth:`CallRecord.parties`) is gone.

    Args:
        came_back: False for parties that never came back (the rejoin grace ran out): the
            call ``failed``. Otherwise a party left: an active call was ``hung_up``, a call
            that still rang (its caller left) ``cancelled``.
    """

    def decide(call: CallRecord) -> CallOutcome | None:
        if not call.parties() & set(absent):
            return None
        if not came_back:
            reason = UTDCallEndReason.FAILED
        elif call.status is UTDCallStatus.ACTIVE:
            reason = UTDCallEndReason.HUNG_UP
        else:
            reason = UTDCallEndReason.CANCELLED
        return CallOutcome(UTDCallStatus.ENDED, reason)

    return decide
