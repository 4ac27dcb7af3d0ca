"""Child processes of the test stack (livekit-server, the engine): free ports, and children
that never outlive the process that started them."""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["Stoppable", "die_with_parent", "forget_at_exit", "free_port", "stop_at_exit"]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago (TCP by default, or ``SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Resolved here, in the parent: loading a library between fork and exec can deadlock when
# other threads (LiveKit's native ones) held the loader lock at the fork.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A ``preexec_fn``: the child gets SIGTERM when its parent dies, in its own process group.

    Runs in the child between fork and exec, so a killed test run never leaves an orphan
    server behind. Nothing here may take a lock.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()


class Stoppable(Protocol):
    """A child process wrapper that can be stopped (idempotently)."""

    def stop(self) -> None:
        """Stop the child."""
        ...


_running: weakref.WeakSet[Stoppable] = weakref.WeakSet()


def stop_at_exit(child: Stoppable) -> None:
    """Stop ``child`` when the interpreter exits, unless :func:`forget_at_exit` ran first."""
    _running.add(child)


def forget_at_exit(child: Stoppable) -> None:
    """``child`` has stopped: nothing to do for it at exit."""
    _running.discard(child)


@atexit.register
def _stop_all() -> None:
    for child in list(_running):
        child.stop()
