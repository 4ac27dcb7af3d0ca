"""PostgreSQL databases for engine tests: one fresh database per test, copied from a template
that already carries the latest schema (a copy takes a few milliseconds; migrating takes more).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import urllib.parse

import asyncpg

from utd_stream_engine.postgres_storage import PostgresStorage

__all__ = ["TestDatabases", "drop_in_a_thread"]



class TestDatabases:
    """Makes and drops the databases of one test run on one server.

    Args:
        server_url: ``postgresql://user@host:port/postgres`` of a server the tests may use.
    """

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._numbers = itertools.count(1)
        self._made: list[str] = []
        self._template_ready = False
        # Of this process: runs sharing one server (``$UTD_TEST_POSTGRES_URL``) keep apart.
        self._template = f"utd_engine_template_{os.getpid()}"

    def url_of(self, name: str) -> str:
        """The URL of database ``name`` on the server."""
        parts = urllib.parse.urlsplit(self._server_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    async def fresh(self) -> str:
        """The URL of a new, migrated, empty database."""
        return await self._create(migrated=True)

    async def empty(self) -> str:
        """The URL of a new database without any table."""
        return await self._create(migrated=False)

    async def _create(self, *, migrated: bool) -> str:
        conn = await asyncpg.connect(self._server_url)
        try:
            if migrated and not self._template_ready:
                await self._make_template(conn)
            name = f"utd_test_{os.getpid()}_{next(self._numbers)}"
            template = self._template if migrated else "template0"
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')
        finally:
            await conn.close()
        self._made.append(name)
        return self.url_of(name)

    async def _make_template(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"DROP DATABASE IF EXISTS {self._template}")
        await conn.execute(f"CREATE DATABASE {self._template}")
        storage = PostgresStorage(self.url_of(self._template), pool_size=2)
        await storage.open()
        await storage.close()
        self._template_ready = True

    async def drop_all(self) -> None:
        """Drop every database this run made."""
        conn = await asyncpg.connect(self._server_url)
        try:
            for name in [*self._made, self._template]:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self._made.clear()


def drop_in_a_thread(databases: TestDatabases) -> None:
    """Drop the run's databases from code that may sit inside a running event loop."""
    worker = threading.Thread(target=asyncio.run, args=(databases.drop_all(),))
    worker.start()
    worker.join(30)
