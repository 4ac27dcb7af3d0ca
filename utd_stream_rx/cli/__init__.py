"""``utd-stream``: the local stack and the demo, from the command line.

- ``utd-stream dev``: livekit-server and the reference engine on loopback until Ctrl-C.
- ``utd-stream dev --cluster``: the same scaled out (PostgreSQL, Redis, two LiveKit nodes, two
  engines, nginx in front), until Ctrl-C.
- ``utd-stream demo``: live sessions between synthetic participants on a fresh local stack.
- ``utd-stream install``: build the pinned livekit-server (once; later runs are instant).

``utd-stream`` alone prints the help; ``utd-stream --version`` the version.
"""

from ._main import main

__all__ = ["main"]
