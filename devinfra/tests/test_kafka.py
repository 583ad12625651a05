"""Real Kafka brokers from devinfra.kafka: one node, and a three-node cluster losing a node."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError as ClientKafkaError

from devinfra.kafka import KafkaError, LocalKafka, LocalKafkaCluster, kafka_classpath

pytestmark = pytest.mark.kafka


def _processes_mentioning(path: Path) -> list[int]:
    """Pids of live processes whose command line mentions ``path``."""
    needle = str(path.resolve()).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return pids


async def _create_topic(
    bootstrap: str,
    name: str,
    *,
    partitions: int,
    replication: int,
    config: Mapping[str, str] | None = None,
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topic = NewTopic(name, partitions, replication, topic_configs=dict(config or {}))
        await admin.create_topics([topic], timeout_ms=30_000)
    finally:
        await admin.close()


async def _partition_leader(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    (partition,) = description["partitions"]
    return int(partition["leader"])


def _producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=15_000,
    )


async def _consume(bootstrap: str, topic: str, group: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < expected:
                batches = await consumer.getmany(timeout_ms=1_000)
                values.extend(
                    record.value for records in batches.values() for record in records if record.value
                )
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def _send_until_accepted(producer: AIOKafkaProducer, topic: str, value: bytes) -> None:
    """Retry while the cluster elects new leaders and shrinks ISRs after a node loss."""
    deadline = time.monotonic() + 60
    while True:
        try:
            await producer.send_and_wait(topic, value)
            return
        except ClientKafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


def test_classpath_is_cached_and_complete() -> None:
    jars = kafka_classpath()
    names = {jar.name for jar in jars}
    assert any(name.startswith("kafka_2.13-") for name in names)
    assert any(name.startswith("log4j-slf4j-impl-") for name in names)
    assert (jars[0].parent / ".complete").is_file()
    assert kafka_classpath() == jars


@pytest.mark.slow
def test_start_failure_reports_log_tail(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "kafka", heap="1k")
    with pytest.raises(KafkaError, match="heap"):
        broker.start(timeout=30)
    assert not broker.running
    assert not _processes_mentioning(tmp_path)


@pytest.mark.slow
async def test_single_node_produce_and_consume(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    with LocalKafka(data_dir) as broker:
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
        assert _processes_mentioning(data_dir) == [broker.pid]
        await _create_topic(broker.bootstrap_servers, "roundtrip", partitions=2, replication=1)
        producer = _producer(broker.bootstrap_servers)
        await producer.start()
        try:
            for i in range(20):
                await producer.send_and_wait("roundtrip", f"m{i}".encode(), key=b"k")
        finally:
            await producer.stop()
        values = await _consume(broker.bootstrap_servers, "roundtrip", "single-group", 20)
        assert values == [f"m{i}".encode() for i in range(20)]
    assert not broker.running
    assert not _processes_mentioning(data_dir)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_cluster_keeps_accepting_acks_all_after_losing_a_node(tmp_path: Path) -> None:
    data_dir = tmp_path / "cluster"
    with LocalKafkaCluster(data_dir) as cluster:
        bootstrap = cluster.bootstrap_servers
        assert len(bootstrap.split(",")) == 3
        await _create_topic(
            bootstrap, "replicated", partitions=1, replication=3, config={"min.insync.replicas": "2"}
        )
        producer = _producer(bootstrap)
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait("replicated", f"before{i}".encode())
            assert len(await _consume(bootstrap, "replicated", "cluster-group", 10)) == 10

            # The hardest single failure: the partition leader crashes.
            victim = cluster.node(await _partition_leader(bootstrap, "replicated"))
            victim.kill()
            assert not victim.running
            await _send_until_accepted(producer, "replicated", b"after-kill")
        finally:
            await producer.stop()
        values = await _consume(bootstrap, "replicated", "cluster-group-2", 11)
        assert values[-1] == b"after-kill"

        victim.start()  # rejoins with its data and is unfenced again
        assert victim.running
    assert not _processes_mentioning(data_dir)
