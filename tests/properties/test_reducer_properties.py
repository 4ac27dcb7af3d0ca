"""Property tests: random event sequences against the reducer and the store.

- any sequence of any events is absorbed without a handler failing;
- the store's state is exactly the pure fold of what was dispatched;
- a stateful model (a roster, the local grant, an engine whose seat grid and call evolve and
  whose reports arrive late, twice, or out of order) agrees with the state after every step.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from utd_stream_rx.models import (
    UTDCall,
    UTDCallStatus,
    UTDRoomState,
    UTDSeat,
    UTDSeatGrid,
    UTDSeatMode,
    UTDStreamType,
    unstructure,
)
from utd_stream_rx.state import events as ev
from utd_stream_rx.state.reducers import ConnectionState, SessionState, reduce
from utd_stream_rx.state.store import Store
from utd_stream_rx.state.view_specs import (
    CALL,
    CALL_STATUS,
    CAN_PUBLISH,
    CONNECTION_STATE,
    REMOTE_PARTICIPANTS,
    SEATS,
)

PEOPLE = ("ann", "ben", "cat", "dan", "me")
OTHERS = PEOPLE[:-1]
SEAT_COUNT = 4

ids = st.sampled_from(PEOPLE)
sids = st.sampled_from(("T1", "T2", "T3"))
texts = st.text(max_size=8)
flags = st.booleans()
sources = st.tuples(*[st.sampled_from(("microphone", "camera"))] * 1) | st.just(())
tracks = st.builds(
    ev.TrackSnapshot, sids, st.sampled_from(("audio", "video")), st.just("microphone"),
    flags, flags,
)

participants = st.builds(ev.ParticipantSnapshot, ids, texts, texts,
                         st.dictionaries(st.sampled_from(("utd.role", "utd.seat")), texts,
                                         max_size=2),
                         flags, st.lists(tracks, max_size=2).map(tuple))
perms = st.builds(ev.PermissionSnapshot, flags, sources, flags, flags)
statuses = st.sampled_from(list(UTDCallStatus))
calls = st.builds(UTDCall, st.sampled_from(("c1", "c2")), statuses,
                  st.just(UTDStreamType.AUDIO_CALL), version=st.integers(0, 6))


def _grid_state(version: int, holders: tuple[str | None, ...]) -> UTDRoomState:
    seats = tuple(UTDSeat(i, identity=h) for i, h in enumerate(holders))
    grid = UTDSeatGrid(len(holders), UTDSeatMode.FREE, seats, version=version)
    return UTDRoomState("room", UTDStreamType.AUDIO_ROOM, version, seats=grid)


room_states = st.builds(
    _grid_state, st.integers(0, 6), st.lists(st.none() | ids, min_size=1, max_size=3).map(tuple)
)
metadata = room_states.map(lambda s: json.dumps(unstructure(s))) | texts

any_event: st.SearchStrategy[ev.Event] = st.one_of(
    st.builds(ev.Connecting, texts),
    st.builds(ev.Connected, ids, perms, st.lists(participants, max_size=3).map(tuple), metadata),
    st.builds(ev.Reconnecting),
    st.builds(ev.Reconnected, st.lists(participants, max_size=3).map(tuple),
              st.none() | metadata, st.none() | perms),
    st.builds(ev.Disconnected, texts),
    st.builds(ev.ConnectionQualityChanged, ids, st.sampled_from(("good", "poor")), flags),
    st.builds(ev.ParticipantJoined, participants),
    st.builds(ev.ParticipantLeft, ids),
    st.builds(ev.ParticipantAttributesChanged, ids, st.dictionaries(texts, texts, max_size=2)),
    st.builds(ev.ParticipantMetadataChanged, ids, texts, flags),
    st.builds(ev.ParticipantNameChanged, ids, texts, flags),
    st.builds(ev.PermissionsChanged, ids, perms, flags),
    st.builds(ev.TrackPublished, ids, tracks),
    st.builds(ev.TrackUnpublished, ids, sids),
    st.builds(ev.TrackSubscribed, ids, tracks),
    st.builds(ev.TrackUnsubscribed, ids, sids),
    st.builds(ev.TrackMuted, ids, sids, flags),
    st.builds(ev.TrackUnmuted, ids, sids, flags),
    st.builds(ev.TrackSubscriptionFailed, ids, sids, texts),
    st.builds(ev.LocalTrackPublished, tracks),
    st.builds(ev.LocalTrackUnpublished, sids),
    st.builds(ev.ActiveSpeakersChanged, st.lists(ids, max_size=3).map(tuple)),
    st.builds(ev.RoomMetadataChanged, metadata),
    st.builds(ev.DataReceived, st.binary(max_size=8) | calls.map(
        lambda c: json.dumps({"call": unstructure(c)}).encode()), st.none() | ids,
        st.sampled_from((None, "chat", "utd.call"))),
    st.builds(ev.RoomStateReceived, room_states),
    st.builds(ev.CallUpdated, calls),
    st.builds(ev.TokenMinted, texts),
    st.builds(ev.CallStartRequested, ids),
    st.builds(ev.CallAcceptRequested, st.sampled_from(("c1", "c2"))),
    st.builds(ev.LeaveRequested),
)


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@settings(max_examples=150, deadline=None)
@given(st.lists(any_event, max_size=40))
def test_any_sequence_is_absorbed_without_a_handler_failing(events: list[ev.Event]) -> None:
    failures = _Failures()
    logger = logging.getLogger("utd_stream_rx.state.reducers")
    logger.addHandler(failures)
    try:
        state = SessionState()
        for event in events:
            state = reduce(state, event)
            assert isinstance(state, SessionState)
            if state.local_identity is not None:
                assert state.local_identity not in state.remote_participants
    finally:
        logger.removeHandler(failures)
    assert not failures.records, [r.getMessage() for r in failures.records]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_event, max_size=30))
def test_the_store_state_is_the_pure_fold(events: list[ev.Event]) -> None:
    store = Store()
    expected = SessionState()
    for event in events:
        store.dispatch(event)
        expected = reduce(expected, event)
    assert store.state == expected
    assert store.view(CAN_PUBLISH).value == expected.can_publish
    assert store.view(REMOTE_PARTICIPANTS).value == expected.remote_participants
    assert store.view(SEATS).value == SEATS.read(expected)
    assert store.view(CALL_STATUS).value == CALL_STATUS.read(expected)


class SessionMachine(RuleBasedStateMachine):
    """A model of what the state must say, driven alongside the store."""

    def __init__(self) -> None:
        super().__init__()
        self.store = Store()
        self.connection = ConnectionState.DISCONNECTED
        self.roster: set[str] = set()
        self.can_publish = False
        # The engine: a seat grid and a call that evolve; each version is reported later.
        self.seats: list[str | None] = [None] * SEAT_COUNT
        self.version = 0
        self.reports: dict[int, UTDRoomState] = {}
        self.delivered = -1
        self.call_version = 0
        self.call_status = UTDCallStatus.INITIATING
        self.call_reports: dict[int, UTDCall] = {}
        self.call_delivered = -1
        self.terminal_seen = False

    def dispatch(self, event: ev.Event) -> None:
        self.store.dispatch(event)

    # -- connection ---------------------------------------------------------------------------

    @rule(roster=st.sets(st.sampled_from(OTHERS)), grant=flags)
    def connect(self, roster: set[str], grant: bool) -> None:
        self.dispatch(ev.Connecting())
        self.dispatch(ev.Connected(
            "me", ev.PermissionSnapshot(grant), tuple(ev.ParticipantSnapshot(p) for p in roster)
        ))
        self.connection, self.roster, self.can_publish = ConnectionState.CONNECTED, roster, grant

    @rule()
    def reconnecting(self) -> None:
        self.dispatch(ev.Reconnecting())
        if self.connection is ConnectionState.CONNECTED:
            self.connection = ConnectionState.RECONNECTING

    @rule(roster=st.sets(st.sampled_from(OTHERS)))
    def reconnected(self, roster: set[str]) -> None:
        self.dispatch(ev.Reconnected(tuple(ev.ParticipantSnapshot(p) for p in roster)))
        if self.connection is not ConnectionState.DISCONNECTED:
            self.connection, self.roster = ConnectionState.CONNECTED, roster

    @rule()
    def disconnect(self) -> None:
        self.dispatch(ev.Disconnected("client_initiated"))
        self.connection, self.roster, self.can_publish = ConnectionState.DISCONNECTED, set(), False

    # -- participants -------------------------------------------------------------------------

    @rule(who=st.sampled_from(OTHERS))
    def join(self, who: str) -> None:
        self.dispatch(ev.ParticipantJoined(ev.ParticipantSnapshot(who)))
        if self.connection is not ConnectionState.DISCONNECTED:
            self.roster.add(who)

    @rule(who=st.sampled_from(PEOPLE))
    def leave(self, who: str) -> None:
        self.dispatch(ev.ParticipantLeft(who))
        self.roster.discard(who)

    @rule(who=st.sampled_from(OTHERS), role=st.sampled_from(("audience", "speaker")))
    def attributes(self, who: str, role: str) -> None:
        self.dispatch(ev.ParticipantAttributesChanged(who, {"utd.role": role}))

    @rule(grant=flags, flagged=flags)
    def local_permission(self, grant: bool, flagged: bool) -> None:
        self.dispatch(ev.PermissionsChanged("me", grant, is_local=flagged))
        if self.connection is not ConnectionState.DISCONNECTED:
            self.can_publish = grant

    @rule(who=st.sampled_from(OTHERS), grant=flags)
    def remote_permission(self, who: str, grant: bool) -> None:
        self.dispatch(ev.PermissionsChanged(who, grant))

    # -- the engine ---------------------------------------------------------------------------

    @rule(who=st.sampled_from(PEOPLE), seat=st.integers(0, SEAT_COUNT - 1))
    def engine_takes_seat(self, who: str, seat: int) -> None:
        if self.seats[seat] is not None:
            return  # 409 seat_taken: nothing changes
        self.seats = [None if h == who else h for h in self.seats]  # a move frees the old seat
        self.seats[seat] = who
        self._engine_changed()

    @rule(seat=st.integers(0, SEAT_COUNT - 1))
    def engine_frees_seat(self, seat: int) -> None:
        if self.seats[seat] is not None:
            self.seats[seat] = None
            self._engine_changed()

    def _engine_changed(self) -> None:
        self.version += 1
        self.reports[self.version] = _grid_state(self.version, tuple(self.seats))

    @precondition(lambda self: bool(self.reports))
    @rule(data=st.data(), as_metadata=flags)
    def deliver_room_state(self, data: Any, as_metadata: bool) -> None:
        version = data.draw(st.sampled_from(sorted(self.reports)))  # any: late, repeated
        report = self.reports[version]
        if as_metadata:
            self.dispatch(ev.RoomMetadataChanged(json.dumps(unstructure(report))))
        else:
            self.dispatch(ev.RoomStateReceived(report))
        self.delivered = max(self.delivered, version)

    @precondition(lambda self: not self.call_status.is_terminal)
    @rule(status=statuses)
    def engine_call_changes(self, status: UTDCallStatus) -> None:
        self.call_version += 1
        self.call_status = status
        self.call_reports[self.call_version] = UTDCall(
            "c1", status, UTDStreamType.AUDIO_CALL, version=self.call_version
        )

    @precondition(lambda self: bool(self.call_reports))
    @rule(data=st.data())
    def deliver_call(self, data: Any) -> None:
        version = data.draw(st.sampled_from(sorted(self.call_reports)))
        self.dispatch(ev.CallUpdated(self.call_reports[version]))
        self.call_delivered = max(self.call_delivered, version)
        self.terminal_seen |= self.call_reports[self.call_delivered].status.is_terminal

    @precondition(lambda self: self.terminal_seen)
    @rule(status=statuses)
    def replay_after_the_end(self, status: UTDCallStatus) -> None:
        # A buggy or replayed report claiming the finished call is alive again.
        forged = UTDCall("c1", status, UTDStreamType.AUDIO_CALL, version=self.call_version + 5)
        self.dispatch(ev.CallUpdated(forged))

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def roster_matches(self) -> None:
        listed = set(self.store.view(REMOTE_PARTICIPANTS).value)
        assert listed == self.roster, (listed, self.roster)  # who left is never listed
        assert "me" not in listed

    @invariant()
    def can_publish_is_the_last_local_grant(self) -> None:
        assert self.store.view(CAN_PUBLISH).value is self.can_publish
        assert self.store.view(CONNECTION_STATE).value is self.connection

    @invariant()
    def seats_follow_the_newest_report(self) -> None:
        grid = self.store.view(SEATS).value
        if self.delivered < 0:
            assert grid is None
            return
        assert grid is not None and grid.version == self.delivered
        assert grid == self.reports[self.delivered].seats
        holders = grid.holders
        assert len(holders) == len(set(holders)), f"someone holds two seats: {holders}"

    @invariant()
    def call_never_goes_back(self) -> None:
        status = self.store.view(CALL_STATUS).value
        if self.call_delivered < 0:
            assert status is None
        elif self.terminal_seen:
            assert status is not None and status.is_terminal
        else:
            call = self.store.view(CALL).value
            assert call is not None and call.version == self.call_delivered

    def teardown(self) -> None:
        self.store.dispose()


SessionMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
test_session_machine = SessionMachine.TestCase


