"""Run Debian's ``redis-server`` on loopback, in memory only: the bus of a LiveKit cluster."""

from __future__ import annotations

import logging
import shutil
import socket
import time
from pathlib import Path

from .children import ChildProcess, free_port

__all__ = ["RedisError", "RedisServer", "redis_server_binary"]

log = logging.getLogger(__name__)


class RedisError(RuntimeError):
    """redis-server is missing, or could not be started or reached."""


def redis_server_binary() -> Path:
    """The ``redis-server`` on PATH (or Debian's ``/usr/bin/redis-server``)."""
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).is_file():
        raise RedisError(
            "redis-server was not found; install Debian's `redis-server` package "
            "(scripts/setup does when it is missing)"
        )
    return Path(found)


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a Redis server on 127.0.0.1:``port`` answers ``PING``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(ChildProcess):
    """One redis-server in the foreground on 127.0.0.1, with no persistence.

    Args:
        workdir: Where ``redis.log`` goes (a temporary folder by default).
        port: The TCP port (a free one by default; when another process takes it before the
            server binds it, the first start moves to another, and ``address`` follows).
    """

    def __init__(self, *, workdir: Path | None = None, port: int | None = None) -> None:
        super().__init__(workdir, prefix="utd-redis-", log_name="redis.log")
        self._fixed_port = port is not None
        self.port = port or free_port()

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, as LiveKit's ``redis.address`` takes it."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line: loopback only, nothing saved to disk, no protected-mode refusals."""
        return [
            str(redis_server_binary()),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
        ]

    def start(self, timeout: float = 15.0) -> RedisServer:
        """Start the server and wait until it answers ``PING``."""
        if self.running:
            return self
        def start_once() -> None:
            self._spawn(self.command())
            self._wait_pong(timeout)

        self._start_on_a_free_port(start_once, RedisError, fixed_port=self._fixed_port)
        log.info("redis-server up at %s (log: %s)", self.address, self.log_path)
        return self

    def _wait_pong(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RedisError(
                    f"redis-server exited with code {self._proc.returncode} during start; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            if ping(self.port):
                return
            time.sleep(0.05)
        raise RedisError(f"redis-server did not answer within {timeout:.0f}s; see {self.log_path}")

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
