"""An audio call between two users of the stack under test, answered and talking."""

from __future__ import annotations

import attrs

from utd_stream_rx import UTDCall, UTDCallSession, UTDStreamClient, UTDStreamType
from utd_stream_rx.testing import ClientFactory


@attrs.frozen
class AnsweredCall:
    """The caller's and the callee's sessions of one active call, the call, and the caller's
    client (to ask the engine about the call)."""

    caller: UTDCallSession
    callee: UTDCallSession
    call: UTDCall
    caller_client: UTDStreamClient


async def answered_call(make: ClientFactory, caller: str, callee: str) -> AnsweredCall:
    """``caller`` rings ``callee``, who accepts; both are in the call's room when it returns."""
    calling, called = make(), make()
    await calling.authenticate(caller)
    await called.authenticate(callee)
    talking = calling.call_session(UTDStreamType.AUDIO_CALL)
    answering = called.call_session(UTDStreamType.AUDIO_CALL)
    call = await talking.start(callee)
    await answering.accept(call.call_id)
    return AnsweredCall(talking, answering, call, calling)
