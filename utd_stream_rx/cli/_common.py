"""What every command that starts a stack shares: free ports, the server build, the app secret
and the engine's flags."""

from __future__ import annotations

import argparse
import secrets
import socket
from pathlib import Path

from ..testing.livekit_server import LIVEKIT_SERVER_VERSION, ensure_livekit_server
from ._errors import CliError

__all__ = ["DEFAULT_DATA_DIR", "app_secret", "build_server", "engine_args", "require_free"]

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "utd_stream_rx" / "dev"
"""Where ``utd-stream dev`` keeps the engine's database and the logs across runs."""


def require_free(port: int, what: str, flag: str) -> None:
    """A :class:`CliError` naming ``flag`` when ``port`` is taken on 127.0.0.1."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise CliError(
                f"port {port} ({what}) is taken: stop whatever uses it or pick another with {flag}"
            ) from None


def build_server() -> None:
    """The pinned livekit-server, built first if needed (it reports its own progress)."""
    print(f"==> livekit-server {LIVEKIT_SERVER_VERSION} (built once, then cached)", flush=True)
    ensure_livekit_server()


def app_secret(data_dir: Path) -> str:
    """The local app secret, kept in the data folder so a backend's copy stays valid."""
    path = data_dir / "app_secret"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


def engine_args(args: argparse.Namespace) -> list[str]:
    """The engine flags ``utd-stream dev`` passes on."""
    return ["--ring-timeout", str(args.ring_timeout), "--request-ttl", str(args.request_ttl)]
