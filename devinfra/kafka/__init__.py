"""Real Apache Kafka brokers (KRaft mode) for tests and local runs, without Docker.

The broker runs on Java 17+ (``java.py``) from Maven Central jars that ``pom.xml`` names
(``jars.py``, cached under ``$ROSTER_CACHE_DIR`` or ``<repo>/.cache``). ``node.py`` is one broker
process, ``cluster.py`` the single node and the multi-node cluster the tests use, ``registry.py``
makes sure no broker outlives us, ``metadata.py`` tells when a broker is ready.

Command line: ``python -m devinfra.kafka [--port 9092] [--data-dir DIR] [--classpath-only]``.
"""

from devinfra.kafka.cli import main
from devinfra.kafka.cluster import LocalKafka, LocalKafkaCluster
from devinfra.kafka.errors import KafkaError
from devinfra.kafka.jars import KAFKA_POM, kafka_cache_dir, kafka_classpath
from devinfra.kafka.node import KafkaNode
from devinfra.ports import free_ports

__all__ = [
    "KAFKA_POM",
    "KafkaError",
    "KafkaNode",
    "LocalKafka",
    "LocalKafkaCluster",
    "free_ports",
    "kafka_cache_dir",
    "kafka_classpath",
    "main",
]
