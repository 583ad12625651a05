"""Local Kafka as the tests and ``make run`` use it: one node, or a cluster of several."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from devinfra.kafka import registry
from devinfra.kafka.node import KafkaNode, random_cluster_id
from devinfra.kafka.secured import SecuredListener
from devinfra.ports import HOST, free_ports
from devinfra.processes import Served


class LocalKafka(KafkaNode):
    """A single combined broker/controller on 127.0.0.1, for tests and local runs.

    All internal topics use replication 1 and min ISR 1, so consumer groups,
    idempotent producers and transactions work on one node. Topics are never
    auto-created.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
        extra_config: Mapping[str, str] | None = None,
        secured: SecuredListener | None = None,
    ) -> None:
        spare = (free for free in free_ports(3) if free not in (port, controller_port))
        port = port if port is not None else next(spare)
        controller_port = controller_port if controller_port is not None else next(spare)
        super().__init__(
            data_dir,
            node_id=1,
            port=port,
            controller_port=controller_port,
            voters=f"1@{HOST}:{controller_port}",
            cluster_id=random_cluster_id(),
            heap=heap,
            replication=1,
            extra_config=extra_config,
            secured=secured,
        )


class LocalKafkaCluster(Served):
    """``nodes`` combined broker/controller processes forming one KRaft cluster.

    With three or more nodes, topics default to replication 3 and min ISR 2 (internal
    topics too), so one node may be killed while ``acks=all`` producers keep working.
    Individual nodes in ``self.nodes`` can be stopped, killed and started again.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        nodes: int = 3,
        heap: str = "384m",
        extra_config: Mapping[str, str] | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        ports = free_ports(2 * nodes)
        client_ports, controller_ports = ports[:nodes], ports[nodes:]
        voters = ",".join(f"{i}@{HOST}:{port}" for i, port in enumerate(controller_ports, 1))
        cluster_id = random_cluster_id()
        self.data_dir = Path(data_dir).resolve()
        self.nodes: list[KafkaNode] = [
            KafkaNode(
                self.data_dir / f"node-{node_id}",
                node_id=node_id,
                port=port,
                controller_port=controller_port,
                voters=voters,
                cluster_id=cluster_id,
                heap=heap,
                replication=min(nodes, 3),
                extra_config=extra_config,
            )
            for node_id, port, controller_port in zip(
                range(1, nodes + 1), client_ports, controller_ports, strict=True
            )
        ]
        self.bootstrap_servers = ",".join(node.bootstrap_servers for node in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        """The node with KRaft ``node_id`` (1-based, unlike ``nodes``)."""
        return next(node for node in self.nodes if node.node_id == node_id)

    def start(self, timeout: float = 120.0) -> None:
        """Start every node together and wait until each sees all brokers unfenced."""
        deadline = time.monotonic() + timeout
        try:
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                list(pool.map(KafkaNode.format_storage, self.nodes))
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_ready(deadline, brokers=len(self.nodes))
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Stop all nodes at once (SIGTERM, then SIGKILL after ``timeout``)."""
        registry.stop_processes([node.process for node in self.nodes if node.process is not None], timeout)
        for node in self.nodes:
            node.process = None

    def kill(self) -> None:
        """SIGKILL every node, for a cluster whose data is thrown away: three nodes stopped at once
        spend their shutdown waiting for a controller quorum they no longer have (~30 s)."""
        for node in self.nodes:
            node.kill()
