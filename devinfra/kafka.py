"""Real Apache Kafka brokers (KRaft mode) for tests and local runs, without Docker.

The broker runs on Java 17+ from Maven Central jars that ``devinfra/kafka-pom.xml``
names; ``mvn`` resolves them once into ``<cache>/kafka-jars/<sha256 of the pom>/``
(``<cache>`` is ``$ROSTER_CACHE_DIR`` or ``<repo>/.cache``).

Command line: ``python -m devinfra.kafka [--port 9092] [--data-dir DIR] [--classpath-only]``.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import ctypes
import functools
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

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

KAFKA_POM = Path(__file__).resolve().with_name("kafka-pom.xml")
HOST = "127.0.0.1"
LOG_FILE_NAME = "kafka.log"

_REPO_ROOT = Path(__file__).resolve().parent.parent
_COMPLETE_MARKER = ".complete"
_LOG_TAIL_LINES = 40
_STORAGE_TOOL_HEAP = "256m"
_POLL_INTERVAL = 0.25
_PR_SET_PDEATHSIG = 1
# Kafka's default is 50 partitions per internal topic: 150 replicas to create in a
# three-node cluster before the first consumer group works, on a 2-core machine.
_INTERNAL_TOPIC_PARTITIONS = "5"

# Broker processes still running, by pid, so that an exiting interpreter stops them.
_RUNNING: dict[int, subprocess.Popen[bytes]] = {}
_RUNNING_LOCK = threading.Lock()
_atexit_registered = False


class KafkaError(RuntimeError):
    """Resolving the jars, formatting storage or starting a broker failed."""


# --------------------------------------------------------------------------- jars


def kafka_cache_dir() -> Path:
    """Root of devinfra's download cache: ``$ROSTER_CACHE_DIR`` or ``<repo>/.cache``."""
    configured = os.environ.get("ROSTER_CACHE_DIR")
    return Path(configured) if configured else _REPO_ROOT / ".cache"


def kafka_classpath() -> list[Path]:
    """Return the broker's jars, resolving them from Maven Central on first use."""
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    target = kafka_cache_dir() / "kafka-jars" / digest
    if not (target / _COMPLETE_MARKER).is_file():
        _resolve_jars(target)
    jars = sorted(target.glob("*.jar"))
    if not jars:
        raise KafkaError(f"no jars in {target}; delete it to resolve them again")
    return jars


def _resolve_jars(target: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaError("Maven (`mvn`) is needed to fetch the Kafka jars; install maven")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Resolve into a private directory and rename it into place, so that concurrent
    # callers never see a partial copy and an interrupted download is simply redone.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-", dir=target.parent))
    staging.chmod(0o755)
    try:
        command = [
            *(mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(KAFKA_POM)),
            *("dependency:copy-dependencies", "-DincludeScope=runtime"),
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not any(staging.glob("*.jar")):
            output = (result.stdout + result.stderr).strip()[-4000:]
            raise KafkaError(f"resolving Kafka jars failed ({result.returncode}):\n{output}")
        (staging / _COMPLETE_MARKER).write_text(f"{KAFKA_POM}\n")
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, target: Path) -> None:
    if target.exists() and not (target / _COMPLETE_MARKER).is_file():
        shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:
        if not (target / _COMPLETE_MARKER).is_file():
            raise
        # Another process finished the same download first; keep its copy.


@functools.cache
def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home, "bin", "java") if home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if java is None:
        raise KafkaError("Java 17 or newer is needed to run Kafka; `java` is not on PATH")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):
        major = int(match.group(2))
    if major < 17:
        raise KafkaError(f"Kafka needs Java 17 or newer; {java} reports:\n{result.stderr}")
    return java


def _java_base_command(heap: str) -> list[str]:
    classpath = os.pathsep.join(str(jar) for jar in kafka_classpath())
    return [
        _java(),
        f"-Xmx{heap}",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-cp",
        classpath,
    ]


# ------------------------------------------------------------------------ helpers


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports that were free on 127.0.0.1 a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _ensure_port_free(port: int) -> None:
    with socket.socket() as sock:
        # Kafka binds with SO_REUSEADDR too, so TIME_WAIT leftovers are not a conflict.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise KafkaError(f"port {HOST}:{port} is already in use") from exc


def _random_cluster_id() -> str:
    # The shape `kafka-storage random-uuid` prints (URL-safe base64 of 16 random bytes,
    # never starting with '-'), without paying for a JVM start.
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


def _alive_broker_ids(port: int) -> frozenset[int] | None:
    """Ask the broker on ``port`` for the unfenced brokers it knows (Metadata v4)."""
    client_id = b"devinfra"
    # api_key=3 (Metadata), version 4, correlation id 1, client id; empty topic list,
    # allow_auto_topic_creation=false.
    request = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            return _parse_broker_ids(_recv_exact(sock, size))
    except (OSError, struct.error):
        return None


def _parse_broker_ids(response: bytes) -> frozenset[int]:
    # correlation_id, throttle_time_ms, then brokers: [node_id, host, port, rack?].
    (count,) = struct.unpack_from(">i", response, 8)
    offset, ids = 12, set()
    for _ in range(count):
        node_id, host_length = struct.unpack_from(">ih", response, offset)
        offset += 6 + host_length + 4
        (rack_length,) = struct.unpack_from(">h", response, offset)
        offset += 2 + max(rack_length, 0)
        ids.add(node_id)
    return frozenset(ids)


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _child_setup() -> Callable[[], None] | None:
    prctl = _prctl()
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so it is only safe
    # from the main thread; elsewhere the atexit hook is the only safety net.
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None

    def die_with_parent() -> None:
        # If Python is killed without running atexit (SIGKILL, default SIGTERM), the
        # kernel kills the broker too instead of leaving it running.
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return die_with_parent


def _track(process: subprocess.Popen[bytes]) -> None:
    global _atexit_registered
    with _RUNNING_LOCK:
        _RUNNING[process.pid] = process
        if not _atexit_registered:
            atexit.register(_stop_all_at_exit)
            _atexit_registered = True


def _untrack(process: subprocess.Popen[bytes]) -> None:
    with _RUNNING_LOCK:
        _RUNNING.pop(process.pid, None)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _stop_processes(processes: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM every process, wait up to ``timeout`` in total, then SIGKILL the rest."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        _untrack(process)


def _stop_all_at_exit() -> None:
    with _RUNNING_LOCK:
        processes = list(_RUNNING.values())
    _stop_processes(processes, timeout=15.0)


# -------------------------------------------------------------------------- nodes


class KafkaNode:
    """One Kafka process acting as both broker and KRaft controller.

    ``start``/``stop``/``kill`` may be called repeatedly: the data directory keeps the
    formatted storage, so a stopped or killed node restarts with its data.
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
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Broker log (WARN and above, plus JVM output)."""
        return self.data_dir / LOG_FILE_NAME

    @property
    def pid(self) -> int | None:
        """Process id while the broker runs, else None."""
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 90.0) -> None:
        """Format storage if needed, start the process and wait until it serves clients."""
        if self.running:
            raise KafkaError(f"Kafka node {self.node_id} is already running")
        self._format()
        self._launch()
        self._wait_ready(time.monotonic() + timeout, brokers=1)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down cleanly with SIGTERM; SIGKILL if that takes longer than ``timeout``."""
        if self._process is not None:
            _stop_processes([self._process], timeout)
            self._process = None

    def kill(self) -> None:
        """SIGKILL the process, as a crash would (for fault tests)."""
        if self._process is not None:
            _signal_group(self._process, signal.SIGKILL)
            self._process.wait()
            _untrack(self._process)
            self._process = None

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.node_id} {self.bootstrap_servers} {state}>"

    def server_properties(self) -> dict[str, str]:
        """The broker configuration this node runs with."""
        replication = str(self._replication)
        min_isr = str(max(1, self._replication - 1))
        return {
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
            **self._extra_config,
        }

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        lines = (f"{key}={value}\n" for key, value in self.server_properties().items())
        properties.write_text("".join(lines))
        (self.data_dir / "log4j2.properties").write_text(_log4j2_config(self.log_path))
        return properties

    def _format(self) -> None:
        properties = self._write_config()
        if (self.data_dir / "data" / "meta.properties").is_file():
            return
        command = [
            *_java_base_command(_STORAGE_TOOL_HEAP),
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            *("kafka.tools.StorageTool", "format", "-t", self._cluster_id),
            *("-c", str(properties), "--ignore-formatted"),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-4000:]
            raise KafkaError(f"formatting {self.data_dir} failed:\n{output}")

    def _launch(self) -> None:
        _ensure_port_free(self.port)
        _ensure_port_free(self.controller_port)
        command = [
            *_java_base_command(self.heap),
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "kafka.Kafka",
            str(self.data_dir / "server.properties"),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C meant for us must not reach the JVM directly.
                start_new_session=True,
                preexec_fn=_child_setup(),
            )
        _track(self._process)

    def _wait_ready(self, deadline: float, *, brokers: int) -> None:
        """Wait until this node serves clients and knows ``brokers`` unfenced brokers."""
        try:
            while True:
                process = self._process
                if process is None or process.poll() is not None:
                    code = None if process is None else process.returncode
                    raise KafkaError(
                        f"Kafka node {self.node_id} exited ({code}) during start-up; "
                        f"tail of {self.log_path}:\n{_log_tail(self.log_path)}"
                    )
                # The client port opens only once the broker has caught up with the
                # metadata log, but it is fenced (owns no partitions) until the
                # controller unfences it, hence the metadata check.
                alive = _alive_broker_ids(self.port)
                if alive is not None and self.node_id in alive and len(alive) >= brokers:
                    return
                if time.monotonic() > deadline:
                    raise KafkaError(
                        f"Kafka node {self.node_id} not ready on {self.bootstrap_servers} in "
                        f"time; tail of {self.log_path}:\n{_log_tail(self.log_path)}"
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
            cluster_id=_random_cluster_id(),
            heap=heap,
            replication=1,
            extra_config=extra_config,
        )


class LocalKafkaCluster:
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
        cluster_id = _random_cluster_id()
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
                list(pool.map(KafkaNode._format, self.nodes))
            for node in self.nodes:
                node._launch()
            for node in self.nodes:
                node._wait_ready(deadline, brokers=len(self.nodes))
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Stop all nodes at once (SIGTERM, then SIGKILL after ``timeout``)."""
        processes = [node._process for node in self.nodes if node._process is not None]
        _stop_processes(processes, timeout)
        for node in self.nodes:
            node._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------- CLI


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signum)


def _serve(node: KafkaNode, timeout: float) -> int:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_interrupted)
    try:
        node.start(timeout)
        print(f"KAFKA_BOOTSTRAP_SERVERS={node.bootstrap_servers}", flush=True)
        while node.running:
            time.sleep(0.5)
        print(f"Kafka exited unexpectedly; tail of {node.log_path}:", file=sys.stderr)
        print(_log_tail(node.log_path), file=sys.stderr)
        return 1
    except _Interrupted:
        return 0
    except KafkaError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not abort the clean shutdown half-way.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        node.stop()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devinfra.kafka",
        description="Run one local Kafka broker (KRaft, no Docker) in the foreground.",
    )
    parser.add_argument("--port", type=int, default=9092, help="client port (default 9092)")
    parser.add_argument("--controller-port", type=int, default=None, help="default: a free one")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep data here (default: a temp dir)")
    parser.add_argument("--heap", default="512m", help="JVM -Xmx (default 512m)")
    parser.add_argument("--timeout", type=float, default=90.0, help="start-up timeout, seconds")
    parser.add_argument(
        "--classpath-only",
        action="store_true",
        help="only resolve the jars (prints the classpath) and exit",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        if args.classpath_only:
            print(os.pathsep.join(str(jar) for jar in kafka_classpath()))
            return 0
        with contextlib.ExitStack() as stack:
            data_dir: Path = args.data_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="roster-kafka-"))
            )
            node = LocalKafka(data_dir, port=args.port, controller_port=args.controller_port, heap=args.heap)
            return _serve(node, args.timeout)
    except KafkaError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
