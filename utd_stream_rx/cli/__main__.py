"""``python -m utd_stream_rx.cli``: the same as ``utd-stream``."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
