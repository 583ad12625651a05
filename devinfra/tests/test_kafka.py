"""Real Kafka brokers from devinfra.kafka: one node. The three-node cluster losing its partition leader is
proven in tests/test_kafka_cluster_bootstrap.py, on the cluster Roster's processes bootstrap from."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from devinfra.kafka import KafkaError, LocalKafka, kafka_classpath
from devinfra.kafka.probe import acks_all_producer, consume, create_topic

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
        await create_topic(broker.bootstrap_servers, "roundtrip", partitions=2, replication=1)
        producer = acks_all_producer(broker.bootstrap_servers)
        await producer.start()
        try:
            for i in range(20):
                await producer.send_and_wait("roundtrip", f"m{i}".encode(), key=b"k")
        finally:
            await producer.stop()
        values = await consume(broker.bootstrap_servers, "roundtrip", "single-group", 20)
        assert values == [f"m{i}".encode() for i in range(20)]
    assert not broker.running
    assert not _processes_mentioning(data_dir)


@pytest.mark.slow
def test_a_broker_of_another_cluster_on_its_port_is_refused_not_taken_for_it(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Two ``make run`` started at once can pick the same free port; the one whose broker lost the
    bind must not hand its services to the other's broker."""
    other_port = int(kafka_bootstrap.rpartition(":")[2])
    late = LocalKafka(tmp_path / "late", port=other_port)
    late.format_storage()
    # Stands for its JVM, alive while it fails to bind; in a session of its own, as the JVM is, so the
    # node's kill reaches it (else the test waits the minute out).
    late.process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    with pytest.raises(KafkaError, match="answers for another Kafka cluster"):
        late.wait_ready(time.monotonic() + 30, brokers=1)
    assert not late.running
