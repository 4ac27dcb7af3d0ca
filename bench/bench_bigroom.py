"""Big room: CPU and memory per listener, SDK sessions against raw ``rtc.Room``s, and seats in sync.

One audio room: a host, ``--speakers`` speakers seated and publishing a tone each, and the
listeners of one side at a time, ``--workers`` fresh processes of ``--per-worker`` listeners
(SDK sessions, or raw ``rtc.Room``s with tokens minted by hand). Both kinds auto-subscribe to
every speaker and leave the frames to the native layer (none is read in Python), and both
follow the seat grid (the SDK through its ``seats`` view, the raw rooms by decoding the room
metadata). The sides take turns, a few rounds, each in processes of its own:

- CPU per listener: the workers' user + system time over a steady window, per listener;
- RSS per listener: the workers' resident set growth from before the first join to the end
  of the window, per listener. Target for both: at most 1.10x (median of per-round ratios).
- seats in sync: with the SDK listeners in the room the host and the speakers make
  ``--changes`` seat changes; every listener's ``seats`` view must equal the engine's grid
  within 1 s of the change's request going to the engine. A late listener misses the target.

Also printed: what each process group used of a core during the window, and the audio one
listener of each side received (it must be a speaker's tone). Run inside ``scripts/isolated``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics

import attrs
from _bigroom_load import LoadSample, load_line, sample
from _bigroom_room import FREQUENCIES, Cast, make_changes, open_room
from _bigroom_sync import sync_figures
from _bigroom_workers import RoomDidNotHold, RoomPlan, WorkerSet, start_workers
from _common import parser, report

from utd_stream_rx.testing import LocalStack

ROOM = "bench-bigroom"
SYNC_LIMIT = 1.0  # seconds from a seat change to every listener's view showing it
CHANGE_PACE = 1.5  # seconds between two seat changes
# The per-identity limits too: every listener of a run mints from the same address and app.
ENGINE_ARGS = [
    "--rate-limit", "0", "--room-limit-per-identity", "0", "--max-connections-per-client", "0",
]


@attrs.frozen
class Settings:
    """The size of the room and of the measurement."""

    plan: RoomPlan
    rounds: int
    window: float
    settle: float
    changes: int


@attrs.frozen
class SideFigures:
    """One side's figures in one round (``in_sync``: the seat check, when it ran)."""

    cpu_ms_per_s: float
    rss_kib: float
    heard_hz: float = 0.0
    in_sync: bool | None = None


def _settings(args: argparse.Namespace) -> Settings:
    if args.quick:
        return Settings(RoomPlan(2, 4, 2), rounds=2, window=3.0, settle=1.0, changes=3)
    plan = RoomPlan(args.workers, args.per_worker, args.speakers)
    return Settings(plan, args.rounds, args.window, args.settle, args.changes)


def _arguments() -> argparse.ArgumentParser:
    args = parser(__doc__.splitlines()[0], rounds=3)
    # 4 x 5: about the largest room a 2-core machine holds beside livekit-server and the cast (see
    # README.md); --per-worker 25 is the 100-listener room of a machine with cores to spare.
    args.add_argument("--workers", type=int, default=4, help="listener processes per side")
    args.add_argument("--per-worker", type=int, default=5, help="listeners per process")
    args.add_argument("--speakers", type=int, default=8, help="seated speakers (at most 9)")
    args.add_argument("--changes", type=int, default=20, help="seat changes to check")
    args.add_argument("--window", type=float, default=15.0, help="seconds of CPU measured")
    args.add_argument("--settle", type=float, default=5.0, help="seconds before the window")
    return args


def _is_tone(hz: float) -> bool:
    return any(abs(hz - tone) < 15.0 for tone in FREQUENCIES)


def _groups(stack: LocalStack, workers: WorkerSet) -> dict[str, list[int]]:
    return {
        f"{workers.side} workers": workers.pids,
        "livekit-server": [stack.livekit.pid or 0],
        "engine": [stack.engine.pid or 0],
        "bench (host, speakers)": [os.getpid()],
    }


def _figures(workers: WorkerSet, window: list[dict[str, float]], plan: RoomPlan) -> SideFigures:
    cpu = sum(answer["cpu_s"] / answer["wall_s"] for answer in window)
    grown = sum(
        answer["rss_kib"] - ready["rss_before_kib"]
        for answer, ready in zip(window, workers.ready, strict=True)
    )
    return SideFigures(1000 * cpu / plan.listeners, grown / plan.listeners, 0.0)


def _describe(workers: WorkerSet, window: list[dict[str, float]], load: str) -> None:
    ready = max(answer["ready_s"] for answer in workers.ready)
    threads = statistics.median(answer["threads"] for answer in window)
    fds = statistics.median(answer["fds"] for answer in window)
    print(
        f"  {workers.side}: in and subscribed in {ready:.1f} s; during the window {load}; "
        f"per worker {threads:.0f} threads, {fds:.0f} open files",
        flush=True,
    )


async def _measure_side(
    stack: LocalStack, side: str, settings: Settings, cast: Cast | None
) -> SideFigures:
    """One side's workers join, settle, are measured, check the seats (given the cast) and
    leave."""
    workers = await start_workers(stack, side, ROOM, settings.plan)
    try:
        await asyncio.sleep(settings.settle)
        before: LoadSample = sample(_groups(stack, workers))
        window = await workers.ask(f"window {settings.window}")
        _describe(workers, window, load_line(before, sample(_groups(stack, workers))))
        figures = _figures(workers, window, settings.plan)
        heard = (await workers.ask("hear"))[0]
        figures = attrs.evolve(figures, heard_hz=heard["hz"])
        if cast is not None:
            in_sync = await _seats_in_sync(cast, workers, settings.changes)
            figures = attrs.evolve(figures, in_sync=in_sync)
    finally:
        await workers.quit()
    return figures


async def _seats_in_sync(cast: Cast, workers: WorkerSet, count: int) -> bool:
    changes = await make_changes(cast, count, CHANGE_PACE)
    logs = [log for answer in await workers.ask("seats") for log in answer["logs"]]
    figures = sync_figures(logs, changes, SYNC_LIMIT)
    ok = figures.late == 0
    print(
        f"seats in sync ({figures.listeners} SDK listeners, {figures.changes} changes): "
        f"median {1000 * figures.median:.0f} ms, p99 {1000 * figures.p99:.0f} ms, worst "
        f"{1000 * figures.worst:.0f} ms, late {figures.late} of {len(figures.lags)} "
        f"(target <= {1000 * SYNC_LIMIT:.0f} ms) {'ok' if ok else 'MISSED'}",
        flush=True,
    )
    for index, change in enumerate(changes):
        lags = figures.lags[index :: len(changes)]
        late = sum(1 for lag in lags if lag > SYNC_LIMIT)
        print(
            f"  change {index + 1}, {change.what} (the command took {1000 * change.took:.0f} ms):"
            f" worst {1000 * max(lags):.0f} ms, late {late} of {len(lags)}",
            flush=True,
        )
    return ok


async def _rounds(stack: LocalStack, settings: Settings) -> dict[str, list[SideFigures]]:
    """The sides in alternation (which goes first alternates too); the seat check runs with
    the SDK listeners of the last round."""
    cast = await open_room(stack, ROOM, settings.plan.speakers)
    figures: dict[str, list[SideFigures]] = {"sdk": [], "raw": []}
    try:
        for n in range(settings.rounds):
            print(f"round {n + 1} of {settings.rounds}", flush=True)
            sides = ["sdk", "raw"] if n % 2 == 0 else ["raw", "sdk"]
            for side in sides:
                checks = cast if side == "sdk" and n == settings.rounds - 1 else None
                figures[side].append(await _measure_side(stack, side, settings, checks))
                await asyncio.sleep(2.0)  # the leavers are gone before the next side joins
    finally:
        await cast.aclose()
    return figures


def _report(settings: Settings, figures: dict[str, list[SideFigures]]) -> bool:
    plan = settings.plan
    room = f"{plan.listeners} listeners in {plan.workers} processes, {plan.speakers} speakers"
    sdk, raw = figures["sdk"], figures["raw"]
    ok = report(
        f"cpu per listener ({room})", "ms/s",
        [f.cpu_ms_per_s for f in sdk], [f.cpu_ms_per_s for f in raw], 1.10,
    )
    ok = report(
        f"rss per listener ({room})", "KiB", [f.rss_kib for f in sdk], [f.rss_kib for f in raw],
        1.10,
    ) and ok
    heard = [f.heard_hz for f in sdk + raw]
    audible = all(_is_tone(hz) for hz in heard)
    print(
        f"audio a listener received: {', '.join(f'{hz:.0f} Hz' for hz in heard)} "
        f"({'a speaker' if audible else 'NOT a speaker'}'s tone each)",
        flush=True,
    )
    in_sync = all(f.in_sync is not False for f in sdk)
    return ok and audible and in_sync


def main() -> int:
    args = _arguments().parse_args()
    settings = _settings(args)
    with LocalStack(engine_args=ENGINE_ARGS) as stack:
        try:
            figures = asyncio.run(_rounds(stack, settings))
        except RoomDidNotHold as exc:
            plan = settings.plan
            print(
                f"the room did not hold {plan.listeners} listeners and {plan.speakers} speakers"
                f" on this machine: {exc}; try fewer (--workers, --per-worker)",
                flush=True,
            )
            return 1
    ok = _report(settings, figures)
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
