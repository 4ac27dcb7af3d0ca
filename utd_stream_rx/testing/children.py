"""Child processes of the test stack (livekit-server, the engine): free ports, and children
that never outlive the process that started them."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol, Self

from .off_loop import off_loop

__all__ = [
    "ChildProcess",
    "Stoppable",
    "dying_with_parent",
    "forget_at_exit",
    "free_port",
    "stop_at_exit",
]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago (TCP by default, or ``SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _primary_group(user: str) -> int:
    """The primary group id of the OS user ``user``."""
    import pwd  # POSIX only: imported when a child runs as another user, never at import

    return pwd.getpwnam(user).pw_gid


def _pdeathsig_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig TERM --`` where util-linux's ``setpriv`` exists, else nothing."""
    setpriv = shutil.which("setpriv")
    return () if setpriv is None else (setpriv, "--pdeathsig", "TERM", "--")


# No ``preexec_fn``: Python code run between fork and exec can deadlock the child when another
# thread held an interpreter lock at the fork (LiveKit's native threads, the children's own
# threads). ``setpriv`` asks the kernel for the signal instead, then execs the real program.
_PDEATHSIG_PREFIX = _pdeathsig_prefix()


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` run so that it gets SIGTERM when the thread that started it dies
    (``PR_SET_PDEATHSIG``, set by ``setpriv`` where it exists), so a killed test run never
    leaves an orphan server behind."""
    return [*_PDEATHSIG_PREFIX, *argv]


_START_ATTEMPTS = 3  # tries of a child whose port was taken before it could bind it
_PORT_TAKEN = "Address already in use"  # what PostgreSQL, Redis and nginx log then


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


class ChildProcess:
    """A server run as a child process with its own working folder and log file.

    Subclasses start it with :meth:`_spawn` and :meth:`_wait_ready`; stopping, killing,
    pausing, log reading and cleanup are the same for every kind.

    Args:
        workdir: Where the log (and whatever the child writes) goes; a temporary folder, removed
            by :meth:`cleanup`, by default.
        prefix: The temporary folder's name prefix.
        log_name: The log file's name in the working folder.
    """

    _GRACEFUL_STOP: float | None = None
    """Seconds after a first SIGTERM before a second one (``None``: one SIGTERM, then SIGKILL)."""

    _STOP_SIGNAL: signal.Signals = signal.SIGTERM
    """The signal that asks the child to stop (PostgreSQL's fast shutdown is SIGINT)."""

    port: int
    """The child's listening port, for kinds that have one."""

    def __init__(self, workdir: Path | None, *, prefix: str, log_name: str) -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=prefix))
        self.log_path = self.workdir / log_name
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def exit_code(self) -> int | None:
        """How the process ended, until :meth:`stop` forgets it: its exit code, or minus the
        signal that killed it; ``None`` while it runs or once stopped."""
        return self._proc.poll() if self._proc is not None else None

    def _spawn(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, user: str | None = None
    ) -> None:
        """Start ``argv`` with its output appended to the log; it dies with this process.

        ``user``: the OS user it runs as (for servers that refuse to run as root); the switch
        happens before ``setpriv`` sets the parent-death signal, which a change of user clears.
        The child leads a process group of its own.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log_file = log_file
        self._proc = subprocess.Popen(
            dying_with_parent(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            user=user,
            group=None if user is None else _primary_group(user),
            extra_groups=None if user is None else [],
            process_group=0,
        )
        stop_at_exit(self)

    def _wait_ready(
        self, url: str, timeout: float, failure: type[Exception], name: str, poll: float
    ) -> None:
        """Wait until ``url`` answers 200; ``failure`` if the child exits or stays silent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise failure(
                    f"{name} exited with code {self._proc.returncode} during start; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(poll)
        raise failure(f"{name} did not answer within {timeout:.0f}s; see {self.log_path}")

    def _start_on_a_free_port(
        self, start_once: Callable[[], None], failure: type[Exception], *, fixed_port: bool
    ) -> None:
        """Run ``start_once``; when it fails with ``failure`` because the child's port was
        taken between picking it and binding it (the log says so), pick another free port
        (``self.port``) and try again, up to three times. A port the caller fixed stays."""
        for attempt in range(_START_ATTEMPTS):
            try:
                start_once()
                return
            except failure:
                self.stop()
                taken = _PORT_TAKEN in self.log_tail(10)
                if fixed_port or not taken or attempt == _START_ATTEMPTS - 1:
                    raise
                self.port = free_port()
            except BaseException:
                self.stop()
                raise

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, for error messages (very long lines cut short)."""
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n".join(line if len(line) <= 400 else line[:400] + " ..." for line in tail)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (or the kind's stop signal), then SIGKILL after ``timeout``. Safe to call
        twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            graces = (timeout,) if self._GRACEFUL_STOP is None else (self._GRACEFUL_STOP, timeout)
            for grace in graces:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self._STOP_SIGNAL)
                try:
                    proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        log_file, self._log_file = self._log_file, None
        if log_file is not None:
            log_file.close()
        forget_at_exit(self)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self.stop()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP), as a hung server: it stays alive and its sockets
        accept connections, but it answers nothing until :meth:`resume`."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused process run again (SIGCONT)."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def hung(self) -> Iterator[None]:
        """The process paused for the block, and resumed after it whatever happens."""
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def cleanup(self) -> None:
        """Stop, and remove the working folder if it is a temporary one made here."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def start(self, timeout: float = 30.0) -> Self:
        """Start the child and wait until it is ready (each kind defines it)."""
        raise NotImplementedError

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again (same port and data)."""
        self.stop()
        self.start(timeout)

    async def astart(self, timeout: float | None = None) -> Self:
        """:meth:`start` without blocking the event loop (the kind's timeout by default)."""
        start = self.start if timeout is None else functools.partial(self.start, timeout)
        return await off_loop(start)

    async def astop(self, timeout: float = 10.0) -> None:
        """:meth:`stop` without blocking the event loop."""
        await off_loop(functools.partial(self.stop, timeout))

    async def arestart(self, timeout: float | None = None) -> None:
        """:meth:`restart` without blocking the event loop (the kind's timeout by default)."""
        restart = self.restart if timeout is None else functools.partial(self.restart, timeout)
        await off_loop(restart)

    async def akill(self) -> None:
        """:meth:`kill` without blocking the event loop."""
        await off_loop(self.kill)

    async def acleanup(self) -> None:
        """:meth:`cleanup` without blocking the event loop."""
        await off_loop(self.cleanup)
