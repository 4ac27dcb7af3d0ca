"""The ``utd-stream`` command line: commands, flags, and one-line errors."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from .. import __version__
from ._arg_types import non_negative_seconds, port_number, positive_seconds
from ._common import DEFAULT_DATA_DIR
from ._demo import run_demo, run_install
from ._dev import run_dev

__all__ = ["OneLineErrorParser", "build_parser"]


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (and exit code 2), not a usage
    block: the message says which flag was wrong and why."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and exit with code 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_global_flags(parser: argparse.ArgumentParser, default: Any) -> None:
    """The flags every command takes, before or after its name (``-v dev`` or ``dev -v``).

    A command's copy defaults to ``SUPPRESS`` so that it keeps what was given before the
    command's name instead of overwriting it with its own default."""
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default,
        help="log at DEBUG level (LiveKit's native warnings included)",
    )


def _add_dev(sub: Any) -> None:
    dev = sub.add_parser("dev", help="run livekit-server and the reference engine until Ctrl-C")
    _add_global_flags(dev, argparse.SUPPRESS)
    dev.add_argument(
        "--port", type=port_number, default=8787,
        help="engine port; with --cluster, the load balancer's (1-65535, default 8787)",
    )
    dev.add_argument(
        "--livekit-port", type=port_number, default=7880,
        help="livekit-server port (1-65535, default 7880)",
    )
    dev.add_argument(
        "--data-dir", default=None,
        help=f"engine database and logs, kept across runs (default {DEFAULT_DATA_DIR}; "
        "with --cluster a fresh temporary folder unless given)",
    )
    dev.add_argument(
        "--ring-timeout", type=positive_seconds, default=30.0,
        help="seconds before an unanswered call is missed (more than 0, default 30)",
    )
    dev.add_argument(
        "--request-ttl", type=non_negative_seconds, default=300.0,
        help="seconds a stage or speak request stays pending before it expires "
        "(0 = never, default 300)",
    )
    dev.add_argument(
        "--secure", action="store_true",
        help="production mode: identities need identity tokens signed with the app secret "
        "(printed at start) instead of the INSECURE dev mode's asserted identities",
    )
    dev.add_argument(
        "--cluster", action="store_true",
        help="the scaled-out stack: PostgreSQL, Redis, two LiveKit nodes on it, two engines "
        "on one database and nginx in front of them (--port is then nginx's port)",
    )
    dev.add_argument(
        "--json", action="store_true",
        help="with --cluster: print one JSON object saying what runs where, instead of text",
    )
    dev.set_defaults(func=run_dev)


_BUILD_NOTE = (
    "livekit-server is built once with `go install` into $UTD_STREAM_CACHE (default "
    "~/.cache/utd_stream_rx); $UTD_LIVEKIT_SERVER_BIN uses an existing binary instead."
)


def build_parser() -> OneLineErrorParser:
    """The parser of ``utd-stream``'s command line."""
    parser = OneLineErrorParser(
        prog="utd-stream", description="utd_stream_rx's local stack and demo.", epilog=_BUILD_NOTE
    )
    parser.add_argument(
        "--version", action="version", version=f"utd-stream {__version__}",
        help="print utd-stream's version and exit",
    )
    _add_global_flags(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_dev(sub)
    demo = sub.add_parser(
        "demo", help="run live sessions on a fresh local stack and show them", epilog=_BUILD_NOTE
    )
    _add_global_flags(demo, argparse.SUPPRESS)
    demo.add_argument(
        "--seconds", type=positive_seconds, default=2.0,
        help="how long to listen to the tone (more than 0, default 2)",
    )
    demo.set_defaults(func=run_demo)
    install = sub.add_parser(
        "install", help="build the pinned livekit-server if needed", epilog=_BUILD_NOTE
    )
    _add_global_flags(install, argparse.SUPPRESS)
    install.set_defaults(func=run_install)
    return parser
