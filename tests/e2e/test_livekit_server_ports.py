"""livekit-server's ports are picked free, then bound by the server a moment later."""

from __future__ import annotations

import socket

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
