"""Children of the test tooling die with the thread that started them (the kernel's parent-death
signal, asked for by ``setpriv`` between fork and exec, with no Python code run in the child)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest

from utd_stream_rx.testing.children import dying_with_parent

pytestmark = pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")


def _started_on_a_thread(thread_lives: threading.Event) -> subprocess.Popen[bytes]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(subprocess.Popen(dying_with_parent(["sleep", "30"])))
        thread_lives.wait()

    thread = threading.Thread(target=start)
    thread.start()
    while not started:
        time.sleep(0.01)
    return started[0]


def _ended_within(child: subprocess.Popen[bytes], seconds: float) -> int | None:
    try:
        return child.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def test_a_child_gets_sigterm_when_the_thread_that_started_it_ends() -> None:
    thread_lives = threading.Event()
    child = _started_on_a_thread(thread_lives)
    try:
        time.sleep(0.2)  # setpriv has execed into sleep by now
        assert child.poll() is None
        thread_lives.set()  # the starting thread returns and ends
        assert _ended_within(child, 5.0) == -15  # SIGTERM, from the kernel
    finally:
        child.kill()
        child.wait()


def test_a_child_lives_while_the_thread_that_started_it_lives() -> None:
    thread_lives = threading.Event()
    child = _started_on_a_thread(thread_lives)
    try:
        assert _ended_within(child, 1.0) is None
    finally:
        thread_lives.set()
        child.kill()
        child.wait()
