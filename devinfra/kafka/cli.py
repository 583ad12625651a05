"""``python -m devinfra.kafka``: one local broker in the foreground, or only its jars resolved."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from devinfra.kafka.cluster import LocalKafka
from devinfra.kafka.errors import KafkaError
from devinfra.kafka.jars import kafka_classpath
from devinfra.kafka.node import KafkaNode, log_tail


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
        print(log_tail(node.log_path), file=sys.stderr)
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
