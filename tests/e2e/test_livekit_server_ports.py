"""livekit-server's ports are picked free, then bound by the server a moment later."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import pytest

from utd_stream_rx.testing import LiveKitServer, LiveKitServerError

pytestmark = pytest.mark.e2e


def _occupy(port: int) -> socket.socket:
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", port))
    taken.listen()
    return taken


def test_a_port_taken_before_the_first_start_moves_the_server() -> None:
    server = LiveKitServer()
    planned = server.port
    with _occupy(planned):  # another process got there first
        try:
            server.start()
            assert server.running and server.port != planned
            assert "address already in use" in server.log_path.read_text()
        finally:
            server.cleanup()


def test_a_port_given_by_the_caller_is_never_moved() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = LiveKitServer(port=port)
    with _occupy(port):
        try:
            with pytest.raises(LiveKitServerError, match="address already in use"):
                server.start()
            assert server.port == port and not server.running
        finally:
            server.cleanup()


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _bound_addresses(pid: int) -> list[tuple[str, str]]:
    """(protocol, local address in /proc's hex form) of every inet socket of ``pid``."""
    mine = _socket_inodes(pid)
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[9] in mine:
                found.append((proto, fields[1]))
    return found


LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian hex)


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_livekit_server_listens_on_loopback_only(utd_livekit_server: LiveKitServer) -> None:
    pid = utd_livekit_server.pid
    assert pid is not None
    bound = _bound_addresses(pid)
    assert bound, "no sockets found: the check would prove nothing"
    off_loopback = [(proto, addr) for proto, addr in bound
                    if proto.endswith("6") or not addr.startswith(LOOPBACK_V4 + ":")]
    assert not off_loopback, off_loopback
