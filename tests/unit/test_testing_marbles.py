"""The marble-testing kit users get in ``utd_stream_rx.testing.marbles``."""

from __future__ import annotations

import pytest

from utd_stream_rx.state import events as ev
from utd_stream_rx.state.view_specs import CAN_PUBLISH, CONNECTED
from utd_stream_rx.testing.marbles import (
    assert_view_marbles,
    reduce_all,
    view_marbles,
    view_values,
)

ME = ev.Connected("me")
GRANT = ev.PermissionsChanged("me", True, is_local=True)
REVOKE = ev.PermissionsChanged("me", False, is_local=True)


def test_assert_view_marbles_passes_for_the_right_timeline() -> None:
    assert_view_marbles(
        lambda store: store.view(CAN_PUBLISH),
        "--k-g-g-r",
        {"k": ME, "g": GRANT, "r": REVOKE},
        "f---t---f",  # the repeated grant shows nothing
        {"f": False, "t": True},
    )


def test_assert_view_marbles_fails_for_a_wrong_timeline() -> None:
    with pytest.raises(AssertionError, match="view saw"):
        assert_view_marbles(
            lambda store: store.view(CAN_PUBLISH),
            "--k-g",
            {"k": ME, "g": GRANT},
            "f-t",  # one tick too early
            {"f": False, "t": True},
        )


def test_view_marbles_records_ticks_and_values() -> None:
    recorded = view_marbles(lambda store: store.view(CONNECTED), "--k", {"k": ME})
    assert [(r.time, r.value.value) for r in recorded] == [(200.0, False), (202.0, True)]


def test_view_values_and_reduce_all_fold_plain_lists() -> None:
    timeline = [ev.Connecting(), ME, GRANT, ev.Disconnected("gone")]
    assert view_values(lambda store: store.view(CAN_PUBLISH), timeline) == [False, True, False]
    state = reduce_all(timeline[:3])
    assert state.local_identity == "me" and state.permissions.can_publish
    assert reduce_all([], state) is state
