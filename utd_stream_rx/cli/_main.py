"""``main``: parse the command line, set up logging, run the command, report its errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from ..testing.engine import EngineError
from ..testing.livekit_server import LiveKitServerError
from ._errors import CliError
from ._parser import build_parser

__all__ = ["main"]


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The native layer warns about routine teardown races; they are noise in a demo.
        logging.getLogger("livekit").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``utd-stream`` console script; answers the exit code.

    No command prints the help (exit 0); a usage error is one line on stderr (exit 2); a
    problem while running (a port taken, a process that died) is reported without a
    traceback (exit 1).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    _configure_logging(args.verbose)
    try:
        result: int = args.func(args)
        return result
    except (LiveKitServerError, EngineError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
