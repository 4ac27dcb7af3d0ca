"""Run the reference engine as a subprocess, alone or with its own livekit-server.

:class:`EngineProcess` starts ``python -m utd_stream_rx.devengine`` on 127.0.0.1, waits for
``GET /healthz`` and can be stopped, killed (as a crash would) and restarted on the same port
and database. :class:`LocalStack` pairs it with a :class:`LiveKitServer` whose webhooks point at
the engine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from .livekit_server import LiveKitServer, _die_with_parent, free_port

__all__ = ["DEMO_APP_ID", "DEMO_APP_KEY", "EngineError", "EngineProcess", "LocalStack"]

DEMO_APP_ID = "1234567890"
"""The app id of the local demo credentials (same as the engine's default)."""

DEMO_APP_KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
"""The app key of the local demo credentials."""


class EngineError(RuntimeError):
    """The engine could not be started or reached."""


_running: weakref.WeakSet[EngineProcess] = weakref.WeakSet()


class EngineProcess:
    """One reference engine process with its own port, database and log file.

    Args:
        livekit_url: LiveKit websocket URL the engine hands out.
        livekit_api_key: LiveKit API key.
        livekit_api_secret: LiveKit API secret (passed through the environment, not argv).
        port: HTTP port (a free one by default).
        db_path: SQLite file (``engine.sqlite3`` in the working folder by default).
        workdir: Where the database and ``engine.log`` go (a temporary folder by default).
        app_id: The app id accepted (also the one tests use).
        app_key: Its key.
        extra_args: More command-line flags (``--ring-timeout 2``, ``--ban x`` ...).
    """

    def __init__(
        self,
        *,
        livekit_url: str,
        livekit_api_key: str,
        livekit_api_secret: str,
        port: int | None = None,
        db_path: Path | None = None,
        workdir: Path | None = None,
        app_id: str = DEMO_APP_ID,
        app_key: str = DEMO_APP_KEY,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.livekit_url = livekit_url
        self.livekit_api_key = livekit_api_key
        self.livekit_api_secret = livekit_api_secret
        self.port = port or free_port()
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="utd-engine-"))
        self.db_path = db_path or self.workdir / "engine.sqlite3"
        self.log_path = self.workdir / "engine.log"
        self.app_id = app_id
        self.app_key = app_key
        self.extra_args = list(extra_args)
        self._env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def app_headers(self) -> dict[str, str]:
        """The ``X-UTD-App-Id``/``X-UTD-App-Key`` headers for this engine's app."""
        return {"X-UTD-App-Id": self.app_id, "X-UTD-App-Key": self.app_key}

    def command(self) -> list[str]:
        """The command line (without secrets)."""
        return [
            sys.executable,
            "-m",
            "utd_stream_rx.devengine",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--livekit-url",
            self.livekit_url,
            "--livekit-api-key",
            self.livekit_api_key,
            "--db",
            str(self.db_path),
            "--app",
            f"{self.app_id}:{self.app_key}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 20.0) -> EngineProcess:
        """Start the process and wait until ``/healthz`` answers."""
        if self.running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log_file = log_file
        env = dict(os.environ, **self._env, LIVEKIT_API_SECRET=self.livekit_api_secret)
        self._proc = subprocess.Popen(
            self.command(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
        _running.add(self)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise EngineError(
                    f"the engine exited with code {self._proc.returncode} during start; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise EngineError(f"the engine did not answer within {timeout:.0f}s; see {self.log_path}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the engine log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        log_file, self._log_file = self._log_file, None
        if log_file is not None:
            log_file.close()
        _running.discard(self)

    def kill(self) -> None:
        """SIGKILL, as a crash would; :meth:`restart` brings it back on the same DB."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self.stop()

    def restart(self, timeout: float = 20.0) -> None:
        """Stop (if running) and start again on the same port and database."""
        self.stop()
        self.start(timeout)

    def cleanup(self) -> None:
        """Stop and remove a temporary working folder."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> EngineProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalStack:
    """A livekit-server and a reference engine wired together on loopback.

    The engine's port is chosen first so livekit-server can be told where to post webhooks.

    Args:
        workdir: Where logs, configs and the engine database go (a temporary folder, removed
            by :meth:`cleanup`, by default; a given folder is kept, so its data survives).
        app_id: The app id the engine accepts.
        app_key: Its key.
        engine_args: More engine flags (see ``python -m utd_stream_rx.devengine --help``).
        engine_port: The engine's HTTP port (a free one by default).
        livekit_port: livekit-server's signalling port (a free one by default).
    """

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        app_id: str = DEMO_APP_ID,
        app_key: str = DEMO_APP_KEY,
        engine_args: Sequence[str] = (),
        engine_port: int | None = None,
        livekit_port: int | None = None,
    ) -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="utd-stack-"))
        engine_port = engine_port or free_port()
        self.livekit = LiveKitServer(
            webhook_urls=[f"http://127.0.0.1:{engine_port}/api/v1/livekit/webhook"],
            workdir=self.workdir / "livekit",
            port=livekit_port,
        )
        self.engine = EngineProcess(
            livekit_url=self.livekit.url,
            livekit_api_key=self.livekit.api_key,
            livekit_api_secret=self.livekit.api_secret,
            port=engine_port,
            workdir=self.workdir / "engine",
            app_id=app_id,
            app_key=app_key,
            extra_args=engine_args,
        )

    @property
    def base_url(self) -> str:
        """The engine's base URL."""
        return self.engine.base_url

    @property
    def app_id(self) -> str:
        """The app id the engine accepts."""
        return self.engine.app_id

    @property
    def app_key(self) -> str:
        """Its key."""
        return self.engine.app_key

    def start(self) -> LocalStack:
        """Start livekit-server, then the engine."""
        self.livekit.start()
        # The server may have moved to other ports while starting (one was taken meanwhile).
        self.engine.livekit_url = self.livekit.url
        try:
            self.engine.start()
        except BaseException:
            self.livekit.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the engine, then livekit-server."""
        try:
            self.engine.stop()
        finally:
            self.livekit.stop()

    def cleanup(self) -> None:
        """Stop and remove a temporary working folder."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_all() -> None:
    for engine in list(_running):
        engine.stop()


import atexit  # noqa: E402 - registered last so every engine above is covered

atexit.register(_stop_all)
