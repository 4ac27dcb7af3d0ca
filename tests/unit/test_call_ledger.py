"""The call ledger: each (call, version) admitted once, in version order, in bounded memory."""

from __future__ import annotations

from utd_stream_rx import UTDCall, UTDCallStatus, UTDStreamType
from utd_stream_rx._call_ledger import CallLedger


def _call(
    call_id: str, version: int, status: UTDCallStatus = UTDCallStatus.RINGING,
    updated_at: float | None = None,
) -> UTDCall:
    return UTDCall(call_id, status, UTDStreamType.AUDIO_CALL, version=version,
                   updated_at=updated_at)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_version_once_and_never_an_older_one() -> None:
    ledger = CallLedger()
    arrivals = [_call("a", 1), _call("a", 1), _call("b", 1), _call("a", 3), _call("a", 2),
                _call("b", 1), _call("a", 4, UTDCallStatus.ENDED), _call("a", 3)]
    admitted = [(c.call_id, c.version) for c in arrivals if ledger.admit(c)]
    assert admitted == [("a", 1), ("b", 1), ("a", 3), ("a", 4)]
    assert (ledger.delivered, ledger.dropped) == (4, 4)


def test_catch_up_reaches_back_from_the_newest_change_seen() -> None:
    ledger = CallLedger(slack=2.0)
    assert ledger.catch_up_since() is None
    ledger.admit(_call("a", 1))  # no updated_at: an older engine
    assert ledger.catch_up_since() is None
    ledger.admit(_call("a", 2, updated_at=500.0))
    ledger.admit(_call("b", 1, updated_at=480.0))  # older change of another call
    ledger.admit(_call("a", 2, updated_at=500.0))  # a repeat
    assert ledger.catch_up_since() == 498.0
    ledger.admit(_call("c", 1, updated_at=1.0))
    assert ledger.catch_up_since() == 498.0
    assert CallLedger(slack=2.0).catch_up_since() is None
    tiny = CallLedger(slack=2.0)
    tiny.admit(_call("a", 1, updated_at=0.5))
    assert tiny.catch_up_since() == 0.0


def test_open_calls_are_the_last_versions_not_over() -> None:
    ledger = CallLedger()
    ledger.admit(_call("a", 1))
    ledger.admit(_call("b", 1))
    ledger.admit(_call("b", 2, UTDCallStatus.ACTIVE))
    ledger.admit(_call("a", 2, UTDCallStatus.MISSED))
    assert [(c.call_id, c.version) for c in ledger.open_calls()] == [("b", 2)]


def test_ended_calls_are_forgotten_once_no_catch_up_can_return_them() -> None:
    clock = _Clock()
    ledger = CallLedger(slack=2.0, forget_after=60.0, clock=clock)
    ledger.admit(_call("old", 5, UTDCallStatus.ENDED, updated_at=100.0))
    ledger.admit(_call("ringing", 1, updated_at=100.5))
    ledger.admit(_call("recent", 2, UTDCallStatus.ENDED, updated_at=101.0))
    clock.now += 61
    ledger.admit(_call("new", 1, updated_at=102.5))  # catch-ups now start at 100.5
    assert len(ledger) == 3  # "old" is gone; "ringing" is open; "recent" is still in reach
    assert not ledger.admit(_call("recent", 2, UTDCallStatus.ENDED, updated_at=101.0))
    # Within FORGET_AFTER of its delivery an ended call stays, however old its change.
    ledger.admit(_call("late", 3, UTDCallStatus.ENDED, updated_at=50.0))
    ledger.admit(_call("new", 2, updated_at=200.0))
    assert not ledger.admit(_call("late", 2, updated_at=49.0))
    clock.now += 61
    ledger.admit(_call("new", 3, updated_at=201.0))
    assert len(ledger) == 2  # "ringing" and "new"


def test_without_updated_at_ended_calls_go_after_a_while() -> None:
    clock = _Clock()
    ledger = CallLedger(forget_after=60.0, clock=clock)
    ledger.admit(_call("a", 2, UTDCallStatus.ENDED))
    ledger.admit(_call("b", 1))
    clock.now += 61
    ledger.admit(_call("c", 1))
    assert len(ledger) == 2


def test_the_ledger_is_capped_ended_calls_first() -> None:
    ledger = CallLedger(max_tracked=3)
    ledger.admit(_call("open-1", 1))
    ledger.admit(_call("ended-1", 2, UTDCallStatus.ENDED))
    ledger.admit(_call("open-2", 1))
    ledger.admit(_call("open-3", 1))
    assert len(ledger) == 3
    assert {c.call_id for c in ledger.open_calls()} == {"open-1", "open-2", "open-3"}
    ledger.admit(_call("open-4", 1))
    assert {c.call_id for c in ledger.open_calls()} == {"open-2", "open-3", "open-4"}
    for index in range(5000):
        ledger.admit(_call(f"many-{index}", 1, UTDCallStatus.ENDED))
    assert len(ledger) == 3
