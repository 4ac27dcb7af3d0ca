"""Run the engine programmatically: ``async with EngineServer(config) as server: ...``."""

from __future__ import annotations

from aiohttp import web

from .app import create_app
from .config import EngineConfig

__all__ = ["EngineServer", "run"]


class EngineServer:
    """The engine on ``config.host:config.port`` inside the current event loop."""

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
        runner = web.AppRunner(self.app, shutdown_timeout=2.0, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.config.host, self.config.port).start()
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


def run(config: EngineConfig) -> None:
    """Serve until SIGINT/SIGTERM (blocking)."""
    web.run_app(
        create_app(config),
        host=config.host,
        port=config.port,
        shutdown_timeout=2.0,
        access_log=None,
        print=None,
    )
