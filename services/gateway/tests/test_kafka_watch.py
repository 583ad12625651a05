"""The gateway's view of Kafka: gone when a probe fails, hangs or errs; back with the next success.
The probe is a plain callable here; tests/test_kafka_outage_e2e.py freezes a real broker."""

from __future__ import annotations

import asyncio

from services.gateway.http.kafka_watch import KafkaWatch

INTERVAL = 0.01


class Cluster:
    """What the probe finds: answering, refusing (``False``), erring, or hanging."""

    def __init__(self) -> None:
        self.state = "answering"

    async def probe(self) -> bool:
        if self.state == "hanging":
            await asyncio.sleep(3600)
        if self.state == "erring":
            raise ConnectionError("broker gone")
        return self.state == "answering"


async def _settle() -> None:
    await asyncio.sleep(INTERVAL * 20)


async def test_reachable_follows_what_the_probe_finds_and_reports_each_change_once() -> None:
    cluster, changes = Cluster(), list[bool]()
    watch = KafkaWatch(
        cluster.probe,
        interval_seconds=INTERVAL,
        timeout_seconds=0.05,
        failures_to_trip=1,
        on_change=changes.append,
    )
    watch.start()
    try:
        await _settle()
        assert watch.reachable
        for state in ("refusing", "hanging", "erring"):
            cluster.state = state
            await _settle()
            assert not watch.reachable, state
            cluster.state = "answering"
            await _settle()
            assert watch.reachable, state
    finally:
        await watch.stop()
    assert changes == [False, True] * 3


async def test_stopping_the_watch_ends_its_probe_even_mid_hang() -> None:
    cluster = Cluster()
    cluster.state = "hanging"
    watch = KafkaWatch(cluster.probe, interval_seconds=INTERVAL, timeout_seconds=60)
    watch.start()
    await asyncio.sleep(INTERVAL)
    await asyncio.wait_for(watch.stop(), timeout=1)


async def test_failed_probes_short_of_the_threshold_are_not_an_outage_and_a_reply_ends_one() -> None:
    cluster = Cluster()
    cluster.state = "refusing"  # every probe unanswered, as on a saturated host
    watch = KafkaWatch(cluster.probe, interval_seconds=INTERVAL, timeout_seconds=0.05, failures_to_trip=10**6)
    watch.start()
    try:
        await _settle()
        assert watch.reachable
    finally:
        await watch.stop()
    tripped = KafkaWatch(cluster.probe, interval_seconds=INTERVAL, timeout_seconds=0.05, failures_to_trip=1)
    tripped.start()
    try:
        await _settle()
        assert not tripped.reachable
        tripped.saw_life()  # a reply arrived
        assert tripped.reachable
    finally:
        await tripped.stop()
