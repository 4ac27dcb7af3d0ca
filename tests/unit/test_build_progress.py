"""The first livekit-server build's progress, driven with recorded ``go install -v`` output (no
Go build here), and the Go version check comparing versions as numbers."""

from __future__ import annotations

import io
import os
import shutil
import sys

import pytest

from utd_stream_rx.testing.build_progress import (
    BuildProgress,
    classify_go_line,
    run_keeping_tail,
)
from utd_stream_rx.testing.go_toolchain import go_version_problem, parse_go_version
from utd_stream_rx.testing.livekit_server import LIVEKIT_SERVER_GO, LIVEKIT_SERVER_VERSION

# What `go install -v github.com/livekit/livekit-server/cmd/server@v1.13.5` prints on a fresh
# machine, cut short: module downloads first, then one import path per package compiled.
RECORDED_DOWNLOADS = [
    "go: downloading github.com/livekit/livekit-server v1.13.5",
    "go: downloading github.com/bep/debounce v1.2.1",
    "go: downloading github.com/d5/tengo/v2 v2.17.0",
    "go: downloading github.com/livekit/protocol v1.50.5-0.20260728075222-28e604c046c6",
    "go: downloading github.com/livekit/psrpc v0.7.2",
]
RECORDED_PACKAGES = [
    "internal/goarch",
    "internal/abi",
    "runtime/internal/atomic",
    "github.com/bep/debounce",
    "github.com/d5/tengo/v2/parser",
    "github.com/livekit/protocol/livekit",
    "github.com/livekit/psrpc/internal",
    "gopkg.in/yaml.v3",
    "github.com/livekit/livekit-server/pkg/rtc",
    "github.com/livekit/livekit-server/cmd/server",
]
RECORDED = [*RECORDED_DOWNLOADS, *RECORDED_PACKAGES]
WHAT = f"livekit-server {LIVEKIT_SERVER_VERSION}"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("go: downloading github.com/bep/debounce v1.2.1", "download"),
        ("github.com/livekit/protocol/livekit", "package"),
        ("gopkg.in/yaml.v3", "package"),
        ("internal/abi", "package"),
        ("# github.com/livekit/livekit-server/pkg/rtc", "other"),
        ("pkg/rtc/room.go:12:3: undefined: x", "other"),
        ("go: github.com/x/y@v1.0.0: missing go.sum entry", "other"),
        ("", "other"),
    ],
)
def test_each_kind_of_go_line_is_told_apart(line: str, kind: str) -> None:
    assert classify_go_line(line) == kind


def test_on_a_terminal_one_counter_line_is_rewritten_in_place() -> None:
    out = io.StringIO()
    progress = BuildProgress(WHAT, out, interactive=True)
    for line in RECORDED:
        progress.feed(line)
    progress.finish(95.4, "/cache/livekit-server")
    text = out.getvalue()
    frames = text.split("\r")
    assert frames[0] == ""
    assert frames[1] == f"  building {WHAT}: 1 modules downloaded, 0 packages"
    assert frames[len(RECORDED)] == f"  building {WHAT}: 5 modules downloaded, 10 packages"
    assert frames[-1] == (
        f"  built {WHAT} in 95s (5 modules downloaded, 10 packages compiled): "
        "/cache/livekit-server\n"
    )
    assert text.count("\n") == 1  # one line on screen, however many packages
    assert "go:" not in text and "github.com" not in text


def test_the_counter_without_downloads_counts_packages_only() -> None:
    progress = BuildProgress(WHAT, io.StringIO(), interactive=True)
    for line in RECORDED_PACKAGES[:3]:
        progress.feed(line)
    assert progress.counter() == f"  building {WHAT}: 3 packages"


def test_in_a_log_a_few_summary_lines() -> None:
    out = io.StringIO()
    progress = BuildProgress(WHAT, out, interactive=False, every=4)
    progress.start()
    for line in [*RECORDED, "go: warning: something worth keeping in the tail only"]:
        progress.feed(line)
    progress.finish(95.0, "/cache/livekit-server")
    assert out.getvalue().splitlines() == [
        f"==> building {WHAT} with `go install` (first time only; a few minutes)",
        "  downloading modules ...",
        "  compiling packages (5 modules downloaded) ...",
        "  4 packages compiled",
        "  8 packages compiled",
        f"  built {WHAT} in 95s (5 modules downloaded, 10 packages compiled): "
        "/cache/livekit-server",
    ]
    assert "\r" not in out.getvalue()


def test_a_failing_command_answers_its_code_and_its_last_lines() -> None:
    seen: list[str] = []
    script = "for i in $(seq 1 40); do echo line $i; done; echo oops >&2; exit 7"
    code, tail = run_keeping_tail(["sh", "-c", script], os.environ, seen.append, kept=5)
    assert code == 7
    assert tail.splitlines() == ["line 37", "line 38", "line 39", "line 40", "oops"]
    assert len(seen) == 41


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("go1.26.8", (1, 26, 8)),
        ("go1.26", (1, 26, 0)),
        ("go1.27rc1", (1, 27, 0)),
        ("devel go1.27-4b3f2a1 Tue Jul 1 2026", (1, 27, 0)),
        ("go version go1.9.2 linux/amd64", (1, 9, 2)),
        ("not go", None),
    ],
)
def test_go_versions_are_read_as_numbers(
    text: str, version: tuple[int, int, int] | None
) -> None:
    assert parse_go_version(text) == version


def test_go_1_9_is_older_than_1_26_which_a_string_comparison_gets_wrong() -> None:
    old = parse_go_version("go1.9.2")
    assert old is not None and old[:2] < LIVEKIT_SERVER_GO
    assert "go1.9.2" > "go1.26"  # why versions are not compared as text


def test_the_pinned_server_needs_go_1_26() -> None:
    assert LIVEKIT_SERVER_GO == (1, 26)


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the machine's Go")
def test_the_machine_s_go_is_checked_against_what_the_server_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOTOOLCHAIN", raising=False)
    assert go_version_problem(LIVEKIT_SERVER_GO, WHAT) is None  # the machine's Go suffices
    problem = go_version_problem((1, 99), WHAT)
    assert problem is not None
    assert problem.startswith(f"{WHAT} needs Go 1.99 or newer to build (its go.mod says ")
    assert "https://go.dev/dl/" in problem and "UTD_LIVEKIT_SERVER_BIN" in problem
    monkeypatch.setenv("GOTOOLCHAIN", "go1.99.0+auto")  # the user lets go fetch it
    assert go_version_problem((1, 99), WHAT) is None


def test_without_go_the_message_says_which_go_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    if shutil.which("go") is not None:
        pytest.skip("go sits next to python")
    problem = go_version_problem(LIVEKIT_SERVER_GO, WHAT)
    assert problem == (
        f"Go is not installed (no `go` on PATH). {WHAT} is built from source with "
        "`go install` and needs Go 1.26 or newer: install it from https://go.dev/dl/ "
        "or set UTD_LIVEKIT_SERVER_BIN to an existing livekit-server binary."
    )
