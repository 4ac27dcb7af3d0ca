"""Watching a running stack: until Ctrl-C or SIGTERM, or until one of its processes dies, in
which case the report names it, says how it ended and shows the end of its log."""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence

from ..testing.children import ChildProcess
from ._errors import CliError

__all__ = ["LOG_LINES", "death_report", "wait_for_stop"]

LOG_LINES = 20
"""How many of the last log lines a death report shows."""


def _how_it_ended(code: int | None) -> str:
    if code is None:
        return "stopped (exit code unknown)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name} (exit code {code})"
    return f"exited with code {code}"


def death_report(name: str, process: ChildProcess, lines: int = LOG_LINES) -> str:
    """What to tell the user about ``process`` (called ``name``) that is no longer running:
    its name, how it ended and the last ``lines`` lines of its log."""
    tail = process.log_tail(lines)
    head = f"{name} {_how_it_ended(process.exit_code)}"
    if not tail:
        return f"{head}; its log {process.log_path} is empty"
    shown = tail.splitlines()
    body = "\n".join("    " + line for line in shown)
    return f"{head}; the last {len(shown)} lines of its log {process.log_path}:\n{body}"


def wait_for_stop(stop: threading.Event, parts: Sequence[tuple[str, ChildProcess]]) -> None:
    """Until Ctrl-C or ``stop`` is set; a :class:`CliError` with the :func:`death_report` of
    the first of the named ``parts`` that is no longer running."""
    try:
        while not stop.wait(0.5):
            for name, process in parts:
                if not process.running:
                    raise CliError(death_report(name, process))
    except KeyboardInterrupt:
        pass
