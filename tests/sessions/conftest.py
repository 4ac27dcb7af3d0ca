from __future__ import annotations

from collections.abc import Callable

import pytest

from utd_stream_rx import UTDStreamClient

ClientFactory = Callable[[], UTDStreamClient]


@pytest.fixture
def make_client(utd_client_factory: ClientFactory) -> ClientFactory:
    """Clients of the local engine (the plugin's ``utd_client_factory``)."""
    return utd_client_factory


@pytest.fixture
def unique(utd_unique: Callable[[str], str]) -> Callable[[str], str]:
    """Unique names, so tests sharing one stack never meet (the plugin's ``utd_unique``)."""
    return utd_unique
