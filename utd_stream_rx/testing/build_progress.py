"""Progress of a ``go install -v`` build: one updating counter line on a terminal, a few summary
lines in a log (CI), instead of the hundreds of lines ``go`` prints."""

from __future__ import annotations

import collections
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TextIO

__all__ = ["BuildProgress", "classify_go_line", "run_keeping_tail"]

_PACKAGE = re.compile(r"[A-Za-z0-9_.~+/-]+")

GoLine = Literal["download", "package", "other"]


def classify_go_line(line: str) -> GoLine:
    """What a line of ``go install -v`` says: a module ``download`` (``go: downloading m v``),
    a compiled ``package`` (its import path alone) or ``other`` (errors, notes)."""
    text = line.strip()
    if text.startswith("go: downloading "):
        return "download"
    if _PACKAGE.fullmatch(text) and not text.startswith(("#", "go:")):
        return "package"
    return "other"


class BuildProgress:
    """Counts the modules downloaded and packages compiled while ``what`` builds.

    Args:
        what: What is built, as the progress names it (``livekit-server v1.13.5``).
        stream: Where the progress goes.
        interactive: A terminal: one line rewritten in place (``\\r``). Otherwise a line when
            downloads start, when compiling starts, every ``every`` packages and at the end.
        every: Packages between two summary lines when not interactive.
    """

    def __init__(self, what: str, stream: TextIO, *, interactive: bool, every: int = 100):
        self.what = what
        self.stream = stream
        self.interactive = interactive
        self.every = every
        self.downloads = 0
        """Modules downloaded so far."""
        self.packages = 0
        """Packages compiled so far."""

    def counter(self) -> str:
        """``  building <what>: N modules downloaded, M packages``."""
        parts = [f"{self.packages} packages"]
        if self.downloads:
            parts.insert(0, f"{self.downloads} modules downloaded")
        return f"  building {self.what}: {', '.join(parts)}"

    def start(self) -> None:
        """Say the build starts (it takes minutes the first time)."""
        self._line(f"==> building {self.what} with `go install` (first time only; a few minutes)")

    def feed(self, line: str) -> None:
        """Take one line of ``go``'s output."""
        kind = classify_go_line(line)
        if kind == "download":
            self.downloads += 1
            if not self.interactive and self.downloads == 1:
                self._line("  downloading modules ...")
        elif kind == "package":
            self.packages += 1
            if not self.interactive and self.packages == 1:
                self._line(f"  compiling packages ({self.downloads} modules downloaded) ...")
            elif not self.interactive and self.packages % self.every == 0:
                self._line(f"  {self.packages} packages compiled")
        if self.interactive and kind != "other":
            self.stream.write("\r" + self.counter())
            self.stream.flush()

    def finish(self, seconds: float, path: object) -> None:
        """Say the build is done, how big it was and where the binary is."""
        if self.interactive:
            self.stream.write("\r")
        self._line(
            f"  built {self.what} in {seconds:.0f}s ({self.downloads} modules downloaded, "
            f"{self.packages} packages compiled): {path}"
        )

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def run_keeping_tail(
    argv: Sequence[str], env: Mapping[str, str], on_line: Callable[[str], None], kept: int = 30
) -> tuple[int, str]:
    """Run ``argv``, handing each line of its output (stdout and stderr) to ``on_line``;
    answer its exit code and its last ``kept`` lines (for the error when it fails)."""
    tail: collections.deque[str] = collections.deque(maxlen=kept)
    proc = subprocess.Popen(
        list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    with proc.stdout:
        for raw in proc.stdout:
            line = raw.rstrip()
            tail.append(line)
            on_line(line)
    return proc.wait(), "\n".join(tail)
