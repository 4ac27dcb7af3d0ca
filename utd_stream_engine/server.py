"""Run the engine programmatically: ``async with EngineServer(config) as server: ...``."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from .app import create_app
from .config import EngineConfig
from .connection_guard import ConnectionLimits, GuardedSite

__all__ = ["EngineServer", "raise_open_files_limit", "run"]

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int | None:
    """Raise this process's soft limit of open files to its hard limit (every connection
    takes a file descriptor; 1,024, a common default, runs out under load); the soft limit
    now, or ``None`` where the platform has no such limit."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit to %d: %s", hard, exc)
    return soft


class EngineServer:
    """The engine on ``config.host:config.port`` inside the current event loop.

    Each connection is limited as ``config`` says (``header_timeout``,
    ``max_connections_per_client``), and starting raises the process's open files limit to
    its hard limit.
    """

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.app = create_app(config)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.config.host}:{self.config.port}"

    async def start(self) -> EngineServer:
        """Bind and serve."""
        raise_open_files_limit()
        runner = web.AppRunner(self.app, shutdown_timeout=2.0, access_log=None)
        await runner.setup()
        limits = ConnectionLimits(
            header_timeout=self.config.header_timeout,
            max_per_client=self.config.max_connections_per_client,
        )
        try:
            await GuardedSite(runner, self.config.host, self.config.port, limits=limits).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop serving and release everything."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> EngineServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _serve_until_signalled(config: EngineConfig) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        async with EngineServer(config):
            await stopping.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(config: EngineConfig) -> None:
    """Serve until SIGINT/SIGTERM (blocking)."""
    asyncio.run(_serve_until_signalled(config))
