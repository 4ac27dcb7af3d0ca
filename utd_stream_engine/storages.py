"""The storage a URL names: SQLite (the embedded default) or PostgreSQL (shared)."""

from __future__ import annotations

from .postgres_storage import PostgresStorage
from .sqlite_storage import SQLiteStorage
from .storage import Storage, sqlite_path, storage_kind

__all__ = ["open_storage"]


def open_storage(url: str, *, pool_size: int = 10) -> Storage:
    """The storage ``url`` names, not yet opened (:meth:`Storage.open` connects).

    Raises:
        ValueError: a URL of another scheme.
        StorageUnavailable: a SQLite path that cannot hold a database.
    """
    if storage_kind(url) == "postgresql":
        return PostgresStorage(url, pool_size=pool_size)
    return SQLiteStorage(sqlite_path(url))
