"""Metrics of the running stack: every process serves ``/metrics`` (the services on their health
listener), the create flow shows in the gateway's HTTP and Kafka metrics and in the services', a
refusal is counted per tenant, and every metric the shipped alert rules use is really exported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.okta import user_body
from tests.stack import Stack, Tenant

pytestmark = [pytest.mark.slow]

ALERTS = Path(__file__).parents[1] / "deploy" / "prometheus" / "alerts.yml"
SCRAPE_CONFIG = ALERTS.with_name("prometheus.yml")

# PromQL words that are not metric names (functions, aggregations, keywords).
_PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate", "and", "or",
    "unless", "on", "ignoring", "group_left", "group_right", "histogram_quantile", "absent", "bool",
}  # fmt: skip


def _scrape(url: str) -> dict[str, list[Any]]:
    """Sample name → its samples; counters are also listed under their family name."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        samples.setdefault(family.name, [])
        samples.setdefault(f"{family.name}_total" if family.type == "counter" else family.name, [])
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def _service_metrics_url(stack: Stack, name: str) -> str:
    return stack.readiness_urls[name].replace("/readyz", "/metrics")


def _value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    matching = [s.value for s in samples.get(name, []) if labels.items() <= s.labels.items()]
    return float(sum(matching))


def _metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}|\[[^]]*\]|\b(by|without)\s*\([^)]*\)|\"[^\"]*\"", " ", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    return {word for word in words if word not in _PROMQL_WORDS}


def test_the_create_flow_shows_in_every_process_metrics(
    stack: Stack, scim: httpx.Client, tenant: Tenant
) -> None:
    body = user_body("metrics.create@example.com")
    assert scim.post("/Users", json=body).status_code == 201
    assert scim.post("/Users", json=body).status_code == 409

    with stack.admin() as admin:  # an operator's own conflict is no SCIM refusal of a tenant
        assert admin.post("/tenants", json={"name": "Metrics twin"}).status_code == 201
        assert admin.post("/tenants", json={"name": "Metrics twin"}).status_code == 409

    gateway = _scrape(f"http://127.0.0.1:{stack.gateway_ports[0]}/metrics")
    refused_tenants = {sample.labels["tenant"] for sample in gateway["roster_requests_refused_total"]}
    assert "unknown" not in refused_tenants
    created = _value(gateway, "http_requests_total", handler="/scim/v2/Users", method="POST", status="201")
    assert created >= 1
    assert _value(gateway, "roster_requests_refused_total", tenant=tenant.id, reason="uniqueness") == 1
    assert _value(gateway, "faststream_published_messages_total", destination="users.commands.v1") >= 2

    users = _scrape(_service_metrics_url(stack, "users"))
    assert _value(users, "faststream_received_messages_total", handler="users.commands.v1") >= 2
    assert _value(users, "roster_outbox_unpublished", service="users") >= 0
    assert "roster_seat_sagas_pending" in users
    assert "roster_consumer_lag_messages" in users
    seats = _scrape(_service_metrics_url(stack, "seats"))
    assert _value(seats, "faststream_received_messages_total", handler="seats.commands.v1") >= 1


def _series(samples: dict[str, list[Any]], name: str) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(sample.labels.items())) for sample in samples.get(name, [])}


def test_the_counters_alerts_watch_are_exported_at_zero_before_anything_happens(stack: Stack) -> None:
    """``increase(…) > 0`` sees nothing of a series that first appears holding its count, so the first
    undone saga or reply timeout of a process would never alert: each series exists from the start."""
    gateway = _scrape(f"http://127.0.0.1:{stack.gateway_ports[0]}/metrics")
    timeouts = {
        dict(labels)["message_type"] for labels in _series(gateway, "roster_gateway_reply_timeouts_total")
    }
    assert {"CreateUser", "ListUsers", "PatchGroup", "GetSeatUsage", "ListActivity"} <= timeouts
    assert "ReconcileSeat" not in timeouts  # published without waiting: it can never time out
    for name, topic in (
        ("users", "users.commands.v1"),
        ("users", "seats.events.v1"),
        ("seats", "seats.commands.v1"),
    ):
        samples = _scrape(_service_metrics_url(stack, name))
        for counter in ("roster_compensated_total", "roster_dead_letters_total"):
            assert (("service", name), ("topic", topic)) in _series(samples, counter), (name, counter)


def test_metrics_stay_off_the_scim_and_admin_prefixes(stack: Stack, tenant: Tenant) -> None:
    base = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    assert httpx.get(f"{base}/scim/v2/metrics", headers=tenant.auth, timeout=10).status_code == 404
    assert httpx.get(f"{base}/metrics", timeout=10).status_code == 200


def test_alert_rules_are_well_formed_and_use_only_exported_metrics(stack: Stack) -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} >= {
        "RosterDeadLetters", "RosterOutboxStuck", "RosterSeatSagasStuck", "RosterGateway5xx",
        "RosterSeatSagasUndone",
    }  # fmt: skip
    exported: set[str] = set(_scrape(f"http://127.0.0.1:{stack.gateway_ports[0]}/metrics"))
    for name in ("users", "seats", "teams", "activity"):
        exported |= set(_scrape(_service_metrics_url(stack, name)))
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "warn"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        used = _metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']} uses {used - exported}, not exported"
    scrape = yaml.safe_load(SCRAPE_CONFIG.read_text())
    assert scrape["rule_files"] == [ALERTS.name]
    assert {job["metrics_path"] for job in scrape["scrape_configs"]} == {"/metrics"}
