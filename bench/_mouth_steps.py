"""The steps inside one round (answer, permission, published, subscribed, first frame, heard),
stamped as they happen, and their medians printed beside the figure (not targets)."""

from __future__ import annotations

import statistics
import time
from typing import Literal

import attrs
from reactivex.abc import DisposableBase

from utd_stream_rx import UTDSession
from utd_stream_rx.state.events import (
    Event,
    LocalTrackPublished,
    PermissionsChanged,
    RoomStateReceived,
)

Kind = Literal["audio", "video"]

STEP_ORDER = (
    "engine answered", "permission event", "published", "command returned", "receiver told",
    "receiver subscribed", "first frame", "arrived",
)


@attrs.define
class Steps:
    """Milliseconds from the start of a round to each step seen so far (first time only)."""

    began: float = attrs.field(factory=time.perf_counter)
    at: dict[str, float] = attrs.field(factory=dict)

    def start(self) -> None:
        """Start the clock now; steps seen before this are forgotten."""
        self.began = time.perf_counter()
        self.at.clear()

    def stamp(self, step: str, when: float | None = None) -> None:
        """Record ``step`` at ``when`` (default: now), unless it was recorded already."""
        if step not in self.at:
            self.at[step] = ((when or time.perf_counter()) - self.began) * 1e3

    def line(self) -> str:
        """The steps seen, in order, as ``step ms`` pairs."""
        return ", ".join(f"{step} {self.at[step]:.1f}" for step in STEP_ORDER if step in self.at)


def watch_session(
    session: UTDSession, steps: Steps, kind: Kind, *, answers: bool
) -> DisposableBase:
    """Stamp the session's own steps: its permission event, its ``kind`` track published and,
    with ``answers`` (the session runs the round's command), the engine's answer."""

    def on_event(event: Event) -> None:
        if answers and isinstance(event, RoomStateReceived):
            steps.stamp("engine answered")
        elif isinstance(event, PermissionsChanged) and event.is_local:
            if event.permissions.can_publish:
                steps.stamp("permission event")
        elif isinstance(event, LocalTrackPublished) and event.track.kind == kind:
            steps.stamp("published")

    return session.events.subscribe(on_event)


def print_steps(figure: str, sdk: list[Steps], raw: list[Steps]) -> None:
    """One line per step: its median in ms from the start of the round on either path."""
    print(f"{figure}, steps (median ms from the start of a round; not targets):", flush=True)
    for step in STEP_ORDER:
        line = f"  {step:<20}"
        for path, rounds in (("sdk", sdk), ("raw", raw)):
            seen = [r.at[step] for r in rounds if step in r.at]
            line += f"  {path} {statistics.median(seen):7.1f}" if seen else f"  {path}       -"
        print(line, flush=True)
