"""nginx in front of the engines: requests spread over both, and a killed engine is skipped at
once and serves again once restarted (event streams through it: ``test_shared_state``)."""

from __future__ import annotations

import asyncio
import collections

import pytest

from tests._support.raw_engine import RawEngine
from tests.cluster.conftest import PrivateCluster, RawEngineAt
from utd_stream_rx.testing.cluster import LocalCluster
from utd_stream_rx.testing.load_balancer import UPSTREAM_HEADER

pytestmark = pytest.mark.cluster


async def _mint(through: RawEngine, identity: str) -> tuple[int, str]:
    """Mint a bearer through the load balancer; its status and the engine(s) that were tried."""
    answer = await through.send("POST", "/api/v1/auth/user-token", {"identity": identity})
    return answer.status, answer.headers.get(UPSTREAM_HEADER, "")


def _address(url: str) -> str:
    return url.removeprefix("http://")


async def test_requests_go_round_robin_over_both_engines(
    utd_cluster: LocalCluster, raw_at: RawEngineAt
) -> None:
    balancer = raw_at(utd_cluster.base_url)
    served = [await _mint(balancer, f"spread-{n}") for n in range(20)]
    assert {status for status, _ in served} == {200}
    counts = collections.Counter(upstream for _, upstream in served)
    assert set(counts) == {_address(url) for url in utd_cluster.engine_urls}
    # Round robin: about half each (webhooks of other tests' rooms pass through it too).
    assert min(counts.values()) >= 5, counts


async def test_a_killed_engine_is_skipped_at_once_and_serves_again_when_restarted(
    private_cluster: PrivateCluster, raw_at: RawEngineAt
) -> None:
    cluster = private_cluster()
    balancer = raw_at(cluster.base_url)
    killed, survivor = cluster.engines
    await killed.akill()  # SIGKILL, as a crash

    served = [await _mint(balancer, f"after-kill-{n}") for n in range(10)]
    assert {status for status, _ in served} == {200}, served
    # Each request ends on the survivor: at most the first one tried the dead engine first.
    assert {upstream.split(", ")[-1] for _, upstream in served} == {_address(survivor.base_url)}

    await killed.astart()
    back = _address(killed.base_url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    upstreams: set[str] = set()
    while back not in upstreams and loop.time() < deadline:
        status, upstream = await _mint(balancer, "after-restart")
        assert status == 200
        upstreams.add(upstream)
        await asyncio.sleep(0.2)
    assert back in upstreams, f"the restarted engine got no request: {upstreams}"
