#!/usr/bin/env bash
# Writes server.properties from the environment, formats the storage on first start, runs the node.
#   KAFKA_NODE_ID                    this node's id (default 1)
#   KAFKA_CONTROLLER_QUORUM_VOTERS   id@host:9093,… of every node (default: this node alone)
#   KAFKA_CLUSTER_ID                 the same on every node of a cluster (22 characters, base64)
#   KAFKA_ADVERTISED_HOST            the name clients reach this node by (default: hostname)
#   KAFKA_REPLICATION_FACTOR         internal topics and default (default: number of voters, max 3)
#   KAFKA_HEAP                       JVM heap (default 512m)
#   KAFKA_JVM_OPTS                   more JVM options (say, -XX:TieredStopAtLevel=1 on a small machine)
set -euo pipefail

node_id="${KAFKA_NODE_ID:-1}"
advertised="${KAFKA_ADVERTISED_HOST:-$(hostname)}"
voters="${KAFKA_CONTROLLER_QUORUM_VOTERS:-${node_id}@${advertised}:9093}"
cluster_id="${KAFKA_CLUSTER_ID:-cm9zdGVyLWxvY2FsLWthZg}"
voter_count=$(tr ',' '\n' <<<"$voters" | grep -c .)
replication="${KAFKA_REPLICATION_FACTOR:-$((voter_count < 3 ? voter_count : 3))}"
min_isr=$((replication > 1 ? replication - 1 : 1))
data_dir=/var/lib/kafka/data
config=/var/lib/kafka/server.properties

cat >"$config" <<PROPERTIES
process.roles=broker,controller
node.id=${node_id}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093
advertised.listeners=PLAINTEXT://${advertised}:9092
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${data_dir}
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=${replication}
min.insync.replicas=${min_isr}
offsets.topic.replication.factor=${replication}
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=${replication}
transaction.state.log.min.isr=${min_isr}
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=${replication}
share.coordinator.state.topic.min.isr=${min_isr}
share.coordinator.state.topic.num.partitions=5
group.initial.rebalance.delay.ms=0
# A quorum starting on a busy machine can take minutes to register its brokers; the default (60 s)
# shuts a broker down instead of letting it wait.
initial.broker.registration.timeout.ms=600000
PROPERTIES

# shellcheck disable=SC2206 # KAFKA_JVM_OPTS is a list of options
java_command=(java "-Xmx${KAFKA_HEAP:-512m}" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true ${KAFKA_JVM_OPTS:-}
  -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties -cp '/opt/kafka/libs/*')
if [ ! -f "${data_dir}/meta.properties" ]; then
  "${java_command[@]}" -Xmx256m kafka.tools.StorageTool format -t "$cluster_id" -c "$config" --ignore-formatted
fi
exec "${java_command[@]}" kafka.Kafka "$config"
