"""Install and run the pinned ``livekit-server`` on loopback, for tests, demos and local use.

The binary is built once with ``go install`` into a cache outside the repository
(``$UTD_STREAM_CACHE`` or ``~/.cache/utd_stream_rx``) and reused afterwards. Each
:class:`LiveKitServer` picks free ports, writes its own config (bound to 127.0.0.1, loopback ICE
candidates only, STUN pinned to a dead loopback address so no client ever asks a public STUN
server) and is always stopped: by :meth:`LiveKitServer.stop`, at interpreter exit, and by the
kernel if this process dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .build_progress import BuildProgress, run_keeping_tail
from .children import ChildProcess, free_port
from .go_toolchain import go_version_problem

__all__ = [
    "LIVEKIT_SERVER_GO",
    "LIVEKIT_SERVER_MODULE",
    "LIVEKIT_SERVER_VERSION",
    "LiveKitServer",
    "LiveKitServerError",
    "cache_dir",
    "ensure_livekit_server",
    "free_port",
]

log = logging.getLogger(__name__)

LIVEKIT_SERVER_VERSION = "v1.13.5"
"""The livekit-server release every test and demo runs against."""

LIVEKIT_SERVER_MODULE = "github.com/livekit/livekit-server/cmd/server"

LIVEKIT_SERVER_GO = (1, 26)
"""The Go release :data:`LIVEKIT_SERVER_VERSION`'s ``go.mod`` asks for (``go 1.26``): the
oldest Go that builds it."""

# A loopback address where nothing listens: clients get it as their only STUN server, fail fast,
# and never reach the public STUN servers livekit-server hands out when the list is empty.
_DEAD_STUN = "127.0.0.1:9"


class LiveKitServerError(RuntimeError):
    """livekit-server could not be built, started or reached."""


def cache_dir() -> Path:
    """Where built tools are kept: ``$UTD_STREAM_CACHE``, else ``~/.cache/utd_stream_rx``."""
    env = os.environ.get("UTD_STREAM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "utd_stream_rx"


def _binary_path() -> Path:
    return cache_dir() / f"livekit-server-{LIVEKIT_SERVER_VERSION}" / "livekit-server"


def ensure_livekit_server(progress: Callable[[str], None] | None = None) -> Path:
    """Return the path of the pinned livekit-server, building it first if needed.

    ``$UTD_LIVEKIT_SERVER_BIN`` overrides the location. The first build takes a few minutes
    (module downloads and compilation) and needs Go 1.26 or newer (``LIVEKIT_SERVER_GO``). Its
    progress goes to stderr: one counter line rewritten in place on a terminal, a few summary
    lines otherwise; given ``progress``, every line ``go`` prints is passed to it instead.
    Concurrent callers wait on a file lock instead of building twice.
    """
    override = os.environ.get("UTD_LIVEKIT_SERVER_BIN")
    if override:
        path = Path(override)
        if not path.is_file():
            raise LiveKitServerError(
                f"UTD_LIVEKIT_SERVER_BIN points at {path}, which is not a file"
            )
        return path
    target = _binary_path()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    import fcntl  # POSIX only: imported here, so this module loads on any platform

    with open(target.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():  # built by another process while we waited
            return target
        _build(target, progress)
    return target


def _build(target: Path, progress: Callable[[str], None] | None) -> None:
    what = f"livekit-server {LIVEKIT_SERVER_VERSION}"
    problem = go_version_problem(LIVEKIT_SERVER_GO, what)
    if problem is not None:
        raise LiveKitServerError(problem)
    go = shutil.which("go") or "go"
    display = BuildProgress(what, sys.stderr, interactive=sys.stderr.isatty())
    if progress is None:
        display.start()
    else:
        progress(f"Building {what} with `go install` (first time only; a few minutes)...")
    with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
        env = dict(os.environ, GOBIN=gobin, CGO_ENABLED=os.environ.get("CGO_ENABLED", "0"))
        cmd = [go, "install", "-v", f"{LIVEKIT_SERVER_MODULE}@{LIVEKIT_SERVER_VERSION}"]
        started = time.monotonic()
        code, tail = run_keeping_tail(cmd, env, progress or display.feed)
        if code != 0:
            raise LiveKitServerError(
                f"`{' '.join(cmd)}` failed with exit code {code}; its last lines:\n{tail}"
            )
        built = Path(gobin) / "server"
        if not built.is_file():
            raise LiveKitServerError(f"`go install` produced no binary at {built}")
        os.replace(built, target)  # atomic: a half-written binary is never seen
    if progress is None:
        display.finish(time.monotonic() - started, target)
    else:
        progress(f"Built {target} in {time.monotonic() - started:.0f}s")


_START_ATTEMPTS = 3
_ADDRESS_IN_USE = re.compile(r":(\d+): bind: address already in use")
_NODE_ID = re.compile(r'starting LiveKit server\s.*"nodeID": "([^"]+)"')


class LiveKitServer(ChildProcess):
    """One livekit-server process on 127.0.0.1 with its own ports, keys and log file.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``url`` is the websocket
    URL for clients, ``http_url`` the RoomService URL; ``api_key``/``api_secret`` sign tokens.

    Args:
        webhook_urls: URLs livekit-server posts signed webhook events to.
        workdir: Where the config and ``livekit-server.log`` go (a temporary folder by default).
        log_level: livekit-server's log level.
        redis_address: ``host:port`` of a Redis server: nodes sharing one form a cluster (rooms
            land on either node; a participant signalling through another node still joins).
    """

    # SIGTERM asks for a graceful shutdown, which livekit-server v1.13.5 may not finish even
    # with no room open; after a second's grace a second SIGTERM forces it (as a second Ctrl-C
    # does), and SIGKILL follows after the stop's timeout.
    _GRACEFUL_STOP = 1.0

    def __init__(
        self,
        *,
        webhook_urls: Sequence[str] = (),
        workdir: Path | None = None,
        log_level: str = "info",
        api_key: str | None = None,
        api_secret: str | None = None,
        port: int | None = None,
        redis_address: str | None = None,
    ) -> None:
        self.api_key = api_key or "utd-dev-key"
        self.api_secret = api_secret or secrets.token_urlsafe(32)
        self.webhook_urls = list(webhook_urls)
        self.log_level = log_level
        self.redis_address = redis_address
        super().__init__(workdir, prefix="utd-livekit-", log_name="livekit-server.log")
        self._fixed_port = port is not None
        self._ports_settled = False  # once up, restarts keep the ports clients know
        self.port = port or free_port()
        self.rtc_udp_port = free_port(socket.SOCK_DGRAM)
        self.config_path = self.workdir / "livekit.yaml"

    @property
    def url(self) -> str:
        """Websocket URL clients connect to."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        """HTTP URL of the server API (RoomService)."""
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, object]:
        """The livekit-server configuration this instance runs with."""
        conf: dict[str, object] = {
            "port": self.port,
            "bind_addresses": ["127.0.0.1"],
            "rtc": {
                # No ICE over TCP: its listener ignores bind_addresses and would accept on
                # every interface; UDP on loopback is all local media needs.
                "tcp_port": 0,
                "udp_port": self.rtc_udp_port,
                "use_external_ip": False,
                "node_ip": "127.0.0.1",
                "enable_loopback_candidate": True,
                "interfaces": {"includes": ["lo"]},
                "ips": {"includes": ["127.0.0.1/32"]},
                "stun_servers": [_DEAD_STUN],
                "use_mdns": False,
            },
            "turn": {"enabled": False},
            "keys": {self.api_key: self.api_secret},
            "logging": {"level": self.log_level, "pion_level": "error"},
            "room": {
                "auto_create": True,
                "empty_timeout": 30,
                "departure_timeout": 5,
                # Lets the engine unmute a seat it muted (a host action).
                "enable_remote_unmute": True,
            },
        }
        if self.webhook_urls:
            conf["webhook"] = {"api_key": self.api_key, "urls": self.webhook_urls}
        if self.redis_address is not None:
            conf["redis"] = {"address": self.redis_address}
        return conf

    def start(self, timeout: float = 30.0) -> LiveKitServer:
        """Build if needed, start the process and wait until it answers ``GET /``.

        Ports picked here were free a moment before the server binds them; when another
        process took one in between, the first start tries again on newly picked ports (``url``
        changes then, unless the signalling port was given). Later starts keep their ports.
        """
        if self.running:
            return self
        binary = ensure_livekit_server()
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(_START_ATTEMPTS):
            try:
                self._start_once(binary, timeout)
            except LiveKitServerError:
                taken = self._taken_port()
                movable = taken is not None and not (self._fixed_port and taken == self.port)
                if attempt == _START_ATTEMPTS - 1 or self._ports_settled or not movable:
                    raise
                log.info("a port of livekit-server was taken meanwhile; trying new ports")
                if not self._fixed_port:
                    self.port = free_port()
                self.rtc_udp_port = free_port(socket.SOCK_DGRAM)
            else:
                self._ports_settled = True
                return self
        raise AssertionError("unreachable")

    @property
    def node_id(self) -> str:
        """The node id of the running process, as its log says (a new one at each start);
        in a cluster, ``CreateRoomRequest(node_id=...)`` places a room on this node."""
        try:
            found = _NODE_ID.findall(self.log_path.read_text(errors="replace"))
        except OSError:
            found = []
        if not self.running or not found:
            raise LiveKitServerError("livekit-server is not running")
        node_id: str = found[-1]
        return node_id

    def _taken_port(self) -> int | None:
        """The port the server could not bind, as its log says (``None`` for other failures)."""
        found = _ADDRESS_IN_USE.search(self.log_tail(5))
        return int(found.group(1)) if found else None

    def _start_once(self, binary: Path, timeout: float) -> None:
        # JSON is valid YAML, so no YAML library is needed at run time.
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        self._spawn([str(binary), "--config", str(self.config_path)])
        try:
            self._wait_ready(
                self.http_url + "/", timeout, LiveKitServerError, "livekit-server", poll=0.1
            )
        except BaseException:
            self.stop()
            raise
        log.info(
            "livekit-server %s up at %s (log: %s)", LIVEKIT_SERVER_VERSION, self.url, self.log_path
        )

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again on the same ports and keys."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> LiveKitServer:
        """Start; stopped and cleaned up when the block exits."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
