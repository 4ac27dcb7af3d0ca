"""Fixtures of the cluster tests: clusters a test may break, and plain HTTP to any engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import aiohttp
import pytest

from tests._support.raw_engine import RawEngine
from utd_stream_rx.testing.cluster import LocalCluster

PrivateCluster = Callable[..., LocalCluster]
"""``private_cluster(engine_args=())`` -> a started cluster of the test's own."""

RawEngineAt = Callable[[str], RawEngine]
"""``raw_at(base_url)`` -> plain HTTP to the engine (or load balancer) at ``base_url``."""


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """``private_cluster(engine_args=())``: a started cluster the test may break (kill an
    engine, a LiveKit node); each is stopped and removed after the test."""
    clusters: list[LocalCluster] = []

    def start(engine_args: Sequence[str] = ()) -> LocalCluster:
        cluster = LocalCluster(engine_args=list(engine_args))
        clusters.append(cluster)
        return cluster.start()

    try:
        yield start
    finally:
        for cluster in clusters:
            for node in cluster.livekit_nodes:
                node.kill()  # a graceful stop waits for rooms to drain; nothing here needs it
            cluster.cleanup()


@pytest.fixture
async def raw_at(utd_cluster: LocalCluster) -> AsyncIterator[RawEngineAt]:
    """``raw_at(url)``: plain HTTP, as the cluster's app, to one engine or the load balancer."""
    http = aiohttp.ClientSession()

    def at(base_url: str) -> RawEngine:
        return RawEngine(http, base_url, utd_cluster.app_id, utd_cluster.app_key)

    yield at
    await http.close()
