"""Storage faults injected for real into an engine subprocess: a full disk (the process's file
size limit lowered under it), a database that turns read-only while it runs, and a data folder
it cannot use at start.

While the database cannot be written, writes are answered 503 ``storage_unavailable`` with
``Retry-After`` and change nothing, reads still work, and the engine serves writes again as
soon as it can, without a restart. At start, an unusable data folder is one line on stderr and
exit status 2. The engine runs as root in CI, so the faults are ones root cannot write past:
RLIMIT_FSIZE and immutable files (``chattr +i``), not file modes.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._support.answers import Answer
from tests._support.figures import record
from tests._support.raw_engine import RawEngine, RawEngineOf
from utd_stream_rx.testing import PrivateStackFactory
from utd_stream_rx.testing.engine import EngineProcess

pytestmark = pytest.mark.e2e

ROOM = "den"
SEATS = f"/api/v1/audio-rooms/{ROOM}/seats"


@contextlib.contextmanager
def _file_size_limit(pid: int, limit: int) -> Iterator[None]:
    """The process may not write a byte past ``limit`` in any file (as on a full disk)."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def _chattr(flag: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)


@contextlib.contextmanager
def _immutable(*paths: Path) -> Iterator[None]:
    """Nobody, root included, may write ``paths`` (the filesystem's immutable flag)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = _chattr("+i", *paths)
    if made.returncode != 0:
        _chattr("-i", *paths)
        pytest.skip(f"this filesystem or user cannot set the immutable flag: {made.stderr}")
    try:
        yield
    finally:
        assert _chattr("-i", *paths).returncode == 0


async def _room_with_a_host(raw: RawEngine) -> tuple[str, str]:
    """Bearers of the host of :data:`ROOM` (created now) and of a listener on her way in (a
    fresh room token: the engine takes her seat commands for its join window)."""
    host = (await raw.room_token("host", ROOM, "audio_room", "host"))["user_token"]
    ann = (await raw.room_token("ann", ROOM, "audio_room", "audience"))["user_token"]
    return host, ann


def _unavailable(answer: Answer) -> None:
    assert (answer.status, answer.code) == (503, "storage_unavailable"), answer
    assert int(answer.headers["Retry-After"]) >= 1, answer.headers


async def _writes_refused_reads_served(raw: RawEngine, host: str, ann: str) -> int:
    """Writes (a seat taken, a call placed, a seat locked) are 503 and change nothing; reads
    answer; the number of refused writes."""
    refused = [
        await raw.send("POST", f"{SEATS}/take", {"seat_index": 1}, bearer=ann),
        await raw.send("POST", "/api/v1/calls", {"callee_identity": "bob", "type": "audio_call"},
                       bearer=ann),
        await raw.send("POST", f"{SEATS}/2/lock", {"locked": True}, bearer=host),
    ]
    for answer in refused:
        _unavailable(answer)
    seats = await raw.send("GET", SEATS, bearer=ann)
    assert seats.status == 200, seats
    grid = seats.body["seats"]["seats"]
    assert all(seat["identity"] is None and not seat["locked"] for seat in grid), grid
    calls = await raw.send("GET", "/api/v1/calls?status=all", bearer=ann)
    assert (calls.status, calls.body) == (200, {"calls": []}), calls
    room = await raw.send("GET", f"/api/v1/rooms/{ROOM}", bearer=ann)
    assert room.status == 200, room
    return len(refused)


async def _next_write_succeeds(raw: RawEngine, ann: str) -> float:
    """Take seat 1 right after the fault is gone; seconds it took."""
    began = time.monotonic()
    taken = await raw.send("POST", f"{SEATS}/take", {"seat_index": 1}, bearer=ann)
    took = time.monotonic() - began
    assert taken.status == 200, taken
    seats = await raw.send("GET", SEATS, bearer=ann)
    assert seats.body["seats"]["seats"][1]["identity"] == "ann", seats
    call = await raw.send("POST", "/api/v1/calls",
                          {"callee_identity": "bob", "type": "audio_call"}, bearer=ann)
    assert call.status == 201, call
    return took


async def test_a_full_disk_is_503_and_the_engine_recovers_by_itself(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    stack = utd_private_stack()
    raw = raw_engine_of(stack)
    host, ann = await _room_with_a_host(raw)
    pid = stack.engine.pid
    assert pid is not None
    # One byte: every write of the database (and of the engine's log) fails with EFBIG, which
    # SQLite reports as a disk I/O error or, for a short write, as a full disk.
    with _file_size_limit(pid, 1):
        refused = await _writes_refused_reads_served(raw, host, ann)
        assert stack.engine.running  # SIGXFSZ did not kill it
    took = await _next_write_succeeds(raw, ann)
    assert stack.engine.pid == pid  # the same process: no restart
    record("storage faults: disk full",
           f"{refused} writes refused with 503, reads served, next write {took * 1e3:.0f} ms "
           "after the disk had room again")


async def test_a_read_only_database_is_503_and_the_engine_recovers_by_itself(
    utd_private_stack: PrivateStackFactory, raw_engine_of: RawEngineOf
) -> None:
    stack = utd_private_stack()
    raw = raw_engine_of(stack)
    host, ann = await _room_with_a_host(raw)
    pid = stack.engine.pid
    db = stack.engine.db_path
    # The database and its write-ahead log (not the shared-memory index: the engine maps it,
    # and an immutable mapped file would kill it with SIGBUS, which no real read-only
    # filesystem does).
    with _immutable(db, db.with_name(db.name + "-wal")):
        refused = await _writes_refused_reads_served(raw, host, ann)
    took = await _next_write_succeeds(raw, ann)
    assert stack.engine.pid == pid
    record("storage faults: read-only database",
           f"{refused} writes refused with 503, reads served, next write {took * 1e3:.0f} ms "
           "after the files were writable again")


def _start_with(db_path: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Start an engine on ``db_path`` and wait for it to give up."""
    engine = EngineProcess(
        livekit_url="ws://127.0.0.1:9",  # never reached: the engine stops before serving
        livekit_api_key="devkey",
        livekit_api_secret="s" * 40,
        db_path=db_path,
        workdir=workdir,
    )
    env = dict(os.environ, LIVEKIT_API_SECRET=engine.livekit_api_secret)
    return subprocess.run(
        engine.command(), capture_output=True, text=True, env=env, timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_an_unusable_data_folder_is_one_clear_line_at_start(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    a_folder = tmp_path / "a-folder"
    a_folder.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    cases = {
        a_file / "engine.sqlite3": "a-file is a file, not a folder",
        a_file / "deeper" / "engine.sqlite3": "a-file is a file, not a folder",
        a_folder: "it is a folder, not a file",
        locked / "engine.sqlite3": "Operation not permitted",
    }
    began = time.monotonic()
    with _immutable(locked):
        for db_path, reason in cases.items():
            done = _start_with(db_path, tmp_path / "work")
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2, (db_path, done.returncode, done.stderr)
            assert len(lines) == 1, (db_path, done.stderr)
            assert str(db_path) in lines[0] and reason in lines[0], (db_path, lines[0])
            assert "Traceback" not in done.stderr
    record("storage faults: unusable data folder",
           f"{len(cases)} cases, each exit 2 with one line, "
           f"{(time.monotonic() - began) / len(cases):.2f} s each")
