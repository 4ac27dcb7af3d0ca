"""Each part of the cluster starts, answers, and stops cleanly: no process left, ports freed."""

from __future__ import annotations

import os
import urllib.request

import asyncpg
import pytest

from tests._support.ports import listening
from utd_stream_rx.testing.cluster import LocalCluster
from utd_stream_rx.testing.postgres import PostgresServer
from utd_stream_rx.testing.redis import RedisServer, ping

pytestmark = pytest.mark.cluster


def _gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (reaped, or a zombie nobody waits for)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_postgres_serves_a_database_of_its_own_and_stops(
    utd_postgres: PostgresServer,
) -> None:
    dsn = utd_postgres.create_database("cluster_smoke")
    assert dsn == utd_postgres.create_database("cluster_smoke")  # a second time is no error
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS marks (n INT)")
        await connection.execute("INSERT INTO marks VALUES (7)")
        assert await connection.fetchval("SELECT sum(n) FROM marks") >= 7
    finally:
        await connection.close()

    server = PostgresServer()
    try:
        await server.astart()
        pid = server.pid
        assert pid is not None and listening(server.port)
        await server.astop()
        assert _gone(pid) and not listening(server.port)
        await server.astart()  # again, on the same data
        assert listening(server.port)
    finally:
        await server.acleanup()
    assert not server.workdir.exists()


def test_redis_answers_ping_and_stops() -> None:
    with RedisServer() as redis:
        pid = redis.pid
        assert pid is not None and ping(redis.port)
    assert _gone(pid) and not ping(redis.port) and not listening(redis.port)


def test_a_cluster_stops_every_process_and_frees_every_port() -> None:
    cluster = LocalCluster()
    try:
        cluster.start()
        assert cluster.all_running()
        parts = [cluster.load_balancer, *cluster.engines, *cluster.livekit_nodes,
                 cluster.redis, cluster.postgres]
        pids = [part.pid for part in parts]
        ports = [cluster.load_balancer.port, *(e.port for e in cluster.engines),
                 *(n.port for n in cluster.livekit_nodes), cluster.redis.port,
                 cluster.postgres.port]
        assert all(listening(port) for port in ports)
        with urllib.request.urlopen(cluster.base_url + "/healthz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        cluster.cleanup()
    assert not cluster.all_running()
    assert all(pid is not None and _gone(pid) for pid in pids)
    assert not any(listening(port) for port in ports), ports
    assert not cluster.workdir.exists()
    assert os.path.exists(cluster.postgres.bindir)  # only the cluster's own files went away
