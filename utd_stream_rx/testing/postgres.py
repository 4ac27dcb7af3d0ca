"""Run Debian's PostgreSQL on loopback with a data folder of its own, for the local cluster.

:class:`PostgresServer` finds the server binaries (``/usr/lib/postgresql/<highest>/bin``, else
``pg_config --bindir``), creates a database cluster with ``initdb`` in its working folder (user
``utd``, trust authentication on loopback, UTF-8) and runs the ``postgres`` server in the
foreground as a child process, on 127.0.0.1 and a free port, with its socket in the working
folder: nothing system-wide is configured or touched. initdb and postgres refuse to run as
root; as root they run as the ``postgres`` OS user that Debian's package creates.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from .children import ChildProcess, free_port

__all__ = ["PostgresError", "PostgresServer", "postgres_bindir"]

log = logging.getLogger(__name__)

_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_SERVICE_USER = "postgres"  # the OS user Debian's postgresql package creates
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or could not be initialised, started or reached."""


def postgres_bindir() -> Path:
    """The folder of ``initdb``/``postgres``: Debian's highest version, else ``pg_config``'s."""
    versions = sorted(
        (path for path in _DEBIAN_ROOT.glob("*/bin") if (path / "initdb").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else -1,
    )
    if versions:
        return versions[-1]
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        found = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and (Path(found) / "initdb").is_file():
            return Path(found)
    raise PostgresError(
        "PostgreSQL's server binaries (initdb, postgres) were not found; install Debian's "
        "`postgresql` package (scripts/setup does when it is missing)"
    )


def _open_the_way(folder: Path, user: str) -> None:
    """Let OS user ``user`` pass through every folder above ``folder``.

    Folders of the system's temporary area made by this user (``mkdtemp`` makes them 0700) get
    the right to pass through (not to list); any other folder in the way is an error, never
    changed (a home folder, for one).
    """
    import pwd  # POSIX only: imported here, so this module loads on any platform

    uid = pwd.getpwnam(user).pw_uid
    temporary = Path(tempfile.gettempdir()).resolve()
    for parent in folder.resolve().parents:
        status = parent.stat()
        if status.st_uid == uid or status.st_mode & stat.S_IXOTH:
            continue
        if temporary in parent.parents and status.st_uid == os.geteuid():
            parent.chmod(stat.S_IMODE(status.st_mode) | stat.S_IXOTH)
            continue
        raise PostgresError(
            f"the {user} OS user, which runs PostgreSQL here (it refuses to run as root), "
            f"cannot enter {parent}: give PostgreSQL a working folder it can reach "
            "(under /tmp, for example)"
        )


class PostgresServer(ChildProcess):
    """One PostgreSQL server on 127.0.0.1 with its own data folder, port and log file.

    Args:
        workdir: Holds ``data/``, the socket and ``postgres.log`` (a temporary folder by default;
            a given one keeps its data across runs).
        port: The TCP port (a free one by default; when another process takes it before the
            server binds it, the first start moves to another, and ``dsn`` follows).
        user: The database superuser ``initdb`` creates (trust authentication, no password).
        max_connections: The server's connection limit (engines keep pools of their own).
    """

    _STOP_SIGNAL = signal.SIGINT  # fast shutdown: open sessions are ended, not waited for

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        port: int | None = None,
        user: str = "utd",
        max_connections: int = 300,
    ) -> None:
        super().__init__(workdir, prefix="utd-postgres-", log_name="postgres.log")
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.user = user
        self.max_connections = max_connections
        self.bindir = postgres_bindir()
        self.data_dir = self.workdir / "data"
        self._os_user = _SERVICE_USER if os.geteuid() == 0 else None

    def dsn(self, database: str = "postgres") -> str:
        """``postgresql://<user>@127.0.0.1:<port>/<database>``."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> PostgresServer:
        """Create the data folder on first use, start the server and wait until it answers."""
        if self.running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._hand_workdir_over()
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()
        def start_once() -> None:
            self._spawn(self._server_argv(), user=self._os_user)
            self._wait_accepting(timeout)

        self._start_on_a_free_port(start_once, PostgresError, fixed_port=self._fixed_port)
        log.info("PostgreSQL up at %s (log: %s)", self.dsn(), self.log_path)
        return self

    def _hand_workdir_over(self) -> None:
        """As root, the service user owns the working folder (initdb and postgres write it)."""
        if self._os_user is None:
            return
        _open_the_way(self.workdir, self._os_user)
        os.chmod(self.workdir, 0o700)
        shutil.chown(self.workdir, self._os_user, self._os_user)
        if self.log_path.exists():
            shutil.chown(self.log_path, self._os_user, self._os_user)

    def _initdb(self) -> None:
        argv = [
            str(self.bindir / "initdb"),
            "-D", str(self.data_dir),
            "-U", self.user,
            "--auth=trust",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        done = self._run_as_service_user(argv)
        if done.returncode != 0:
            raise PostgresError(f"initdb failed ({done.returncode}):\n{done.stdout}")

    def _run_as_service_user(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            user=self._os_user,
            group=None if self._os_user is None else self._os_user,
            extra_groups=None if self._os_user is None else [],
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )

    def _server_argv(self) -> list[str]:
        return [
            str(self.bindir / "postgres"),
            "-D", str(self.data_dir),
            "-h", "127.0.0.1",
            "-p", str(self.port),
            "-k", str(self.workdir),
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", f"max_connections={self.max_connections}",
        ]

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        isready = [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PostgresError(
                    f"postgres exited with code {self._proc.returncode} during start; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            if subprocess.run(isready, check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresError(f"postgres did not answer within {timeout:.0f}s; see {self.log_path}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` as the superuser; its output (``PostgresError`` on failure)."""
        argv = [
            str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-d", self.dsn(database), "-c", sql,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> str:
        """Create the database ``name`` (if it does not exist yet); its DSN."""
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
