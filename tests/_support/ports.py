"""Whether something still listens on a loopback port."""

from __future__ import annotations

import socket

__all__ = ["listening"]


def listening(port: int) -> bool:
    """True while a TCP server accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0
