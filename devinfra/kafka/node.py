"""One Kafka process acting as both broker and KRaft controller, on 127.0.0.1."""

from __future__ import annotations

import base64
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from devinfra.kafka import registry
from devinfra.kafka.errors import KafkaError
from devinfra.kafka.java import java_command
from devinfra.kafka.metadata import cluster_view
from devinfra.kafka.secured import SecuredListener
from devinfra.ports import HOST, port_is_free
from devinfra.processes import Served

LOG_FILE_NAME = "kafka.log"

_LOG_TAIL_LINES = 40
_STORAGE_TOOL_HEAP = "256m"
_POLL_INTERVAL = 0.25
# Kafka's default is 50 partitions per internal topic: 150 replicas to create in a
# three-node cluster before the first consumer group works, on a 2-core machine.
_INTERNAL_TOPIC_PARTITIONS = "5"


def random_cluster_id() -> str:
    # The shape `kafka-storage random-uuid` prints (URL-safe base64 of 16 random bytes,
    # never starting with '-'), without paying for a JVM start.
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class KafkaNode(Served):
    """One Kafka process acting as both broker and KRaft controller.

    ``start``/``stop``/``kill`` may be called repeatedly: the data directory keeps the
    formatted storage, so a stopped or killed node restarts with its data. A cluster starts its
    nodes in three steps instead (``format_storage``, ``launch``, ``wait_ready``), so that they
    come up together.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        node_id: int,
        port: int,
        controller_port: int,
        voters: str,
        cluster_id: str,
        heap: str,
        replication: int,
        extra_config: Mapping[str, str] | None = None,
        secured: SecuredListener | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.node_id = node_id
        self.port = port
        self.controller_port = controller_port
        self.bootstrap_servers = f"{HOST}:{port}"
        self.heap = heap
        self._voters = voters
        self._cluster_id = cluster_id
        self._replication = replication
        self._extra_config = dict(extra_config or {})
        self.secured = secured
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Broker log (WARN and above, plus JVM output)."""
        return self.data_dir / LOG_FILE_NAME

    @property
    def pid(self) -> int | None:
        """Process id while the broker runs, else None."""
        return self.process.pid if self.running and self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 90.0) -> None:
        """Format storage if needed, start the process and wait until it serves clients."""
        if self.running:
            raise KafkaError(f"Kafka node {self.node_id} is already running")
        self.format_storage()
        self.launch()
        self.wait_ready(time.monotonic() + timeout, brokers=1)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down cleanly with SIGTERM; SIGKILL if that takes longer than ``timeout``."""
        if self.process is not None:
            registry.stop_processes([self.process], timeout)
            self.process = None

    def kill(self) -> None:
        """SIGKILL the process, as a crash would (for fault tests)."""
        if self.process is not None:
            registry.signal_group(self.process, signal.SIGKILL)
            self.process.wait()
            registry.untrack(self.process)
            self.process = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the broker (SIGSTOP) for the block, as a hung host would, and thaw it after: its
        connections stay open and nothing answers on them."""
        if self.process is None:
            raise KafkaError(f"Kafka node {self.node_id} is not running")
        registry.signal_group(self.process, signal.SIGSTOP)
        try:
            _wait_until_stopped(self.process.pid)
            yield
        finally:
            registry.signal_group(self.process, signal.SIGCONT)

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.node_id} {self.bootstrap_servers} {state}>"

    def server_properties(self) -> dict[str, str]:
        """The broker configuration this node runs with."""
        replication = str(self._replication)
        min_isr = str(max(1, self._replication - 1))
        properties = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self._voters,
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir / "data"),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "default.replication.factor": replication,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": replication,
            "offsets.topic.num.partitions": _INTERNAL_TOPIC_PARTITIONS,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": _INTERNAL_TOPIC_PARTITIONS,
            "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": min_isr,
            "share.coordinator.state.topic.num.partitions": _INTERNAL_TOPIC_PARTITIONS,
            "group.initial.rebalance.delay.ms": "0",
        }
        if self.secured is not None:
            properties.update(self.secured.server_properties(properties))
        return {**properties, **self._extra_config}

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        lines = (f"{key}={value}\n" for key, value in self.server_properties().items())
        properties.write_text("".join(lines))
        (self.data_dir / "log4j2.properties").write_text(_log4j2_config(self.log_path))
        return properties

    def format_storage(self) -> None:
        """Write the configuration, and format the data directory unless it already is."""
        properties = self._write_config()
        if (self.data_dir / "data" / "meta.properties").is_file():
            return
        command = [
            *java_command(_STORAGE_TOOL_HEAP),
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            *("kafka.tools.StorageTool", "format", "-t", self._cluster_id),
            *("-c", str(properties), "--ignore-formatted"),
            *(self.secured.format_arguments() if self.secured else ()),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-4000:]
            raise KafkaError(f"formatting {self.data_dir} failed:\n{output}")

    def formatted_cluster_id(self) -> str:
        """The cluster id its storage was formatted with (kept from an earlier run's format)."""
        meta = self.data_dir / "data" / "meta.properties"
        properties = meta.read_text() if meta.is_file() else ""
        found = next((line for line in properties.splitlines() if line.startswith("cluster.id=")), None)
        return found.removeprefix("cluster.id=").strip() if found else self._cluster_id

    def launch(self) -> None:
        """Start the process without waiting for it."""
        for port in (self.port, self.controller_port):
            # Kafka binds with SO_REUSEADDR too, so TIME_WAIT leftovers are not a conflict.
            if not port_is_free(port, reuse_address=True):
                raise KafkaError(f"port {HOST}:{port} is already in use")
        command = [
            *java_command(self.heap),
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "kafka.Kafka",
            str(self.data_dir / "server.properties"),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C meant for us must not reach the JVM directly.
                start_new_session=True,
                preexec_fn=registry.child_setup(),
            )
        registry.track(self.process)

    def wait_ready(self, deadline: float, *, brokers: int) -> None:
        """Wait until this node serves clients and knows ``brokers`` unfenced brokers."""
        try:
            while True:
                process = self.process
                if process is None or process.poll() is not None:
                    code = None if process is None else process.returncode
                    raise KafkaError(
                        f"Kafka node {self.node_id} exited ({code}) during start-up; "
                        f"tail of {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                # The client port opens only once the broker has caught up with the
                # metadata log, but it is fenced (owns no partitions) until the
                # controller unfences it, hence the metadata check.
                view = cluster_view(self.port)
                if view is not None and view.cluster_id not in (None, self.formatted_cluster_id()):
                    # Another broker took the port between the check in ``launch`` and this one's
                    # bind (two starts at once): its clients must not be handed to it.
                    raise KafkaError(
                        f"{self.bootstrap_servers} answers for another Kafka cluster ({view.cluster_id})"
                        f" than node {self.node_id}'s; tail of {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                alive = None if view is None else view.alive_broker_ids
                if alive is not None and self.node_id in alive and len(alive) >= brokers:
                    return
                if time.monotonic() > deadline:
                    raise KafkaError(
                        f"Kafka node {self.node_id} not ready on {self.bootstrap_servers} in "
                        f"time; tail of {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                time.sleep(_POLL_INTERVAL)
        except BaseException:
            self.kill()
            raise


def _log4j2_config(log_path: Path) -> str:
    return "\n".join(
        [
            "status = warn",
            "name = devinfra-kafka",
            # Log4j's own hook would stop logging before Kafka's shutdown messages; the
            # file appender flushes every line anyway.
            "shutdownHook = disable",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {log_path}",
            "appender.file.append = true",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d{ISO8601}] %p %m (%c)%n",
            "rootLogger.level = WARN",
            "rootLogger.appenderRef.file.ref = file",
            # One INFO line per start and stop makes the log readable around failures.
            "logger.server.name = kafka.server.KafkaRaftServer",
            "logger.server.level = INFO",
            "",
        ]
    )


def _wait_until_stopped(pid: int, timeout: float = 10.0) -> None:
    """SIGSTOP is not instant: one thread takes it and then stops the others, and until each is
    scheduled the JVM's network and request threads go on answering (seen on a busy 2-core host).
    So wait until every thread of the process shows the stopped state in ``/proc``."""
    deadline = time.monotonic() + timeout
    while not all(state == "T" for state in _thread_states(pid)):
        if time.monotonic() > deadline:
            raise KafkaError(f"Kafka process {pid} did not stop within {timeout:.0f} s of SIGSTOP")
        time.sleep(0.005)


def _thread_states(pid: int) -> list[str]:
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        states.append(stat.rsplit(")", 1)[1].split()[0])  # the field after "(comm)"
    return states
